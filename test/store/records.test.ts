import { describe, expect, it } from 'vitest';
import { StoreError, type VersionedRecord } from '../../src/store/index.js';
import { ENGINES } from './engines.js';

interface Request extends VersionedRecord {
  state: 'pending' | 'approved' | 'applying' | 'applied' | 'rejected';
  requester: string;
  decidedBy?: string;
}

const indexKeys = (r: Request) => [`state:${r.state}`, `requester:${r.requester}`];

describe.each(ENGINES)('records on $name', (engine) => {
  async function requests() {
    const at = await engine.fresh();
    const store = await at.open();
    return { at, store, requests: store.records<Request>('requests', indexKeys) };
  }

  it('inserts at version 1, reads back, and refuses a taken id', async () => {
    const { requests: r } = await requests();
    const inserted = await r.insert({ id: 'req-1', state: 'pending', requester: 'U1' });
    expect(inserted).toEqual({ id: 'req-1', state: 'pending', requester: 'U1', version: 1 });
    expect(await r.get('req-1')).toEqual(inserted);
    expect(await r.get('req-404')).toBeUndefined();
    const taken = await r.insert({ id: 'req-1', state: 'approved', requester: 'U2' }).catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(StoreError);
    expect((taken as StoreError).code).toBe('exists');
    expect((taken as StoreError).message).toContain('req-1');
    expect(await r.get('req-1')).toEqual(inserted);
  });

  it('updates with a version bump, refuses with the current record, and reports a missing record', async () => {
    const { requests: r } = await requests();
    await r.insert({ id: 'req-1', state: 'pending', requester: 'U1' });
    const approve = (by: string) => (current: Request) =>
      current.state === 'pending'
        ? { ...current, state: 'approved' as const, decidedBy: by }
        : { refuse: `already ${current.state} by ${current.decidedBy}` };

    const first = await r.update('req-1', approve('U7'));
    expect(first).toEqual({
      ok: true,
      record: { id: 'req-1', state: 'approved', requester: 'U1', decidedBy: 'U7', version: 2 },
    });
    const second = await r.update('req-1', approve('U8'));
    expect(second).toEqual({
      ok: false,
      refusal: 'already approved by U7',
      record: { id: 'req-1', state: 'approved', requester: 'U1', decidedBy: 'U7', version: 2 },
    });
    expect(await r.update('nope', approve('U8'))).toEqual({ ok: false, notFound: true });
    expect((await r.get('req-1'))?.version).toBe(2);
  });

  it("keeps id and version in the store's hands", async () => {
    const { requests: r } = await requests();
    await r.insert({ id: 'req-1', state: 'pending', requester: 'U1' });
    const result = await r.update('req-1', (c) => ({ ...c, id: 'other', version: 99, state: 'approved' }));
    expect(result).toEqual({ ok: true, record: { id: 'req-1', state: 'approved', requester: 'U1', version: 2 } });
    expect(await r.get('other')).toBeUndefined();
  });

  it('lists by index oldest first and follows every transition', async () => {
    const { requests: r } = await requests();
    for (const [id, requester] of [
      ['a', 'U1'],
      ['b', 'U2'],
      ['c', 'U1'],
      ['d', 'U1'],
    ] as const) {
      await r.insert({ id, state: 'pending', requester });
    }
    const ids = async (key: string, limit?: number) => (await r.listByIndex(key, limit)).map((x) => x.id);
    expect(await ids('state:pending')).toEqual(['a', 'b', 'c', 'd']);
    expect(await ids('requester:U1')).toEqual(['a', 'c', 'd']);
    expect(await ids('state:pending', 2)).toEqual(['a', 'b']);

    await r.update('c', (x) => ({ ...x, state: 'approved' }));
    await r.update('a', (x) => ({ ...x, state: 'rejected' }));
    expect(await ids('state:pending')).toEqual(['b', 'd']);
    expect(await ids('state:approved')).toEqual(['c']);
    expect(await ids('state:rejected')).toEqual(['a']);
    await r.update('c', (x) => ({ ...x, state: 'applying' }));
    await r.update('c', (x) => ({ ...x, state: 'applied' }));
    expect(await ids('state:approved')).toEqual([]);
    expect(await ids('state:applying')).toEqual([]);
    expect(await ids('state:applied')).toEqual(['c']);
    // Insertion order survives a move between index keys: 'a' was inserted before 'd'.
    await r.update('d', (x) => ({ ...x, state: 'rejected' }));
    expect(await ids('state:rejected')).toEqual(['a', 'd']);
    expect(await ids('requester:U1')).toEqual(['a', 'c', 'd']);
    expect(await ids('nothing-here')).toEqual([]);
    const listed = await r.listByIndex('state:applied');
    expect(listed).toEqual([{ id: 'c', state: 'applied', requester: 'U1', version: 4 }]);
  });

  it('pages through a long index', async () => {
    const { requests: r } = await requests();
    const ids = Array.from({ length: 1_230 }, (_, i) => `r${String(i).padStart(4, '0')}`);
    for (const id of ids) await r.insert({ id, state: 'pending', requester: 'U1' });
    await r.update('r0003', (x) => ({ ...x, state: 'approved' }));
    const pending = (await r.listByIndex('state:pending')).map((x) => x.id);
    expect(pending).toEqual(ids.filter((id) => id !== 'r0003'));
    expect((await r.listByIndex('state:pending', 600)).length).toBe(600);
  }, 60_000);

  it('reads one page of an index, oldest or newest first, and counts the index without reading records', async () => {
    const { requests: r } = await requests();
    const ids = Array.from({ length: 50 }, (_, i) => `p${String(i).padStart(2, '0')}`);
    for (const id of ids) await r.insert({ id, state: 'pending', requester: 'U1' });
    const page = async (options: { limit: number; offset?: number; newestFirst?: boolean }) =>
      (await r.pageByIndex('state:pending', options)).map((x) => x.id);
    expect(await page({ limit: 3, newestFirst: true })).toEqual(['p49', 'p48', 'p47']);
    expect(await page({ limit: 3, offset: 3, newestFirst: true })).toEqual(['p46', 'p45', 'p44']);
    expect(await page({ limit: 3 })).toEqual(['p00', 'p01', 'p02']);
    expect(await page({ limit: 10, offset: 45 })).toEqual(['p45', 'p46', 'p47', 'p48', 'p49']);
    expect(await page({ limit: 0 })).toEqual([]);
    expect(await r.countByIndex('state:pending')).toBe(50);
    await r.update('p49', (x) => ({ ...x, state: 'approved' }));
    expect(await page({ limit: 1, newestFirst: true })).toEqual(['p48']);
    expect(await r.countByIndex('state:pending')).toBe(49);
    expect(await r.countByIndex('state:approved')).toBe(1);
    expect(await r.countByIndex('nothing-here')).toBe(0);
    expect(() => r.pageByIndex('state:pending', { limit: -1 })).toThrow(/whole number/);
  });

  it('keeps collections apart', async () => {
    const { store } = await requests();
    const one = store.records<Request>('one', indexKeys);
    const two = store.records<Request>('two', indexKeys);
    await one.insert({ id: 'x', state: 'pending', requester: 'U1' });
    expect(await two.get('x')).toBeUndefined();
    expect(await two.listByIndex('state:pending')).toEqual([]);
    await two.insert({ id: 'x', state: 'approved', requester: 'U2' });
    expect((await one.get('x'))?.state).toBe('pending');
  });

  it('drops index members whose record no longer carries the key, or is gone', async () => {
    const { at, store, requests: r } = await requests();
    await r.insert({ id: 'a', state: 'pending', requester: 'U1' });
    await r.insert({ id: 'b', state: 'pending', requester: 'U1' });
    // A newer code version that no longer indexes by requester must not list records under the old key.
    const renamed = store.records<Request>('requests', (x) => [`state:${x.state}`]);
    await renamed.update('a', (x) => ({ ...x, state: 'approved' }));
    expect((await r.listByIndex('requester:U1')).map((x) => x.id)).toEqual(['a', 'b']);
    // Deleted by hand: the member stays in the index but is not listed.
    await at.raw(`${at.namespace}:rec:requests:b`, undefined);
    expect((await r.listByIndex('state:pending')).map((x) => x.id)).toEqual([]);
  });

  it('names the key of a record whose JSON is corrupt', async () => {
    const { at, requests: r } = await requests();
    await r.insert({ id: 'req-1', state: 'pending', requester: 'U1' });
    const key = `${at.namespace}:rec:requests:req-1`;
    await at.raw(key, '{"value": {"id": "req-1", truncated');
    for (const attempt of [
      () => r.get('req-1'),
      () => r.update('req-1', (x) => x),
      () => r.listByIndex('state:pending'),
    ]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).code).toBe('corrupt');
      expect((error as StoreError).message).toContain(key);
    }
  });

  it('serialises concurrent updates on one record without losing any', async () => {
    const at = await engine.fresh();
    const [a, b] = [await at.open(), await at.open()];
    interface Counter extends VersionedRecord {
      n: number;
    }
    const ca = a.records<Counter>('counters', () => []);
    const cb = b.records<Counter>('counters', () => []);
    await ca.insert({ id: 'c', n: 0 });
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? ca : cb).update('c', (x) => ({ ...x, n: x.n + 1 }))),
    );
    expect(await ca.get('c')).toEqual({ id: 'c', n: 40, version: 41 });
  });

  describe('audited commits: a record change and its audit entries in one commit', () => {
    const entry = (event: string, record: Request) => ({
      event,
      subject: record.id,
      actor: record.decidedBy ?? record.requester,
      data: { state: record.state },
    });

    it('insert and update write the record and their entries together, chained and verifiable', async () => {
      const { store, requests: r } = await requests();
      const inserted = await r.insert({ id: 'req-1', state: 'pending', requester: 'U1' }, (stored) => [
        entry('requested', stored),
      ]);
      expect(inserted.version).toBe(1);
      const approved = await r.update(
        'req-1',
        (c) => ({ ...c, state: 'approved' as const, decidedBy: 'U7' }),
        (next, previous) => [
          entry('approved', next),
          { ...entry('noted', next), data: { from: previous.state, version: next.version } },
        ],
      );
      expect(approved).toMatchObject({ ok: true, record: { state: 'approved', version: 2 } });
      const log = await store.audit.readAfter(0, 10);
      expect(log.map((e) => [e.seq, e.event, e.subject, e.actor, e.data])).toEqual([
        [1, 'requested', 'req-1', 'U1', { state: 'pending' }],
        [2, 'approved', 'req-1', 'U7', { state: 'approved' }],
        [3, 'noted', 'req-1', 'U7', { from: 'pending', version: 2 }],
      ]);
      expect(log[1]?.prevHash).toBe(log[0]?.hash);
      expect(await store.audit.verify()).toEqual({ ok: true, entries: 3 });
      // Plain appends chain on after audited commits.
      expect((await store.audit.append(entry('later', inserted))).seq).toBe(4);
    });

    it('a refused update, and an insert of a taken id, write no entry', async () => {
      const { store, requests: r } = await requests();
      await r.insert({ id: 'req-1', state: 'pending', requester: 'U1' }, (s) => [entry('requested', s)]);
      const refused = await r.update(
        'req-1',
        () => ({ refuse: 'no' }),
        (next) => [entry('approved', next)],
      );
      expect(refused).toMatchObject({ ok: false, refusal: 'no' });
      const taken = await r
        .insert({ id: 'req-1', state: 'approved', requester: 'U2' }, (s) => [entry('requested', s)])
        .catch((e: unknown) => e);
      expect((taken as StoreError).code).toBe('exists');
      expect((await store.audit.readAfter(0, 10)).map((e) => e.event)).toEqual(['requested']);
      expect(await r.get('req-1')).toMatchObject({ state: 'pending', version: 1 });
    });

    it('when the entries cannot be written, the record is not changed either', async () => {
      const { at, store, requests: r } = await requests();
      await r.insert({ id: 'req-1', state: 'pending', requester: 'U1' }, (s) => [entry('requested', s)]);
      // Entry 2's key taken outside AccountDesk: the commit of record + entry 2 cannot happen.
      await at.raw(`${at.namespace}:audit:2`, JSON.stringify({ value: { seq: 2, forged: true } }));
      const failed = await r
        .update(
          'req-1',
          (c) => ({ ...c, state: 'approved' as const, decidedBy: 'U7' }),
          (next) => [entry('approved', next)],
        )
        .catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(StoreError);
      expect((failed as StoreError).code).toBe('corrupt');
      expect((failed as StoreError).message).toContain(`${at.namespace}:audit:2`);
      expect(await r.get('req-1')).toMatchObject({ state: 'pending', version: 1 });
      expect((await r.listByIndex('state:approved')).length).toBe(0);
      const inserted = await r
        .insert({ id: 'req-2', state: 'pending', requester: 'U1' }, (s) => [entry('requested', s)])
        .catch((e: unknown) => e);
      expect((inserted as StoreError).code).toBe('corrupt');
      expect(await r.get('req-2')).toBeUndefined();
      expect((await store.audit.readAfter(0, 1)).map((e) => e.event)).toEqual(['requested']);
    });

    const concurrentCommits =
      'two processes committing at once: the loser re-chains onto the winner, nothing lost, the chain verifies';
    it(concurrentCommits, async () => {
      const at = await engine.fresh();
      const [a, b] = [await at.open(), await at.open()];
      interface Counter extends VersionedRecord {
        n: number;
      }
      const ca = a.records<Counter>('counters', () => []);
      const cb = b.records<Counter>('counters', () => []);
      await ca.insert({ id: 'shared', n: 0 });
      const bump = (store: typeof ca, id: string, who: string) =>
        store.update(
          id,
          (x) => ({ ...x, n: x.n + 1 }),
          (next) => [{ event: 'bumped', subject: id, actor: who, data: { n: next.n } }],
        );
      await Promise.all([
        // The same record from both processes, other records from each, and plain appends in between.
        ...Array.from({ length: 16 }, (_, i) => bump(i % 2 ? ca : cb, 'shared', i % 2 ? 'A' : 'B')),
        ...Array.from({ length: 6 }, (_, i) =>
          (i % 2 ? ca : cb).insert({ id: `own-${i}`, n: 0 }, (s) => [
            { event: 'created', subject: s.id, actor: 'X', data: {} },
          ]),
        ),
        ...Array.from({ length: 6 }, (_, i) =>
          (i % 2 ? a : b).audit.append({ event: 'plain', subject: 'log', actor: 'Y', data: { i } }),
        ),
      ]);
      expect(await ca.get('shared')).toEqual({ id: 'shared', n: 16, version: 17 });
      const log = await a.audit.readAfter(0, 100);
      expect(log.map((e) => e.seq)).toEqual(Array.from({ length: 28 }, (_, i) => i + 1));
      // Each committed value of the shared record has exactly one entry: no entry for a lost round.
      const bumps = log.filter((e) => e.event === 'bumped').map((e) => e.data.n as number);
      expect([...bumps].sort((x, y) => x - y)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
      expect(bumps).toEqual([...bumps].sort((x, y) => x - y)); // in commit order
      expect(await b.audit.verify()).toEqual({ ok: true, entries: 28 });
    });
  });
});
