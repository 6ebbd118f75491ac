/**
 * The request service: submit, decide, apply, expire and recover account requests.
 *
 * Every state change is one `RecordStore.update` (an atomic compare-and-swap), followed by one audit entry. The
 * Slack layer renders what this returns and what the audit log records; this file knows no Slack, no HTTP and no
 * storage engine.
 */
import type { Logger } from 'pino';
import { BackendError, type BackendClient, type UserState } from '../backends/types.js';
import type { AuditLog, RecordStore, Refusal } from '../store/types.js';
import { ACTION_KINDS, type Assessment, type Draft } from './actions/index.js';
import { newRequestId } from './request-ids.js';
import { formatBytes } from './sizes.js';
import { checkReason, checkUsername } from './fields.js';
import { OPEN_STATES, canMove, refusalFor } from './lifecycle.js';
import type { ApprovalPolicy } from './policy.js';
import type { AccountRequest, ActorId, Failure, Outcome, RequestState } from './types.js';

export interface RequestServiceDeps {
  requests: RecordStore<AccountRequest>;
  audit: AuditLog;
  backends: ReadonlyMap<string, BackendClient>;
  policy: ApprovalPolicy;
  /**
   * Shows a generated password once, to the requester only (backends whose passwordHandling is
   * 'show-to-requester'). It is never stored or logged.
   */
  deliverPassword: (request: AccountRequest, password: string) => Promise<void>;
  logger: Logger;
  clock?: () => Date;
  newId?: () => string;
  /** Overrides the backend's own password generator (tests). */
  generatePassword?: () => string;
  /** An `applying` request older than this was interrupted (no backend call takes this long). */
  interruptedAfterMs?: number;
  /**
   * This process, and a way to tell whether another one still runs. Recovery reconciles an `applying` request
   * as soon as the process that claimed it is gone, instead of waiting interruptedAfterMs.
   */
  instance?: { id: string; isAlive(id: string): Promise<boolean> };
}

/** Index keys of a request: its open state, and its requester. */
export function requestIndexKeys(request: AccountRequest): string[] {
  const keys = [`requester:${request.requester}`];
  if (OPEN_STATES.includes(request.state)) keys.push(`state:${request.state}`);
  return keys;
}

/** Failure codes after which the change may have happened anyway (the answer was lost, not a refusal). */
const OUTCOME_UNKNOWN: ReadonlySet<string> = new Set([
  'timeout',
  'unavailable',
  'ambiguous',
  'interrupted',
  'unexpected',
  'unknown',
  'protocol',
]);

/** How long the approval card waits for the live state before it shows "could not read in time". */
const PREVIEW_TIMEOUT_MS = 10_000;

/** A draft that passed every check: what `submit` stores. */
export type ValidDraft = Pick<AccountRequest, 'action' | 'backend' | 'username' | 'params' | 'reason'>;

export type DecisionCode =
  | 'not_found'
  | 'not_approver'
  | 'self_approval'
  | 'already_voted'
  | 'already_decided'
  | 'confirmation_mismatch'
  | 'not_requester'
  | 'reason_required';

export interface Preview {
  current?: UserState;
  assessment?: Assessment;
  /** Why the current state could not be read. */
  error?: string;
}

export class RequestService {
  private readonly clock: () => Date;
  private readonly newId: () => string;
  private readonly interruptedAfterMs: number;

  constructor(private readonly deps: RequestServiceDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.newId = deps.newId ?? newRequestId;
    this.interruptedAfterMs = deps.interruptedAfterMs ?? 5 * 60_000;
  }

  get policy(): ApprovalPolicy {
    return this.deps.policy;
  }

  backend(name: string): BackendClient | undefined {
    return this.deps.backends.get(name);
  }

  backendNames(): string[] {
    return [...this.deps.backends.keys()];
  }

  async get(id: string): Promise<AccountRequest | undefined> {
    return this.deps.requests.get(normaliseId(id));
  }

  /**
   * Validates a draft without storing anything: what a form checks before it acknowledges (Slack's 3-second
   * window), so a refused field comes back inline and an accepted one is stored after the ack.
   */
  async check(draft: Draft, requester: ActorId): Promise<Outcome<{ valid: ValidDraft }, 'invalid' | 'not_allowed'>> {
    const backend = this.deps.backends.get(draft.backend);
    if (!backend) {
      return invalid(
        'backend',
        `There is no backend named "${draft.backend}". Known: ${this.backendNames().join(', ')}.`,
      );
    }
    const kind = ACTION_KINDS[draft.action];
    if (!this.deps.policy.isEnabled(draft.action)) {
      return invalid('action', `"${draft.action}" requests are turned off in the AccountDesk config.`);
    }
    if (kind.capability && !backend.capabilities.has(kind.capability)) {
      const able = [...this.deps.backends.values()]
        .filter((b) => b.capabilities.has(kind.capability!))
        .map((b) => b.name);
      return invalid(
        'action',
        `${backend.name} (${backend.kind}) does not support "${draft.action}" requests.${able.length ? ` Backends that do: ${able.join(', ')}.` : ''}`,
      );
    }
    if (!(await this.deps.policy.mayRequest(requester))) {
      return {
        ok: false,
        code: 'not_allowed',
        message: 'You are not among the people allowed to request account changes. Ask an AccountDesk admin.',
      };
    }
    const username = checkUsername(backend.kind, draft.username);
    if (!username.ok) return invalid('username', username.message);
    const params = kind.checkParams(draft, backend);
    if (!params.ok) return invalid(params.field, params.message);
    const reason = checkReason(draft.reason ?? '');
    if (!reason.ok) return invalid('reason', reason.message);
    return {
      ok: true,
      valid: {
        action: draft.action,
        backend: backend.name,
        username: username.value,
        params: params.params,
        reason: reason.value,
      },
    };
  }

  /** Validates and stores a new request. Nothing touches a backend here. */
  async submit(
    draft: Draft,
    requester: ActorId,
  ): Promise<Outcome<{ request: AccountRequest }, 'invalid' | 'not_allowed'>> {
    const checked = await this.check(draft, requester);
    if (!checked.ok) return checked;
    const { valid } = checked;
    const now = this.clock();
    const base = {
      ...valid,
      requester,
      state: 'pending' as const,
      createdAt: now.toISOString(),
      expiresAt: this.deps.policy.expiresAt(valid.action, now).toISOString(),
      approvalsRequired: this.deps.policy.approvalsRequired(valid.action, valid.backend, valid.params),
      approvals: [],
      attempts: 0,
    };
    const request = await this.insertWithFreshId(base);
    await this.record('requested', request, requester, { reason: request.reason });
    return { ok: true, request };
  }

  /**
   * One approval vote. When the vote reaches the threshold the request becomes `approved`; the caller then
   * runs `apply` (after acknowledging the click). Destructive actions need the username typed as confirmation.
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
    const vote = await this.deps.policy.checkVote(request, approver);
    if (!vote.ok) return { ...vote, request };
    if (ACTION_KINDS[request.action].destructive && confirmation?.trim() !== request.username) {
      return {
        ok: false,
        code: 'confirmation_mismatch',
        message: `To ${request.action} this account, type its username exactly: ${request.username}`,
        field: 'confirmation',
        request,
      };
    }
    const at = this.clock().toISOString();
    const result = await this.deps.requests.update<Failure<DecisionCode>>(request.id, (current) => {
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
    });
    if (!result.ok) return 'notFound' in result ? notFound(id) : result.refusal;
    const complete = result.record.state === 'approved';
    await this.record('approved', result.record, approver, {
      approvals: result.record.approvals.length,
      required: result.record.approvalsRequired,
      complete,
    });
    return { ok: true, request: result.record, complete };
  }

  async reject(
    id: string,
    approver: ActorId,
    reasonText: string,
  ): Promise<Outcome<{ request: AccountRequest }, DecisionCode>> {
    const request = await this.get(id);
    if (!request) return notFound(id);
    if (request.state !== 'pending') return alreadyDecided(request);
    if (!(await this.deps.policy.isApprover(approver))) {
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
    return this.finish(request.id, 'rejected', approver, reason.value, ['pending']);
  }

  /** The requester withdraws a pending request, or anyone involved gives up on a failed one. */
  async cancel(id: string, actor: ActorId): Promise<Outcome<{ request: AccountRequest }, DecisionCode>> {
    const request = await this.get(id);
    if (!request) return notFound(id);
    const mayCancel =
      actor === request.requester || (request.state === 'failed' && (await this.deps.policy.isApprover(actor)));
    if (!mayCancel) {
      return {
        ok: false,
        code: 'not_requester',
        message: `Only the person who asked (or, once it failed, an approver) can cancel ${request.id}.`,
        request,
      };
    }
    if (request.state !== 'pending' && request.state !== 'failed') return alreadyDecided(request);
    return this.finish(request.id, 'cancelled', actor, undefined, ['pending', 'failed']);
  }

  /**
   * Claims an approved request (exactly one caller wins, across replicas) and applies it on the backend.
   * Returns the final record, or a refusal if someone else claimed it first.
   */
  async apply(id: string): Promise<Outcome<{ request: AccountRequest }, DecisionCode>> {
    return this.claimAndRun(id, 'approved', 'system');
  }

  /** An approver's Retry of a failed request. */
  async retry(id: string, approver: ActorId): Promise<Outcome<{ request: AccountRequest }, DecisionCode>> {
    const request = await this.get(id);
    if (!request) return notFound(id);
    if (!(await this.deps.policy.isApprover(approver))) {
      return { ok: false, code: 'not_approver', message: 'Only approvers can retry a failed request.', request };
    }
    if (request.state !== 'failed') return alreadyDecided(request);
    return this.claimAndRun(request.id, 'failed', approver);
  }

  /** The backend's current view of the user beside the proposed change: the approval card's live preview. */
  async preview(request: AccountRequest): Promise<Preview> {
    const backend = this.deps.backends.get(request.backend);
    if (!backend) return { error: `backend "${request.backend}" is no longer in the config` };
    try {
      // The card waits for this; a hung backend must not hold up every later card (the HTTP layer's own limits
      // allow a read about 45 s with retries).
      const current = await withTimeout(
        backend.getUser(request.username),
        PREVIEW_TIMEOUT_MS,
        () =>
          new BackendError(
            backend.name,
            'timeout',
            `${backend.name} did not answer within ${PREVIEW_TIMEOUT_MS / 1000} s`,
          ),
      );
      const stored = asStored(request, backend);
      const assessment = ACTION_KINDS[request.action].assess(stored, current);
      const requested = request.params.quotaBytes;
      if (requested !== undefined && formatBytes(stored.params.quotaBytes) !== formatBytes(requested)) {
        const rounding = `${backend.name} stores ${formatBytes(requested)} as ${formatBytes(stored.params.quotaBytes)}`;
        assessment.warning = assessment.warning ? `${assessment.warning}; ${rounding}` : rounding;
      }
      return { current, assessment };
    } catch (err) {
      return { error: describeFailure(err).message };
    }
  }

  /** A user's current state, for approvers only (`/account info`). */
  async info(
    backendName: string,
    username: string,
    actor: ActorId,
  ): Promise<Outcome<{ state: UserState; backend: BackendClient }, 'not_approver' | 'invalid' | 'backend_error'>> {
    if (!(await this.deps.policy.isApprover(actor))) {
      return { ok: false, code: 'not_approver', message: 'Only approvers can look up accounts.' };
    }
    const backend = this.deps.backends.get(backendName);
    if (!backend)
      return invalid(
        'backend',
        `There is no backend named "${backendName}". Known: ${this.backendNames().join(', ')}.`,
      );
    const name = checkUsername(backend.kind, username);
    if (!name.ok) return invalid('username', name.message);
    try {
      return { ok: true, state: await backend.getUser(name.value), backend };
    } catch (err) {
      return { ok: false, code: 'backend_error', message: describeFailure(err).message };
    }
  }

  listPending(): Promise<AccountRequest[]> {
    return this.deps.requests.listByIndex('state:pending');
  }

  listOpen(): Promise<AccountRequest[]> {
    return Promise.all(OPEN_STATES.map((s) => this.deps.requests.listByIndex(`state:${s}`))).then((lists) =>
      lists.flat(),
    );
  }

  /** The requester's requests that still need someone (pending, approved, applying, failed), oldest first. */
  async listOpenForRequester(user: ActorId): Promise<AccountRequest[]> {
    return (await this.listOpen()).filter((r) => r.requester === user);
  }

  async listForRequester(user: ActorId, limit = 20): Promise<AccountRequest[]> {
    const all = await this.deps.requests.listByIndex(`requester:${user}`);
    return all.slice(-limit).reverse();
  }

  /** Remembers where the approval card was posted, once. */
  async attachCard(id: string, cardRef: string): Promise<void> {
    await this.deps.requests.update<string>(id, (current) =>
      current.cardRef ? { refuse: 'has card' } : { ...current, cardRef },
    );
  }

  /** Moves every pending request past its expiry to `expired`. Returns the ones it expired. */
  async expireDue(): Promise<AccountRequest[]> {
    const now = this.clock();
    const expired: AccountRequest[] = [];
    for (const request of await this.listPending()) {
      if (!this.isOverdue(request, now)) continue;
      const done = await this.expire(request.id);
      if (done?.state === 'expired') expired.push(done);
    }
    return expired;
  }

  /** Moves one overdue pending request to `expired`; returns the record as it now stands. */
  private async expire(id: string): Promise<AccountRequest | undefined> {
    const result = await this.finish(id, 'expired', 'system', 'no decision before the expiry', ['pending'], (r) =>
      this.isOverdue(r),
    );
    return result.request;
  }

  private isOverdue(request: AccountRequest, now = this.clock()): boolean {
    return request.state === 'pending' && new Date(request.expiresAt) <= now;
  }

  /**
   * After a crash: requests left `applying` are reconciled by READING the backend (is the change in place?),
   * never by sending the call again; approved requests nobody claimed are applied.
   */
  async recover(): Promise<{ reconciled: AccountRequest[]; applied: AccountRequest[] }> {
    const now = this.clock().getTime();
    const reconciled: AccountRequest[] = [];
    for (const request of await this.deps.requests.listByIndex('state:applying')) {
      if (!(await this.wasInterrupted(request, now))) continue;
      const outcome = await this.reconcile(request);
      if (outcome) reconciled.push(outcome);
    }
    const applied: AccountRequest[] = [];
    for (const request of await this.deps.requests.listByIndex('state:approved')) {
      const result = await this.apply(request.id);
      if (result.ok) applied.push(result.request);
    }
    return { reconciled, applied };
  }

  /**
   * An apply is interrupted when the process that claimed it is gone, or when it has run longer than any backend
   * call can (a process that hangs, or a claim from before instances were recorded).
   */
  private async wasInterrupted(request: AccountRequest, now: number): Promise<boolean> {
    if (now - Date.parse(request.applyingSince ?? request.createdAt) >= this.interruptedAfterMs) return true;
    const { instance } = this.deps;
    if (!instance || !request.applyingBy || request.applyingBy === instance.id) return false;
    return !(await instance.isAlive(request.applyingBy));
  }

  private async reconcile(request: AccountRequest): Promise<AccountRequest | undefined> {
    const backend = this.deps.backends.get(request.backend);
    const kind = ACTION_KINDS[request.action];
    let outcome: { state: 'applied'; summary: string } | { state: 'failed'; code: string; message: string };
    try {
      if (!backend) throw new Error(`backend "${request.backend}" is no longer in the config`);
      const current = await backend.getUser(request.username);
      outcome = kind.isDone(asStored(request, backend), current)
        ? {
            state: 'applied',
            summary:
              `${request.username} ${kind.done} (confirmed by reading ${request.backend} after AccountDesk restarted)` +
              unseenPasswordNote(request, backend),
          }
        : {
            state: 'failed',
            code: 'interrupted',
            message:
              kind.unverifiable?.(request.backend) ??
              `AccountDesk stopped while applying this, and ${request.backend} does not show the change in place. Retry to apply it.`,
          };
    } catch (err) {
      outcome = {
        state: 'failed',
        code: 'interrupted',
        message: `AccountDesk stopped while applying this and could not check ${request.backend} (${describeFailure(err).message}). Check the account by hand, then Retry or Cancel.`,
      };
    }
    const settled = await this.settle(
      request,
      outcome.state === 'applied' ? outcome : { ...outcome, retryable: true },
      { recovered: true },
    );
    // Another replica re-claimed it meanwhile: that attempt owns it now.
    return settled.state === outcome.state && settled.applyingSince === undefined ? settled : undefined;
  }

  private async claimAndRun(
    id: string,
    from: 'approved' | 'failed',
    actor: ActorId,
  ): Promise<Outcome<{ request: AccountRequest }, DecisionCode>> {
    const at = this.clock().toISOString();
    // A Retry reads the backend first only when the failed attempt may have happened after all (its answer was
    // lost): after "already exists" or "not found" an account matching the request proves nothing about us.
    let lastError: string | undefined;
    const claim = await this.deps.requests.update<Failure<DecisionCode>>(normaliseId(id), (current) => {
      if (current.state !== from) return { refuse: alreadyDecided(current) };
      lastError = current.error?.code;
      return {
        ...current,
        state: 'applying',
        applyingSince: at,
        applyingBy: this.deps.instance?.id,
        attempts: current.attempts + 1,
        error: undefined,
      };
    });
    if (!claim.ok) return 'notFound' in claim ? notFound(id) : claim.refusal;
    if (from === 'failed') await this.record('retried', claim.record, actor, { attempt: claim.record.attempts });
    return {
      ok: true,
      request: await this.track(
        this.run(claim.record, { checkFirst: lastError !== undefined && OUTCOME_UNKNOWN.has(lastError) }),
      ),
    };
  }

  /** Applies in flight, so a clean shutdown can wait for them instead of leaving them to recovery. */
  private readonly inFlight = new Set<Promise<unknown>>();

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work)).catch(() => undefined);
    return work;
  }

  /** Resolves when no apply is running (shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Calls the backend for a request this process has claimed, and records the outcome. With `checkFirst` (a
   * Retry) it reads the backend first: a failed attempt may have happened after all (an ambiguous timeout, a
   * create whose answer was lost), and sending it again would only be refused ("already exists").
   */
  private async run(request: AccountRequest, { checkFirst }: { checkFirst: boolean }): Promise<AccountRequest> {
    const backend = this.deps.backends.get(request.backend);
    const kind = ACTION_KINDS[request.action];
    if (checkFirst && backend) {
      // Unreadable now: send it as asked; a duplicate is refused by the backend ("already exists"), never doubled.
      const current = await backend.getUser(request.username).catch(() => undefined);
      if (current && kind.isDone(asStored(request, backend), current)) {
        const summary = `${request.username} ${kind.done}: already in place when retried (read from ${request.backend})`;
        return this.settle(request, { state: 'applied', summary: summary + unseenPasswordNote(request, backend) });
      }
    }
    const needsPassword =
      backend?.passwordHandling === 'show-to-requester' || backend?.passwordHandling === 'mailed-by-backend';
    const password =
      request.action === 'create' && needsPassword
        ? (this.deps.generatePassword ?? backend?.generatePassword?.bind(backend))?.()
        : undefined;
    let outcome:
      { state: 'applied'; summary: string } | { state: 'failed'; code: string; message: string; retryable: boolean };
    try {
      if (!backend)
        throw new BackendError(
          request.backend,
          'unsupported',
          `backend "${request.backend}" is no longer in the config`,
        );
      const result = await kind.apply(backend, request, password);
      outcome = { state: 'applied', summary: result.summary };
    } catch (err) {
      const failure = describeFailure(err);
      if (failure.code === 'unexpected')
        this.deps.logger.error({ err, request: request.id }, 'unexpected error while applying');
      outcome = { state: 'failed', ...failure };
    }
    if (outcome.state === 'applied' && password && backend?.passwordHandling === 'show-to-requester') {
      try {
        await this.deps.deliverPassword(request, password);
      } catch (err) {
        this.deps.logger.error({ err, request: request.id }, 'could not show the generated password to the requester');
        outcome.summary += '. The generated password could NOT be shown to the requester: reset it on the backend';
      }
    }
    return this.settle(request, outcome);
  }

  /** applying -> applied | failed for the attempt this process claimed, plus its audit entry. */
  private async settle(
    request: AccountRequest,
    outcome:
      { state: 'applied'; summary: string } | { state: 'failed'; code: string; message: string; retryable: boolean },
    auditExtra: Record<string, unknown> = {},
  ): Promise<AccountRequest> {
    const at = this.clock().toISOString();
    const result = await this.deps.requests.update<string>(request.id, (current) => {
      if (current.state !== 'applying' || current.applyingSince !== request.applyingSince)
        return { refuse: 'moved on' };
      return outcome.state === 'applied'
        ? {
            ...current,
            state: 'applied',
            applyingSince: undefined,
            applyingBy: undefined,
            result: { at, summary: outcome.summary },
          }
        : {
            ...current,
            state: 'failed',
            applyingSince: undefined,
            applyingBy: undefined,
            error: { at, code: outcome.code, message: outcome.message, retryable: outcome.retryable },
          };
    });
    if (!result.ok) {
      // Recovery already took it over (this apply outlived interruptedAfterMs): its record stands.
      return 'record' in result ? result.record : request;
    }
    await this.record(
      outcome.state,
      result.record,
      'system',
      outcome.state === 'applied'
        ? { summary: outcome.summary, ...auditExtra }
        : { error: outcome.message, code: outcome.code, ...auditExtra },
    );
    return result.record;
  }

  /** pending|failed -> rejected|cancelled|expired, with who and why. */
  private async finish(
    id: string,
    to: 'rejected' | 'cancelled' | 'expired',
    actor: ActorId,
    reason: string | undefined,
    from: RequestState[],
    stillDue: (r: AccountRequest) => boolean = () => true,
  ): Promise<Outcome<{ request: AccountRequest }, DecisionCode>> {
    const at = this.clock().toISOString();
    const result = await this.deps.requests.update<Failure<DecisionCode>>(
      id,
      (current): AccountRequest | Refusal<Failure<DecisionCode>> => {
        if (!from.includes(current.state) || !canMove(current.state, to) || !stillDue(current))
          return { refuse: alreadyDecided(current) };
        return { ...current, state: to, decision: { by: actor, at, ...(reason ? { reason } : {}) } };
      },
    );
    if (!result.ok) return 'notFound' in result ? notFound(id) : result.refusal;
    await this.record(to, result.record, actor, reason ? { reason } : {});
    return { ok: true, request: result.record };
  }

  private async insertWithFreshId(base: Omit<AccountRequest, 'id' | 'version'>): Promise<AccountRequest> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.deps.requests.insert({ ...base, id: this.newId() });
      } catch (err) {
        if ((err as { code?: string }).code !== 'exists' || attempt >= 5) throw err;
      }
    }
  }

  /** One audit entry per event. The Slack layer posts the audit channel line, updates the card and DMs from it. */
  private async record(
    event: string,
    request: AccountRequest,
    actor: ActorId,
    data: Record<string, unknown>,
  ): Promise<void> {
    try {
      await this.deps.audit.append({
        event,
        subject: request.id,
        actor,
        data: {
          action: request.action,
          backend: request.backend,
          username: request.username,
          state: request.state,
          ...data,
        },
      });
    } catch (err) {
      // The transition is already stored; losing its audit line is bad but must not undo it or hide the result.
      this.deps.logger.error({ err, request: request.id, event }, 'could not append to the audit log');
    }
  }
}

/** Turns whatever a backend threw into the words stored on the request and shown to approvers. */
export function describeFailure(err: unknown): { code: string; message: string; retryable: boolean } {
  if (err instanceof BackendError) return { code: err.code, message: err.message, retryable: err.retryable };
  return {
    code: 'unexpected',
    message: `Unexpected error in AccountDesk (${err instanceof Error ? err.name : 'unknown'}); the logs have details. Check the account, then Retry.`,
    retryable: true,
  };
}

function invalid(field: string, message: string): Failure<'invalid'> {
  return { ok: false, code: 'invalid', field, message };
}

function notFound(id: string): Failure<'not_found'> {
  return { ok: false, code: 'not_found', message: `There is no request ${id}. Check the id in your receipt.` };
}

function alreadyDecided(request: AccountRequest): Failure<'already_decided'> {
  return { ok: false, code: 'already_decided', message: `${request.id}: ${refusalFor(request.state)}.`, request };
}

function normaliseId(id: string): string {
  return id.trim().toUpperCase();
}

/**
 * A create found done after an interruption: the one-time password lived only in the attempt that was cut off,
 * so nobody has seen it.
 */
function unseenPasswordNote(request: AccountRequest, backend: BackendClient): string {
  return request.action === 'create' && backend.passwordHandling === 'show-to-requester'
    ? `. The generated password was never shown: reset it on ${request.backend}`
    : '';
}

/** The request with its quota as the backend will store it, so comparisons with the backend's state hold. */
function asStored(request: AccountRequest, backend: BackendClient): AccountRequest {
  const quota = request.params.quotaBytes;
  if (quota === undefined) return request;
  return { ...request, params: { ...request.params, quotaBytes: backend.storedQuota(quota) } };
}

function withTimeout<T>(work: Promise<T>, ms: number, failure: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(failure()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
