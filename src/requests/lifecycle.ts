/**
 * The request state machine (docs/architecture.md#state-table):
 *   pending -> approved -> applying -> applied | failed
 *   pending -> rejected | expired | cancelled
 *   failed  -> applying (an approver's Retry) | cancelled (given up)
 * pending -> pending is a vote that has not reached the threshold yet.
 */
import type { RequestState } from './types.js';

const ALLOWED: Record<RequestState, readonly RequestState[]> = {
  pending: ['pending', 'approved', 'rejected', 'expired', 'cancelled'],
  approved: ['applying'],
  applying: ['applied', 'failed'],
  failed: ['applying', 'cancelled'],
  applied: [],
  rejected: [],
  expired: [],
  cancelled: [],
};

export const TERMINAL_STATES: readonly RequestState[] = ['applied', 'rejected', 'expired', 'cancelled'];

/** The states in which a request still needs someone: indexed so listing them never scans every request. */
export const OPEN_STATES: readonly RequestState[] = ['pending', 'approved', 'applying', 'failed'];

export function canMove(from: RequestState, to: RequestState): boolean {
  return ALLOWED[from].includes(to);
}

/** Why a decision on a request in state `from` is refused, in words for the person who tried it. */
export function refusalFor(from: RequestState): string {
  if (TERMINAL_STATES.includes(from)) return `the request is already ${from}`;
  if (from === 'applying') return 'the request is being applied right now';
  if (from === 'approved') return 'the request is already approved and about to be applied';
  if (from === 'failed') return 'the request failed; an approver can Retry it or give up';
  return 'the request is still waiting for approval';
}
