/**
 * What people decide: submit (one-step, onboard and offboard plans), votes and thresholds, reject, cancel and
 * give up, expiry. Each decision is one commit of the record and its audit entry.
 */
import { describe, expect, it } from 'vitest';
import { BackendError } from '../../src/backends/types.js';
import {
  ADMIN_A,
  ADMIN_B,
  approveAndApply,
  events,
  GiB,
  GROUP_ADMIN,
  only,
  REQUESTER,
  submitOk,
  T0,
  useWorld,
} from './world.js';

const world = useWorld({
  profiles: {
    staff: { cloud: { groups: ['staff'], quotaBytes: 10 * GiB }, nas: { groups: ['users'], quotaBytes: 50 * GiB } },
    big: { cloud: { quotaBytes: 200 * GiB } },
    contractor: { sso: {} },
  },
  policy: { onboard: { rules: [{ profiles: ['contractor'], approvals: 3 }] } },
});

describe('submit', () => {
  it('stores a pending one-step plan with the policy applied and records "requested"', async () => {
    const w = world();
    const submitted = await w.desk.decisions.submit(
      { action: 'quota', backend: 'cloud', username: ' alice ', quota: '50GB', reason: 'project X' },
      REQUESTER,
    );
    if (!submitted.ok) throw new Error(submitted.message);
    const request = submitted.request;
    expect(request).toMatchObject({
      state: 'pending',
      plan: 'single',
      username: 'alice',
      steps: [
        {
          backend: 'cloud',
          action: 'quota',
          username: 'alice',
          params: { quotaBytes: 50 * GiB },
          state: 'pending',
          attempts: 0,
        },
      ],
      reason: 'project X',
      requester: REQUESTER,
      approvalsRequired: 1,
      approvals: [],
      createdAt: new Date(T0).toISOString(),
      expiresAt: new Date(T0 + 72 * 3_600_000).toISOString(),
    });
    expect(request.id).toMatch(/^AD-[2-9A-HJKMNP-Z]{6}$/);
    expect(await w.desk.queries.get(request.id.toLowerCase())).toMatchObject({ id: request.id, state: 'pending' });
    expect(await w.desk.queries.listPending()).toEqual([expect.objectContaining({ id: request.id })]);
    const audit = (await w.audit()).filter((e) => e.subject === request.id);
    expect(audit[0]).toMatchObject({
      event: 'requested',
      actor: REQUESTER,
      data: { plan: 'single', action: 'quota', backend: 'cloud', username: 'alice', reason: 'project X' },
    });
    await w.desk.previews.idle();
    expect(w.cloud.writes()).toEqual([]); // nothing changes on a backend before approval (the preview only reads)
  });

  it('refuses an unknown backend and lists the known ones', async () => {
    const result = await world().desk.decisions.submit(
      { action: 'disable', backend: 'clod', username: 'alice' },
      REQUESTER,
    );
    expect(result).toMatchObject({ ok: false, code: 'invalid', field: 'backend' });
    if (!result.ok) expect(result.message).toBe('There is no backend named "clod". Known: cloud, nas, sso.');
  });

  it('refuses an action the policy turned off', async () => {
    const result = await world().desk.decisions.submit(
      { action: 'enable', backend: 'cloud', username: 'alice' },
      REQUESTER,
    );
    expect(result).toMatchObject({ ok: false, code: 'invalid', field: 'action' });
    if (!result.ok) expect(result.message).toMatch(/"enable" requests are turned off/);
  });

  it('refuses an action the backend cannot do', async () => {
    const result = await world().desk.decisions.submit(
      { action: 'delete', backend: 'nas', username: 'alice' },
      REQUESTER,
    );
    expect(result).toMatchObject({ ok: false, field: 'action' });
    if (!result.ok) {
      expect(result.message).toBe('nas (synology) does not support "delete" requests. Backends that do: cloud.');
    }
  });

  it('needs an email to create a user on an invitation (Nextcloud) backend', async () => {
    const result = await world().desk.decisions.submit(
      { action: 'create', backend: 'cloud', username: 'bob' },
      REQUESTER,
    );
    expect(result).toMatchObject({ ok: false, code: 'invalid', field: 'email' });
    if (!result.ok) expect(result.message).toMatch(/email address is required.*invitation/);
  });

  it('refuses a bad quota, a bad email, a bad username, a long reason and groups nowhere to go, by field', async () => {
    const w = world();
    const submit = (draft: Parameters<typeof w.desk.decisions.submit>[0]) => w.desk.decisions.submit(draft, REQUESTER);
    expect(await submit({ action: 'quota', backend: 'cloud', username: 'alice', quota: '2 PB' })).toMatchObject({
      ok: false,
      field: 'quota',
    });
    expect(await submit({ action: 'quota', backend: 'cloud', username: 'alice' })).toMatchObject({
      ok: false,
      field: 'quota',
    });
    expect(await submit({ action: 'create', backend: 'cloud', username: 'bob', email: 'bob@' })).toMatchObject({
      ok: false,
      field: 'email',
    });
    expect(await submit({ action: 'disable', backend: 'cloud', username: 'bad/name' })).toMatchObject({
      ok: false,
      field: 'username',
    });
    expect(
      await submit({ action: 'disable', backend: 'cloud', username: 'alice', reason: 'r'.repeat(501) }),
    ).toMatchObject({ ok: false, field: 'reason' });
    expect(await submit({ action: 'create', backend: 'sso', username: 'bob', groups: ['staff'] })).toMatchObject({
      ok: false,
      field: 'groups',
    });
    expect(await w.desk.queries.listPending()).toEqual([]);
    expect(await w.audit()).toEqual([]);
  });

  it('applies the content rule: a quota above 100 GB (or unlimited) needs 2 approvals', async () => {
    const w = world();
    const required = async (username: string, quota: string) =>
      (await submitOk(w, { action: 'quota', backend: 'cloud', username, quota })).approvalsRequired;
    expect(await required('a', '100GB')).toBe(1);
    expect(await required('b', '200GB')).toBe(2);
    expect(await required('c', 'unlimited')).toBe(2);
  });

  it('check() validates without storing anything', async () => {
    const w = world();
    const checked = await w.desk.plans.check(
      { action: 'quota', backend: 'cloud', username: 'alice', quota: '50GB' },
      REQUESTER,
    );
    expect(checked).toMatchObject({
      ok: true,
      valid: { plan: 'single', username: 'alice', steps: [{ params: { quotaBytes: 50 * GiB } }] },
    });
    expect(await w.desk.queries.listPending()).toEqual([]);
    expect(await w.audit()).toEqual([]);
  });
});

describe('onboard plans', () => {
  it('one create step per backend of the profile, with its groups and quota, approved as one', async () => {
    const w = world();
    const request = await submitOk(w, {
      action: 'onboard',
      username: 'nina',
      email: 'nina@example.com',
      profile: 'staff',
      reason: 'new hire',
    });
    expect(request).toMatchObject({ plan: 'onboard', profile: 'staff', username: 'nina', approvalsRequired: 1 });
    expect(request.steps.map((s) => [s.backend, s.action, s.username, s.params, s.state])).toEqual([
      ['cloud', 'create', 'nina', { email: 'nina@example.com', groups: ['staff'], quotaBytes: 10 * GiB }, 'pending'],
      ['nas', 'create', 'nina', expect.objectContaining({ groups: ['users'], quotaBytes: 50 * GiB }), 'pending'],
    ]);
    expect((await w.audit()).find((e) => e.event === 'requested')?.data).toMatchObject({
      plan: 'onboard',
      action: 'onboard',
      backend: 'cloud, nas',
      profile: 'staff',
    });
  });

  it('needs the approvals its most demanding step needs: a 200 GB quota needs two', async () => {
    const request = await submitOk(world(), {
      action: 'onboard',
      username: 'olaf',
      email: 'olaf@example.com',
      profile: 'big',
    });
    expect(request.steps.map((s) => s.params.quotaBytes)).toEqual([200 * GiB]);
    expect(request.approvalsRequired).toBe(2);
  });

  it('a policy rule naming the profile sets its approvals', async () => {
    const request = await submitOk(world(), { action: 'onboard', username: 'pia', profile: 'contractor' });
    expect(request.approvalsRequired).toBe(3);
  });

  it('refuses an unknown profile by name, listing the known ones, and a username a backend cannot hold', async () => {
    const w = world();
    const unknown = await w.desk.decisions.submit({ action: 'onboard', username: 'q', profile: 'staf' }, REQUESTER);
    expect(unknown).toMatchObject({ ok: false, code: 'invalid', field: 'profile' });
    if (!unknown.ok) expect(unknown.message).toBe('There is no profile named "staf". Known: staff, big, contractor.');
    const badName = await w.desk.decisions.submit(
      { action: 'onboard', username: 'bad/name', email: 'x@example.com', profile: 'staff' },
      REQUESTER,
    );
    expect(badName).toMatchObject({ ok: false, field: 'username' });
    expect(await w.desk.queries.listPending()).toEqual([]);
  });
});

describe('offboard plans', () => {
  it('one disable step per backend, each skipped where the user does not exist', async () => {
    const request = await submitOk(world(), { action: 'offboard', username: 'rita', reason: 'left' });
    expect(request).toMatchObject({ plan: 'offboard', username: 'rita', approvalsRequired: 1 });
    expect(request.steps.map((s) => [s.backend, s.action, s.skipIfMissing])).toEqual([
      ['cloud', 'disable', true],
      ['nas', 'disable', true],
      ['sso', 'disable', true],
    ]);
  });

  it('offboard with delete deletes only on backends that can, and only when the policy enables delete', async () => {
    const w = world();
    const request = await submitOk(w, { action: 'offboard', username: 'rita', delete: true });
    expect(request.steps.map((s) => [s.backend, s.action])).toEqual([['cloud', 'delete']]);
  });

  it('needs the username typed, like a disable', async () => {
    const w = world();
    const request = await submitOk(w, { action: 'offboard', username: 'rita' });
    const vote = await w.desk.decisions.approve(request.id, ADMIN_A);
    expect(vote).toMatchObject({ ok: false, code: 'confirmation_mismatch' });
    if (!vote.ok) expect(vote.message).toBe('To offboard this account, type its username exactly: rita');
  });
});

describe('offboard with delete turned off', () => {
  const off = useWorld({ policy: { delete: { enabled: false } } });

  it('refuses delete and says offboard disables', async () => {
    const result = await off().desk.decisions.submit({ action: 'offboard', username: 'rita', delete: true }, REQUESTER);
    expect(result).toMatchObject({ ok: false, code: 'invalid', field: 'action' });
    if (!result.ok) expect(result.message).toMatch(/Deleting accounts is turned off.*offboard disables them/);
  });
});

describe('approve, reject, cancel', () => {
  it('completes at the threshold, one vote per approver, never the requester', async () => {
    const w = world();
    const request = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'alice', quota: '200GB' });
    const { decisions } = w.desk;

    expect(await decisions.approve(request.id, REQUESTER)).toMatchObject({ ok: false, code: 'self_approval' });
    expect(await decisions.approve(request.id, 'UNOBODY')).toMatchObject({ ok: false, code: 'not_approver' });

    const first = await decisions.approve(request.id, ADMIN_A);
    expect(first).toMatchObject({
      ok: true,
      complete: false,
      request: { state: 'pending', approvals: [{ by: ADMIN_A }] },
    });
    expect(await decisions.approve(request.id, ADMIN_A)).toMatchObject({ ok: false, code: 'already_voted' });

    const second = await decisions.approve(request.id, GROUP_ADMIN); // an approver through the user group
    expect(second).toMatchObject({ ok: true, complete: true, request: { state: 'approved' } });
    expect(await decisions.approve(request.id, ADMIN_B)).toMatchObject({ ok: false, code: 'already_decided' });

    const approvals = (await w.audit()).filter((e) => e.event === 'approved');
    expect(approvals.map((e) => [e.actor, e.data.approvals, e.data.required, e.data.complete])).toEqual([
      [ADMIN_A, 1, 2, false],
      [GROUP_ADMIN, 2, 2, true],
    ]);
    // The completing vote alone starts the engine: nobody calls apply.
    await w.desk.engine.idle();
    expect(w.cloud.writes()).toEqual([{ op: 'setQuota', args: ['alice', 200 * GiB] }]);
    expect(await w.desk.queries.get(request.id)).toMatchObject({ state: 'applied' });
  });

  it('a vote below the threshold never calls a backend', async () => {
    const w = world();
    const request = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'alice', quota: '200GB' });
    await w.desk.decisions.approve(request.id, ADMIN_A);
    await w.desk.engine.idle();
    expect(w.cloud.writes()).toEqual([]);
  });

  it('two approvers voting at once on a two-approval request: both votes count, applied once', async () => {
    const w = world();
    const request = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'alice', quota: '200GB' });
    const other = await w.replica();
    const votes = await Promise.all([
      w.desk.decisions.approve(request.id, ADMIN_A),
      other.decisions.approve(request.id, ADMIN_B),
    ]);
    expect(votes.map((v) => v.ok)).toEqual([true, true]);
    expect(votes.filter((v) => v.ok && v.complete)).toHaveLength(1);
    await Promise.all([w.desk.engine.idle(), other.engine.idle()]);
    expect(await w.desk.queries.get(request.id)).toMatchObject({ state: 'applied', approvals: { length: 2 } });
    expect(w.cloud.writes()).toHaveLength(1);
    expect(await w.store.audit.verify()).toMatchObject({ ok: true });
  });

  it('the same approver clicking twice at once is counted once', async () => {
    const w = world();
    const request = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'alice', quota: '200GB' });
    const other = await w.replica();
    const votes = await Promise.all([
      w.desk.decisions.approve(request.id, ADMIN_A),
      other.decisions.approve(request.id, ADMIN_A),
    ]);
    expect(votes.map((v) => (v.ok ? 'ok' : v.code)).sort()).toEqual(['already_voted', 'ok']);
    expect((await w.desk.queries.get(request.id))?.approvals).toHaveLength(1);
    expect((await w.audit()).filter((e) => e.event === 'approved')).toHaveLength(1);
  });

  it('an approval racing a rejection: exactly one of them wins', async () => {
    const w = world();
    const request = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'alice', quota: '50GB' });
    const other = await w.replica();
    const [vote, rejection] = await Promise.all([
      w.desk.decisions.approve(request.id, ADMIN_A),
      other.decisions.reject(request.id, ADMIN_B, 'no budget'),
    ]);
    expect([vote.ok, rejection.ok].filter(Boolean)).toHaveLength(1);
    await Promise.all([w.desk.engine.idle(), other.engine.idle()]);
    const decided = await events(w, request.id);
    expect(decided.filter((e) => e === 'approved' || e === 'rejected')).toHaveLength(1);
    expect(w.cloud.writes()).toHaveLength(vote.ok ? 1 : 0);
  });

  it('a destructive action needs the username typed exactly', async () => {
    const w = world();
    const request = await submitOk(w, { action: 'disable', backend: 'cloud', username: 'alice' });
    const none = await w.desk.decisions.approve(request.id, ADMIN_A);
    expect(none).toMatchObject({ ok: false, code: 'confirmation_mismatch', field: 'confirmation' });
    if (!none.ok) expect(none.message).toMatch(/type its username exactly: alice/);
    expect(await w.desk.decisions.approve(request.id, ADMIN_A, 'alicE')).toMatchObject({
      ok: false,
      code: 'confirmation_mismatch',
    });
    expect(await w.desk.decisions.approve(request.id, ADMIN_A, ' alice ')).toMatchObject({
      ok: true,
      complete: true,
    });
  });

  it('reject needs a reason and an approver, and stores who and why', async () => {
    const w = world();
    const request = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'alice', quota: '50GB' });
    const { decisions } = w.desk;
    expect(await decisions.reject(request.id, ADMIN_A, '   ')).toMatchObject({
      ok: false,
      code: 'reason_required',
      field: 'reason',
    });
    expect(await decisions.reject(request.id, 'UNOBODY', 'no')).toMatchObject({ ok: false, code: 'not_approver' });
    const rejected = await decisions.reject(request.id, ADMIN_B, 'budget is frozen');
    expect(rejected).toMatchObject({
      ok: true,
      request: { state: 'rejected', decision: { by: ADMIN_B, reason: 'budget is frozen' } },
    });
    expect(await decisions.approve(request.id, ADMIN_A)).toMatchObject({ ok: false, code: 'already_decided' });
    expect(await events(w, request.id)).toEqual(['requested', 'previewed', 'rejected']);
  });

  it('only the requester cancels a pending request', async () => {
    const w = world();
    const request = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'alice', quota: '50GB' });
    expect(await w.desk.decisions.cancel(request.id, ADMIN_A)).toMatchObject({ ok: false, code: 'not_requester' });
    expect(await w.desk.decisions.cancel(request.id, REQUESTER)).toMatchObject({
      ok: true,
      request: { state: 'cancelled', decision: { by: REQUESTER } },
    });
    expect(await w.desk.decisions.cancel(request.id, REQUESTER)).toMatchObject({
      ok: false,
      code: 'already_decided',
    });
    expect(await w.desk.queries.listPending()).toEqual([]);
  });

  it('an approver may give up on a failed request, and not on an applied one', async () => {
    const w = world();
    const request = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'alice', quota: '50GB' });
    w.cloud.failWith = new BackendError('cloud', 'invalid_input', 'Nextcloud refused the quota.');
    expect((await approveAndApply(w, request.id)).state).toBe('failed');
    expect(await w.desk.decisions.cancel(request.id, 'UNOBODY')).toMatchObject({ ok: false, code: 'not_requester' });
    expect(await w.desk.decisions.cancel(request.id, ADMIN_B)).toMatchObject({
      ok: true,
      request: { state: 'cancelled', decision: { by: ADMIN_B } },
    });
    expect((await events(w, request.id)).at(-1)).toBe('cancelled');

    const done = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'bob', quota: '50GB' });
    expect((await approveAndApply(w, done.id)).state).toBe('applied');
    expect(await w.desk.decisions.cancel(done.id, ADMIN_B)).toMatchObject({ ok: false, code: 'not_requester' });
    expect(await w.desk.decisions.cancel(done.id, REQUESTER)).toMatchObject({ ok: false, code: 'already_decided' });
  });

  it('answers not_found for an unknown id', async () => {
    const { desk } = world();
    expect(await desk.decisions.approve('AD-NOPE22', ADMIN_A)).toMatchObject({ ok: false, code: 'not_found' });
    expect(await desk.decisions.reject('AD-NOPE22', ADMIN_A, 'x')).toMatchObject({ ok: false, code: 'not_found' });
    expect(await desk.decisions.cancel('AD-NOPE22', ADMIN_A)).toMatchObject({ ok: false, code: 'not_found' });
    expect(await desk.engine.retry('AD-NOPE22', ADMIN_A)).toMatchObject({ ok: false, code: 'not_found' });
    expect(await desk.engine.drive('AD-NOPE22')).toBeUndefined();
  });

  it('every decision is one commit: the record and its audit entry move together', async () => {
    const w = world();
    const request = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'alice', quota: '200GB' });
    await w.desk.decisions.approve(request.id, ADMIN_A);
    const stored = await w.desk.queries.get(request.id);
    const last = (await w.audit()).at(-1);
    expect(last).toMatchObject({ event: 'approved', subject: request.id, data: { approvals: 1, state: 'pending' } });
    expect(stored?.approvals).toEqual([{ by: ADMIN_A, at: new Date(T0).toISOString() }]);
  });
});

describe('expiry', () => {
  it('expires pending requests past their expiry, and only those', async () => {
    const w = world();
    const old = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'alice', quota: '50GB' });
    w.clock.now = T0 + 48 * 3_600_000;
    const fresh = await submitOk(w, { action: 'quota', backend: 'cloud', username: 'bob', quota: '50GB' });
    w.clock.now = T0 + 72 * 3_600_000; // exactly the first one's expiry
    const expired = await w.desk.decisions.expireDue();
    expect(expired.map((r) => r.id)).toEqual([old.id]);
    expect(expired[0]).toMatchObject({
      state: 'expired',
      decision: { by: 'system', reason: 'no decision before the expiry' },
    });
    expect((await w.desk.queries.listPending()).map((r) => r.id)).toEqual([fresh.id]);
    expect(await events(w, old.id)).toEqual(['requested', 'previewed', 'expired']);
    expect(await w.desk.decisions.approve(old.id, ADMIN_A)).toMatchObject({ ok: false, code: 'already_decided' });
  });

  it('an approval after the expiry but before the sweep expires the request instead of approving it', async () => {
    const w = world();
    const request = await submitOk(w, { action: 'disable', backend: 'cloud', username: 'alice' });
    w.clock.now = Date.parse(request.expiresAt) + 1;
    const vote = await w.desk.decisions.approve(request.id, ADMIN_A, 'alice');
    expect(vote).toMatchObject({ ok: false, code: 'already_decided' });
    expect((await w.desk.queries.get(request.id))?.state).toBe('expired');
    await w.desk.engine.idle();
    expect(w.cloud.writes()).toEqual([]);
    expect(await events(w, request.id)).toEqual(['requested', 'previewed', 'expired']);
  });
});

describe('a one-step plan reads as a plain request', () => {
  it('its only step carries the action, backend and params', async () => {
    const step = only(await submitOk(world(), { action: 'disable', backend: 'nas', username: 'zed' }));
    expect(step).toMatchObject({ backend: 'nas', action: 'disable', username: 'zed', params: {} });
    expect(step.skipIfMissing).toBeUndefined();
  });
});
