/** Reading requests and accounts: status lookups, lists for people, and `/account info` for approvers. */
import { describe, expect, it } from 'vitest';
import { BackendError } from '../../src/backends/types.js';
import { requestIndexKeys } from '../../src/requests/lifecycle.js';
import type { AccountRequest } from '../../src/requests/types.js';
import { ADMIN_A, approveAndApply, REQUESTER, submitOk, useWorld } from './world.js';

const world = useWorld();

describe('info', () => {
  it('lets approvers only look an account up', async () => {
    const w = world();
    w.cloud.users.set('alice', { userId: 'alice', exists: true, enabled: true });
    const { queries } = w.desk;
    expect(await queries.info('cloud', 'alice', REQUESTER)).toMatchObject({ ok: false, code: 'not_approver' });
    expect(await queries.info('cloud', 'alice', ADMIN_A)).toMatchObject({
      ok: true,
      state: { exists: true, enabled: true },
      backend: { name: 'cloud' },
    });
    expect(await queries.info('cloud', 'nobody', ADMIN_A)).toMatchObject({ ok: true, state: { exists: false } });
    expect(await queries.info('nope', 'alice', ADMIN_A)).toMatchObject({
      ok: false,
      code: 'invalid',
      field: 'backend',
    });
    expect(await queries.info('cloud', 'bad/name', ADMIN_A)).toMatchObject({ ok: false, field: 'username' });
    expect(w.cloud.writes()).toEqual([]);
  });

  it("says in the backend's words why it could not read", async () => {
    const w = world();
    w.cloud.failReadsWith = new BackendError('cloud', 'timeout', 'cloud did not answer within 10 s.');
    expect(await w.desk.queries.info('cloud', 'alice', ADMIN_A)).toEqual({
      ok: false,
      code: 'backend_error',
      message: 'cloud did not answer within 10 s.',
    });
  });
});

describe('lists', () => {
  it('lists every open request of a requester, however old', async () => {
    const w = world();
    const first = await submitOk(w, { action: 'disable', backend: 'cloud', username: 'old-one' });
    for (let i = 0; i < 25; i++) {
      const done = await submitOk(w, { action: 'disable', backend: 'cloud', username: `u${i}` });
      await w.desk.decisions.cancel(done.id, REQUESTER);
    }
    const open = await w.desk.queries.openForRequester(REQUESTER, 15);
    expect(open).toEqual({ requests: [expect.objectContaining({ id: first.id })], total: 1 });
    expect(await w.desk.queries.listForRequester(REQUESTER, 3)).toHaveLength(3);
    expect((await w.desk.queries.listForRequester(REQUESTER, 1))[0]?.username).toBe('u24'); // newest first
  });

  it("reads a requester's requests a page at a time, with the index's count", async () => {
    const w = world();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await submitOk(w, { action: 'disable', backend: 'cloud', username: `u${i}` })).id);
    }
    await w.desk.decisions.cancel(ids[1]!, REQUESTER);
    const newest = await w.desk.queries.requesterPage(REQUESTER, 2);
    expect(newest).toEqual({
      requests: [expect.objectContaining({ id: ids[4] }), expect.objectContaining({ id: ids[3] })],
      total: 5,
    });
    const open = await w.desk.queries.openForRequester(REQUESTER, 2, 1);
    expect(open.requests.map((r) => r.id)).toEqual([ids[2], ids[3]]);
    expect(open.total).toBe(4);
    expect((await w.desk.queries.pendingPage(1, 3)).requests.map((r) => r.id)).toEqual([ids[4]]);
  });

  it('lists open requests stored before the open-by index existed once the indexes are repaired', async () => {
    const w = world();
    const before = await submitOk(w, { action: 'disable', backend: 'cloud', username: 'early' });
    // A request the previous release stored: requester and open-state indexes, no open-by:<requester>.
    const older = w.store.records<AccountRequest>('requests', (r) =>
      requestIndexKeys(r).filter((key) => !key.startsWith('open-by:')),
    );
    // insert() ignores a version it is given: the store sets version 1.
    const early = await older.insert({ ...before, id: 'AD-EARLY1' });
    const openIds = async () => (await w.desk.queries.openForRequester(REQUESTER, 10)).requests.map((r) => r.id);
    expect(await openIds()).toEqual([before.id]);
    await w.desk.queries.repairIndexes();
    expect(await openIds()).toEqual([before.id, early.id]);
    // Repairing again changes nothing.
    await w.desk.queries.repairIndexes();
    expect((await w.desk.queries.openForRequester(REQUESTER, 10)).total).toBe(2);
  });

  it('lists open requests in every open state, and finds a request by id in any case', async () => {
    const w = world();
    const pending = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'a', quota: '1GB' });
    const failing = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'b', quota: '1GB' });
    w.cloud.failWith = new BackendError('cloud', 'busy', 'cloud is busy');
    await approveAndApply(w, failing.id);
    const applied = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'c', quota: '1GB' });
    await approveAndApply(w, applied.id);
    const open = await w.desk.queries.listOpen();
    expect(open.map((r) => [r.id, r.state]).sort()).toEqual(
      [
        [pending.id, 'pending'],
        [failing.id, 'failed'],
      ].sort(),
    );
    expect(await w.desk.queries.get(` ${applied.id.toLowerCase()} `)).toMatchObject({ state: 'applied' });
    expect(await w.desk.queries.get('x'.repeat(600))).toBeUndefined();
  });
});
