/**
 * The Synology DSM client against the fake DSM (test/fakes/synology.ts, which follows docs/synology-dsm.md):
 * discovery, login v7, SynoToken, re-login, 2FA, every user/group/quota operation and their faults.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log.js';
import { createSynologyClient, type SynologyClientDeps } from '../../src/backends/synology/client.js';
import { synologyConfigSchema, type SynologyConfigInput } from '../../src/backends/synology/config.js';
import { enrollDevice } from '../../src/backends/synology/enrollment.js';
import { BackendError, type BackendClient } from '../../src/backends/types.js';
import { startFakeDsm, type FakeDsm, type FakeDsmOptions } from '../fakes/synology.js';
import { backendFailure } from '../support/backend-error.js';

const BOT_PASSWORD = 'bot-password-1';
const MB = 1024 * 1024;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function configFor(url: string, overrides: Partial<SynologyConfigInput> = {}) {
  return synologyConfigSchema.parse({
    kind: 'synology',
    url,
    user: 'accountdesk',
    secretEnv: 'DSM_NAS_PASSWORD',
    allowPlainHttp: true, // the fake speaks http on loopback
    groupJoin: { maxPolls: 5, pollIntervalMs: 250 },
    ...overrides,
  });
}

interface Setup {
  fake: FakeDsm;
  client: BackendClient;
  /** Waits the client asked for between join_status polls: recorded, never slept. */
  sleeps: number[];
  newClient: (deps?: SynologyClientDeps, overrides?: Partial<SynologyConfigInput>, secret?: string) => BackendClient;
}

async function setup(
  fakeOptions: FakeDsmOptions = {},
  overrides: Partial<SynologyConfigInput> = {},
  deps: SynologyClientDeps = {},
): Promise<Setup> {
  const fake = await startFakeDsm(fakeOptions);
  cleanups.push(() => fake.close());
  const sleeps: number[] = [];
  const newClient = (
    d: SynologyClientDeps = {},
    o: Partial<SynologyConfigInput> = {},
    secret = BOT_PASSWORD,
  ): BackendClient => {
    const client = createSynologyClient('nas', configFor(fake.url, { ...overrides, ...o }), secret, {
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
      now: () => new Date(2025, 5, 15, 12), // 15 June 2025
      ...deps,
      ...d,
    });
    cleanups.push(() => client.close());
    return client;
  };
  return { fake, client: newClient(), sleeps, newClient };
}

const rejection = backendFailure;

const ALICE = { name: 'alice', email: 'alice@example.com', description: 'Alice A.' };

describe('discovery and login', () => {
  it('discovers once, logs in once with Auth v7, its own session name, format=sid and a SynoToken', async () => {
    const { fake, client } = await setup({ users: [ALICE] });
    await client.getUser('alice');
    await client.getUser('alice');
    expect(fake.calls('SYNO.API.Info')).toHaveLength(1);
    const logins = fake.calls('SYNO.API.Auth', 'login');
    expect(logins).toHaveLength(1);
    expect(logins[0]!.params).toMatchObject({
      version: '7',
      session: 'AccountDesk',
      format: 'sid',
      enable_syno_token: 'yes',
      account: 'accountdesk',
    });
    expect(logins[0]!.httpMethod).toBe('POST'); // the password travels in the body, not the URL
    expect(logins[0]!.sent.deviceId).toBe(false);
  });

  it('sends _sid and the SynoToken as header X-SYNO-TOKEN and as param SynoToken on every call', async () => {
    const { fake, client } = await setup({ users: [ALICE] });
    await client.getUser('alice');
    const calls = fake.log.filter((r) => r.api.startsWith('SYNO.Core.'));
    expect(calls.length).toBeGreaterThanOrEqual(3);
    for (const call of calls) expect(call.sent).toMatchObject({ sid: true, tokenHeader: true, tokenParam: true });
  });

  it('calls each API at the path SYNO.API.Info reports', async () => {
    const { fake, client } = await setup({
      users: [ALICE],
      apis: { 'SYNO.Core.Quota': { path: 'quota.cgi', minVersion: 1, maxVersion: 1 } },
    });
    await client.getUser('alice');
    expect(fake.calls('SYNO.Core.Quota', 'get')[0]!.path).toBe('/webapi/quota.cgi');
  });

  it('a DSM without a needed API, or without Auth v7, is unsupported with the API named', async () => {
    const noQuota = await setup({ apis: { 'SYNO.Core.Quota': null } });
    const err = await rejection(noQuota.client.getUser('alice'));
    expect(err.code).toBe('unsupported');
    expect(err.message).toContain('SYNO.Core.Quota');

    const dsm6 = await setup({ apis: { 'SYNO.API.Auth': { path: 'auth.cgi', minVersion: 1, maxVersion: 6 } } });
    const old = await rejection(dsm6.client.getUser('alice'));
    expect(old.code).toBe('unsupported');
    expect(old.message).toMatch(/SYNO\.API\.Auth.*version 7/);
    expect(dsm6.fake.calls('SYNO.API.Auth', 'login')).toHaveLength(0);
  });

  it('concurrent calls share one login', async () => {
    const { fake, client } = await setup({ users: [ALICE, { name: 'bob' }] });
    await Promise.all([client.getUser('alice'), client.getUser('bob'), client.getUser('carol')]);
    expect(fake.calls('SYNO.API.Auth', 'login')).toHaveLength(1);
  });

  it('logs in again ONCE after an expired session (106) and the call succeeds', async () => {
    const { fake, client } = await setup({ users: [ALICE] });
    await client.getUser('alice');
    fake.expireSessions();
    const state = await client.getUser('alice');
    expect(state.exists).toBe(true);
    expect(fake.calls('SYNO.API.Auth', 'login')).toHaveLength(2);
  });

  it('logs in again once on 119 and retries the call once', async () => {
    const { fake, client } = await setup({ users: [ALICE] });
    await client.getUser('alice');
    fake.failNext('SYNO.Core.User', 'set', 119);
    await client.disableUser('alice');
    expect(fake.calls('SYNO.API.Auth', 'login')).toHaveLength(2);
    expect(fake.calls('SYNO.Core.User', 'set')).toHaveLength(2);
    expect(fake.users.get('alice')!.expired).toBe('now');
  });

  it('a second 119 right after the fresh login is NOT looped', async () => {
    const { fake, client } = await setup({ users: [ALICE] });
    fake.failNext('SYNO.Core.User', 'set', 119, 5);
    const err = await rejection(client.disableUser('alice'));
    expect(err.code).toBe('unavailable');
    expect(err.remoteCode).toBe(119);
    expect(err.message).toContain('X-SYNO-TOKEN');
    expect(fake.calls('SYNO.API.Auth', 'login')).toHaveLength(2);
    expect(fake.calls('SYNO.Core.User', 'set')).toHaveLength(2);
  });

  it('a wrong password costs exactly one login call, names the env var and never shows the password', async () => {
    const { fake, newClient } = await setup({ users: [ALICE] });
    const client = newClient({}, {}, 'wrong-password-42');
    const first = await rejection(client.getUser('alice'));
    const second = await rejection(client.disableUser('alice'));
    const third = await Promise.allSettled([client.getUser('alice'), client.getUser('bob')]);
    expect(first.code).toBe('auth_failed');
    expect(first.remoteCode).toBe(400);
    expect(first.message).toContain('DSM_NAS_PASSWORD');
    expect(first.message).not.toContain('wrong-password-42');
    expect(second.code).toBe('auth_failed');
    expect(third.every((r) => r.status === 'rejected')).toBe(true);
    expect(fake.calls('SYNO.API.Auth', 'login')).toHaveLength(1);
  });

  it('names the device id env var on 400 when one is configured', async () => {
    const { newClient } = await setup();
    const client = newClient({ deviceId: 'dev-old' }, { deviceIdEnv: 'DSM_NAS_DEVICE_ID' }, 'nope-nope');
    const err = await rejection(client.getUser('alice'));
    expect(err.message).toContain('DSM_NAS_PASSWORD');
    expect(err.message).toContain('DSM_NAS_DEVICE_ID');
  });

  it('a blocked IP (407) is locked_out and says how to unblock', async () => {
    const { newClient } = await setup({ lockAfterFailedLogins: 1 });
    await rejection(newClient({}, {}, 'bad-password').getUser('alice'));
    const err = await rejection(newClient().getUser('alice'));
    expect(err.code).toBe('locked_out');
    expect(err.remoteCode).toBe(407);
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/Block List/);
  });

  it('a disabled admin account (401) is auth_failed', async () => {
    const { client } = await setup({ accountDisabled: true });
    const err = await rejection(client.getUser('alice'));
    expect(err).toMatchObject({ code: 'auth_failed', remoteCode: 401 });
    expect(err.message).toContain('disabled');
  });

  it('2FA without a device token (403, types: otp): the error says to run the enrollment', async () => {
    const { fake, newClient } = await setup({ otpRequired: true });
    const client = newClient({}, { deviceIdEnv: 'DSM_NAS_DEVICE_ID' });
    const err = await rejection(client.getUser('alice'));
    expect(err).toMatchObject({ code: 'auth_failed', remoteCode: 403, retryable: false });
    expect(err.message).toBe(
      'nas: this DSM account ("accountdesk") needs 2FA (403): run npm run synology:enroll -- <config-file> nas ' +
        '<6-digit code> and put the device id it prints in DSM_NAS_DEVICE_ID',
    );
    await rejection(client.getUser('alice'));
    expect(fake.calls('SYNO.API.Auth', 'login')).toHaveLength(1);
  });

  it('a device id DSM no longer trusts (403 after sending it) says to enroll again', async () => {
    const { newClient } = await setup({ otpRequired: true, users: [ALICE] });
    const client = newClient({ deviceId: 'dev-revoked' }, { deviceIdEnv: 'DSM_NAS_DEVICE_ID' });
    const err = await rejection(client.getUser('alice'));
    expect(err).toMatchObject({ code: 'auth_failed', remoteCode: 403 });
    expect(err.message).toMatch(/^nas: DSM no longer trusts the 2FA device id in DSM_NAS_DEVICE_ID .* again/);
  });

  it('logs in with a trusted device token (device_id + device_name) and no OTP', async () => {
    const { fake, newClient } = await setup({ otpRequired: true, trustedDevices: ['dev-trusted'], users: [ALICE] });
    const client = newClient({ deviceId: 'dev-trusted' }, { deviceName: 'AccountDesk-prod' });
    expect((await client.getUser('alice')).exists).toBe(true);
    const login = fake.calls('SYNO.API.Auth', 'login')[0]!;
    expect(login.sent.deviceId).toBe(true);
    expect(login.sent.otp).toBe(false);
    expect(login.params.device_name).toBe('AccountDesk-prod');
  });

  it('takes the device id only from deps (registry.ts reads the env var), never from process.env itself', async () => {
    const { fake, newClient } = await setup({ otpRequired: true, trustedDevices: ['dev-in-env'], users: [ALICE] });
    process.env.DSM_TEST_DEVICE_ID_UNUSED = 'dev-in-env';
    try {
      const client = newClient({}, { deviceIdEnv: 'DSM_TEST_DEVICE_ID_UNUSED' });
      expect(await rejection(client.getUser('alice'))).toMatchObject({ code: 'auth_failed', remoteCode: 403 });
      expect(fake.calls('SYNO.API.Auth', 'login')[0]!.sent.deviceId).toBe(false);
    } finally {
      delete process.env.DSM_TEST_DEVICE_ID_UNUSED;
    }
  });

  it('enrollDevice logs in with the OTP, returns the device id DSM issued, and logs out', async () => {
    const fake = await startFakeDsm({ otpRequired: true, otpCode: '654321', users: [ALICE] });
    cleanups.push(() => fake.close());
    const config = configFor(fake.url);
    const deviceId = await enrollDevice(config, BOT_PASSWORD, '654321');
    expect(fake.trustedDevices.has(deviceId)).toBe(true);
    const login = fake.calls('SYNO.API.Auth', 'login')[0]!;
    expect(login.params).toMatchObject({ enable_device_token: 'yes', device_name: 'AccountDesk' });
    expect(fake.activeSessions()).toBe(0);
    const wrong = await rejection(enrollDevice(config, BOT_PASSWORD, '000000'));
    expect(wrong).toMatchObject({ code: 'auth_failed', remoteCode: 404 });

    const client = createSynologyClient('nas', config, BOT_PASSWORD, { deviceId });
    cleanups.push(() => client.close());
    expect((await client.getUser('alice')).exists).toBe(true);
  });

  it('enrollDevice for an account without 2FA: DSM issues no device token (device_id ""), said plainly', async () => {
    const fake = await startFakeDsm({ users: [ALICE] });
    cleanups.push(() => fake.close());
    const err = await rejection(enrollDevice(configFor(fake.url), BOT_PASSWORD, '123456'));
    expect(err.code).toBe('protocol');
    expect(err.message).toMatch(/^synology: DSM accepted the login but issued no device token: is 2FA enabled for/);
    expect(fake.activeSessions()).toBe(0);
  });

  it('105 on a mutation after a v7 login -> forbidden, hinting at administrators', async () => {
    const { client } = await setup({ notAdmin: true, users: [ALICE] });
    const err = await rejection(client.disableUser('alice'));
    expect(err).toMatchObject({ code: 'forbidden', remoteCode: 105 });
    expect(err.message).toContain('administrators');
  });

  it('close() logs out with the session name and _sid, leaving no session on the NAS', async () => {
    const { fake, client } = await setup({ users: [ALICE] });
    await client.getUser('alice');
    expect(fake.activeSessions()).toBe(1);
    await client.close();
    const logout = fake.calls('SYNO.API.Auth', 'logout');
    expect(logout).toHaveLength(1);
    expect(logout[0]!.params.session).toBe('AccountDesk');
    expect(logout[0]!.sent.sid).toBe(true);
    expect(fake.activeSessions()).toBe(0);
  });

  it('close() without any call does not log in', async () => {
    const { fake, client } = await setup();
    await client.close();
    expect(fake.log).toHaveLength(0);
  });

  it('refuses http:// unless allowPlainHttp is set, in the schema and in the client', () => {
    const parsed = synologyConfigSchema.safeParse({
      kind: 'synology',
      url: 'http://nas.lan:5000',
      user: 'a',
      secretEnv: 'X',
    });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toContain('https');
    const config = { ...configFor('http://127.0.0.1:1'), allowPlainHttp: false };
    expect(() => createSynologyClient('nas', config, 'x')).toThrow(/refusing http/);
  });

  it('never writes the admin password or a new password to the log', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ level: 'debug', destination: { write: (s: string) => destination.write(s) } });
    const { fake, client } = await setup({ users: [ALICE] }, {}, { logger });
    fake.expireSessions();
    await client.getUser('alice');
    fake.expireSessions();
    await client.createUser({ username: 'bob', password: 'New-Secret-99', groups: ['staff'] }).catch(() => undefined);
    await client.close();
    const text = lines.join('');
    expect(text.length).toBeGreaterThan(0);
    expect(text).not.toContain(BOT_PASSWORD);
    expect(text).not.toContain('New-Secret-99');
  });
});

describe('getUser', () => {
  it('reads email, description, enabled, groups and quota (MB -> bytes) on the configured volume', async () => {
    const { client } = await setup({
      users: [ALICE],
      groups: { staff: ['alice'] },
      volumes: { '/volume1': 1_000_000, '/volume2': 1_000_000 },
      quotas: { alice: { '/volume1': 10240, '/volume2': 5 } },
    });
    expect(await client.getUser('alice')).toEqual({
      userId: 'alice',
      exists: true,
      enabled: true,
      email: 'alice@example.com',
      displayName: 'Alice A.',
      quota: { limitBytes: 10240 * MB },
      groups: ['users', 'staff'],
    });
  });

  it('quota 0 is unlimited (null); empty email/description are null', async () => {
    const { client } = await setup({ users: [{ name: 'bob' }] });
    expect(await client.getUser('bob')).toMatchObject({ quota: { limitBytes: null }, email: null, displayName: null });
  });

  it('a missing user (3106) is { exists: false }, not an error', async () => {
    const { client } = await setup();
    expect(await client.getUser('nobody')).toEqual({ userId: 'nobody', exists: false });
  });

  it('expired "now" and an expiry date in the past are disabled; a future date is enabled', async () => {
    const { client } = await setup({
      users: [
        { name: 'off', expired: 'now' },
        { name: 'past', expired: '2025/6/14' },
        { name: 'today', expired: '2025/6/15' },
        { name: 'future', expired: '2026/1/1' },
      ],
    });
    expect((await client.getUser('off')).enabled).toBe(false);
    expect((await client.getUser('past')).enabled).toBe(false);
    expect((await client.getUser('today')).enabled).toBe(true);
    expect((await client.getUser('future')).enabled).toBe(true);
  });

  it('asks for additional fields as a JSON array and support_share_quota as a JSON boolean', async () => {
    const { fake, client } = await setup({ users: [ALICE] });
    await client.getUser('alice');
    expect(fake.calls('SYNO.Core.User', 'get')[0]!.params.additional).toBe('["email","expired","description"]');
    expect(fake.calls('SYNO.Core.Quota', 'get')[0]!.params.support_share_quota).toBe('true');
  });

  it('a volume DSM does not have is a config error naming the volumes it has', async () => {
    const { client } = await setup({ users: [ALICE] }, { volume: '/volume9' });
    const err = await rejection(client.getUser('alice'));
    expect(err.code).toBe('invalid_input');
    expect(err.message).toContain('/volume9');
    expect(err.message).toContain('/volume1');
  });
});

describe('createUser', () => {
  it('show-to-requester: sends the password, no mail flags, joins groups, sets the quota rounded up', async () => {
    const { fake, client, sleeps } = await setup({ groups: { staff: [] } });
    expect(client.passwordHandling).toBe('show-to-requester');
    const result = await client.createUser({
      username: 'carol',
      email: 'carol@example.com',
      displayName: 'Carol C.',
      password: 'Str0ng-Pass!',
      groups: ['staff', 'users'],
      quotaBytes: 10 * MB + 1,
    });
    expect(fake.passwords.get('carol')).toBe('Str0ng-Pass!');
    const create = fake.calls('SYNO.Core.User', 'create')[0]!;
    expect(create.httpMethod).toBe('POST');
    expect(create.params).not.toHaveProperty('notify_by_email');
    expect(create.params).not.toHaveProperty('send_password');
    expect(create.params).not.toHaveProperty('expired');
    expect(create.params).toMatchObject({ name: 'carol', email: 'carol@example.com', description: 'Carol C.' });
    expect(fake.calls('SYNO.Core.User.Group', 'join')[0]!.params.join_group).toBe('["staff"]');
    expect(sleeps).toEqual([250]); // finished on the 2nd poll
    expect(fake.calls('SYNO.Core.Quota', 'set')[0]!.params.user_quota).toBe('[{"volume":"/volume1","quota":11}]');
    expect(fake.mails).toHaveLength(0);
    expect(await client.getUser('carol')).toMatchObject({
      exists: true,
      enabled: true,
      groups: ['users', 'staff'],
      quota: { limitBytes: 11 * MB },
    });
    expect(result.summary).toContain('created carol');
    expect(result.summary).not.toContain('Str0ng-Pass!');
  });

  it('show-to-requester without a password fails before calling DSM', async () => {
    const { fake, client } = await setup();
    const err = await rejection(client.createUser({ username: 'dan' }));
    expect(err.code).toBe('invalid_input');
    expect(fake.calls('SYNO.Core.User', 'create')).toHaveLength(0);
  });

  it('mailPassword: notify_by_email and send_password as JSON true, with the generated password', async () => {
    const { fake, client } = await setup({}, { mailPassword: true });
    expect(client.passwordHandling).toBe('mailed-by-backend');
    const result = await client.createUser({
      username: 'erin',
      email: 'erin@example.com',
      password: 'Generated-Pass-1',
    });
    const create = fake.calls('SYNO.Core.User', 'create')[0]!;
    expect(create.params).toMatchObject({ notify_by_email: 'true', send_password: 'true' });
    expect(fake.passwords.get('erin')).toBe('Generated-Pass-1');
    expect(fake.mails).toEqual([{ to: 'erin@example.com', user: 'erin' }]);
    expect(result.summary).toContain('mailed the password to erin@example.com');
  });

  it('mailPassword without a password fails before calling DSM: the client never makes one up', async () => {
    const { fake, client } = await setup({}, { mailPassword: true });
    const err = await rejection(client.createUser({ username: 'erin', email: 'erin@example.com' }));
    expect(err.code).toBe('invalid_input');
    expect(err.message).toContain('DSM needs a first password for erin');
    expect(fake.calls('SYNO.Core.User', 'create')).toHaveLength(0);
  });

  it('mailPassword without an email fails before calling DSM', async () => {
    const { fake, client } = await setup({}, { mailPassword: true });
    const err = await rejection(client.createUser({ username: 'erin' }));
    expect(err.code).toBe('invalid_input');
    expect(err.message).toContain('email');
    expect(fake.calls('SYNO.Core.User', 'create')).toHaveLength(0);
  });

  it('an existing name (3107) is already_exists; a reserved one (3108) too', async () => {
    const { client } = await setup({ users: [ALICE] });
    expect(await rejection(client.createUser({ username: 'alice', password: 'Str0ng-Pass!' }))).toMatchObject({
      code: 'already_exists',
      remoteCode: 3107,
    });
    expect(await rejection(client.createUser({ username: 'root', password: 'Str0ng-Pass!' }))).toMatchObject({
      code: 'already_exists',
      remoteCode: 3108,
    });
  });

  it("a password DSM's policy refuses (3123) is password_policy", async () => {
    const { client } = await setup({ passwordMinLength: 12 });
    const err = await rejection(client.createUser({ username: 'frank', password: 'short1A!' }));
    expect(err).toMatchObject({ code: 'password_policy', remoteCode: 3123 });
    expect(err.message).not.toContain('short1A!');
  });

  it('a password over 127 characters is refused locally', async () => {
    const { fake, client } = await setup();
    const err = await rejection(client.createUser({ username: 'gina', password: 'A1!'.repeat(43) }));
    expect(err.code).toBe('invalid_input');
    expect(fake.calls('SYNO.Core.User', 'create')).toHaveLength(0);
  });

  it('a silently dropped group join is reported in the summary, not hidden', async () => {
    const { client } = await setup({ groups: { staff: [] }, dropJoins: true });
    const result = await client.createUser({ username: 'hank', password: 'Str0ng-Pass!', groups: ['staff'] });
    expect(result.summary).toMatch(/created hank.*BUT.*dropped.*staff/);
    expect((await client.getUser('hank')).groups).toEqual(['users']);
  });

  it('a quota DSM refuses after the user exists is reported loudly in the summary', async () => {
    const { client } = await setup({ volumes: { '/volume1': 100 } });
    const result = await client.createUser({ username: 'ivy', password: 'Str0ng-Pass!', quotaBytes: 200 * MB });
    expect(result.summary).toMatch(/created ivy.*BUT quota NOT set/);
    expect((await client.getUser('ivy')).exists).toBe(true);
  });

  it("a time-limited account gets DSM's own expiry day as YYYY/M/D (no leading zeros); without one, none is sent", async () => {
    const { fake, client } = await setup();
    const result = await client.createUser({ username: 'jo', password: 'Str0ng-Pass!', expiresOn: '2027-03-05' });
    expect(fake.calls('SYNO.Core.User', 'create')[0]!.params.expired).toBe('2027/3/5');
    expect(fake.users.get('jo')?.expired).toBe('2027/3/5');
    expect(result.summary).toContain('DSM account expiry 2027-03-05 (last day)');
    await client.createUser({ username: 'kim', password: 'Str0ng-Pass!' });
    expect(fake.calls('SYNO.Core.User', 'create')[1]!.params.expired).toBeUndefined();
  });
});

describe('reads around a change', () => {
  it('create, disable, enable and setQuota read nothing back: nothing uses that answer', async () => {
    const { fake, client } = await setup({ users: [ALICE] });
    await client.createUser({
      username: 'kim',
      email: 'kim@example.com',
      password: 'Str0ng-Pass!',
      quotaBytes: 5 * MB,
    });
    await client.disableUser('alice');
    await client.enableUser('alice');
    const quota = await client.setQuota('alice', 7 * MB);
    expect(fake.users.has('kim')).toBe(true);
    expect(fake.quotas.get('alice')!.get('/volume1')).toBe(7);
    expect(quota).toEqual({ summary: 'set the quota of alice on nas (/volume1) to 7 MB' });
    expect(fake.calls('SYNO.Core.User', 'get')).toHaveLength(0);
  });

  it('a delete DSM accepted whose read-back fails is ambiguous: Retry (which reads first) settles it', async () => {
    const { fake, client } = await setup({ users: [ALICE] });
    // Let the existence check before the delete through; fail the read-back after it.
    fake.failNext('SYNO.Core.User', 'get', 3112, 1, 1);
    const failure = await client.deleteUser!('alice').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(fake.users.has('alice')).toBe(false);
    expect(failure).toMatchObject({ code: 'ambiguous', retryable: true });
    expect((failure as Error).message).toMatch(
      new RegExp(
        'answered the delete of alice but reading it back failed \\(.*another admin is editing.*\\): ' +
          'check in DSM whether alice is gone, then Retry$',
      ),
    );
    expect(await client.getUser('alice')).toMatchObject({ exists: false });
  });
});

describe('disableUser / enableUser', () => {
  it('disable sends only expired="now" (and the name)', async () => {
    const { fake, client } = await setup({ users: [ALICE] });
    const result = await client.disableUser('alice');
    const set = fake.calls('SYNO.Core.User', 'set')[0]!;
    expect(Object.keys(set.params).sort()).toEqual(['api', 'expired', 'method', 'name', 'version']);
    expect(set.params.expired).toBe('now');
    expect(set.httpMethod).toBe('POST');
    expect(result.summary).toBe('disabled alice on nas (DSM expiry set to now)');
    expect((await client.getUser('alice')).enabled).toBe(false);
    expect(fake.users.get('alice')).toMatchObject({ email: 'alice@example.com', description: 'Alice A.' });
  });

  it('enable sends expired="normal"', async () => {
    const { fake, client } = await setup({ users: [{ name: 'bob', expired: 'now' }] });
    const result = await client.enableUser('bob');
    expect(fake.calls('SYNO.Core.User', 'set')[0]!.params.expired).toBe('normal');
    expect(result.summary).toBe('enabled bob on nas');
    expect((await client.getUser('bob')).enabled).toBe(true);
  });

  it('a missing user (3106) is not_found', async () => {
    const { client } = await setup();
    expect(await rejection(client.disableUser('ghost'))).toMatchObject({ code: 'not_found', remoteCode: 3106 });
  });

  it('"being edited" (3112) is busy and retryable, in words an admin understands', async () => {
    const { fake, client } = await setup({ users: [ALICE] });
    fake.failNext('SYNO.Core.User', 'set', 3112);
    const err = await rejection(client.disableUser('alice'));
    expect(err).toMatchObject({ code: 'busy', retryable: true, remoteCode: 3112 });
    expect(err.message).toContain('DSM: another admin is editing this user, try again');
  });
});

describe('setQuota', () => {
  it.each([
    [1, 1],
    [MB, 1],
    [MB + 1, 2],
    [10 * 1024 * MB, 10240],
    [10_000_000_000, 9537],
  ])('%d bytes -> %d MB (rounded up so nobody gets less than approved)', async (bytes, mb) => {
    const { fake, client } = await setup({ users: [ALICE] });
    await client.setQuota('alice', bytes);
    expect(fake.calls('SYNO.Core.Quota', 'set')[0]!.params.user_quota).toBe(`[{"volume":"/volume1","quota":${mb}}]`);
    const stored = (await client.getUser('alice')).quota?.limitBytes ?? 0;
    expect(stored).toBe(mb * MB);
    expect(stored).toBeGreaterThanOrEqual(bytes);
  });

  it.each([
    ['1.25 TB', 1.25 * 1024 ** 4],
    ['2.7 GB', Math.round(2.7 * 1024 ** 3)],
    ['unlimited', null],
  ])('storedQuota(%s) is exactly what DSM reports after setQuota of it', async (_label, bytes) => {
    const { client } = await setup({ users: [ALICE] });
    await client.setQuota('alice', bytes);
    const stored = (await client.getUser('alice')).quota?.limitBytes;
    expect(client.storedQuota(bytes)).toBe(stored);
  });

  it('storedQuota rounds up to whole MB and refuses what setQuota refuses', async () => {
    const { client } = await setup();
    expect(client.storedQuota(Math.round(2.7 * 1024 ** 3))).toBe(2765 * MB); // 2764.8 MB -> 2765
    expect(client.storedQuota(null)).toBeNull();
    expect(() => client.storedQuota(0)).toThrow(BackendError);
    expect(() => client.storedQuota(1.5)).toThrow(/positive whole number of bytes/);
  });

  it('null -> 0 (unlimited)', async () => {
    const { fake, client } = await setup({ users: [ALICE], quotas: { alice: { '/volume1': 50 } } });
    const result = await client.setQuota('alice', null);
    expect(fake.quotas.get('alice')!.get('/volume1')).toBe(0);
    expect((await client.getUser('alice')).quota).toEqual({ limitBytes: null });
    expect(result.summary).toContain('unlimited');
  });

  it('0 bytes is refused: DSM would read it as unlimited', async () => {
    const { fake, client } = await setup({ users: [ALICE] });
    expect((await rejection(client.setQuota('alice', 0))).code).toBe('invalid_input');
    expect(fake.calls('SYNO.Core.Quota', 'set')).toHaveLength(0);
  });

  it('uses the configured volume', async () => {
    const { fake, client } = await setup(
      { users: [ALICE], volumes: { '/volume1': 1e6, '/volume2': 1e6 } },
      { volume: '/volume2' },
    );
    await client.setQuota('alice', 5 * MB);
    expect(fake.quotas.get('alice')!.get('/volume2')).toBe(5);
  });

  it('over the volume size (3117) is invalid_input; a missing user is not_found', async () => {
    const { client } = await setup({ users: [ALICE], volumes: { '/volume1': 100 } });
    expect(await rejection(client.setQuota('alice', 101 * MB))).toMatchObject({
      code: 'invalid_input',
      remoteCode: 3117,
    });
    expect(await rejection(client.setQuota('ghost', MB))).toMatchObject({ code: 'not_found', remoteCode: 3106 });
  });
});

describe('deleteUser', () => {
  it('sends the name as a JSON array and decides by reading back, not by the errors list', async () => {
    const { fake, client } = await setup({ users: [ALICE], groups: { staff: ['alice'] } });
    const result = await client.deleteUser!('alice');
    expect(fake.calls('SYNO.Core.User', 'delete')[0]!.params.name).toBe('["alice"]');
    expect(fake.users.has('alice')).toBe(false);
    expect(result.after).toEqual({ userId: 'alice', exists: false });
    expect(result.summary).toContain('deleted alice');
  });

  it('a delete DSM answers with success but does not perform is reported', async () => {
    const { client } = await setup({ users: [ALICE], deleteSilentlyFails: true });
    const err = await rejection(client.deleteUser!('alice'));
    expect(err.code).toBe('unknown');
    // DSM's errors list holds plain integers (3102 even on a real success): shown, never trusted.
    expect(err.message).toBe("nas: DSM did not delete alice (DSM errors: 3102): it still exists; see DSM's system log");
  });

  it('a missing user is not_found; admin and guest are refused without calling delete', async () => {
    const { fake, client } = await setup();
    expect((await rejection(client.deleteUser!('ghost'))).code).toBe('not_found');
    expect((await rejection(client.deleteUser!('admin'))).code).toBe('forbidden');
    expect((await rejection(client.deleteUser!('Guest'))).code).toBe('forbidden');
    expect(fake.calls('SYNO.Core.User', 'delete')).toHaveLength(0);
  });
});

describe('groups', () => {
  it('addToGroup: join -> task id, polls join_status until finished, reads membership back', async () => {
    const { fake, client, sleeps } = await setup({ users: [ALICE], groups: { staff: [] }, joinPollsUntilFinished: 3 });
    const result = await client.addToGroup!('alice', 'staff');
    const join = fake.calls('SYNO.Core.User.Group', 'join')[0]!;
    expect(join.params).toMatchObject({ name: 'alice', join_group: '["staff"]', leave_group: '[]' });
    expect(fake.calls('SYNO.Core.User.Group', 'join_status')).toHaveLength(3);
    expect(sleeps).toEqual([250, 250]);
    expect(fake.groups.get('staff')!.has('alice')).toBe(true);
    expect(result.summary).toBe('added alice to staff on nas');
  });

  it('a join DSM finishes but silently drops is an error saying so', async () => {
    const { client } = await setup({ users: [ALICE], groups: { staff: [] }, dropJoins: true });
    const err = await rejection(client.addToGroup!('alice', 'staff'));
    expect(err.code).toBe('unknown');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('not in staff when read back');
  });

  it('a join that never finishes stops after maxPolls as ambiguous', async () => {
    const { fake, client, sleeps } = await setup(
      { users: [ALICE], groups: { staff: [] }, joinPollsUntilFinished: 100 },
      { groupJoin: { maxPolls: 4, pollIntervalMs: 10 } },
    );
    const err = await rejection(client.addToGroup!('alice', 'staff'));
    expect(err.code).toBe('ambiguous');
    expect(fake.calls('SYNO.Core.User.Group', 'join_status')).toHaveLength(4);
    expect(sleeps).toEqual([10, 10, 10]);
  });

  it('an unknown group is not_found, naming the groups DSM has, before any join (DSM would accept it)', async () => {
    const { fake, client } = await setup({ users: [ALICE], groups: { staff: [] } });
    const err = await rejection(client.addToGroup!('alice', 'nope'));
    expect(err.code).toBe('not_found');
    expect(err.message).toBe(
      'nas: DSM has no group "nope" (its groups: administrators, users, http, staff): check the group name',
    );
    expect(await rejection(client.removeFromGroup!('alice', 'nope'))).toMatchObject({ code: 'not_found' });
    expect(fake.calls('SYNO.Core.User.Group', 'join')).toHaveLength(0);
    expect(fake.calls('SYNO.Core.Group', 'list')[0]!.params).toMatchObject({ type: 'local', offset: '0', limit: '-1' });
  });

  it('joins the group as DSM spells it', async () => {
    const { fake, client } = await setup({ users: [ALICE], groups: { Staff: [] } });
    await client.addToGroup!('alice', 'staff');
    expect(fake.calls('SYNO.Core.User.Group', 'join')[0]!.params.join_group).toBe('["Staff"]');
    expect(fake.groups.get('Staff')!.has('alice')).toBe(true);
  });

  it('removeFromGroup leaves via leave_group and checks it took', async () => {
    const { fake, client } = await setup({ users: [ALICE], groups: { staff: ['alice'] } });
    const result = await client.removeFromGroup!('alice', 'staff');
    expect(fake.calls('SYNO.Core.User.Group', 'join')[0]!.params).toMatchObject({
      join_group: '[]',
      leave_group: '["staff"]',
    });
    expect(result.summary).toBe('removed alice from staff on nas');
    expect(fake.groups.get('staff')!.has('alice')).toBe(false);

    fake.groups.get('staff')!.add('alice');
    fake.options.dropJoins = true;
    expect((await rejection(client.removeFromGroup!('alice', 'staff'))).message).toContain('still in staff');
  });

  it('nobody leaves "users"; adding to it is a no-op', async () => {
    const { fake, client } = await setup({ users: [ALICE] });
    expect((await rejection(client.removeFromGroup!('alice', 'users'))).code).toBe('invalid_input');
    expect((await client.addToGroup!('alice', 'users')).summary).toContain('already');
    expect(fake.calls('SYNO.Core.User.Group', 'join')).toHaveLength(0);
  });

  it('declares delete and groups capabilities', async () => {
    const { client } = await setup();
    expect([...client.capabilities].sort()).toEqual(['delete', 'groups']);
    expect(client.kind).toBe('synology');
  });
});
