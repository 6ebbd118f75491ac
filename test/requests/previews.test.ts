/**
 * The live preview on the approval card: each step's backend read, stored on the step with its time and a
 * "previewed" audit entry; blockers, no-ops and quota rounding that an approver can see.
 */
import { describe, expect, it } from 'vitest';
import { BackendError } from '../../src/backends/types.js';
import { ADMIN_A, events, GiB, only, REQUESTER, submitOk, T0, useWorld } from './world.js';

const world = useWorld();

describe('previews', () => {
  it('shows the live state beside the change, with blocker and no-op flags', async () => {
    const w = world();
    const read = (username: string, action: 'disable' | 'quota', quotaBytes?: number) =>
      w.desk.previews.read({
        backend: 'cloud',
        action,
        username,
        params: quotaBytes === undefined ? {} : { quotaBytes },
      });
    expect(await read('ghost', 'disable')).toMatchObject({
      at: new Date(T0).toISOString(),
      current: { exists: false },
      assessment: { blocker: 'user does not exist' },
    });
    w.cloud.users.set('alice', {
      userId: 'alice',
      exists: true,
      enabled: true,
      quota: { limitBytes: 10 * GiB, usedBytes: 60 * GiB },
    });
    expect(await read('alice', 'quota', 50 * GiB)).toMatchObject({
      assessment: {
        change: 'quota 10 GB → 50 GB',
        warning: expect.stringMatching(/already stores 60 GB/) as unknown,
      },
    });
    w.cloud.users.set('bob', { userId: 'bob', exists: true, enabled: false });
    expect(await read('bob', 'disable')).toMatchObject({ assessment: { noOp: 'already disabled' } });
    w.cloud.failReadsWith = new BackendError('cloud', 'auth_failed', 'cloud refused the app password; fix NC_PASS.');
    expect(await read('alice', 'quota', 50 * GiB)).toEqual({
      at: new Date(T0).toISOString(),
      error: 'cloud refused the app password; fix NC_PASS.',
    });
  });

  it('is taken on submit and stored on each step, with a "previewed" audit entry', async () => {
    const w = world();
    w.cloud.users.set('alice', { userId: 'alice', exists: true, enabled: true, quota: { limitBytes: 10 * GiB } });
    const request = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'alice', quota: '50GB' });
    expect(only(request).preview).toMatchObject({
      at: new Date(T0).toISOString(),
      current: { exists: true, quota: { limitBytes: 10 * GiB } },
      assessment: { change: 'quota 10 GB → 50 GB' },
    });
    expect(await events(w, request.id)).toEqual(['requested', 'previewed']);
    expect((await w.audit()).at(-1)).toMatchObject({ event: 'previewed', actor: 'system', data: { state: 'pending' } });
  });

  it('is re-read when stale, and never once the request is decided', async () => {
    const w = world();
    const request = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'alice', quota: '50GB' });
    const reads = () => w.cloud.calls.filter((c) => c.op === 'getUser').length;
    const before = reads();
    w.desk.previews.refreshIfStale(request);
    await w.desk.previews.idle();
    expect(reads()).toBe(before); // fresh: taken just now

    w.clock.now += 60_000;
    w.cloud.users.set('alice', { userId: 'alice', exists: true, enabled: true, quota: { limitBytes: 50 * GiB } });
    w.desk.previews.refreshIfStale(request);
    await w.desk.previews.idle();
    expect(reads()).toBe(before + 1);
    const fresh = await w.desk.queries.get(request.id);
    expect(only(fresh).preview).toMatchObject({
      at: new Date(T0 + 60_000).toISOString(),
      assessment: { noOp: 'the quota is already that' },
    });

    await w.desk.decisions.cancel(request.id, REQUESTER);
    w.clock.now += 60_000;
    w.desk.previews.refresh(request.id);
    await w.desk.previews.idle();
    expect(reads()).toBe(before + 1);
    expect(await events(w, request.id)).toEqual(['requested', 'previewed', 'previewed', 'cancelled']);
  });

  it('an approval does not wait for a preview, and a preview never overwrites a decision', async () => {
    const w = world();
    const request = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'alice', quota: '50GB' });
    w.clock.now += 60_000;
    w.desk.previews.refresh(request.id); // reads in the background
    await w.desk.decisions.approve(request.id, ADMIN_A);
    await w.desk.previews.idle();
    await w.desk.engine.idle();
    const done = await w.desk.queries.get(request.id);
    expect(done?.state).toBe('applied');
    expect(only(done).result?.summary).toBe('quota of alice set');
  });
});

describe('quota rounding', () => {
  it('compares quotas the way the backend stores them: a rounded quota already in place is recognised', async () => {
    // Nextcloud stores "1.25 TB" as "1.3 TB".
    const w = world();
    const TiB = 1024 ** 4;
    w.cloud.roundQuota = (bytes) => (Math.round((bytes / TiB) * 10) / 10) * TiB;
    w.cloud.users.set('carol', { userId: 'carol', exists: true, enabled: true, quota: { limitBytes: 1.3 * TiB } });
    const request = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'carol', quota: '1.25 TB' });
    const preview = only(request).preview;
    expect(preview?.assessment?.noOp).toBe('the quota is already that');
    expect(preview?.assessment?.warning).toBe('cloud stores 1.25 TB as 1.3 TB');
  });

  it('does not bother the approver with a rounding nobody can see (DSM: whole MB)', async () => {
    const w = world();
    const MiB = 1024 ** 2;
    w.nas.roundQuota = (bytes) => Math.ceil(bytes / MiB) * MiB;
    w.nas.users.set('dave', { userId: 'dave', exists: true, enabled: true, quota: { limitBytes: 10 * GiB } });
    const request = await submitOk(w, { action: 'quota', backend: 'nas', username: 'dave', quota: '2.7 GB' });
    const requested = only(request).params.quotaBytes ?? 0;
    expect(w.nas.storedQuota(requested)).not.toBe(requested); // control: DSM does round it
    const preview = only(request).preview;
    expect(preview?.assessment?.warning).toBeUndefined();
    expect(preview?.assessment?.change).toBe('quota 10 GB → 2.7 GB');
  });
});
