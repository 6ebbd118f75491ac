/** Each action kind: its field checks, what the card shows against the live state, and how recovery tells "done". */
import { describe, expect, it } from 'vitest';
import type { BackendClient, Capability } from '../../src/backends/types.js';
import { ACTION_KINDS } from '../../src/requests/actions/index.js';

const GiB = 1024 ** 3;

function backend(
  passwordHandling: BackendClient['passwordHandling'],
  kind: BackendClient['kind'] = 'nextcloud',
  capabilities: Capability[] = ['groups'],
): BackendClient {
  const unused = (): Promise<never> => Promise.reject(new Error('not called by checkParams'));
  return {
    name: 'b1',
    kind,
    passwordHandling,
    // As the real clients state it: Nextcloud mails an invitation, DSM (when told to) the password.
    ...(passwordHandling === 'invitation'
      ? { emailRequiredBecause: 'it mails the new user an invitation to set a password' }
      : passwordHandling === 'mailed-by-backend'
        ? { emailRequiredBecause: 'it mails the new user their password' }
        : {}),
    capabilities: new Set(capabilities),
    usernameProblem: () => undefined,
    getUser: unused,
    createUser: unused,
    disableUser: unused,
    enableUser: unused,
    setQuota: unused,
    storedQuota: (q) => q,
    close: async () => {},
  };
}

describe('create', () => {
  const create = ACTION_KINDS.create;

  it('cleans its fields: trimmed email, parsed quota, de-duplicated groups', () => {
    expect(
      create.checkParams(
        {
          action: 'create',
          backend: 'b1',
          username: 'bob',
          email: ' bob@example.com ',
          quota: '10GB',
          groups: ['staff', ' staff', 'sales', ''],
          displayName: ' Bob ',
        },
        backend('invitation'),
      ),
    ).toEqual({
      ok: true,
      params: { email: 'bob@example.com', quotaBytes: 10 * GiB, groups: ['staff', 'sales'], displayName: 'Bob' },
    });
  });

  it('needs an email where the backend mails the invitation or the password', () => {
    expect(
      create.checkParams({ action: 'create', backend: 'b1', username: 'bob' }, backend('invitation')),
    ).toMatchObject({ ok: false, field: 'email' });
    expect(
      create.checkParams(
        { action: 'create', backend: 'b1', username: 'bob' },
        backend('mailed-by-backend', 'synology'),
      ),
    ).toMatchObject({
      ok: false,
      field: 'email',
      message: expect.stringMatching(/mails the new user their password/) as unknown,
    });
    expect(
      create.checkParams(
        { action: 'create', backend: 'b1', username: 'bob' },
        backend('show-to-requester', 'synology'),
      ),
    ).toEqual({ ok: true, params: {} });
    expect(
      create.checkParams(
        { action: 'create', backend: 'b1', username: 'bob' },
        backend('identity-provider', 'nmcuser_oidc'),
      ),
    ).toEqual({ ok: true, params: {} });
  });

  it('refuses groups on a backend that does not manage them', () => {
    expect(
      create.checkParams(
        { action: 'create', backend: 'b1', username: 'bob', email: 'b@example.com', groups: ['staff'] },
        backend('invitation', 'nextcloud', []),
      ),
    ).toMatchObject({ ok: false, field: 'groups', message: 'b1 does not manage groups; leave groups out.' });
  });

  it('describes itself in one line', () => {
    expect(
      create.describe({
        username: 'bob',
        params: { email: 'b@example.com', displayName: 'Bob B', quotaBytes: null, groups: ['staff'] },
      }),
    ).toBe('create bob (b@example.com, "Bob B", quota unlimited, groups staff)');
  });

  it('blocks when the user exists already', () => {
    expect(create.assess({ username: 'bob', params: {} }, { userId: 'bob', exists: true })).toMatchObject({
      blocker: 'a user with this name already exists',
    });
    expect(create.assess({ username: 'bob', params: {} }, { userId: 'bob', exists: false }).blocker).toBeUndefined();
  });

  it('counts as done only when the user matches the request (a Nextcloud create is not atomic)', () => {
    const asked = { username: 'bob', params: { email: 'Bob@example.com', quotaBytes: 10 * GiB } };
    expect(create.isDone(asked, { userId: 'bob', exists: false })).toBe(false);
    expect(
      create.isDone(asked, { userId: 'bob', exists: true, email: 'bob@example.com', quota: { limitBytes: 10 * GiB } }),
    ).toBe(true);
    expect(
      create.isDone(asked, {
        userId: 'bob',
        exists: true,
        email: 'other@example.com',
        quota: { limitBytes: 10 * GiB },
      }),
    ).toBe(false);
    expect(
      create.isDone(asked, { userId: 'bob', exists: true, email: 'bob@example.com', quota: { limitBytes: null } }),
    ).toBe(false);
  });
});

describe('disable, enable, delete, quota', () => {
  it('disable: blocker for a missing user, no-op when already disabled, done when disabled', () => {
    const k = ACTION_KINDS.disable;
    const r = { username: 'alice', params: {} };
    expect(k.destructive).toBe(true);
    expect(k.assess(r, { userId: 'alice', exists: false }).blocker).toBe('user does not exist');
    expect(k.assess(r, { userId: 'alice', exists: true, enabled: false }).noOp).toBe('already disabled');
    expect(k.assess(r, { userId: 'alice', exists: true, enabled: true })).not.toHaveProperty('noOp');
    expect(k.isDone(r, { userId: 'alice', exists: true, enabled: false })).toBe(true);
    expect(k.isDone(r, { userId: 'alice', exists: true, enabled: true })).toBe(false);
    expect(k.isDone(r, { userId: 'alice', exists: false })).toBe(false);
  });

  it('enable: the mirror image', () => {
    const k = ACTION_KINDS.enable;
    const r = { username: 'alice', params: {} };
    expect(k.destructive).toBe(false);
    expect(k.assess(r, { userId: 'alice', exists: true, enabled: true }).noOp).toBe('already enabled');
    expect(k.isDone(r, { userId: 'alice', exists: true, enabled: true })).toBe(true);
    expect(k.isDone(r, { userId: 'alice', exists: true })).toBe(false);
  });

  it('delete: off by default, destructive, needs the capability, done when the user is gone', () => {
    const k = ACTION_KINDS.delete;
    expect([k.enabledByDefault, k.destructive, k.capability]).toEqual([false, true, 'delete']);
    expect(k.assess({ username: 'a', params: {} }, { userId: 'a', exists: false }).noOp).toBe('user does not exist');
    expect(k.isDone({ username: 'a', params: {} }, { userId: 'a', exists: false })).toBe(true);
  });

  it('quota: needs a size; warns when the user already stores more; done when the limit matches', () => {
    const k = ACTION_KINDS.quota;
    expect(
      k.checkParams({ action: 'quota', backend: 'b1', username: 'a', quota: ' ' }, backend('invitation')),
    ).toMatchObject({ ok: false, field: 'quota' });
    expect(
      k.checkParams({ action: 'quota', backend: 'b1', username: 'a', quota: 'unlimited' }, backend('invitation')),
    ).toEqual({ ok: true, params: { quotaBytes: null } });
    const r = { username: 'a', params: { quotaBytes: 10 * GiB } };
    expect(
      k.assess(r, { userId: 'a', exists: true, quota: { limitBytes: 50 * GiB, usedBytes: 20 * GiB } }).warning,
    ).toBe('the user already stores 20 GB, more than the new quota');
    expect(k.assess(r, { userId: 'a', exists: true, quota: { limitBytes: 10 * GiB } }).noOp).toBe(
      'the quota is already that',
    );
    expect(k.assess(r, { userId: 'a', exists: false }).blocker).toBe('user does not exist');
    expect(k.isDone(r, { userId: 'a', exists: true, quota: { limitBytes: 10 * GiB } })).toBe(true);
    expect(
      k.isDone(
        { username: 'a', params: { quotaBytes: null } },
        { userId: 'a', exists: true, quota: { limitBytes: null } },
      ),
    ).toBe(true);
    expect(k.isDone(r, { userId: 'a', exists: true })).toBe(false);
  });
});

describe('join, leave, reinvite', () => {
  const member = (groups: string[]) => ({
    userId: 'alice',
    exists: true,
    enabled: true,
    email: 'alice@example.com',
    groups,
  });

  it('join and leave take exactly one group, on a backend that manages groups', () => {
    const join = ACTION_KINDS.join;
    expect(
      join.checkParams(
        { action: 'join', backend: 'b1', username: 'alice', groups: [' staff '] },
        backend('invitation'),
      ),
    ).toEqual({ ok: true, params: { groups: ['staff'] } });
    expect(
      join.checkParams({ action: 'join', backend: 'b1', username: 'alice', groups: [] }, backend('invitation')),
    ).toMatchObject({ ok: false, field: 'groups', message: 'Name exactly one group.' });
    expect(
      join.checkParams({ action: 'join', backend: 'b1', username: 'alice', groups: ['a', 'b'] }, backend('invitation')),
    ).toMatchObject({ ok: false, field: 'groups' });
    expect(
      ACTION_KINDS.leave.checkParams(
        { action: 'leave', backend: 'b1', username: 'alice', groups: ['staff'] },
        backend('invitation', 'nextcloud', []),
      ),
    ).toMatchObject({ ok: false, message: 'b1 does not manage groups.' });
    expect(join.enabledByDefault).toBe(false);
    expect(join.capability).toBe('groups');
  });

  it('join: no-op when already a member, done when the backend lists the group', () => {
    const join = ACTION_KINDS.join;
    const r = { username: 'alice', params: { groups: ['staff'] } };
    expect(join.describe(r)).toBe('add alice to group staff');
    expect(join.assess(r, member(['staff'])).noOp).toBe('already in staff');
    expect(join.assess(r, member([]))).toEqual({ change: 'not in staff → in staff' });
    expect(join.assess(r, { userId: 'alice', exists: false }).blocker).toBe('user does not exist');
    expect(join.isDone(r, member(['staff']))).toBe(true);
    expect(join.isDone(r, member([]))).toBe(false);
    expect(join.isDone(r, { userId: 'alice', exists: true })).toBe(false); // groups unknown: not proven
  });

  it('leave: the mirror image', () => {
    const leave = ACTION_KINDS.leave;
    const r = { username: 'alice', params: { groups: ['staff'] } };
    expect(leave.describe(r)).toBe('remove alice from group staff');
    expect(leave.assess(r, member([])).noOp).toBe('not in staff');
    expect(leave.isDone(r, member([]))).toBe(true);
    expect(leave.isDone(r, member(['staff']))).toBe(false);
  });

  it('reinvite: blocked without an email; a mail cannot be read back, so recovery never calls it done', () => {
    const reinvite = ACTION_KINDS.reinvite;
    const r = { username: 'alice', params: {} };
    expect(reinvite.capability).toBe('resendInvite');
    expect(reinvite.assess(r, member([]))).toEqual({ change: 'invitation mail to alice@example.com' });
    expect(reinvite.assess(r, { userId: 'alice', exists: true, email: null }).blocker).toBe(
      'the user has no email address',
    );
    expect(reinvite.assess(r, { ...member([]), enabled: false }).warning).toMatch(/disabled/);
    expect(reinvite.isDone(r, member([]))).toBe(false);
  });
});
