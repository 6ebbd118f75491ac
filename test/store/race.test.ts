/**
 * The claim race the issue asks to prove: two store instances (two connections to the same SQLite file / the
 * same Redis) race 1,000 times to move one fresh record from 'approved' to 'applying'; exactly one wins every
 * round. `contested` counts rounds where both read 'approved' before either wrote, so the race was real and the
 * compare-and-swap settled it. Then 1,000 concurrent audit appends split across the instances keep one unbroken
 * chain. The same runs from two forked processes. Figures: `npx tsx bench/store-race.ts`.
 */
import { describe, expect, it } from 'vitest';
import { raceAudit, raceClaims, raceProcesses } from '../../bench/store-race.js';
import { ENGINES } from './engines.js';

const ROUNDS = 1_000;

describe.each(ENGINES)('race on $name', (engine) => {
  it(`exactly one of two instances wins each of ${ROUNDS} claims`, async () => {
    const at = await engine.fresh();
    const result = await raceClaims(await at.open(), await at.open(), ROUNDS);
    expect(result).toMatchObject({ rounds: ROUNDS, singleWinner: ROUNDS, doubleWins: 0, noWinner: 0 });
    // Most rounds must be genuine collisions, or the test would prove nothing.
    expect(result.contested).toBeGreaterThan(ROUNDS / 2);
  }, 120_000);

  it(`${ROUNDS} concurrent audit appends from two instances form one verified chain`, async () => {
    const at = await engine.fresh();
    const result = await raceAudit(await at.open(), await at.open(), ROUNDS);
    expect(result).toMatchObject({ appends: ROUNDS, distinctSeqs: ROUNDS, verified: true, entries: ROUNDS });
  }, 120_000);

  it(`two processes: one winner per record over ${ROUNDS} records, and one chain of ${ROUNDS} appends`, async () => {
    const at = await engine.fresh();
    const result = await raceProcesses(at.url, at.namespace, ROUNDS);
    expect(result.claims).toMatchObject({ rounds: ROUNDS, singleWinner: ROUNDS, doubleWins: 0, noWinner: 0 });
    expect(result.claims.contested).toBeGreaterThan(0);
    expect(result.audit).toMatchObject({ appends: ROUNDS, distinctSeqs: ROUNDS, verified: true, entries: ROUNDS });
  }, 120_000);
});
