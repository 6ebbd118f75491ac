import { describe, expect, it } from 'vitest';
import { OPEN_STATES, TERMINAL_STATES, canMove, refusalFor } from '../../src/requests/lifecycle.js';
import { STATES, type RequestState } from '../../src/requests/types.js';

// docs/architecture.md#state-table, written out independently of lifecycle.ts so a change to one shows here.
const LEGAL: ReadonlyArray<[RequestState, RequestState]> = [
  ['pending', 'pending'], // a vote below the threshold
  ['pending', 'approved'],
  ['pending', 'rejected'],
  ['pending', 'expired'],
  ['pending', 'cancelled'],
  ['approved', 'applying'],
  ['applying', 'applied'],
  ['applying', 'failed'],
  ['failed', 'applying'], // an approver's Retry
  ['failed', 'cancelled'], // given up
];

const isLegal = (from: RequestState, to: RequestState): boolean => LEGAL.some(([f, t]) => f === from && t === to);

describe('request lifecycle', () => {
  const pairs = STATES.flatMap((from) => STATES.map((to) => [from, to] as const));

  it.each(pairs.filter(([f, t]) => isLegal(f, t)))('%s -> %s is allowed', (from, to) => {
    expect(canMove(from, to)).toBe(true);
  });

  it.each(pairs.filter(([f, t]) => !isLegal(f, t)))('%s -> %s is refused', (from, to) => {
    expect(canMove(from, to)).toBe(false);
  });

  it('terminal states go nowhere; open states are exactly the others', () => {
    for (const state of TERMINAL_STATES) expect(STATES.filter((to) => canMove(state, to))).toEqual([]);
    expect([...OPEN_STATES, ...TERMINAL_STATES].sort()).toEqual([...STATES].sort());
  });

  it('explains refusals in words for the person who clicked', () => {
    expect(refusalFor('applied')).toBe('the request is already applied');
    expect(refusalFor('rejected')).toBe('the request is already rejected');
    expect(refusalFor('applying')).toBe('the request is being applied right now');
    expect(refusalFor('approved')).toBe('the request is already approved and about to be applied');
    expect(refusalFor('pending')).toBe('the request is still waiting for approval');
    expect(refusalFor('failed')).toBe('the request failed; an approver can Retry it or give up');
  });
});
