/**
 * What people decide about a request: submit, approve, reject, cancel (and give up), and the expiry that decides
 * for them. Each decision is ONE atomic commit of the new state and its audit entry (RecordStore.update's
 * `audit`), so a crash can never leave a vote without its "approved" line or a state ahead of its log.
 * Nothing here calls a backend: an approval that completes the count is picked up by the engine (engine.ts).
 */
import type { Logger } from 'pino';
import type { RecordStore } from '../store/types.js';
import { ACTION_KINDS } from './actions/index.js';
import { requestEntry } from './audit-entries.js';
import type { RequestEvents } from './events.js';
import { checkReason } from './fields.js';
import { canMove, isWaiting, RETRYABLE_STATES } from './lifecycle.js';
import { alreadyDecided, invalid, notFound, type DecisionCode } from './outcomes.js';
import type { PlanBuilder, PlannedStep, RequestDraft, ValidPlan } from './plans.js';
import { findRequest } from './queries.js';
import { newRequestId } from './request-ids.js';
import type { AccountRequest, ActorId, Failure, Outcome, RequestState } from './types.js';

export interface DecisionsDeps {
  requests: RecordStore<AccountRequest>;
  plans: PlanBuilder;
  events: RequestEvents;
  logger: Logger;
  clock: () => Date;
  newId?: () => string;
}

type Decided = Outcome<{ request: AccountRequest }, DecisionCode>;

export class Decisions {
  private readonly newId: () => string;

  constructor(private readonly deps: DecisionsDeps) {
    this.newId = deps.newId ?? newRequestId;
  }

  private get policy() {
    return this.deps.plans.policy;
  }

  private get(id: string): Promise<AccountRequest | undefined> {
    return findRequest(this.deps.requests, id);
  }

  /** Validates and stores a new request with its "requested" audit entry. Nothing touches a backend here. */
  async submit(
    draft: RequestDraft,
    requester: ActorId,
  ): Promise<Outcome<{ request: AccountRequest }, 'invalid' | 'not_allowed'>> {
    const checked = await this.deps.plans.check(draft, requester);
    if (!checked.ok) return checked;
    const { valid } = checked;
    const extendsId = draft.action === 'offboard' || draft.action === 'batch' ? undefined : draft.extends;
    const extension = extendsId ? await this.extension(extendsId, valid, requester) : undefined;
    if (extension && !extension.ok) return extension;
    const now = this.deps.clock();
    const base: Omit<AccountRequest, 'id' | 'version'> = {
      plan: valid.plan,
      username: valid.username,
      ...(valid.profile ? { profile: valid.profile } : {}),
      ...(extension ? { extends: extension.original.id } : {}),
      ...(valid.batch ? { batch: valid.batch } : {}),
      steps: (extension?.steps ?? valid.steps).map((step) => ({ ...step, state: 'pending', attempts: 0 })),
      reason: valid.reason,
      requester,
      state: 'pending',
      createdAt: now.toISOString(),
      expiresAt: this.policy.expiresAt(valid.policy, now).toISOString(),
      approvalsRequired: this.policy.planApprovals(valid),
      approvals: [],
    };
    const request = await this.insertWithFreshId(base);
    this.deps.events.emit(request, 'requested');
    return { ok: true, request };
  }

  /**
   * "Ask for more time" on request `originalId`: the requester's own request with a scheduled step still waiting, and
   * a new end for the same person. A quota revert restores what the original would have restored (the quota before
   * the first change), not the temporary quota in place now.
   */
  private async extension(
    originalId: string,
    valid: ValidPlan,
    requester: ActorId,
  ): Promise<{ ok: true; original: AccountRequest; steps: PlannedStep[] } | Failure<'invalid'>> {
    const original = await this.get(originalId);
    if (!original || original.requester !== requester || !original.steps.some(isWaiting)) {
      return invalid('until', `${originalId} has no scheduled step of yours left to extend.`);
    }
    if (!valid.steps.some((s) => s.notBefore !== undefined) || original.username !== valid.username) {
      return invalid(
        'until',
        `Pick the new last day for ${original.username} (until), later than the one ${original.id} has.`,
      );
    }
    const steps = valid.steps.map((step): PlannedStep => {
      if (step.action !== 'quota' || step.notBefore === undefined) return step;
      const before = original.steps.find(
        (s) => isWaiting(s) && s.action === 'quota' && s.backend === step.backend && s.username === step.username,
      );
      return before?.expect ? { ...step, params: { quotaBytes: before.params.quotaBytes ?? null } } : step;
    });
    return { ok: true, original, steps };
  }

  /**
   * One approval vote. When the vote reaches the threshold the request becomes `approved` and the engine applies
   * it. Destructive plans need the username typed as confirmation.
   */
  async approve(
    id: string,
    approver: ActorId,
    confirmation?: string,
  ): Promise<Outcome<{ request: AccountRequest; complete: boolean }, DecisionCode>> {
    const request = await this.get(id);
    if (!request) return notFound(id);
    if (request.state !== 'pending') return alreadyDecided(request);
    if (this.isOverdue(request)) {
      // The sweep runs once a minute; a click in between must not approve what has already run out.
      const expired = await this.expire(request.id);
      return alreadyDecided(expired ?? request);
    }
    const vote = await this.policy.checkVote(request, approver);
    if (!vote.ok) return { ...vote, request };
    if (isDestructive(request) && confirmation?.trim() !== confirmationOf(request)) {
      return {
        ok: false,
        code: 'confirmation_mismatch',
        message:
          request.plan === 'batch'
            ? `To ${verbOf(request)} these accounts, type how many rows the batch has: ${confirmationOf(request)}`
            : `To ${verbOf(request)} this account, type its username exactly: ${request.username}`,
        field: 'confirmation',
        request,
      };
    }
    const at = this.deps.clock().toISOString();
    const result = await this.deps.requests.update<Failure<DecisionCode>>(
      request.id,
      (current) => {
        if (current.state !== 'pending' || this.isOverdue(current)) return { refuse: alreadyDecided(current) };
        if (current.approvals.some((v) => v.by === approver)) {
          return {
            refuse: {
              ok: false,
              code: 'already_voted',
              message: 'You have already approved this request.',
              request: current,
            },
          };
        }
        const approvals = [...current.approvals, { by: approver, at }];
        const state: RequestState = approvals.length >= current.approvalsRequired ? 'approved' : 'pending';
        return { ...current, approvals, state };
      },
      (next) => [
        requestEntry('approved', next, approver, {
          approvals: next.approvals.length,
          required: next.approvalsRequired,
          complete: next.state === 'approved',
        }),
      ],
    );
    if (!result.ok) return 'notFound' in result ? notFound(id) : result.refusal;
    const complete = result.record.state === 'approved';
    this.deps.events.emit(result.record, 'approved');
    return { ok: true, request: result.record, complete };
  }

  async reject(id: string, approver: ActorId, reasonText: string): Promise<Decided> {
    const request = await this.get(id);
    if (!request) return notFound(id);
    if (request.state !== 'pending') return alreadyDecided(request);
    if (!(await this.policy.isApprover(approver))) {
      return {
        ok: false,
        code: 'not_approver',
        message: 'Only the approvers named in the AccountDesk config can reject requests.',
        request,
      };
    }
    const reason = checkReason(reasonText);
    if (!reason.ok) return { ok: false, code: 'reason_required', message: reason.message, field: 'reason', request };
    if (reason.value === '') {
      return {
        ok: false,
        code: 'reason_required',
        message: 'Say why the request is rejected; the requester will read it.',
        field: 'reason',
        request,
      };
    }
    return this.finish(request.id, 'rejected', approver, reason.value);
  }

  /** The requester withdraws a pending request, or an approver gives up on a failed or partly applied one. */
  async cancel(id: string, actor: ActorId): Promise<Decided> {
    const request = await this.get(id);
    if (!request) return notFound(id);
    const givingUp = RETRYABLE_STATES.includes(request.state);
    const mayCancel = actor === request.requester || (givingUp && (await this.policy.isApprover(actor)));
    if (!mayCancel) {
      return {
        ok: false,
        code: 'not_requester',
        message: `Only the person who asked (or, once it failed, an approver) can cancel ${request.id}.`,
        request,
      };
    }
    if (request.state !== 'pending' && !givingUp) return alreadyDecided(request);
    return this.finish(request.id, 'cancelled', actor, undefined);
  }

  /** Moves every pending request past its expiry to `expired`. Returns the ones it expired. */
  async expireDue(): Promise<AccountRequest[]> {
    const now = this.deps.clock();
    const expired: AccountRequest[] = [];
    for (const request of await this.deps.requests.listByIndex('state:pending')) {
      if (!this.isOverdue(request, now)) continue;
      const done = await this.expire(request.id);
      if (done?.state === 'expired') expired.push(done);
    }
    return expired;
  }

  private async expire(id: string): Promise<AccountRequest | undefined> {
    const result = await this.finish(id, 'expired', 'system', 'no decision before the expiry', (r) =>
      this.isOverdue(r),
    );
    return result.request;
  }

  private isOverdue(request: AccountRequest, now = this.deps.clock()): boolean {
    return request.state === 'pending' && new Date(request.expiresAt) <= now;
  }

  /** -> rejected | cancelled | expired, with who and why, and its audit entry in the same commit. */
  private async finish(
    id: string,
    to: 'rejected' | 'cancelled' | 'expired',
    actor: ActorId,
    reason: string | undefined,
    stillDue: (r: AccountRequest) => boolean = () => true,
  ): Promise<Decided> {
    const at = this.deps.clock().toISOString();
    const result = await this.deps.requests.update<Failure<DecisionCode>>(
      id,
      (current) => {
        if (!canMove(current.state, to) || !stillDue(current)) return { refuse: alreadyDecided(current) };
        return { ...current, state: to, decision: { by: actor, at, ...(reason ? { reason } : {}) } };
      },
      (next) => [requestEntry(to, next, actor, reason ? { reason } : {})],
    );
    if (!result.ok) return 'notFound' in result ? notFound(id) : result.refusal;
    this.deps.events.emit(result.record, to);
    return { ok: true, request: result.record };
  }

  private async insertWithFreshId(base: Omit<AccountRequest, 'id' | 'version'>): Promise<AccountRequest> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.deps.requests.insert({ ...base, id: this.newId() }, (stored) => [
          requestEntry('requested', stored, stored.requester, { reason: stored.reason }),
        ]);
      } catch (err) {
        if ((err as { code?: string }).code !== 'exists' || attempt >= 5) throw err;
      }
    }
  }
}

/**
 * Offboarding, and any plan with a disable or delete step, asks the approver to type the username first. A scheduled
 * step that undoes the plan's own change (the disable at the end of a time limit) does not: it ends what the
 * approver is granting.
 */
export function isDestructive(request: Pick<AccountRequest, 'steps'>): boolean {
  return request.steps.some((step) => ACTION_KINDS[step.action].destructive && step.undoes === undefined);
}

function verbOf(request: AccountRequest): string {
  if (request.plan === 'batch') return request.batch?.action ?? 'change';
  return request.plan === 'single' ? (request.steps[0]?.action ?? 'change') : request.plan;
}

/** What an approver types to confirm a destructive plan: the username, or for a batch its number of rows. */
export function confirmationOf(request: Pick<AccountRequest, 'plan' | 'username' | 'steps'>): string {
  return request.plan === 'batch' ? String(request.steps.length) : request.username;
}
