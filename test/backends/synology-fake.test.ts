/**
 * The fake DSM (test/fakes/synology.ts) answers as a real DSM 7 does, spoken to over raw HTTP the way other DSM
 * clients speak to it (N4S4/synology-api's URLs and parameters). Every client test trusts the fake, so each
 * behaviour seen on a real DSM is pinned here; the evidence is cited in the fake next to the behaviour.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeDsm, type FakeDsm, type FakeDsmOptions } from '../fakes/synology.js';

const BOT_PASSWORD = 'bot-password-1';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface DsmAnswer {
  success: boolean;
  data: Record<string, unknown>;
  error?: { code: number; errors?: unknown };
}

async function start(options: FakeDsmOptions = {}): Promise<FakeDsm> {
  const fake = await startFakeDsm({ users: [{ name: 'alice', email: 'alice@example.com' }], ...options });
  cleanups.push(() => fake.close());
  return fake;
}

/** One form POST to /webapi/<file>, as DSM's own web UI and most clients send it. */
async function post(
  fake: FakeDsm,
  file: string,
  params: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<DsmAnswer> {
  const res = await fetch(`${fake.url}/webapi/${file}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
  });
  expect(res.status).toBe(200); // DSM answers API errors with HTTP 200 and success: false
  const body = (await res.json()) as { success: boolean; data?: Record<string, unknown>; error?: DsmAnswer['error'] };
  return { success: body.success, data: body.data ?? {}, ...(body.error ? { error: body.error } : {}) };
}

const LOGIN = {
  api: 'SYNO.API.Auth',
  version: '7',
  method: 'login',
  account: 'accountdesk',
  passwd: BOT_PASSWORD,
  session: 't',
  format: 'sid',
  enable_syno_token: 'yes',
};

/** A v7 login; returns the session params every later call carries. */
async function login(fake: FakeDsm, file = 'entry.cgi'): Promise<{ _sid: string; SynoToken: string }> {
  const answer = await post(fake, file, LOGIN);
  expect(answer.success).toBe(true);
  return { _sid: String(answer.data.sid), SynoToken: String(answer.data.synotoken) };
}

async function user(fake: FakeDsm, method: string, params: Record<string, string> = {}): Promise<DsmAnswer> {
  const session = await login(fake);
  return post(fake, 'entry.cgi', { api: 'SYNO.Core.User', version: '1', method, ...session, ...params });
}

describe('where DSM 7 answers', () => {
  it('SYNO.API.Auth at /webapi/auth.cgi as well as at the path SYNO.API.Info advertises (entry.cgi)', async () => {
    const fake = await start();
    const info = await post(fake, 'query.cgi', { api: 'SYNO.API.Info', version: '1', method: 'query', query: 'all' });
    expect(info.data['SYNO.API.Auth']).toMatchObject({ path: 'entry.cgi', maxVersion: 7 });
    expect((await post(fake, 'auth.cgi', LOGIN)).success).toBe(true);
    expect((await post(fake, 'entry.cgi', LOGIN)).success).toBe(true);
    // Only Auth has that second home: SYNO.Core.User at auth.cgi is 102 (no such API there).
    const session = await login(fake, 'auth.cgi');
    const wrongFile = await post(fake, 'auth.cgi', {
      api: 'SYNO.Core.User',
      version: '1',
      method: 'get',
      name: 'alice',
      ...session,
    });
    expect(wrongFile.error?.code).toBe(102);
  });

  it('/webapi/entry.cgi/<API name> URLs; a path naming another API is 102', async () => {
    const fake = await start();
    const session = await login(fake, 'entry.cgi/SYNO.API.Auth');
    const get = { api: 'SYNO.Core.User', version: '1', method: 'get', name: 'alice', ...session };
    expect((await post(fake, 'entry.cgi/SYNO.Core.User', get)).success).toBe(true);
    expect((await post(fake, 'entry.cgi/SYNO.Core.Quota', get)).error?.code).toBe(102);
  });
});

describe('SYNO.API.Auth login', () => {
  it('answers account, device_id, ik_message, is_portal_port, sid and synotoken', async () => {
    const fake = await start();
    const answer = await post(fake, 'entry.cgi', LOGIN);
    expect(Object.keys(answer.data).sort()).toEqual([
      'account',
      'device_id',
      'ik_message',
      'is_portal_port',
      'sid',
      'synotoken',
    ]);
    expect(answer.data).toMatchObject({ account: 'accountdesk', device_id: '', ik_message: '', is_portal_port: false });
  });

  it('2FA without a code (or with an empty one): 403 with errors {token, types: [{type: "otp"}]}', async () => {
    const fake = await start({ otpRequired: true, otpCode: '246810' });
    const withoutCode: Array<Record<string, string>> = [{}, { otp_code: '' }];
    for (const extra of withoutCode) {
      const answer = await post(fake, 'entry.cgi', { ...LOGIN, ...extra });
      expect(answer.success).toBe(false);
      expect(answer.error?.code).toBe(403);
      const errors = answer.error?.errors as { token?: unknown; types?: unknown };
      expect(typeof errors.token).toBe('string');
      expect(errors.types).toEqual([{ type: 'otp' }]);
    }
    expect((await post(fake, 'entry.cgi', { ...LOGIN, otp_code: '000000' })).error).toEqual({ code: 404 });
    const enrolled = await post(fake, 'entry.cgi', {
      ...LOGIN,
      otp_code: '246810',
      enable_device_token: 'yes',
      device_name: 'x',
    });
    expect(enrolled.data.device_id).toMatch(/^dev-/);
  });
});

describe('SYNO.Core.User', () => {
  it('list: offset/limit/additional -> {offset, total, users} sorted by name', async () => {
    const fake = await start({
      users: [
        { name: 'bob', expired: 'now' },
        { name: 'alice', email: 'a@example.com' },
      ],
    });
    const all = await user(fake, 'list', {
      type: 'local',
      offset: '0',
      limit: '-1',
      additional: '["email","expired"]',
    });
    expect(all.success).toBe(true);
    expect(all.data.offset).toBe(0);
    expect(all.data.total).toBe(5); // admin, guest, the bot, alice, bob
    const users = all.data.users as Array<Record<string, unknown>>;
    expect(users.map((u) => u.name)).toEqual(['accountdesk', 'admin', 'alice', 'bob', 'guest']);
    expect(users[2]).toEqual({ name: 'alice', email: 'a@example.com', expired: 'normal' });
    const page = await user(fake, 'list', { offset: '2', limit: '2' });
    expect(page.data).toEqual({ offset: 2, total: 5, users: [{ name: 'alice' }, { name: 'bob' }] });
  });

  it('get answers a list, always with uid', async () => {
    const fake = await start();
    const answer = await user(fake, 'get', { name: 'alice', additional: '["email"]' });
    expect(answer.data.users).toEqual([
      { name: 'alice', email: 'alice@example.com', uid: fake.users.get('alice')!.uid },
    ]);
  });

  it('create and set accept expired "never" (stored as "normal"), as a real NAS does for N4S4', async () => {
    const fake = await start();
    const created = await user(fake, 'create', {
      name: 'nora',
      password: 'Str0ng-Pass!',
      expired: 'never',
      cannot_chg_passwd: 'false',
      passwd_never_expire: 'true',
    });
    expect(created.success).toBe(true);
    expect(fake.users.get('nora')).toMatchObject({ expired: 'normal', passwordNeverExpires: true });
    await user(fake, 'set', { name: 'nora', expired: 'now' });
    expect((await user(fake, 'set', { name: 'nora', expired: 'never' })).success).toBe(true);
    expect(fake.users.get('nora')!.expired).toBe('normal');
  });

  it('set with new_name renames (groups, quota and password follow); a taken or reserved name is refused', async () => {
    const fake = await start({
      users: [{ name: 'alice', email: 'alice@example.com' }, { name: 'bob' }],
      groups: { staff: ['alice'] },
      quotas: { alice: { '/volume1': 5 } },
    });
    const renamed = await user(fake, 'set', { name: 'alice', new_name: 'alicia' });
    expect(renamed.data).toMatchObject({ name: 'alicia' });
    expect(fake.users.has('alice')).toBe(false);
    expect(fake.users.get('alicia')!.email).toBe('alice@example.com');
    expect([...fake.groups.get('staff')!]).toEqual(['alicia']);
    expect(fake.groups.get('users')!.has('alicia')).toBe(true);
    expect(fake.quotas.get('alicia')!.get('/volume1')).toBe(5);
    expect((await user(fake, 'get', { name: 'alice' })).error?.code).toBe(3106);

    expect((await user(fake, 'set', { name: 'alicia', new_name: 'bob' })).error?.code).toBe(3107);
    expect((await user(fake, 'set', { name: 'alicia', new_name: 'root' })).error?.code).toBe(3108);
    expect(fake.users.has('alicia')).toBe(true);
  });

  it('set: a new password meets the policy create applies; an empty one is accepted (and stored)', async () => {
    const fake = await start({ passwordMinLength: 8 });
    fake.passwords.set('alice', 'Old-Pass-1');
    expect((await user(fake, 'set', { name: 'alice', password: 'short' })).error?.code).toBe(3123);
    expect(fake.passwords.get('alice')).toBe('Old-Pass-1');
    expect((await user(fake, 'set', { name: 'alice', password: 'Long-Enough-1' })).success).toBe(true);
    expect(fake.passwords.get('alice')).toBe('Long-Enough-1');
    // N4S4's real-NAS test: set with new_name and its default password="" succeeds.
    expect((await user(fake, 'set', { name: 'alice', new_name: 'alicia', password: '' })).success).toBe(true);
    expect(fake.passwords.get('alicia')).toBe('');
  });

  it('delete: `errors` holds plain integers, 3102 even for a user it deleted', async () => {
    const fake = await start();
    const answer = await user(fake, 'delete', { name: '["alice"]' });
    expect(answer).toMatchObject({ success: true, data: { errors: [3102] } });
    expect(fake.users.has('alice')).toBe(false);
  });

  it('a v6 sid can read but every mutation answers 105; a missing or wrong SynoToken answers 119', async () => {
    const fake = await start();
    const v6 = await post(fake, 'entry.cgi', { ...LOGIN, version: '6', enable_syno_token: 'no' });
    const sid = String(v6.data.sid);
    const get = { api: 'SYNO.Core.User', version: '1', method: 'get', name: 'alice' };
    expect((await post(fake, 'entry.cgi', { ...get, _sid: sid })).success).toBe(true);
    const set = { ...get, method: 'set', expired: 'now', _sid: sid };
    expect((await post(fake, 'entry.cgi', set)).error?.code).toBe(105);

    const v7 = await login(fake);
    expect((await post(fake, 'entry.cgi', { ...get, _sid: v7._sid })).error?.code).toBe(119);
    expect((await post(fake, 'entry.cgi', { ...get, _sid: v7._sid, SynoToken: 'wrong' })).error?.code).toBe(119);
    const withHeader = await post(fake, 'entry.cgi', { ...get, _sid: v7._sid }, { 'x-syno-token': v7.SynoToken });
    expect(withHeader.success).toBe(true);
  });

  it('refuses Python-style booleans (3103), a plain-string delete name (3101), ISO expiry dates (3103)', async () => {
    const fake = await start();
    const pythonBool = await user(fake, 'create', { name: 'x', password: 'Str0ng-Pass!', notify_by_email: 'False' });
    expect(pythonBool.error?.code).toBe(3103);
    expect((await user(fake, 'delete', { name: 'alice' })).error?.code).toBe(3101);
    expect((await user(fake, 'set', { name: 'alice', expired: '2025-06-01' })).error?.code).toBe(3103);
    expect((await user(fake, 'set', { name: 'alice', disabled: 'true' })).success).toBe(true);
    expect(fake.users.get('alice')!.expired).toBe('normal'); // `disabled` is silently ignored
  });
});

describe('groups', () => {
  it('SYNO.Core.Group list -> {groups: [{name, gid, description}], offset, total}', async () => {
    const fake = await start({ groups: { staff: ['alice'] } });
    const session = await login(fake);
    const answer = await post(fake, 'entry.cgi', {
      api: 'SYNO.Core.Group',
      version: '1',
      method: 'list',
      type: 'local',
      offset: '0',
      limit: '-1',
      name_only: 'false',
      ...session,
    });
    expect(answer.data).toEqual({
      groups: [
        { name: 'administrators', gid: 101, description: '' },
        { name: 'users', gid: 100, description: '' },
        { name: 'http', gid: 1023, description: '' },
        { name: 'staff', gid: 65536, description: '' },
      ],
      offset: 0,
      total: 4,
    });
  });

  it('SYNO.User.Group join of a group that does not exist is accepted and finishes with nothing done', async () => {
    const fake = await start({ joinPollsUntilFinished: 1 });
    const session = await login(fake);
    const group = { api: 'SYNO.Core.User.Group', version: '1', ...session };
    const join = await post(fake, 'entry.cgi', {
      ...group,
      method: 'join',
      name: 'alice',
      join_group: '["admnistrators"]',
      leave_group: '[]',
    });
    expect(join.success).toBe(true);
    const status = await post(fake, 'entry.cgi', {
      ...group,
      method: 'join_status',
      task_id: String(join.data.task_id),
    });
    expect(status.data).toMatchObject({ finish: true, success: true });
    expect([...fake.groups.keys()]).not.toContain('admnistrators');
  });
});
