/**
 * The apply engine: approved steps run by themselves, exactly once across replicas, with the backend's words on
 * failure; Retry re-runs only failed steps (reading first after a lost answer); recovery reads the backend;
 * generated passwords are shown once and stored nowhere; calls are paced per backend.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackendError, type CreateUserInput } from '../../src/backends/types.js';
import { Pacer } from '../../src/requests/pacing.js';
import {
  ADMIN_A,
  ADMIN_B,
  approveAndApply,
  approvedQuota,
  events,
  GENERATED_PASSWORD,
  GiB,
  interruptedApply,
  only,
  submitOk,
  useWorld,
  type World,
} from './world.js';

const world = useWorld({
  profiles: {
    staff: { cloud: { groups: ['staff'], quotaBytes: 10 * GiB }, nas: { groups: ['users'], quotaBytes: 50 * GiB } },
  },
  pacing: { sso: { concurrency: 1, minIntervalMs: 60 } },
});

async function quotaApplied(w: World, username = 'alice', quota = '50GB') {
  const request = await submitOk(w, { action: 'quota', backend: 'cloud', username, quota });
  return approveAndApply(w, request.id);
}

describe('apply', () => {
  it('runs on its own once the approval completes, and stores the backend answer', async () => {
    const w = world();
    const applied = await quotaApplied(w);
    expect(applied).toMatchObject({ state: 'applied' });
    expect(only(applied)).toMatchObject({ state: 'applied', attempts: 1, result: { summary: 'quota of alice set' } });
    expect(only(applied).applyingSince).toBeUndefined();
    expect(w.cloud.writes()).toEqual([{ op: 'setQuota', args: ['alice', 50 * GiB] }]);
    expect(await events(w, applied.id)).toEqual(['requested', 'previewed', 'approved', 'applied']);
    const last = (await w.audit()).at(-1);
    expect(last).toMatchObject({ event: 'applied', actor: 'system', data: { summary: 'quota of alice set' } });
  });

  it('claims once: a second replica driving while the first is inside the backend call does nothing', async () => {
    const w = world();
    const request = await approvedQuota(w);
    const inside = w.cloud.hold();
    const first = w.desk.engine.drive(request.id);
    await inside; // the first engine is inside the backend call
    const other = await w.replica();
    // The step is applying (claimed, fresh): the other replica neither reconciles nor starts it.
    expect(await other.engine.sweep()).toEqual({ reconciled: 0, started: 0 });
    expect(await other.engine.drive(request.id)).toMatchObject({ state: 'applying' });
    expect((await w.desk.queries.get(request.id))?.state).toBe('applying');
    w.cloud.release();
    expect(await first).toMatchObject({ state: 'applied', steps: [{ attempts: 1 }] });
    expect(w.cloud.writes()).toEqual([{ op: 'setQuota', args: ['alice', 50 * GiB] }]);
  });

  it('two replicas driving the same request at the same moment call the backend once', async () => {
    const w = world();
    const request = await approvedQuota(w);
    const other = await w.replica();
    await Promise.all([w.desk.engine.drive(request.id), other.engine.drive(request.id)]);
    expect(only(await w.desk.queries.get(request.id))).toMatchObject({ state: 'applied', attempts: 1 });
    expect(w.cloud.writes()).toHaveLength(1);
    expect((await w.audit()).filter((e) => e.event === 'applied')).toHaveLength(1);
  });

  it('a pending request is never applied', async () => {
    const w = world();
    const request = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'alice', quota: '200GB' });
    expect(await w.desk.engine.drive(request.id)).toMatchObject({ state: 'pending' });
    expect(await w.desk.engine.sweep()).toEqual({ reconciled: 0, started: 0 });
    expect(w.cloud.writes()).toEqual([]);
  });

  it('a failure is stored with the backend message; Retry applies it; events are in order', async () => {
    const w = world();
    const request = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'alice', quota: '50GB' });
    w.cloud.failWith = new BackendError('cloud', 'unavailable', 'cloud is in maintenance mode; try again later.');
    const failed = await approveAndApply(w, request.id);
    expect(failed.state).toBe('failed');
    expect(only(failed)).toMatchObject({
      state: 'failed',
      attempts: 1,
      error: { code: 'unavailable', message: 'cloud is in maintenance mode; try again later.', retryable: true },
    });
    expect(await w.desk.engine.retry(request.id, 'UNOBODY')).toMatchObject({ ok: false, code: 'not_approver' });
    const retried = await w.desk.engine.retry(request.id, ADMIN_B);
    expect(retried).toMatchObject({ ok: true, request: { state: 'applied', steps: [{ attempts: 2 }] } });
    if (retried.ok) expect(only(retried.request).error).toBeUndefined();
    // The answer was lost (unavailable), so Retry read first, found nothing in place and sent the call again.
    expect(w.cloud.writes()).toHaveLength(2);
    expect(await events(w, request.id)).toEqual(['requested', 'previewed', 'approved', 'failed', 'retried', 'applied']);
    const audit = (await w.audit()).filter((e) => e.subject === request.id);
    expect(audit.find((e) => e.event === 'failed')?.data).toMatchObject({
      code: 'unavailable',
      error: 'cloud is in maintenance mode; try again later.',
    });
    expect(audit.find((e) => e.event === 'retried')).toMatchObject({ actor: ADMIN_B, data: { attempt: 2 } });
    expect(await w.store.audit.verify()).toMatchObject({ ok: true });
  });

  it('two approvers clicking Retry at once on two replicas: the failed step runs once more, not twice', async () => {
    const w = world();
    const request = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'alice', quota: '50GB' });
    w.cloud.failWith = new BackendError('cloud', 'invalid_input', 'Nextcloud refused the quota.');
    expect((await approveAndApply(w, request.id)).state).toBe('failed');
    const other = await w.replica();
    const [a, b] = await Promise.all([
      w.desk.engine.retry(request.id, ADMIN_A),
      other.engine.retry(request.id, ADMIN_B),
    ]);
    expect([a.ok, b.ok].filter(Boolean)).toHaveLength(1);
    expect([a, b].find((r) => !r.ok)).toMatchObject({ code: 'already_decided' });
    await other.engine.idle();
    expect(w.cloud.writes()).toHaveLength(2);
    expect((await events(w, request.id)).filter((e) => e === 'retried')).toHaveLength(1);
    expect((await w.desk.queries.get(request.id))?.state).toBe('applied');
  });

  it('an unexpected error is stored in admin words, not the exception text', async () => {
    const w = world();
    const request = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'alice', quota: '50GB' });
    w.cloud.failWith = new TypeError('Cannot read properties of undefined (reading "ocs")');
    const failed = await approveAndApply(w, request.id);
    expect(only(failed)).toMatchObject({ state: 'failed', error: { code: 'unexpected', retryable: true } });
    expect(only(failed).error?.message).toMatch(/Unexpected error in AccountDesk \(TypeError\).*Retry/);
    expect(only(failed).error?.message).not.toContain('ocs');
  });

  it('retry of a request that is not failed is refused', async () => {
    const w = world();
    const applied = await quotaApplied(w);
    expect(await w.desk.engine.retry(applied.id, ADMIN_A)).toMatchObject({ ok: false, code: 'already_decided' });
    expect(w.cloud.writes()).toHaveLength(1);
  });

  it('idle() waits for an apply in flight', async () => {
    const w = world();
    const request = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'frank', quota: '20GB' });
    const held = w.cloud.hold();
    await w.desk.decisions.approve(request.id, ADMIN_A);
    await held;
    let idle = false;
    const waiting = w.desk.engine.idle().then(() => (idle = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(idle).toBe(false);
    w.cloud.release();
    await waiting;
    expect((await w.desk.queries.get(request.id))?.state).toBe('applied');
  });
});

describe('Retry reads first only after a lost answer', () => {
  it('a change that did happen after all is marked applied without sending it again', async () => {
    const w = world();
    const request = await approvedQuota(w);
    w.cloud.users.set('alice', { userId: 'alice', exists: true, enabled: true });
    // The write reached the server but its answer was lost: the backend holds the new quota, the step failed.
    const held = w.cloud.hold();
    const applying = w.desk.engine.drive(request.id);
    await held;
    w.cloud.users.set('alice', { userId: 'alice', exists: true, enabled: true, quota: { limitBytes: 50 * GiB } });
    w.cloud.failWith = new BackendError('cloud', 'timeout', 'cloud did not answer in time');
    w.cloud.release();
    expect((await applying)?.state).toBe('failed');
    const writesBefore = w.cloud.writes().length;

    const retried = await w.desk.engine.retry(request.id, ADMIN_B);
    expect(retried.ok && retried.request.state).toBe('applied');
    expect(retried.ok && only(retried.request).result?.summary).toMatch(/already in place when retried/);
    expect(w.cloud.writes().length).toBe(writesBefore);
    expect(await events(w, request.id)).toEqual(['requested', 'previewed', 'approved', 'failed', 'retried', 'applied']);
  });

  const createRefusedAsExisting =
    'a create refused as "already exists" is sent again (an existing account proves nothing) and fails again';
  it(createRefusedAsExisting, async () => {
    const w = world();
    const request = await submitOk(w, { action: 'create', backend: 'nas', username: 'bob' });
    w.nas.users.set('bob', { userId: 'bob', exists: true, enabled: true }); // someone else's bob
    w.nas.failWith = new BackendError('nas', 'already_exists', 'nas: a user named bob already exists');
    expect((await approveAndApply(w, request.id)).state).toBe('failed');

    w.nas.failWith = new BackendError('nas', 'already_exists', 'nas: a user named bob already exists');
    const readsBefore = w.nas.calls.filter((c) => c.op === 'getUser').length;
    const retried = await w.desk.engine.retry(request.id, ADMIN_B);
    expect(retried.ok && retried.request.state).toBe('failed');
    expect(retried.ok && only(retried.request).error?.code).toBe('already_exists');
    expect(w.nas.writes().map((c) => c.op)).toEqual(['createUser', 'createUser']);
    expect(w.nas.calls.filter((c) => c.op === 'getUser').length).toBe(readsBefore); // no read first
    expect(w.delivered).toEqual([]); // no password for an account AccountDesk did not create
  });

  it('a create found in place on Retry after a lost answer says the password was never shown', async () => {
    const w = world();
    const request = await submitOk(w, { action: 'create', backend: 'nas', username: 'carl' });
    w.nas.failWith = new BackendError('nas', 'timeout', 'nas did not answer in time');
    await approveAndApply(w, request.id); // DSM made the account; its answer was lost
    w.nas.users.set('carl', { userId: 'carl', exists: true, enabled: true });
    const retried = await w.desk.engine.retry(request.id, ADMIN_B);
    expect(retried.ok && retried.request.state).toBe('applied');
    expect(retried.ok && only(retried.request).result?.summary).toMatch(
      /already in place when retried.*generated password was never shown: reset it on nas/,
    );
    expect(w.nas.writes()).toHaveLength(1);
    expect(w.delivered).toEqual([]);
  });
});

describe('generated passwords', () => {
  const passwordShownOnce =
    'reach deliverPassword once for a show-to-requester backend and appear nowhere in store, audit or logs';
  it(passwordShownOnce, async () => {
    const w = world();
    const request = await submitOk(w, {
      action: 'create',
      backend: 'nas',
      username: 'bob',
      quota: '10GB',
      groups: ['staff'],
    });
    expect((await approveAndApply(w, request.id)).state).toBe('applied');
    await w.desk.engine.sweep(); // a sweep after the fact changes nothing
    await w.desk.engine.idle();

    expect(w.delivered.map((d) => [d.request.id, d.step.backend, d.password])).toEqual([
      [request.id, 'nas', GENERATED_PASSWORD],
    ]);
    expect(w.nas.writes()).toEqual([
      {
        op: 'createUser',
        args: [
          expect.objectContaining({
            username: 'bob',
            password: GENERATED_PASSWORD,
            quotaBytes: 10 * GiB,
            groups: ['staff'],
          }),
        ],
      },
    ]);

    expect(JSON.stringify(await w.desk.queries.get(request.id))).not.toContain(GENERATED_PASSWORD);
    expect(JSON.stringify(await w.audit())).not.toContain(GENERATED_PASSWORD);
    expect(w.logLines.join('')).not.toContain(GENERATED_PASSWORD);
    await w.store.close();
    const files = readdirSync(w.dir).map((file) => readFileSync(join(w.dir, file)));
    // Control: the raw files are searchable (they do hold the request), so the absence below means something.
    expect(files.some((bytes) => bytes.includes(request.id))).toBe(true);
    for (const bytes of files) expect(bytes.includes(GENERATED_PASSWORD)).toBe(false);
  });

  it('two replicas racing the same create deliver the password once', async () => {
    const w = world();
    const request = await submitOk(w, { action: 'create', backend: 'nas', username: 'ben' });
    await w.decisionsWithoutEngine().approve(request.id, ADMIN_A);
    const other = await w.replica();
    await Promise.all([w.desk.engine.drive(request.id), other.engine.drive(request.id)]);
    expect(w.nas.writes()).toHaveLength(1);
    expect(w.delivered).toHaveLength(1);
  });

  it('are not generated for an invitation backend or an identity-provider backend', async () => {
    const w = world();
    for (const backend of ['cloud', 'sso'] as const) {
      const request = await submitOk(w, { action: 'create', backend, username: 'carol', email: 'carol@example.com' });
      await approveAndApply(w, request.id);
    }
    expect((w.cloud.writes()[0]?.args[0] as CreateUserInput).password).toBeUndefined();
    expect((w.oidc.writes()[0]?.args[0] as CreateUserInput).password).toBeUndefined();
    expect(w.delivered).toEqual([]);
  });

  it('are not delivered when the create failed', async () => {
    const w = world();
    const request = await submitOk(w, { action: 'create', backend: 'nas', username: 'dave' });
    w.nas.failWith = new BackendError('nas', 'password_policy', 'DSM says the password is not strong enough.');
    const failed = await approveAndApply(w, request.id);
    expect(only(failed)).toMatchObject({ state: 'failed', error: { code: 'password_policy', retryable: false } });
    expect(w.delivered).toEqual([]);
  });
});

describe('recovery (sweep) after a crash', () => {
  it('an old applying step whose change is in place becomes applied, by READING the backend', async () => {
    const w = world();
    const request = await approvedQuota(w);
    await interruptedApply(w, request.id);
    w.cloud.users.set('alice', { userId: 'alice', exists: true, enabled: true, quota: { limitBytes: 50 * GiB } });
    w.cloud.calls.length = 0;
    w.clock.now += 10 * 60_000;
    expect(await w.desk.engine.sweep()).toEqual({ reconciled: 1, started: 0 });
    const done = await w.desk.queries.get(request.id);
    expect(done?.state).toBe('applied');
    expect(only(done).result?.summary).toMatch(/confirmed by reading cloud after AccountDesk restarted/);
    expect(w.cloud.calls).toEqual([{ op: 'getUser', args: ['alice'] }]); // read, never re-sent
    const last = (await w.audit()).at(-1);
    expect(last).toMatchObject({ event: 'applied', subject: request.id, data: { recovered: true } });
  });

  it('an old applying step whose change is not in place becomes failed with a Retry message', async () => {
    const w = world();
    const request = await approvedQuota(w);
    await interruptedApply(w, request.id);
    w.cloud.users.set('alice', { userId: 'alice', exists: true, quota: { limitBytes: 10 * GiB } });
    w.clock.now += 10 * 60_000;
    expect((await w.desk.engine.sweep()).reconciled).toBe(1);
    const failed = await w.desk.queries.get(request.id);
    expect(failed?.state).toBe('failed');
    expect(only(failed).error).toMatchObject({ code: 'interrupted', retryable: true });
    expect(only(failed).error?.message).toMatch(/does not show the change in place\. Retry to apply it\./);
    expect(w.cloud.writes()).toEqual([]);
    expect(await w.desk.engine.retry(request.id, ADMIN_A)).toMatchObject({ ok: true, request: { state: 'applied' } });
    expect(w.cloud.writes()).toHaveLength(1);
  });

  it('an old applying step whose backend cannot be read becomes failed, asking for a check by hand', async () => {
    const w = world();
    const request = await approvedQuota(w);
    await interruptedApply(w, request.id);
    w.cloud.failReadsWith = new BackendError('cloud', 'timeout', 'cloud did not answer within 10 s.');
    w.clock.now += 10 * 60_000;
    await w.desk.engine.sweep();
    expect(only(await w.desk.queries.get(request.id)).error?.message).toMatch(
      /could not check cloud \(cloud did not answer within 10 s\.\)\. Check the account by hand/,
    );
    expect(w.cloud.writes()).toEqual([]);
  });

  it('leaves a fresh applying step alone: another replica may still be applying it', async () => {
    const w = world();
    const request = await approvedQuota(w);
    await interruptedApply(w, request.id);
    w.cloud.calls.length = 0;
    w.clock.now += 60_000;
    expect(await w.desk.engine.sweep()).toEqual({ reconciled: 0, started: 0 });
    expect(w.cloud.calls).toEqual([]);
    expect((await w.desk.queries.get(request.id))?.state).toBe('applying');
  });

  it('applies an approved request nobody started (stored by a process that died)', async () => {
    const w = world();
    const request = await approvedQuota(w);
    expect(await w.desk.engine.sweep()).toEqual({ reconciled: 0, started: 1 });
    await w.desk.engine.idle();
    expect((await w.desk.queries.get(request.id))?.state).toBe('applied');
    expect(w.cloud.writes()).toEqual([{ op: 'setQuota', args: ['alice', 50 * GiB] }]);
  });

  it('recovery of a DSM create that happened says the one-time password was never shown', async () => {
    const w = world();
    const request = await submitOk(w, {
      action: 'create',
      backend: 'nas',
      username: 'erin',
      email: 'erin@example.com',
    });
    await w.decisionsWithoutEngine().approve(request.id, ADMIN_A);
    const held = w.nas.hold();
    void (await w.replica()).engine.drive(request.id);
    await held; // the process "dies" here: the create reached DSM, nothing was recorded
    w.nas.users.set('erin', { userId: 'erin', exists: true, enabled: true, email: 'erin@example.com' });
    w.clock.now += 10 * 60_000;
    expect((await w.desk.engine.sweep()).reconciled).toBe(1);
    const done = await w.desk.queries.get(request.id);
    expect(done?.state).toBe('applied');
    expect(only(done).result?.summary).toMatch(/generated password was never shown: reset it on nas/);
    w.nas.release(); // the "dead" attempt's late settle finds the step moved on and changes nothing
    await new Promise((r) => setTimeout(r, 50));
    expect((await w.audit()).filter((e) => e.event === 'applied')).toHaveLength(1);
    expect(only(await w.desk.queries.get(request.id)).result?.summary).toMatch(/never shown/);
  });
});

describe('recovery knows which process claimed a step', () => {
  it('reconciles at once a fresh step whose process is gone', async () => {
    const w = world();
    const request = await approvedQuota(w);
    await interruptedApply(w, request.id, { by: 'instance-crashed' });
    w.clock.now += 1_000; // far less than interruptedAfterMs
    expect((await (await w.replica({ id: 'instance-me', alive: [] })).engine.sweep()).reconciled).toBe(1);
    const failed = await w.desk.queries.get(request.id);
    expect(failed?.state).toBe('failed');
    expect(only(failed).error?.message).toMatch(/AccountDesk stopped while applying this/);
    expect(w.cloud.writes()).toEqual([]); // read, never re-sent
  });

  it('leaves alone a fresh step of a live process, and its own', async () => {
    const w = world();
    const request = await approvedQuota(w);
    await interruptedApply(w, request.id, { by: 'instance-live' });
    w.clock.now += 1_000;
    expect((await (await w.replica({ id: 'instance-me', alive: ['instance-live'] })).engine.sweep()).reconciled).toBe(
      0,
    );
    expect((await (await w.replica({ id: 'instance-live', alive: ['instance-live'] })).engine.sweep()).reconciled).toBe(
      0,
    );
    expect((await w.desk.queries.get(request.id))?.state).toBe('applying');
  });

  it('a claim records the process that made it, and clears it when settled', async () => {
    const w = world();
    const request = await approvedQuota(w, 'bob', '20GB');
    const held = w.cloud.hold();
    const applying = (await w.replica({ id: 'instance-me', alive: [] })).engine.drive(request.id);
    await held;
    expect(only(await w.desk.queries.get(request.id)).applyingBy).toBe('instance-me');
    w.cloud.release();
    const done = await applying;
    expect(done?.state).toBe('applied');
    expect(only(done).applyingBy).toBeUndefined();
  });
});

describe('plans of several steps', () => {
  it('onboard: every account is created with the profile groups and quota after one approval', async () => {
    const w = world();
    const request = await submitOk(w, {
      action: 'onboard',
      username: 'nina',
      email: 'nina@example.com',
      profile: 'staff',
    });
    const done = await approveAndApply(w, request.id);
    expect(done.state).toBe('applied');
    expect(done.steps.map((s) => [s.backend, s.state])).toEqual([
      ['cloud', 'applied'],
      ['nas', 'applied'],
    ]);
    expect(w.cloud.users.get('nina')).toMatchObject({
      exists: true,
      groups: ['staff'],
      quota: { limitBytes: 10 * GiB },
    });
    expect(w.nas.users.get('nina')).toMatchObject({ exists: true, groups: ['users'], quota: { limitBytes: 50 * GiB } });
    expect(w.delivered.map((d) => d.step.backend)).toEqual(['nas']);
    const audit = (await w.audit()).filter((e) => e.subject === request.id).map((e) => [e.event, e.data.backend]);
    expect(
      audit
        .filter(([e]) => e === 'step-applied')
        .map(([, b]) => b)
        .sort(),
    ).toEqual(['cloud', 'nas']);
    expect(audit.at(-1)).toEqual(['applied', 'cloud, nas']);
  });

  const partlyAppliedRetry =
    'partly applied: one step fails, Retry re-runs only that step, the other backend is never called twice';
  it(partlyAppliedRetry, async () => {
    const w = world();
    const request = await submitOk(w, {
      action: 'onboard',
      username: 'omar',
      email: 'omar@example.com',
      profile: 'staff',
    });
    w.nas.failWith = new BackendError('nas', 'busy', 'nas: another administrator is editing (DSM 3112); try again.');
    const partly = await approveAndApply(w, request.id);
    expect(partly.state).toBe('partly_applied');
    expect(partly.steps.map((s) => [s.backend, s.state, s.error?.code])).toEqual([
      ['cloud', 'applied', undefined],
      ['nas', 'failed', 'busy'],
    ]);
    const last = (await w.audit()).at(-1);
    expect(last).toMatchObject({ event: 'partly_applied', subject: request.id });
    expect(String(last?.data.error)).toMatch(/nas: FAILED \(nas: another administrator is editing/);

    const retried = await w.desk.engine.retry(request.id, ADMIN_B);
    expect(retried).toMatchObject({ ok: true, request: { state: 'applied' } });
    if (retried.ok) expect(retried.request.steps.map((s) => s.attempts)).toEqual([1, 2]);
    expect(w.cloud.writes()).toHaveLength(1);
    expect(w.nas.writes()).toHaveLength(2);
    expect(w.delivered).toHaveLength(1); // the nas password, from the attempt that created the account
    expect(await w.store.audit.verify()).toMatchObject({ ok: true });
  });

  it('a plan whose every step fails is failed, and an approver can give up on a partly applied one', async () => {
    const w = world();
    const request = await submitOk(w, {
      action: 'onboard',
      username: 'pete',
      email: 'pete@example.com',
      profile: 'staff',
    });
    w.cloud.failWith = new BackendError('cloud', 'rate_limited', 'cloud: too many edits; try again later.');
    const partly = await approveAndApply(w, request.id);
    expect(partly.state).toBe('partly_applied');
    expect(await w.desk.decisions.cancel(request.id, ADMIN_A)).toMatchObject({
      ok: true,
      request: { state: 'cancelled' },
    });
    expect(await w.desk.engine.retry(request.id, ADMIN_A)).toMatchObject({ ok: false, code: 'already_decided' });
  });

  it('offboard: disabled where the user exists, skipped where not, and the request applied', async () => {
    const w = world();
    for (const backend of [w.cloud, w.nas, w.oidc]) backend.refuseMissing = true;
    w.cloud.users.set('rita', { userId: 'rita', exists: true, enabled: true });
    w.nas.users.set('rita', { userId: 'rita', exists: true, enabled: true });
    const request = await submitOk(w, { action: 'offboard', username: 'rita', reason: 'left' });
    expect(request.steps.map((s) => s.preview?.assessment?.noOp)).toEqual([
      undefined,
      undefined,
      'no account on sso: skipped',
    ]);
    const done = await approveAndApply(w, request.id, ADMIN_A, 'rita');
    expect(done.state).toBe('applied');
    expect(done.steps.map((s) => [s.backend, s.state])).toEqual([
      ['cloud', 'applied'],
      ['nas', 'applied'],
      ['sso', 'skipped'],
    ]);
    expect(done.steps[2]?.result?.summary).toBe('rita does not exist on sso');
    expect(w.cloud.users.get('rita')?.enabled).toBe(false);
    expect(w.nas.users.get('rita')?.enabled).toBe(false);
    const stepEvents = (await w.audit()).filter((e) => e.event.startsWith('step-')).map((e) => e.event);
    expect(stepEvents.sort()).toEqual(['step-applied', 'step-applied', 'step-skipped']);
  });

  it('offboard with delete calls delete only where the policy and the backend allow it', async () => {
    const w = world();
    w.cloud.users.set('sam', { userId: 'sam', exists: true, enabled: true });
    const request = await submitOk(w, { action: 'offboard', username: 'sam', delete: true });
    const done = await approveAndApply(w, request.id, ADMIN_A, 'sam');
    expect(done.state).toBe('applied');
    expect(w.cloud.writes()).toEqual([{ op: 'deleteUser', args: ['sam'] }]);
    expect(w.nas.writes()).toEqual([]);
    expect(w.oidc.writes()).toEqual([]);
  });

  it('recovery reconciles an interrupted offboard step of a user who does not exist as skipped', async () => {
    const w = world();
    for (const backend of [w.cloud, w.nas, w.oidc]) backend.refuseMissing = true;
    w.cloud.users.set('tom', { userId: 'tom', exists: true, enabled: true });
    const request = await submitOk(w, { action: 'offboard', username: 'tom' });
    await w.decisionsWithoutEngine().approve(request.id, ADMIN_A, 'tom');
    await interruptedApply(w, request.id, { index: 1 }); // nas: tom has no account there
    w.clock.now += 10 * 60_000;
    expect(await w.desk.engine.sweep()).toEqual({ reconciled: 1, started: 1 });
    await w.desk.engine.idle();
    const done = await w.desk.queries.get(request.id);
    expect(done?.steps.map((s) => s.state)).toEqual(['applied', 'skipped', 'skipped']);
    expect(done?.state).toBe('applied');
    expect(w.nas.writes()).toEqual([]);
  });
});

describe('pacing', () => {
  it('a pacer runs at most `concurrency` tasks at once', async () => {
    const pacer = new Pacer({ concurrency: 2, minIntervalMs: 0 });
    let running = 0;
    let most = 0;
    const task = async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
    };
    await Promise.all(Array.from({ length: 6 }, () => pacer.run(task)));
    expect(most).toBe(2);
    expect(pacer.queued).toBe(0);
  });

  it('a pacer starts tasks at least minIntervalMs apart, in order', async () => {
    const pacer = new Pacer({ concurrency: 4, minIntervalMs: 40 });
    const starts: [number, number][] = [];
    await Promise.all(
      [0, 1, 2, 3].map((i) =>
        pacer.run(() => {
          starts.push([i, performance.now()]);
          return Promise.resolve();
        }),
      ),
    );
    expect(starts.map(([i]) => i)).toEqual([0, 1, 2, 3]);
    // setTimeout may fire up to ~1 ms early relative to performance.now(); never by more.
    for (let i = 1; i < starts.length; i++) {
      expect((starts[i]?.[1] ?? 0) - (starts[i - 1]?.[1] ?? 0)).toBeGreaterThanOrEqual(39);
    }
  });

  it('the engine paces calls to one backend: sso takes one step at a time, started 60 ms apart', async () => {
    const w = world();
    w.oidc.writeDelayMs = 5;
    const ids: string[] = [];
    for (const username of ['u1', 'u2', 'u3']) {
      ids.push((await submitOk(w, { action: 'quota', backend: 'sso', username, quota: '1GB' })).id);
    }
    await Promise.all(ids.map((id) => w.decisionsWithoutEngine().approve(id, ADMIN_A)));
    expect((await w.desk.engine.sweep()).started).toBe(3);
    await w.desk.engine.idle();
    expect(w.oidc.writes()).toHaveLength(3);
    expect(w.oidc.mostWritesAtOnce).toBe(1);
    // The interval is counted from each step's start, which commits its claim to the store before the call, so
    // the calls themselves may sit closer by the difference between two commits (a few ms on SQLite): the span
    // of three calls is two intervals less that slack.
    const span = (w.oidc.writeStarts.at(-1) ?? 0) - (w.oidc.writeStarts[0] ?? 0);
    expect(span).toBeGreaterThanOrEqual(2 * 60 - 15);
  });

  it('a slow backend does not hold up another backend', async () => {
    const w = world();
    const slow = await submitOk(w, { action: 'quota', backend: 'nas', username: 'a', quota: '1GB' });
    const fast = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'b', quota: '1GB' });
    const held = w.nas.hold();
    await w.desk.decisions.approve(slow.id, ADMIN_A);
    await held;
    await w.decisionsWithoutEngine().approve(fast.id, ADMIN_A);
    expect(await w.desk.engine.drive(fast.id)).toMatchObject({ state: 'applied' });
    expect((await w.desk.queries.get(slow.id))?.state).toBe('applying');
    w.nas.release();
    await w.desk.engine.idle();
    expect((await w.desk.queries.get(slow.id))?.state).toBe('applied');
  });
});
