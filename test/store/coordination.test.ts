import { describe, expect, it } from 'vitest';
import { ENGINES } from './engines.js';

/** Polls until `check` is true; expiry on Redis runs on the server's clock, so the test waits for it (bounded). */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

describe.each(ENGINES)('cursors on $name', (engine) => {
  it('starts at 0 and advances only from where it is', async () => {
    const at = await engine.fresh();
    const [a, b] = [await at.open(), await at.open()];
    expect(await a.cursors.get('audit-poster')).toBe(0);
    expect(await a.cursors.advance('audit-poster', 0, 3)).toBe(true);
    expect(await b.cursors.get('audit-poster')).toBe(3);
    expect(await b.cursors.advance('audit-poster', 0, 5)).toBe(false);
    expect(await b.cursors.advance('audit-poster', 3, 5)).toBe(true);
    expect(await a.cursors.get('audit-poster')).toBe(5);
    expect(await a.cursors.get('dm-sender')).toBe(0);
  });

  it('lets exactly one of many concurrent advances from the same position win', async () => {
    const at = await engine.fresh();
    const [a, b] = [await at.open(), await at.open()];
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).cursors.advance('c', 0, i + 1)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await a.cursors.get('c')).toBe(results.indexOf(true) + 1);
  });
});

describe.each(ENGINES)('coordination on $name', (engine) => {
  it('once: true for the first caller only, across instances', async () => {
    const at = await engine.fresh();
    const [a, b] = [await at.open(), await at.open()];
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).coordination.once('slack:req-1', 60_000)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await a.coordination.once('slack:req-2', 60_000)).toBe(true);
  });

  it('once: forgets a key after its ttl', async () => {
    const at = await engine.fresh();
    const clock = { t: 1_000_000 };
    const store = await at.open({ now: () => clock.t });
    expect(await store.coordination.once('k', 5)).toBe(true);
    expect(await store.coordination.once('k', 5)).toBe(false);
    clock.t += 10; // SQLite judges expiry by the injected clock; Redis by its own, hence the polling below.
    expect(await eventually(() => store.coordination.once('k', 60_000))).toBe(true);
    expect(await store.coordination.once('k', 60_000)).toBe(false);
  });

  it('leases: one owner at a time, renewable by its owner, released only by its owner', async () => {
    const at = await engine.fresh();
    const [a, b] = [await at.open(), await at.open()];
    expect(await a.coordination.acquireLease('outbox', 'replica-a', 60_000)).toBe(true);
    expect(await b.coordination.acquireLease('outbox', 'replica-b', 60_000)).toBe(false);
    expect(await a.coordination.acquireLease('outbox', 'replica-a', 60_000)).toBe(true);
    await b.coordination.releaseLease('outbox', 'replica-b');
    expect(await b.coordination.acquireLease('outbox', 'replica-b', 60_000)).toBe(false);
    await a.coordination.releaseLease('outbox', 'replica-a');
    expect(await b.coordination.acquireLease('outbox', 'replica-b', 60_000)).toBe(true);
    expect(await a.coordination.acquireLease('sweeper', 'replica-a', 60_000)).toBe(true);
  });

  it(
    'leaseHolder: names the live holder to every instance, ' + 'takes nothing, forgets an expired or released lease',
    async () => {
      const at = await engine.fresh();
      const clock = { t: 7_000_000 };
      const [a, b] = [await at.open({ now: () => clock.t }), await at.open({ now: () => clock.t })];
      expect(await b.coordination.leaseHolder('instance:a')).toBeUndefined();
      expect(await a.coordination.acquireLease('instance:a', 'a', 5)).toBe(true);
      expect(await b.coordination.leaseHolder('instance:a')).toBe('a');
      expect(await b.coordination.leaseHolder('instance:a')).toBe('a'); // asking twice changes nothing
      clock.t += 10;
      expect(await eventually(async () => (await b.coordination.leaseHolder('instance:a')) === undefined)).toBe(true);
      expect(await a.coordination.acquireLease('instance:a', 'a', 60_000)).toBe(true);
      await a.coordination.releaseLease('instance:a', 'a');
      expect(await b.coordination.leaseHolder('instance:a')).toBeUndefined();
    },
  );

  it('leases: an expired lease can be taken by another owner', async () => {
    const at = await engine.fresh();
    const clock = { t: 5_000_000 };
    const [a, b] = [await at.open({ now: () => clock.t }), await at.open({ now: () => clock.t })];
    expect(await a.coordination.acquireLease('outbox', 'replica-a', 5)).toBe(true);
    expect(await b.coordination.acquireLease('outbox', 'replica-b', 60_000)).toBe(false);
    clock.t += 10;
    expect(await eventually(() => b.coordination.acquireLease('outbox', 'replica-b', 60_000))).toBe(true);
    expect(await a.coordination.acquireLease('outbox', 'replica-a', 60_000)).toBe(false);
  });

  it('leases: exactly one of many concurrent contenders wins', async () => {
    const at = await engine.fresh();
    const [a, b] = [await at.open(), await at.open()];
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).coordination.acquireLease('outbox', `replica-${i}`, 60_000)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});
