/** The per-backend circuit breaker of the card's live reads (src/requests/read-breaker.ts), on a clock we move. */
import { describe, expect, it } from 'vitest';
import { ReadBreaker } from '../../src/requests/read-breaker.js';

function breakerAt() {
  let now = 1_000_000;
  const breaker = new ReadBreaker({ failures: 3, windowMs: 60_000, cooldownMs: 30_000 }, () => now);
  return { breaker, advance: (ms: number) => (now += ms) };
}

describe('ReadBreaker', () => {
  it('opens after 3 failures within a minute, and refuses at once with the reason', () => {
    const { breaker } = breakerAt();
    for (let i = 0; i < 2; i++) {
      expect(breaker.refusal()).toBeUndefined();
      breaker.failed();
    }
    expect(breaker.refusal()).toBeUndefined();
    breaker.failed();
    expect(breaker.refusal()).toBe('state unavailable, read failed 3 times in the last minute');
    expect(breaker.wouldRefuse()).toBe('state unavailable, read failed 3 times in the last minute');
  });

  it('forgets failures older than the window, and a success clears them', () => {
    const { breaker, advance } = breakerAt();
    breaker.failed();
    breaker.failed();
    advance(61_000);
    breaker.failed();
    expect(breaker.refusal()).toBeUndefined();
    breaker.failed();
    breaker.succeeded();
    breaker.failed();
    breaker.failed();
    expect(breaker.refusal()).toBeUndefined();
  });

  it('after the cooldown lets exactly one probe through; its success closes, its failure re-opens', () => {
    const { breaker, advance } = breakerAt();
    for (let i = 0; i < 3; i++) breaker.failed();
    advance(29_000);
    expect(breaker.refusal()).toBeDefined();
    advance(1_000);
    expect(breaker.wouldRefuse()).toBeUndefined(); // asking does not take the probe's turn
    expect(breaker.refusal()).toBeUndefined(); // the probe
    expect(breaker.refusal()).toBeDefined(); // everyone else while it runs
    breaker.failed();
    expect(breaker.refusal()).toBeDefined(); // open again for another cooldown
    advance(30_000);
    expect(breaker.refusal()).toBeUndefined(); // the next probe
    breaker.succeeded();
    expect(breaker.refusal()).toBeUndefined();
    expect(breaker.refusal()).toBeUndefined();
  });
});
