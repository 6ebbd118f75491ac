/**
 * Scheduled steps seen from outside the engine (docs/architecture.md#scheduled-steps): the list of what is coming,
 * an approver's cancel, and the notice the requester gets before a step runs. The engine (engine.ts) runs them;
 * this module never calls a backend.
 *
 * Each change is one commit of the request and its audit entry, like every other move, so a notice is recorded
 * once across replicas (the compare-and-swap sees `noticedAt`), and a cancel that races the step's own claim
 * loses or wins cleanly: a step that started running is no longer pending and cannot be cancelled.
 */
import type { RecordStore } from '../store/types.js';
import { requestEntry } from './audit-entries.js';
import type { RequestEvents } from './events.js';
import { canMove, ENGINE_STATES, isWaiting, stateAfterSteps } from './lifecycle.js';
import { notFound, type DecisionCode } from './outcomes.js';
import type { ApprovalPolicy } from './policy.js';
import { findRequest } from './queries.js';
import type { AccountRequest, ActorId, Failure, Outcome, Step } from './types.js';

export interface SchedulesDeps {
  requests: RecordStore<AccountRequest>;
  policy: ApprovalPolicy;
  events: RequestEvents;
  clock: () => Date;
}

export type ScheduleCode = DecisionCode | 'nothing_scheduled';

/** When a request's next scheduled step runs (undefined when none waits). */
export function nextScheduled(request: AccountRequest): string | undefined {
  return request.steps
    .filter(isWaiting)
    .map((s) => s.notBefore as string)
    .sort()[0];
}

export class Schedules {
  constructor(private readonly deps: SchedulesDeps) {
    // An approved extension replaces the time limit it extends at once; the sweeper (replaceExtended) is the
    // backstop when this process stops in between, so a failure here only delays it.
    deps.events.subscribe((request, change) => {
      if (change === 'approved' && request.state === 'approved' && request.extends) {
        void this.replaceExtended().catch(() => undefined);
      }
    });
  }

  /**
   * Approved requests with a scheduled step still to run, soonest first: every one for an approver, their own for anyone
   * else (`/account scheduled`, App Home).
   */
  async upcoming(actor: ActorId): Promise<{ everyone: boolean; requests: AccountRequest[] }> {
    const everyone = await this.deps.policy.isApprover(actor);
    const open = (await Promise.all(ENGINE_STATES.map((s) => this.deps.requests.listByIndex(`state:${s}`)))).flat();
    const requests = open
      .filter((r) => (everyone || r.requester === actor) && r.steps.some(isWaiting))
      .sort((a, b) => (nextScheduled(a) ?? '').localeCompare(nextScheduled(b) ?? ''));
    return { everyone, requests };
  }

  /** An approver cancels every scheduled step of request `id` that has not run yet. Audited; refused for others. */
  async cancel(id: string, actor: ActorId): Promise<Outcome<{ request: AccountRequest }, ScheduleCode>> {
    const request = await findRequest(this.deps.requests, id);
    if (!request) return notFound(id);
    if (!(await this.deps.policy.isApprover(actor))) {
      return {
        ok: false,
        code: 'not_approver',
        message: `Only approvers can cancel a scheduled step. Ask one to cancel it on ${request.id}.`,
        request,
      };
    }
    return this.cancelWaiting(request.id, actor, {});
  }

  /**
   * For every approved extension: cancels the scheduled steps of the request it extends, which its own replace
   * (audited as a `schedule-cancelled` by AccountDesk, naming the extension). Returns how many it cancelled.
   */
  async replaceExtended(): Promise<number> {
    let replaced = 0;
    const open = (await Promise.all(ENGINE_STATES.map((s) => this.deps.requests.listByIndex(`state:${s}`)))).flat();
    for (const extension of open) {
      if (!extension.extends) continue;
      const original = await this.deps.requests.get(extension.extends);
      if (!original?.steps.some(isWaiting)) continue;
      const result = await this.cancelWaiting(original.id, 'system', { reason: `extended by ${extension.id}` });
      if (result.ok) replaced++;
    }
    return replaced;
  }

  /** Every waiting scheduled step of `id` -> skipped, with its audit entry, in one commit. */
  private async cancelWaiting(
    id: string,
    actor: ActorId,
    data: Record<string, unknown>,
  ): Promise<Outcome<{ request: AccountRequest }, ScheduleCode>> {
    const at = this.deps.clock().toISOString();
    const nothing = (current: AccountRequest): Failure<ScheduleCode> => ({
      ok: false,
      code: 'nothing_scheduled',
      message: `${current.id} has no scheduled step left to cancel (it may have run already).`,
      request: current,
    });
    const result = await this.deps.requests.update<Failure<ScheduleCode>>(
      id,
      (current) => {
        if (!ENGINE_STATES.includes(current.state) || !current.steps.some(isWaiting))
          return { refuse: nothing(current) };
        const steps = current.steps.map((s): Step =>
          isWaiting(s)
            ? {
                ...s,
                state: 'skipped',
                result: { at, summary: `${s.action} ${s.username} scheduled for ${s.notBefore}: cancelled` },
              }
            : s,
        );
        const state = stateAfterSteps(steps);
        if (state !== current.state && !canMove(current.state, state)) return { refuse: nothing(current) };
        return { ...current, steps, state };
      },
      (next, previous) => [
        requestEntry('schedule-cancelled', next, actor, {
          steps: previous.steps.filter(isWaiting).length,
          notBefore: nextScheduled(previous),
          ...data,
        }),
      ],
    );
    if (!result.ok) return 'notFound' in result ? notFound(id) : result.refusal;
    this.deps.events.emit(result.record, 'schedule-changed');
    return { ok: true, request: result.record };
  }

  /**
   * Records the notice for every scheduled step whose notice time has come (the policy's `noticeBefore`, 3 days by
   * default): one `schedule-notice` entry per request, from which the Slack layer DMs the requester. Returns how
   * many requests got one.
   */
  async recordNotices(): Promise<number> {
    const now = this.deps.clock();
    let noticed = 0;
    const open = (await Promise.all(ENGINE_STATES.map((s) => this.deps.requests.listByIndex(`state:${s}`)))).flat();
    for (const request of open) {
      if (!request.steps.some((s) => noticeDue(s, now))) continue;
      const at = now.toISOString();
      const result = await this.deps.requests.update<string>(
        request.id,
        (current) => {
          if (!current.steps.some((s) => noticeDue(s, now))) return { refuse: 'noticed already' };
          const steps = current.steps.map((s): Step => (noticeDue(s, now) ? { ...s, noticedAt: at } : s));
          return { ...current, steps };
        },
        (next, previous) => [
          requestEntry('schedule-notice', next, 'system', {
            notBefore: previous.steps.filter((s) => noticeDue(s, now)).map((s) => s.notBefore)[0],
            steps: previous.steps.filter((s) => noticeDue(s, now)).map((s) => `${s.action} on ${s.backend}`),
          }),
        ],
      );
      if (result.ok) {
        noticed++;
        this.deps.events.emit(result.record, 'schedule-changed');
      }
    }
    return noticed;
  }
}

/** A waiting step whose notice time has come and that has not been noticed yet. */
function noticeDue(step: Step, now: Date): boolean {
  return isWaiting(step) && !step.noticedAt && Date.parse(step.noticeFrom ?? step.notBefore ?? '') <= now.getTime();
}
