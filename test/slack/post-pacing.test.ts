/** The per-channel token bucket of chat.postMessage (src/slack/post-pacing.ts), on a clock we move. */
import { describe, expect, it } from 'vitest';
import { PostPacer } from '../../src/slack/post-pacing.js';

/** A pacer whose sleeps move a fake clock; returns the times at which each turn was granted. */
function pacer(perSecond: number, burst: number) {
  let now = 0;
  const p = new PostPacer(
    { perSecond, burst },
    () => now,
    (ms) => {
      now += ms;
      return Promise.resolve();
    },
  );
  const granted = async (channel: string, count: number) => {
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      await p.turn(channel);
      times.push(now);
    }
    return times;
  };
  return { p, granted, advance: (ms: number) => (now += ms), now: () => now };
}

describe('PostPacer', () => {
  it('lets a burst go at once, then one post per 1/rate', async () => {
    const { granted } = pacer(1, 3);
    expect(await granted('C1', 5)).toEqual([0, 0, 0, 1_000, 2_000]);
  });

  it('keeps a bucket per channel: a busy channel does not slow another', async () => {
    const { granted } = pacer(1, 1);
    await granted('C1', 3);
    const before = (await granted('C2', 1))[0]!;
    expect(before).toBe(2_000); // C2 got its token at once (the clock had moved only for C1's waits)
  });

  it("waits out a 429's Retry-After, then sends one, then paces", async () => {
    const { p, granted, now } = pacer(1, 3);
    await granted('C1', 1);
    p.pause('C1', 5_000);
    const start = now();
    expect((await granted('C1', 3)).map((t) => t - start)).toEqual([5_000, 6_000, 7_000]);
  });
});
