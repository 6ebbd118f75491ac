import { describe, expect, it } from 'vitest';
import {
  OPEN_STATES,
  TERMINAL_STATES,
  canMove,
  canMoveStep,
  refusalFor,
  stateAfterSteps,
} from '../../src/requests/lifecycle.js';
import { STATES, STEP_STATES, type RequestState, type Step, type StepState } from '../../src/requests/types.js';

// docs/architecture.md#state-table, written out independently of lifecycle.ts so a change to one shows here.
const LEGAL: ReadonlyArray<[RequestState, RequestState]> = [
  ['pending', 'pending'], // a vote below the threshold
  ['pending', 'approved'],
  ['pending', 'rejected'],
  ['pending', 'expired'],
  ['pending', 'cancelled'],
  ['approved', 'applying'], // the engine claims the first step
  ['approved', 'cancelled'], // a batch cancelled before its first row ran
  ['applying', 'cancelled'], // a batch cancelled: its last running row settled
  ['applying', 'applying'], // a step settles while others wait
  ['applying', 'applied'],
  ['applying', 'partly_applied'],
  ['applying', 'failed'],
  ['applying', 'scheduled'], // done for now: a scheduled step waits for its time
  ['scheduled', 'applying'], // a scheduled step falls due
  ['scheduled', 'scheduled'], // one of several scheduled steps settles
  ['scheduled', 'applied'], // an approver cancels what was scheduled
  ['failed', 'applying'], // an approver's Retry
  ['failed', 'cancelled'], // given up
  ['partly_applied', 'applying'], // Retry of the failed steps
  ['partly_applied', 'cancelled'], // given up with what is done
];

const LEGAL_STEP: ReadonlyArray<[StepState, StepState]> = [
  ['pending', 'applying'],
  ['pending', 'skipped'], // a scheduled step cancelled by an approver
  ['applying', 'applied'],
  ['applying', 'failed'],
  ['applying', 'skipped'],
  ['applying', 'pending'], // a batch row that met the backend's rate limit: tried again after the window
  ['pending', 'skipped'], // a batch row left out by Cancel
  ['failed', 'pending'], // Retry
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

  const stepPairs = STEP_STATES.flatMap((from) => STEP_STATES.map((to) => [from, to] as const));
  it.each(stepPairs)('step %s -> %s follows the step table', (from, to) => {
    expect(canMoveStep(from, to)).toBe(LEGAL_STEP.some(([f, t]) => f === from && t === to));
  });

  it('the request state after its steps: applying while any waits, else applied, failed or partly applied', () => {
    const steps = (...states: StepState[]) => states.map((state) => ({ state }) as Step);
    expect(stateAfterSteps(steps('applied', 'pending'))).toBe('applying');
    expect(stateAfterSteps(steps('applied', 'applying'))).toBe('applying');
    expect(stateAfterSteps(steps('applied', 'skipped'))).toBe('applied');
    expect(stateAfterSteps(steps('skipped'))).toBe('applied');
    expect(stateAfterSteps(steps('failed', 'skipped'))).toBe('failed');
    expect(stateAfterSteps(steps('applied', 'failed'))).toBe('partly_applied');
    expect(stateAfterSteps(steps('applied', 'skipped'), true)).toBe('cancelled');
    expect(stateAfterSteps(steps('applied', 'applying'), true)).toBe('applying');
  });

  it('a scheduled step waiting for its time leaves the request scheduled, or failed when nothing it undoes worked', () => {
    const at = '2027-03-31T00:00:00.000Z';
    const done = { state: 'applied' } as Step;
    const waiting = { state: 'pending', notBefore: at } as Step;
    expect(stateAfterSteps([done, waiting])).toBe('scheduled');
    expect(stateAfterSteps([{ state: 'pending' } as Step, waiting])).toBe('applying');
    expect(stateAfterSteps([{ state: 'failed' } as Step, waiting])).toBe('failed');
    expect(stateAfterSteps([done, { state: 'failed' } as Step, waiting])).toBe('partly_applied');
    expect(stateAfterSteps([done, { ...waiting, state: 'applied' }])).toBe('applied');
    expect(refusalFor('scheduled')).toBe('the request is applied and has a scheduled step still to run');
  });

  it('explains refusals in words for the person who clicked', () => {
    expect(refusalFor('applied')).toBe('the request is already applied');
    expect(refusalFor('rejected')).toBe('the request is already rejected');
    expect(refusalFor('applying')).toBe('the request is being applied right now');
    expect(refusalFor('approved')).toBe('the request is already approved and about to be applied');
    expect(refusalFor('pending')).toBe('the request is still waiting for approval');
    expect(refusalFor('failed')).toBe('the request failed; an approver can Retry it or give up');
    expect(refusalFor('partly_applied')).toBe('the request was partly applied; an approver can Retry the failed steps');
  });
});
