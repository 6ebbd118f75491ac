import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient } from '../../src/backends/http.js';
import { httpOptionsFor } from '../../src/backends/config.js';
import type { BackendClient } from '../../src/backends/types.js';
import { createNmcuserOidcClient } from '../../src/backends/nextcloud-oidc/nmcuser-oidc-client.js';
import {
  nmcuserOidcConfigSchema,
  type NmcuserOidcConfig,
} from '../../src/backends/nextcloud-oidc/nmcuser-oidc-config.js';
import { NMCUSER_API_ROOT, startFakeNmcuserOidc, type FakeNmcuserOidc } from '../fakes/nmcuser-oidc.js';
import { backendFailure } from '../support/backend-error.js';

const GiB = 1024 ** 3;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function setup(
  fakeOptions: Parameters<typeof startFakeNmcuserOidc>[0] = {},
  configOverrides: Partial<NmcuserOidcConfig> = {},
  secretOverride?: string,
): Promise<{ fake: FakeNmcuserOidc; client: BackendClient; sleeps: number[] }> {
  const fake = await startFakeNmcuserOidc(fakeOptions);
  cleanups.push(() => fake.close());
  const config = nmcuserOidcConfigSchema.parse({
    kind: 'nmcuser_oidc',
    url: fake.url,
    user: fake.adminUser,
    secretEnv: 'NMC_APP_PASSWORD',
    provider: 'keycloak',
    ...configOverrides,
  });
  const sleeps: number[] = [];
  // Injected sleep: retries of 429/503 wait for nothing, and the test can see how long they would have waited.
  const http = new HttpClient(httpOptionsFor('cloud', config), (ms) => {
    sleeps.push(ms);
    return Promise.resolve();
  });
  const client = createNmcuserOidcClient('cloud', config, secretOverride ?? fake.adminPassword, http);
  cleanups.push(() => client.close());
  return { fake, client, sleeps };
}

const failure = backendFailure;

const adminAuth = (fake: FakeNmcuserOidc) =>
  `Basic ${Buffer.from(`${fake.adminUser}:${fake.adminPassword}`).toString('base64')}`;

describe('nmcuser_oidc config', () => {
  it('accepts a minimal config and refuses unknown keys and GiB quotas', () => {
    const base = {
      kind: 'nmcuser_oidc',
      url: 'https://cloud.example.com',
      user: 'admin',
      secretEnv: 'NMC_PW',
      provider: 'Keycloak',
    };
    expect(nmcuserOidcConfigSchema.parse(base).provider).toBe('Keycloak');
    expect(nmcuserOidcConfigSchema.safeParse({ ...base, defaultQuota: '5 GB' }).success).toBe(true);
    expect(nmcuserOidcConfigSchema.safeParse({ ...base, defaultQuota: '5GiB' }).success).toBe(false);
    expect(nmcuserOidcConfigSchema.safeParse({ ...base, providr: 'x' }).success).toBe(false);
    expect(nmcuserOidcConfigSchema.safeParse({ ...base, provider: '' }).success).toBe(false);
  });
});

describe('nmcuser_oidc client', () => {
  it('reads an existing user and reports a missing one as not existing', async () => {
    const { client, fake } = await setup({
      users: [{ username: 'alice', email: 'alice@example.com', quota: '25 GB', enabled: false, displayname: 'Alice' }],
    });
    await expect(client.getUser('alice')).resolves.toEqual({
      userId: 'alice',
      exists: true,
      enabled: false,
      email: 'alice@example.com',
      displayName: 'Alice',
      quota: { limitBytes: 25 * GiB },
    });
    await expect(client.getUser('nobody')).resolves.toEqual({ userId: 'nobody', exists: false });
    expect(fake.requests.map((r) => `${r.method} ${r.rawPath}`)).toEqual([
      `GET ${NMCUSER_API_ROOT}/nmcusers/keycloak/alice`,
      `GET ${NMCUSER_API_ROOT}/nmcusers/keycloak/nobody`,
    ]);
    expect(client.passwordHandling).toBe('identity-provider');
    expect([...client.capabilities]).toEqual(['delete']);
  });

  it('creates a user with the quota the request asked for, enabled, and reads it back', async () => {
    const { client, fake } = await setup();
    const result = await client.createUser({
      username: 'bob',
      email: 'bob@example.com',
      displayName: 'Bob B',
      quotaBytes: 10 * GiB,
    });
    const post = fake.requests.find((r) => r.method === 'POST');
    expect(post?.rawPath).toBe(`${NMCUSER_API_ROOT}/nmcusers/keycloak`);
    expect(post?.body).toEqual({
      username: 'bob',
      displayname: 'Bob B',
      email: 'bob@example.com',
      quota: '10GB',
      enabled: true,
    });
    expect(fake.users.get('bob')).toMatchObject({ quota: '10 GB', enabled: true, email: 'bob@example.com' });
    expect(result.summary).toContain('created bob');
    await expect(client.getUser('bob')).resolves.toMatchObject({
      exists: true,
      enabled: true,
      quota: { limitBytes: 10 * GiB },
    });
  });

  it('leaves the quota to the API default (3GB) unless the request or the config names one', async () => {
    const { client, fake } = await setup();
    await client.createUser({ username: 'dflt' });
    expect(fake.requests.find((r) => r.method === 'POST')?.body).not.toHaveProperty('quota');
    expect(fake.users.get('dflt')?.quota).toBe('3 GB');
    await client.createUser({ username: 'unlimited', quotaBytes: null });
    expect(fake.users.get('unlimited')?.quota).toBe('none');
    await client.createUser({ username: 'odd', quotaBytes: 1536 * 1024 * 1024 });
    expect(fake.users.get('odd')?.quota).toBe('1.5 GB');

    const configured = await setup({}, { defaultQuota: '50GB' });
    await configured.client.createUser({ username: 'carol' });
    expect(configured.fake.users.get('carol')?.quota).toBe('50 GB');
  });

  it('storedQuota is what nmcuser_oidc reports after a create with 1.25 TB and a change to 2.7 GB', async () => {
    const { client, fake } = await setup();
    const tb125 = 1.25 * 1024 * GiB;
    await client.createUser({ username: 'quinn', quotaBytes: tb125 });
    // The README's form:
    expect(fake.requests.find((r) => r.method === 'POST')?.body).toMatchObject({ quota: '1280GB' });
    expect(fake.users.get('quinn')?.quota).toBe('1.3 TB');
    expect((await client.getUser('quinn')).quota?.limitBytes).toBe(client.storedQuota(tb125));
    expect(client.storedQuota(tb125)).not.toBe(tb125); // Nextcloud rounded it

    const gb27 = Math.round(2.7 * GiB);
    const result = await client.setQuota('quinn', gb27);
    expect(fake.users.get('quinn')?.quota).toBe('2.7 GB');
    expect((await client.getUser('quinn')).quota?.limitBytes).toBe(client.storedQuota(gb27));
    expect(result.summary).toMatch(/to 2\.7 GB$/);
    expect(client.storedQuota(null)).toBeNull();
  });

  it('refuses a quota that is not a whole number of bytes as invalid_input, before sending anything', async () => {
    const { client, fake } = await setup({ users: [{ username: 'alice' }] });
    const err = await failure(client.createUser({ username: 'rob', quotaBytes: 1.5 }));
    expect(err.code).toBe('invalid_input');
    expect(() => client.storedQuota(-5)).toThrow(/not a whole number of bytes/);
    expect(fake.requests.filter((r) => r.method !== 'GET')).toHaveLength(0);
  });

  it('refuses to create a user that exists, and refuses groups before sending anything', async () => {
    const { client, fake } = await setup({ users: [{ username: 'alice' }] });
    expect((await failure(client.createUser({ username: 'alice' }))).code).toBe('already_exists');
    const before = fake.requests.length;
    expect((await failure(client.createUser({ username: 'dan', groups: ['staff'] }))).code).toBe('unsupported');
    expect(fake.requests.length).toBe(before);
  });

  it('tells the admin to check `provider` when the provider is unknown', async () => {
    const { client, fake } = await setup({}, { provider: 'NoSuchIdp' });
    const createErr = await failure(client.createUser({ username: 'erin' }));
    expect(createErr.code).toBe('invalid_input');
    expect(createErr.message).toMatch(/provider 'NoSuchIdp'/);
    expect(createErr.retryable).toBe(false);
    // The create answered 500; a read-back told the cause apart (the show route says "No oidc provider").
    expect(fake.requests.map((r) => r.method)).toEqual(['POST', 'GET']);
    expect((await failure(client.getUser('erin'))).message).toMatch(/check provider in the config/);
  });

  it('matches the provider ignoring case', async () => {
    const { client } = await setup({ providers: [{ id: 7, identifier: 'MyProvider' }] }, { provider: 'myprovider' });
    await client.createUser({ username: 'frank' });
    await expect(client.getUser('frank')).resolves.toMatchObject({ exists: true });
  });

  it('shows the server reason of a failed home-folder set-up (403) and that the user now exists', async () => {
    const { client, fake } = await setup();
    // A quota smaller than the skeleton files Nextcloud copies into every new home (observed on 32.0.1).
    const err = await failure(client.createUser({ username: 'gina', quotaBytes: 1024 ** 2 }));
    expect(err.message).toMatch(/^gina now EXISTS on cloud \(quota 1 MB, read back\)/);
    expect(err.message).toContain(
      'Newly created user cannot init home folder. Reason: Could not create path "/gina/files/Photos/Library.jpg"',
    );
    expect(err.message).toMatch(/raise the quota of gina\), or delete gina and ask again$/);
    expect(err.retryable).toBe(false);
    expect(fake.users.get('gina')).toMatchObject({ quota: '1 MB', migrated: true });
    expect(fake.requests.map((r) => r.method)).toEqual(['POST', 'GET']);
  });

  it('sends quotas in units Nextcloud reads as 1024 multiples: it would store "5GiB" as 5 bytes', async () => {
    const { client, fake } = await setup({ users: [{ username: 'alice' }] });
    const probe = await fetch(`${fake.url}${NMCUSER_API_ROOT}/nmcusers/keycloak/alice`, {
      method: 'PUT',
      headers: { authorization: adminAuth(fake), 'content-type': 'application/json' },
      body: JSON.stringify({ quota: '5GiB', enabled: true }),
    });
    expect(probe.status).toBe(200);
    expect(fake.users.get('alice')?.quota).toBe('5 B');
    await client.setQuota('alice', 5 * GiB);
    expect(fake.requests.at(-1)?.body).toEqual({ quota: '5GB', enabled: true });
    expect(fake.users.get('alice')?.quota).toBe('5 GB');
  });

  describe('a Nextcloud user that nmcuser_oidc did not provision (the admin, an OCS-created user)', () => {
    it('reads it as existing and says plainly that this backend cannot manage it', async () => {
      const { client } = await setup();
      const state = await client.getUser('admin');
      expect(state).toMatchObject({ userId: 'admin', exists: true, enabled: true, quota: { limitBytes: null } });
      expect(state.unmanaged).toBe(
        'exists, but was not provisioned by nmcuser_oidc (its Nextcloud user backend is Database): ' +
          'manage it with a nextcloud backend',
      );
    });

    it('refuses disable, enable, quota and delete as not_managed, never retryable, sending no change', async () => {
      const { client, fake } = await setup({ users: [{ username: 'local', provisioned: false }] });
      for (const change of [
        () => client.disableUser('local'),
        () => client.enableUser('local'),
        () => client.setQuota('local', GiB),
        () => client.deleteUser!('local'),
      ]) {
        const err = await failure(change());
        expect([err.code, err.retryable]).toEqual(['not_managed', false]);
        expect(err.message).toMatch(
          /^AccountDesk cannot \w+( the quota of)? local through cloud: the user exists, but/,
        );
        expect(err.message).toMatch(/manage it with a nextcloud backend$/);
      }
      expect(fake.requests.filter((r) => r.method !== 'GET')).toEqual([]);
      expect(fake.users.get('local')).toMatchObject({ enabled: true, quota: '3 GB' });
    });

    it('never answers "does not exist" for a user a refused delete left in place', async () => {
      const { client, fake } = await setup({ users: [{ username: 'kept' }] });
      const message = 'Did expect one result but found none';
      fake.failNext({ method: 'DELETE', status: 404, body: JSON.stringify({ message }) });
      const err = await failure(client.deleteUser!('kept'));
      expect([err.code, err.retryable]).toEqual(['unknown', false]);
      expect(err.message).toBe(`cloud refused to delete kept (HTTP 404: ${message}) and it still exists`);
      expect(fake.users.has('kept')).toBe(true);
    });

    it('manages a user user_oidc created at a login ("migrated": false, backend user_oidc)', async () => {
      const { client, fake } = await setup({ users: [{ username: 'lee', migrated: false }] });
      expect((await client.getUser('lee')).unmanaged).toBeUndefined();
      await client.disableUser('lee');
      expect(fake.users.get('lee')?.enabled).toBe(false);
      expect(fake.requests.map((r) => `${r.method} ${r.rawPath}`)).toContain('GET /ocs/v2.php/cloud/users/lee');
    });
  });

  it('reads back a create whose answer was lost instead of sending it again', async () => {
    const { client, fake } = await setup();
    fake.failNext({ method: 'POST', drop: 'after' });
    const result = await client.createUser({ username: 'hank', email: 'hank@example.com' });
    expect(result.summary).toMatch(/confirmed by reading back/);
    expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(1);

    fake.failNext({ method: 'POST', drop: 'before' });
    const err = await failure(client.createUser({ username: 'ivy' }));
    expect(err.code).toBe('unavailable');
    expect(fake.users.has('ivy')).toBe(false);
    expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(2);
  });

  it('disables and enables, always stating `enabled`', async () => {
    const { client, fake } = await setup({ users: [{ username: 'alice' }] });
    expect(await client.disableUser('alice')).toEqual({ summary: 'disabled alice on cloud' });
    expect(fake.users.get('alice')?.enabled).toBe(false);
    await client.enableUser('alice');
    expect(fake.users.get('alice')?.enabled).toBe(true);
    expect(fake.requests.filter((r) => r.method === 'PUT').map((r) => r.body)).toEqual([
      { enabled: false },
      { enabled: true },
    ]);
    expect((await failure(client.disableUser('nobody'))).code).toBe('not_found');
  });

  it('keeps a DISABLED user disabled when its quota changes', async () => {
    const { client, fake } = await setup({ users: [{ username: 'alice', enabled: false, quota: '10 GB' }] });
    // The fake really has the trap: a PUT that does not say enabled=false re-enables the user.
    const probe = await fetch(`${fake.url}${NMCUSER_API_ROOT}/nmcusers/keycloak/alice`, {
      method: 'PUT',
      headers: {
        authorization: `Basic ${Buffer.from(`${fake.adminUser}:${fake.adminPassword}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ quota: '10GB' }),
    });
    expect(probe.status).toBe(200);
    expect(fake.users.get('alice')?.enabled).toBe(true);
    fake.users.get('alice')!.enabled = false;

    const result = await client.setQuota('alice', 50 * GiB);
    expect(fake.users.get('alice')).toMatchObject({ enabled: false, quota: '50 GB' });
    expect(result.summary).toMatch(/stays disabled/);
    // The read before (for `enabled`) and the PUT; nothing reads the state after a write that succeeded.
    expect(fake.requests.at(-1)?.body).toEqual({ quota: '50GB', enabled: false });
    expect(fake.requests.at(-2)?.method).toBe('GET');
  });

  it('keeps an enabled user enabled on a quota change, and sets unlimited as none', async () => {
    const { client, fake } = await setup({ users: [{ username: 'alice' }] });
    await client.setQuota('alice', null);
    expect(fake.users.get('alice')).toMatchObject({ enabled: true, quota: 'none' });
  });

  it('does not PUT a quota for a missing user', async () => {
    const { client, fake } = await setup();
    expect((await failure(client.setQuota('nobody', GiB))).code).toBe('not_found');
    expect(fake.requests.map((r) => r.method)).toEqual(['GET']);
  });

  it('deletes a user, and says not_found for a missing one', async () => {
    const { client, fake } = await setup({ users: [{ username: 'alice' }] });
    const result = await client.deleteUser!('alice');
    expect(result.after).toEqual({ userId: 'alice', exists: false });
    expect(fake.users.has('alice')).toBe(false);
    expect((await failure(client.deleteUser!('alice'))).code).toBe('not_found');
  });

  it('confirms a delete whose answer was lost by reading back', async () => {
    const { client, fake } = await setup({ users: [{ username: 'alice' }] });
    fake.failNext({ method: 'DELETE', drop: 'after' });
    const result = await client.deleteUser!('alice');
    expect(result.summary).toMatch(/confirmed/);
    expect(fake.requests.filter((r) => r.method === 'DELETE')).toHaveLength(1);
  });

  it('never lets a username reach another route', async () => {
    const { client, fake } = await setup({ users: [{ username: 'bob' }] });
    for (const name of ['../bob', 'alice/../bob', '..', '.', 'a/b', 'a\\b', '']) {
      expect((await failure(client.disableUser(name))).code).toBe('invalid_input');
    }
    // Nothing was sent for any of them: the server would resolve '..' or match the decoded '/'.
    expect(fake.requests).toHaveLength(0);
    expect(fake.users.get('bob')?.enabled).toBe(true);

    await expect(client.getUser('a?b#c%d')).resolves.toMatchObject({ exists: false });
    await expect(client.getUser('...')).resolves.toMatchObject({ exists: false });
    expect(fake.requests.map((r) => r.rawPath)).toEqual([
      `${NMCUSER_API_ROOT}/nmcusers/keycloak/a%3Fb%23c%25d`,
      // pathSegment encodes an all-dot segment; the server decodes it to the literal id '...'.
      `${NMCUSER_API_ROOT}/nmcusers/keycloak/%2E%2E%2E`,
    ]);
  });

  it('uses sha256(username) as the id of a username longer than 64 characters', async () => {
    const { client, fake } = await setup();
    const longName = `${'x'.repeat(60)}.long@example.com`;
    const expectedId = createHash('sha256').update(longName).digest('hex');
    const created = await client.createUser({ username: longName });
    expect(created.summary).toContain(expectedId);
    expect(fake.users.has(expectedId)).toBe(true);
    await client.disableUser(longName);
    expect(fake.requests.at(-1)?.rawPath).toBe(`${NMCUSER_API_ROOT}/nmcusers/keycloak/${expectedId}`);
    expect(fake.users.get(expectedId)?.enabled).toBe(false);
    // 64 characters exactly stay as they are.
    const sixtyFour = 'y'.repeat(64);
    await client.createUser({ username: sixtyFour });
    expect(fake.users.has(sixtyFour)).toBe(true);
  });

  it('spends exactly one request on wrong credentials and never shows the password', async () => {
    const wrongPassword = 'wrong-secret-value-42';
    const { client, fake } = await setup({}, {}, wrongPassword);
    const err = await failure(client.setQuota('alice', GiB));
    expect(err.code).toBe('auth_failed');
    expect(err.message).toMatch(/NMC_APP_PASSWORD/);
    expect(err.message).not.toContain(wrongPassword);
    expect(fake.requests).toHaveLength(1);
    const createErr = await failure(client.createUser({ username: 'x' }));
    expect(createErr.code).toBe('auth_failed');
    expect(fake.requests).toHaveLength(2);
    expect(JSON.stringify(createErr)).not.toContain(wrongPassword);
  });

  it('says forbidden when the account is not an admin', async () => {
    const { client } = await setup({ nonAdmins: { helper: 'helper-pw-123' } }, { user: 'helper' }, 'helper-pw-123');
    expect((await failure(client.getUser('alice'))).code).toBe('forbidden');
    const createErr = await failure(client.createUser({ username: 'alice' }));
    expect(createErr.code).toBe('forbidden');
  });

  it('says locked_out once the server blocks the address after bad logins', async () => {
    const { client } = await setup({ bruteForceThreshold: 0 });
    const err = await failure(client.getUser('alice'));
    expect(err.code).toBe('locked_out');
  });

  it('says the app is missing when the route does not exist', async () => {
    const fake = await startFakeNmcuserOidc();
    cleanups.push(() => fake.close());
    const config = nmcuserOidcConfigSchema.parse({
      kind: 'nmcuser_oidc',
      url: `${fake.url}/wrong-prefix`,
      user: fake.adminUser,
      secretEnv: 'NMC_PW',
      provider: 'keycloak',
    });
    const client = createNmcuserOidcClient('cloud', config, fake.adminPassword);
    cleanups.push(() => client.close());
    const err = await failure(client.getUser('alice'));
    expect(err.code).toBe('unsupported');
    expect(err.message).toMatch(/nmcuser_oidc app is installed/);
  });

  it('retries a 503 a bounded number of times, then reports unavailable', async () => {
    const { client, fake, sleeps } = await setup({ users: [{ username: 'alice' }] });
    fake.failNext({ method: 'PUT', status: 503, times: 5 });
    const err = await failure(client.disableUser('alice'));
    expect(err.code).toBe('unavailable');
    expect(fake.requests.filter((r) => r.method === 'PUT')).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
    expect(fake.users.get('alice')?.enabled).toBe(true);
  });

  it('reports a rate limit with its Retry-After', async () => {
    const { client, fake } = await setup({ users: [{ username: 'alice' }] });
    fake.failNext({ status: 429, headers: { 'retry-after': '600' }, times: 1 });
    const err = await failure(client.enableUser('alice'));
    expect(err.code).toBe('rate_limited');
    expect(err.retryAfterMs).toBe(600_000);
  });
});
