/**
 * The apply engine: runs the steps of approved plans on their backends, durably and exactly once.
 *
 * - It starts on its own: an approval that completes the count (an in-process notice from decisions.ts) wakes it,
 *   and a sweep (app.ts runs it every few seconds, and at start-up) picks up whatever a notice missed: approvals
 *   stored by another replica, steps left by a crash.
 * - Each step is CLAIMED with a compare-and-swap (pending -> applying, marked with this process's id), so two
 *   replicas or two sweeps never run the same step; it is run through its backend's pacer (pacing.ts); its
 *   outcome and audit entry are committed together.
 * - A step whose process died while applying is reconciled by READING the backend (the action's isDone), never
 *   by sending the call again blindly.
 * - Retry re-runs only the failed steps; after an answer was lost it reads first.
 */
import type { Logger } from 'pino';
import { BackendError, type BackendClient } from '../backends/types.js';
import type { RecordStore } from '../store/types.js';
import { ACTION_KINDS } from './actions/index.js';
import { batchCounts, planSummary, requestEntry, stepEntry } from './audit-entries.js';
import { asStored, makesPassword, unseenPasswordNote } from './backend-view.js';
import type { RequestEvents } from './events.js';
import {
  canMove,
  canMoveStep,
  ENGINE_STATES,
  isDue,
  isWaiting,
  RETRYABLE_STATES,
  stateAfterSteps,
} from './lifecycle.js';
import {
  alreadyDecided,
  backendFailure,
  notFound,
  OUTCOME_UNKNOWN,
  type DecisionCode,
  type StepFailure,
} from './outcomes.js';
import { DEFAULT_PACE, Pacer, type PaceSettings } from './pacing.js';
import type { ApprovalPolicy } from './policy.js';
import { findRequest } from './queries.js';
import type { AccountRequest, ActorId, Failure, Outcome, Step } from './types.js';
import { reasonToSkipUndo, rememberBeforeChange, withRemembered, type Remembered } from './undo.js';

export interface EngineDeps {
  requests: RecordStore<AccountRequest>;
  backends: ReadonlyMap<string, BackendClient>;
  policy: ApprovalPolicy;
  events: RequestEvents;
  /**
   * Shows a generated password once, to the requester only (backends whose passwordHandling is
   * 'show-to-requester'). It is never stored or logged.
   */
  deliverPassword: (request: AccountRequest, step: Step, password: string) => Promise<void>;
  logger: Logger;
  clock: () => Date;
  /** Overrides the backend's own password generator (tests). */
  generatePassword?: () => string;
  /** A step applying for longer than this was interrupted (no backend call takes this long). */
  interruptedAfterMs?: number;
  /**
   * This process, and a way to tell whether another one still runs: a step claimed by a process that is gone is
   * reconciled at once instead of after interruptedAfterMs.
   */
  instance?: { id: string; isAlive(id: string): Promise<boolean> };
  /** Pacing per backend name; default per backend kind (DEFAULT_PACE). */
  pacing?: Record<string, PaceSettings>;
}

type StepOutcome =
  /** `remember`: what the plan's scheduled undo of this step restores (read before the change, undo.ts). */
  | { state: 'applied'; summary: string; remember?: { index: number; remembered: Remembered } }
  | { state: 'skipped'; summary: string }
  | ({ state: 'failed' } & StepFailure)
  /** A batch row the backend's rate limit refused: pending again, tried once the window ends (`until`). */
  | { state: 'pending'; until: string };

export class ApplyEngine {
  private readonly interruptedAfterMs: number;
  private readonly pacers = new Map<string, Pacer>();
  /** Requests this process is driving now, so a sweep does not queue the same steps twice. */
  private readonly driving = new Map<string, Promise<AccountRequest | undefined>>();
  /** Work in flight, so a clean shutdown can wait for it instead of leaving it to recovery. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly deps: EngineDeps) {
    this.interruptedAfterMs = deps.interruptedAfterMs ?? 5 * 60_000;
    deps.events.subscribe((request, change) => {
      if (change === 'approved' && request.state === 'approved') this.wake(request.id);
    });
  }

  /** Starts the pending steps of `id` in the background. */
  wake(id: string): void {
    void this.drive(id).catch((err) =>
      this.deps.logger.error({ err, request: id }, 'applying a request failed unexpectedly; the sweep retries it'),
    );
  }

  /** Runs every pending step of an approved or applying request; resolves with the record once they settled. */
  drive(id: string): Promise<AccountRequest | undefined> {
    const running = this.driving.get(id);
    if (running) return running;
    const work = this.track(this.runPendingSteps(id)).finally(() => this.driving.delete(id));
    this.driving.set(id, work);
    return work;
  }

  /** Resolves when no step is running in this process (shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Steps waiting for a backend's turn, across backends (a gauge for operators). */
  queueDepth(): number {
    return [...this.pacers.values()].reduce((sum, pacer) => sum + pacer.queued, 0);
  }

  /**
   * What the sweep does: reconciles steps whose process died mid-call (by reading the backend), and starts the
   * pending steps of every approved or applying request (approvals stored by another replica, steps a crash left).
   */
  async sweep(): Promise<{ reconciled: number; started: number }> {
    const now = this.deps.clock().getTime();
    let reconciled = 0;
    let started = 0;
    const open = (await Promise.all(ENGINE_STATES.map((s) => this.deps.requests.listByIndex(`state:${s}`)))).flat();
    for (const request of open) {
      for (const [index, step] of request.steps.entries()) {
        if (step.state === 'applying' && (await this.wasInterrupted(step, now))) {
          if (await this.reconcile(request, index)) reconciled++;
        }
      }
    }
    // Scheduled steps that are not due yet are left alone: a sweep never claims (or spins on) them.
    const withPending = open.filter((r) => !r.batch?.paused && r.steps.some((s) => isDue(s, new Date(now))));
    for (const request of withPending) {
      started++;
      void this.drive(request.id).catch((err) =>
        this.deps.logger.error({ err, request: request.id }, 'applying a request failed unexpectedly'),
      );
    }
    return { reconciled, started };
  }

  /** An approver's Retry: the failed steps run again (reading first where their answer was lost). */
  async retry(id: string, approver: ActorId): Promise<Outcome<{ request: AccountRequest }, DecisionCode>> {
    const request = await findRequest(this.deps.requests, id);
    if (!request) return notFound(id);
    if (!(await this.deps.policy.isApprover(approver))) {
      return { ok: false, code: 'not_approver', message: 'Only approvers can retry a failed request.', request };
    }
    if (!RETRYABLE_STATES.includes(request.state)) return alreadyDecided(request);
    const result = await this.deps.requests.update<Failure<DecisionCode>>(
      request.id,
      (current) => {
        if (!RETRYABLE_STATES.includes(current.state) || !canMove(current.state, 'applying'))
          return { refuse: alreadyDecided(current) };
        const steps = current.steps.map((step): Step => {
          if (step.state !== 'failed' || !canMoveStep('failed', 'pending')) return step;
          // After "already exists" or "not found" an account matching the step proves nothing about us; after a
          // lost answer (timeout, maintenance, ambiguous) the change may be in place: read before sending again.
          return { ...step, state: 'pending', checkFirst: step.error ? OUTCOME_UNKNOWN.has(step.error.code) : false };
        });
        // A Retry is an approver saying "go": a batch paused before its last rows ended runs again.
        const batch = current.batch ? { batch: { ...current.batch, paused: undefined } } : {};
        return { ...current, ...batch, state: 'applying', steps };
      },
      (next, previous) => [
        requestEntry('retried', next, approver, {
          attempt: 1 + Math.max(...previous.steps.filter((s) => s.state === 'failed').map((s) => s.attempts)),
          steps: previous.steps.filter((s) => s.state === 'failed').length,
        }),
      ],
    );
    if (!result.ok) return 'notFound' in result ? notFound(id) : result.refusal;
    this.deps.events.emit(result.record, 'retried');
    const settled = await this.drive(result.record.id);
    return { ok: true, request: settled ?? result.record };
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work)).catch(() => undefined);
    return work;
  }

  private async runPendingSteps(id: string): Promise<AccountRequest | undefined> {
    // Rounds: a batch row the backend's rate limit sent back to pending runs again in the next round, after the
    // pacer's hold. A paused batch claims nothing (the claim refuses), so its round ends at once.
    for (;;) {
      const request = await this.deps.requests.get(id);
      if (!request || !ENGINE_STATES.includes(request.state) || request.batch?.paused) return request;
      const now = this.deps.clock();
      const pending = [...request.steps.entries()].filter(([, step]) => isDue(step, now));
      if (pending.length === 0) return request;
      for (const [, step] of pending) {
        // Set by an earlier round or another process: the backend's window is still closed.
        if (step.waitingUntil) this.pacerFor(step.backend).holdUntil(Date.parse(step.waitingUntil));
      }
      const deferred = await Promise.all(
        pending.map(([index, step]) => this.pacerFor(step.backend).run(() => this.runStep(request.id, index))),
      );
      if (!deferred.includes(true)) return this.deps.requests.get(id);
    }
  }

  private pacerFor(backendName: string): Pacer {
    let pacer = this.pacers.get(backendName);
    if (!pacer) {
      const kind = this.deps.backends.get(backendName)?.kind;
      const settings = this.deps.pacing?.[backendName] ?? (kind ? DEFAULT_PACE[kind] : undefined);
      pacer = new Pacer(settings ?? { concurrency: 1, minIntervalMs: 0 });
      this.pacers.set(backendName, pacer);
    }
    return pacer;
  }

  /**
   * Claims step `index` (exactly one caller wins, across replicas), runs it and records the outcome. True when the
   * backend's rate limit sent it back to pending (it runs again in the next round).
   */
  private async runStep(id: string, index: number): Promise<boolean> {
    const claimedAt = this.deps.clock().toISOString();
    const claim = await this.deps.requests.update<string>(id, (current) => {
      const step = current.steps[index];
      if (!step || !canMoveStep(step.state, 'applying')) return { refuse: 'taken' };
      if (!isDue(step, new Date(claimedAt))) return { refuse: 'not due' };
      if (current.batch?.paused || current.batch?.cancelled) return { refuse: 'paused' };
      if (!ENGINE_STATES.includes(current.state) || !canMove(current.state, 'applying')) return { refuse: 'moved' };
      const steps = current.steps.map((s, i): Step =>
        i === index
          ? {
              ...s,
              state: 'applying',
              applyingSince: claimedAt,
              applyingBy: this.deps.instance?.id,
              attempts: s.attempts + 1,
              error: undefined,
              waitingUntil: undefined,
            }
          : s,
      );
      return { ...current, state: 'applying', steps };
    });
    if (!claim.ok) return false;
    const step = claim.record.steps[index] as Step;
    const outcome = await this.run(claim.record, index);
    if (outcome.state === 'pending') this.pacerFor(step.backend).holdUntil(Date.parse(outcome.until));
    await this.settle(id, index, claimedAt, outcome);
    return outcome.state === 'pending';
  }

  /** Calls the backend for claimed step `index`. Never throws: every failure becomes the step's outcome. */
  private async run(request: AccountRequest, index: number): Promise<StepOutcome> {
    const step = request.steps[index] as Step;
    const backend = this.deps.backends.get(step.backend);
    const kind = ACTION_KINDS[step.action];
    // Undoing an earlier step, or changing something a later step undoes: docs/architecture.md#scheduled-steps.
    try {
      if (step.undoes !== undefined && backend) {
        const skip = await reasonToSkipUndo(backend, step, request.steps[step.undoes]);
        if (skip) return { state: 'skipped', summary: `${step.action} ${step.username} not undone: ${skip}` };
      }
    } catch (err) {
      return { state: 'failed', ...backendFailure(err) };
    }
    if (step.checkFirst && backend) {
      // Unreadable now: send it as asked; a duplicate is refused by the backend ("already exists"), never doubled.
      const current = await backend.getUser(step.username).catch(() => undefined);
      if (current && kind.isDone(asStored(step, backend), current)) {
        const summary = `${step.username} ${kind.done}: already in place when retried (read from ${step.backend})`;
        return { state: 'applied', summary: summary + unseenPasswordNote(step, backend) };
      }
    }
    // Read just before the change (after a Retry's read-back found it not in place): what the undo restores.
    const undoIndex = request.steps.findIndex((s) => s.undoes === index);
    let remembered: Remembered | undefined;
    try {
      if (undoIndex >= 0 && backend) remembered = await rememberBeforeChange(backend, step);
    } catch (err) {
      return { state: 'failed', ...backendFailure(err) };
    }
    const password =
      step.action === 'create' && makesPassword(backend)
        ? (this.deps.generatePassword ?? backend?.generatePassword?.bind(backend))?.()
        : undefined;
    let outcome: StepOutcome;
    try {
      if (!backend) {
        throw new BackendError(step.backend, 'unsupported', `backend "${step.backend}" is no longer in the config`);
      }
      const result = await kind.apply(backend, step, password);
      outcome = {
        state: 'applied',
        summary: result.summary,
        ...(remembered ? { remember: { index: undoIndex, remembered } } : {}),
      };
    } catch (err) {
      const failure = backendFailure(err);
      const waitMs = err instanceof BackendError && err.code === 'rate_limited' ? err.retryAfterMs : undefined;
      if (request.plan === 'batch' && waitMs !== undefined) {
        // A rate limit refuses before doing any work (docs/nextcloud-ocs.md#rate-limit-on-user-edits): the row is
        // not failed, it waits out the window with the rest of the backend's queue.
        const until = new Date(this.deps.clock().getTime() + waitMs).toISOString();
        return { state: 'pending', until };
      }
      if (step.skipIfMissing && failure.code === 'not_found') {
        return { state: 'skipped', summary: `${step.username} does not exist on ${step.backend}` };
      }
      if (failure.code === 'unexpected') {
        this.deps.logger.error({ err, request: request.id, backend: step.backend }, 'unexpected error while applying');
      }
      outcome = { state: 'failed', ...failure };
    }
    if (outcome.state === 'applied' && password && backend?.passwordHandling === 'show-to-requester') {
      try {
        await this.deps.deliverPassword(request, step, password);
      } catch (err) {
        this.deps.logger.error({ err, request: request.id }, 'could not show the generated password to the requester');
        outcome.summary += '. The generated password could NOT be shown to the requester: reset it on the backend';
      }
    }
    return outcome;
  }

  /**
   * applying -> applied | failed | skipped for the attempt this process claimed, the request's state decided by
   * its steps, and the audit entries, all in one commit.
   */
  private async settle(
    id: string,
    index: number,
    claimedAt: string | undefined,
    outcome: StepOutcome,
    auditExtra: Record<string, unknown> = {},
  ): Promise<AccountRequest | undefined> {
    const at = this.deps.clock().toISOString();
    const result = await this.deps.requests.update<string>(
      id,
      (current) => {
        const step = current.steps[index];
        // Recovery took it over (this attempt outlived interruptedAfterMs), or another attempt owns it now.
        if (!step || step.state !== 'applying' || step.applyingSince !== claimedAt) return { refuse: 'moved on' };
        if (!canMoveStep(step.state, outcome.state)) return { refuse: 'moved on' };
        const settled: Step = {
          ...step,
          state: outcome.state,
          applyingSince: undefined,
          applyingBy: undefined,
          ...(outcome.state === 'pending'
            ? // The call was refused before any work: this attempt does not count.
              { attempts: step.attempts - 1, waitingUntil: outcome.until }
            : { checkFirst: undefined }),
          ...(outcome.state === 'failed'
            ? { error: { at, code: outcome.code, message: outcome.message, retryable: outcome.retryable } }
            : outcome.state === 'pending'
              ? {}
              : { result: { at, summary: outcome.summary }, error: undefined }),
        };
        // A batch cancelled while this row ran: the row's outcome stands, and the request ends once nothing runs.
        if (settled.state === 'pending' && current.batch?.cancelled) {
          Object.assign(settled, { state: 'skipped', result: { at, summary: 'not applied: the batch was cancelled' } });
        }
        const remember = outcome.state === 'applied' ? outcome.remember : undefined;
        const steps = current.steps.map((s, i) =>
          i === index ? settled : remember?.index === i ? withRemembered(s, remember.remembered) : s,
        );
        const state = stateAfterSteps(steps, current.batch?.cancelled !== undefined);
        if (!canMove(current.state, state)) return { refuse: 'moved on' };
        return { ...current, steps, state };
      },
      (next) => settleEntries(next, index, auditExtra, lateness(next.steps[index], claimedAt)),
    );
    if (!result.ok) return undefined;
    this.deps.events.emit(result.record, 'step-settled');
    return result.record;
  }

  /**
   * A step is interrupted when the process that claimed it is gone, or when it has run longer than any backend
   * call can (a process that hangs).
   */
  private async wasInterrupted(step: Step, now: number): Promise<boolean> {
    if (now - Date.parse(step.applyingSince ?? '') >= this.interruptedAfterMs) return true;
    if (Number.isNaN(Date.parse(step.applyingSince ?? ''))) return true;
    const { instance } = this.deps;
    if (!instance || !step.applyingBy || step.applyingBy === instance.id) return false;
    return !(await instance.isAlive(step.applyingBy));
  }

  /** Settles an interrupted step by reading its backend: the change is in place, or it is not. */
  private async reconcile(request: AccountRequest, index: number): Promise<boolean> {
    const step = request.steps[index] as Step;
    const backend = this.deps.backends.get(step.backend);
    const kind = ACTION_KINDS[step.action];
    let outcome: StepOutcome;
    try {
      if (!backend) throw new Error(`backend "${step.backend}" is no longer in the config`);
      const current = await backend.getUser(step.username);
      if (kind.isDone(asStored(step, backend), current)) {
        outcome = {
          state: 'applied',
          summary:
            `${step.username} ${kind.done} (confirmed by reading ${step.backend} after AccountDesk restarted)` +
            unseenPasswordNote(step, backend),
        };
      } else if (step.skipIfMissing && !current.exists) {
        outcome = { state: 'skipped', summary: `${step.username} does not exist on ${step.backend}` };
      } else {
        outcome = {
          state: 'failed',
          code: 'interrupted',
          retryable: true,
          message:
            kind.unverifiable?.(step.backend) ??
            `AccountDesk stopped while applying this, and ${step.backend} does not show the change in place. ` +
              'Retry to apply it.',
        };
      }
    } catch (err) {
      outcome = {
        state: 'failed',
        code: 'interrupted',
        retryable: true,
        message:
          `AccountDesk stopped while applying this and could not check ${step.backend} ` +
          `(${backendFailure(err).message}). Check the account by hand, then Retry or Cancel.`,
      };
    }
    return (await this.settle(request.id, index, step.applyingSince, outcome, { recovered: true })) !== undefined;
  }
}

/**
 * What settling step `index` writes to the audit log: a line for the step when the plan has several, and a line
 * for the whole request once no step is left to run. A one-step plan reads exactly as a plain request always did.
 */
function settleEntries(
  request: AccountRequest,
  index: number,
  extra: Record<string, unknown>,
  stepData: Record<string, unknown>,
) {
  const step = request.steps[index] as Step;
  const entries = [];
  // A scheduled step always gets its own line (it is announced when it runs); the others when there are several.
  const immediate = request.steps.filter((s) => s.notBefore === undefined).length;
  if (step.notBefore !== undefined || immediate > 1) {
    const event = step.state === 'pending' ? 'step-waiting' : (`step-${step.state}` as 'step-applied');
    entries.push(stepEntry(event, request, index, stepData));
  }
  const waiting = request.steps.filter(isWaiting);
  if (request.state === 'applying' || (step.notBefore !== undefined && waiting.length > 0)) return entries;
  // A batch's outcome is its counts: one line per row would be thousands of lines (the rows have their own entries).
  const summary = request.plan === 'batch' ? batchCounts(request) : planSummary(request);
  if (request.state === 'scheduled') {
    // The plan is applied as far as it can be today; what is left runs at its time.
    entries.push(
      requestEntry('scheduled', request, 'system', {
        summary,
        notBefore: waiting[0]?.notBefore,
        ...extra,
      }),
    );
    return entries;
  }
  const single = immediate === 1 && step.notBefore === undefined;
  if (request.state === 'cancelled') {
    entries.push(requestEntry('stopped', request, 'system', { summary, ...extra }));
  } else if (request.state === 'applied') {
    entries.push(requestEntry('applied', request, 'system', { summary, ...extra }));
  } else if (request.state === 'failed' && single) {
    entries.push(
      requestEntry('failed', request, 'system', { error: step.error?.message, code: step.error?.code, ...extra }),
    );
  } else {
    const event = request.state === 'failed' ? 'failed' : 'partly_applied';
    entries.push(requestEntry(event, request, 'system', { error: summary, ...extra }));
  }
  return entries;
}

/** For a scheduled step: when it was due and how late it ran (after downtime it runs at once, and says so). */
function lateness(step: Step | undefined, claimedAt: string | undefined): Record<string, unknown> {
  if (!step?.notBefore) return {};
  const lateMs = Math.max(0, Date.parse(claimedAt ?? '') - Date.parse(step.notBefore));
  return { scheduled: true, notBefore: step.notBefore, lateMs: Number.isFinite(lateMs) ? lateMs : 0 };
}
