/**
 * What approvers do to a batch while it runs: Pause (no new row is claimed; rows already at the backend finish),
 * Resume, and Cancel (the rows still pending are skipped; applied rows stay applied). Each is ONE commit of the
 * request and its audit entry, like every decision (decisions.ts); the engine (engine.ts) refuses to claim a row
 * of a paused or cancelled batch inside its own compare-and-swap, so a click and a claim can never both win.
 */
import type { RecordStore } from '../store/types.js';
import { batchCounts, requestEntry } from './audit-entries.js';
import type { ApplyEngine } from './engine.js';
import type { RequestEvents } from './events.js';
import { canMove, canMoveStep, stateAfterSteps } from './lifecycle.js';
import { alreadyDecided, notFound, type DecisionCode } from './outcomes.js';
import type { ApprovalPolicy } from './policy.js';
import { findRequest } from './queries.js';
import type { AccountRequest, ActorId, Failure, Outcome, Step } from './types.js';

export interface BatchControlsDeps {
  requests: RecordStore<AccountRequest>;
  policy: ApprovalPolicy;
  events: RequestEvents;
  engine: Pick<ApplyEngine, 'wake'>;
  clock: () => Date;
}

type Controlled = Outcome<{ request: AccountRequest }, DecisionCode | 'not_batch'>;

/** A batch still has work to run or to stop: approved, or applying. */
function running(request: AccountRequest): boolean {
  return request.state === 'approved' || request.state === 'applying';
}

export class BatchControls {
  constructor(private readonly deps: BatchControlsDeps) {}

  pause(id: string, approver: ActorId): Promise<Controlled> {
    return this.change(id, approver, 'paused', (current, at) => {
      if (current.batch?.paused) return alreadyPaused(current);
      return { ...current, batch: { ...current.batch!, paused: { by: approver, at } } };
    });
  }

  async resume(id: string, approver: ActorId): Promise<Controlled> {
    const result = await this.change(id, approver, 'resumed', (current) => {
      if (!current.batch?.paused) {
        return { ok: false, code: 'already_decided', message: `${current.id} is not paused.`, request: current };
      }
      return { ...current, batch: { ...current.batch, paused: undefined } };
    });
    if (result.ok) this.deps.engine.wake(result.request.id);
    return result;
  }

  /** The pending rows are skipped at once; rows at the backend now finish, and the batch ends when they have. */
  cancel(id: string, approver: ActorId): Promise<Controlled> {
    return this.change(id, approver, 'cancelled', (current, at) => {
      const steps = current.steps.map((step): Step =>
        step.state === 'pending' && canMoveStep('pending', 'skipped')
          ? { ...step, state: 'skipped', waitingUntil: undefined, result: { at, summary: 'not applied: cancelled' } }
          : step,
      );
      const state = stateAfterSteps(steps, true);
      if (!canMove(current.state, state)) return alreadyDecided(current);
      return { ...current, state, steps, batch: { ...current.batch!, cancelled: { by: approver, at } } };
    });
  }

  private async change(
    id: string,
    approver: ActorId,
    event: 'paused' | 'resumed' | 'cancelled',
    next: (current: AccountRequest, at: string) => AccountRequest | Failure<DecisionCode>,
  ): Promise<Controlled> {
    const request = await findRequest(this.deps.requests, id);
    if (!request) return notFound(id);
    if (request.plan !== 'batch') {
      return { ok: false, code: 'not_batch', message: `${request.id} is not a batch.`, request };
    }
    if (!(await this.deps.policy.isApprover(approver))) {
      return {
        ok: false,
        code: 'not_approver',
        message: 'Only approvers can pause, resume or cancel a batch.',
        request,
      };
    }
    const at = this.deps.clock().toISOString();
    const result = await this.deps.requests.update<Failure<DecisionCode>>(
      request.id,
      (current) => {
        if (!running(current) || current.batch?.cancelled) return { refuse: alreadyDecided(current) };
        const changed = next(current, at);
        return 'ok' in changed ? { refuse: changed } : changed;
      },
      (stored) => [requestEntry(event, stored, approver, { summary: batchCounts(stored) })],
    );
    if (!result.ok) return 'notFound' in result ? notFound(id) : result.refusal;
    this.deps.events.emit(result.record, event);
    return { ok: true, request: result.record };
  }
}

function alreadyPaused(request: AccountRequest): Failure<DecisionCode> {
  return { ok: false, code: 'already_decided', message: `${request.id} is already paused.`, request };
}
