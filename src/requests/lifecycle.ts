/**
 * The request state machine (docs/architecture.md#state-table): the one place where a state change is allowed or
 * refused. Every module that moves a request (decisions.ts, engine.ts) asks `canMove` inside its compare-and-swap,
 * so a rule lives here once.
 *
 *   pending -> pending (a vote below the threshold) | approved | rejected | expired | cancelled
 *   approved -> applying                            (the engine claims the first step)
 *   applying -> applying | applied | scheduled | partly_applied | failed   (decided by the steps: stateAfterSteps)
 *   scheduled -> applying (a scheduled step falls due) | scheduled | applied (an approver cancels what was scheduled)
 *   failed | partly_applied -> applying (an approver's Retry of the failed steps) | cancelled (Give up)
 *   approved | applying -> cancelled               (a batch cancelled by an approver, once nothing runs)
 *
 * Steps move pending -> applying -> applied | failed | skipped, and failed -> pending on Retry; a scheduled step
 * (one with `notBefore`) waits as pending until it is due, and pending -> skipped when an approver cancels it. A
 * batch's rows also move applying -> pending (the backend's rate limit: tried again after its window) and
 * pending -> skipped (the batch was cancelled).
 */
import type { AccountRequest, RequestState, Step, StepState } from './types.js';

const ALLOWED: Record<RequestState, readonly RequestState[]> = {
  pending: ['pending', 'approved', 'rejected', 'expired', 'cancelled'],
  approved: ['applying', 'cancelled'],
  applying: ['applying', 'applied', 'scheduled', 'partly_applied', 'failed', 'cancelled'],
  scheduled: ['applying', 'scheduled', 'applied'],
  failed: ['applying', 'cancelled'],
  partly_applied: ['applying', 'cancelled'],
  applied: [],
  rejected: [],
  expired: [],
  cancelled: [],
};

const STEP_ALLOWED: Record<StepState, readonly StepState[]> = {
  pending: ['applying', 'skipped'],
  applying: ['applied', 'failed', 'skipped', 'pending'],
  failed: ['pending'],
  applied: [],
  skipped: [],
};

export const TERMINAL_STATES: readonly RequestState[] = ['applied', 'rejected', 'expired', 'cancelled'];

/** The states in which a request still needs someone: indexed so listing them never scans every request. */
export const OPEN_STATES: readonly RequestState[] = [
  'pending',
  'approved',
  'applying',
  'scheduled',
  'failed',
  'partly_applied',
];

/**
 * States in which approved work is left to do or to reconcile: what the engine sweeps. A partly applied plan is
 * among them for its scheduled steps only (its failed steps wait for a Retry): an onboarding that failed on one
 * backend still disables the accounts it did create when their time comes.
 */
export const ENGINE_STATES: readonly RequestState[] = ['approved', 'applying', 'scheduled', 'partly_applied'];

/** States an approver can Retry or Give up. */
export const RETRYABLE_STATES: readonly RequestState[] = ['failed', 'partly_applied'];

export function canMove(from: RequestState, to: RequestState): boolean {
  return ALLOWED[from].includes(to);
}

export function canMoveStep(from: StepState, to: StepState): boolean {
  return STEP_ALLOWED[from].includes(to);
}

/** A scheduled step that has not run yet (it may or may not be due). */
export function isWaiting(step: Step): boolean {
  return step.state === 'pending' && step.notBefore !== undefined;
}

/** Whether a pending step may run now: an ordinary one at once, a scheduled one from its notBefore on. */
export function isDue(step: Step, now: Date): boolean {
  return step.state === 'pending' && (step.notBefore === undefined || Date.parse(step.notBefore) <= now.getTime());
}

/**
 * The request's state once its steps have moved: still applying while any step runs or waits to run now; failed
 * when nothing was applied; partly applied when some steps were and some failed; otherwise `scheduled` while a
 * scheduled step waits for its time (everything else is done: the request is applied as far as it can be today),
 * and `applied` when every step is applied or skipped. A cancelled batch ends `cancelled` once its last running
 * row settled (the applied rows stay applied).
 */
export function stateAfterSteps(steps: readonly Step[], cancelled = false): RequestState {
  if (steps.some((s) => s.state === 'applying' || (s.state === 'pending' && !isWaiting(s)))) return 'applying';
  if (cancelled) return 'cancelled';
  const settled = steps.filter((s) => !isWaiting(s));
  if (settled.every((s) => s.state === 'applied' || s.state === 'skipped')) {
    return steps.some(isWaiting) ? 'scheduled' : 'applied';
  }
  return settled.some((s) => s.state === 'applied') ? 'partly_applied' : 'failed';
}

/** Why a decision on a request in state `from` is refused, in words for the person who tried it. */
export function refusalFor(from: RequestState): string {
  if (TERMINAL_STATES.includes(from)) return `the request is already ${from.replace('_', ' ')}`;
  if (from === 'applying') return 'the request is being applied right now';
  if (from === 'approved') return 'the request is already approved and about to be applied';
  if (from === 'scheduled') return 'the request is applied and has a scheduled step still to run';
  if (from === 'failed') return 'the request failed; an approver can Retry it or give up';
  if (from === 'partly_applied') return 'the request was partly applied; an approver can Retry the failed steps';
  return 'the request is still waiting for approval';
}

/**
 * The index keys of a request: its requester; while open, its state and `open-by:<requester>` (a person's own
 * open requests, read a page at a time however many closed ones they have).
 */
export function requestIndexKeys(request: AccountRequest): string[] {
  const keys = [`requester:${request.requester}`];
  if (OPEN_STATES.includes(request.state)) keys.push(`state:${request.state}`, `open-by:${request.requester}`);
  return keys;
}
