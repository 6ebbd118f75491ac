/** Reading requests and accounts: status lookups, lists for people, and `/account info` for approvers. */
import { describe, expect, it } from 'vitest';
import { BackendError } from '../../src/backends/types.js';
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
    const open = await w.desk.queries.listOpenForRequester(REQUESTER);
    expect(open.map((r) => r.id)).toEqual([first.id]);
    expect(await w.desk.queries.listForRequester(REQUESTER, 3)).toHaveLength(3);
    expect((await w.desk.queries.listForRequester(REQUESTER, 1))[0]?.username).toBe('u24'); // newest first
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
