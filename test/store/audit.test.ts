import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StoreError, canonicalJson } from '../../src/store/index.js';
import { ENGINES } from './engines.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined fields', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[1,{"y":2,"z":1}]},"b":1}',
    );
  });
});

const clocks = new WeakMap<object, { t: number }>();
const clockOf = (store: object) => clocks.get(store)!;

describe.each(ENGINES)('audit log on $name', (engine) => {
  async function log(count: number) {
    const at = await engine.fresh();
    const clock = { t: Date.parse('2025-01-02T03:04:05.000Z') };
    const store = await at.open({ now: () => clock.t });
    for (let i = 1; i <= count; i++) {
      await store.audit.append({ event: 'approved', subject: `req-${i}`, actor: 'U1', data: { i, note: 'ok' } });
    }
    clocks.set(store, clock);
    return { at, store, entryKey: (seq: number) => `${at.namespace}:audit:${seq}` };
  }

  it('appends a hash chain with seq 1, 2, 3 and the hash the contract defines', async () => {
    const { store } = await log(0);
    const first = await store.audit.append({
      event: 'requested',
      subject: 'req-1',
      actor: 'U1',
      data: { quota: '10 GB' },
    });
    clockOf(store).t += 1;
    const second = await store.audit.append({ event: 'approved', subject: 'req-1', actor: 'U2', data: {} });
    expect(first).toMatchObject({ seq: 1, prevHash: '', at: '2025-01-02T03:04:05.000Z', event: 'requested' });
    expect(second).toMatchObject({ seq: 2, prevHash: first.hash, at: '2025-01-02T03:04:05.001Z', actor: 'U2' });
    const { hash, ...rest } = first;
    const expected = createHash('sha256')
      .update(
        canonicalJson({
          seq: rest.seq,
          at: rest.at,
          event: rest.event,
          subject: rest.subject,
          actor: rest.actor,
          data: rest.data,
          prevHash: rest.prevHash,
        }),
      )
      .digest('hex');
    expect(hash).toBe(expected);
  });

  it('reads after a seq, oldest first, bounded by limit', async () => {
    const { store } = await log(7);
    expect((await store.audit.readAfter(0, 3)).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect((await store.audit.readAfter(5, 10)).map((e) => e.seq)).toEqual([6, 7]);
    expect(await store.audit.readAfter(7, 10)).toEqual([]);
    expect((await store.audit.readAfter(2, 1))[0]).toMatchObject({
      seq: 3,
      subject: 'req-3',
      data: { i: 3, note: 'ok' },
    });
  });

  it('verifies an intact chain, and an empty one', async () => {
    expect(await (await log(0)).store.audit.verify()).toEqual({ ok: true, entries: 0 });
    expect(await (await log(12)).store.audit.verify()).toEqual({ ok: true, entries: 12 });
  });

  it('reports an entry whose data was edited', async () => {
    const { at, store, entryKey } = await log(5);
    const [third] = await store.audit.readAfter(2, 1);
    await at.raw(entryKey(3), JSON.stringify({ value: { ...third, data: { i: 3, note: 'edited' } } }));
    const result = await store.audit.verify();
    expect(result).toMatchObject({ ok: false, entries: 5, brokenAt: 3 });
    expect(result.ok === false && result.problem).toContain('edited');
  });

  it('reports an edited entry whose hash was recomputed, at the next entry', async () => {
    const { at, store, entryKey } = await log(5);
    const [second] = await store.audit.readAfter(1, 1);
    const { entryHash } = await import('../../src/store/audit.js');
    const forged = { ...second!, actor: 'U-evil' };
    await at.raw(entryKey(2), JSON.stringify({ value: { ...forged, hash: entryHash(forged) } }));
    expect(await store.audit.verify()).toMatchObject({ ok: false, brokenAt: 3 });
  });

  it('reports a deleted entry in the middle and at the end', async () => {
    const middle = await log(5);
    await middle.at.raw(middle.entryKey(2), undefined);
    const result = await middle.store.audit.verify();
    expect(result).toMatchObject({ ok: false, brokenAt: 2 });
    expect(result.ok === false && result.problem).toContain('deleted');
    await expect(middle.store.audit.readAfter(0, 5)).rejects.toMatchObject({ code: 'corrupt' });

    const last = await log(4);
    await last.at.raw(last.entryKey(4), undefined);
    expect(await last.store.audit.verify()).toMatchObject({ ok: false, brokenAt: 4 });
  });

  it('reports an entry inserted in the middle or beyond the end', async () => {
    const middle = await log(4);
    const [two] = await middle.store.audit.readAfter(1, 1);
    // Shifting entries up to make room breaks seq and chain at the first moved entry.
    await middle.at.raw(middle.entryKey(3), JSON.stringify({ value: { ...two, seq: 3, subject: 'inserted' } }));
    expect(await middle.store.audit.verify()).toMatchObject({ ok: false, brokenAt: 3 });

    const end = await log(3);
    const [three] = await end.store.audit.readAfter(2, 1);
    await end.at.raw(end.entryKey(4), JSON.stringify({ value: { ...three, seq: 4, prevHash: three!.hash } }));
    const result = await end.store.audit.verify();
    expect(result).toMatchObject({ ok: false, brokenAt: 4 });
    expect(result.ok === false && result.problem).toContain('inserted');
    // An append must not silently overwrite it either.
    const error = await end.store.audit
      .append({ event: 'x', subject: 'y', actor: 'z', data: {} })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('corrupt');
  });

  it('reports an entry that is no longer JSON', async () => {
    const { at, store, entryKey } = await log(3);
    await at.raw(entryKey(2), '{"value": nope');
    expect(await store.audit.verify()).toMatchObject({ ok: false, brokenAt: 2 });
  });

  it('never gives two concurrent appenders the same seq and leaves no gap', async () => {
    const at = await engine.fresh();
    const [a, b] = [await at.open(), await at.open()];
    const entries = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        (i % 2 ? a : b).audit.append({ event: 'e', subject: `s${i}`, actor: 'U', data: { i } }),
      ),
    );
    expect(entries.map((e) => e.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(await b.audit.verify()).toEqual({ ok: true, entries: 60 });
  });
});
