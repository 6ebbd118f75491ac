import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient } from '../../src/backends/http.js';
import { httpOptionsFor } from '../../src/backends/config.js';
import type { BackendClient } from '../../src/backends/types.js';
import { createUserOidcClient } from '../../src/backends/nextcloud-oidc/user-oidc-client.js';
import { userOidcConfigSchema, type UserOidcConfig } from '../../src/backends/nextcloud-oidc/user-oidc-config.js';
import { deriveUserOidcUid } from '../../src/backends/nextcloud-oidc/oidc-user-ids.js';
import { SKELETON_BYTES, startFakeNextcloud, type FakeNextcloud } from '../fakes/nextcloud.js';
import { mountFakeUserOidc, type FakeUserOidc, type FakeUserOidcProvider } from '../fakes/user-oidc.js';
import { backendFailure } from '../support/backend-error.js';

const GiB = 1024 ** 3;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface Setup {
  nc: FakeNextcloud;
  oidc: FakeUserOidc;
  client: BackendClient;
}

interface SetupOptions {
  providers?: FakeUserOidcProvider[];
  config?: Partial<UserOidcConfig>;
  secret?: string;
  mount?: boolean;
  nonAdmins?: Record<string, string>;
}

async function setup(opts: SetupOptions = {}): Promise<Setup> {
  const nc = await startFakeNextcloud(opts.nonAdmins ? { nonAdmins: opts.nonAdmins } : {});
  cleanups.push(() => nc.close());
  const oidc = opts.mount === false ? (undefined as unknown as FakeUserOidc) : mountFakeUserOidc(nc, opts.providers);
  const config = userOidcConfigSchema.parse({
    kind: 'user_oidc',
    url: nc.url,
    user: nc.adminUser,
    secretEnv: 'OIDC_APP_PASSWORD',
    providerId: 1,
    providerIdentifier: 'Keycloak',
    ...opts.config,
  });
  const http = new HttpClient(httpOptionsFor('sso', config), () => Promise.resolve());
  const client = createUserOidcClient('sso', config, opts.secret ?? nc.adminPassword, http);
  cleanups.push(() => client.close());
  return { nc, oidc, client };
}

const failure = backendFailure;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('user_oidc uid derivation', () => {
  it('matches user_oidc for each uidMode', () => {
    const base = { providerId: 3, providerIdentifier: 'Keycloak' };
    // Computed independently with `printf '%s' '3_0_alice' | sha256sum`.
    expect(deriveUserOidcUid({ ...base, uidMode: 'unique' }, 'alice')).toBe(
      'dd5efce07afcc92c3c12928d27c3e8d4761bda6b07987207099c019e95da6685',
    );
    expect(deriveUserOidcUid({ ...base, uidMode: 'providerBased' }, 'alice')).toBe('Keycloak-alice');
    expect(deriveUserOidcUid({ ...base, uidMode: 'raw' }, 'alice')).toBe('alice');
    const long = 'u'.repeat(60);
    expect(deriveUserOidcUid({ ...base, uidMode: 'providerBased' }, long)).toBe(sha256(`Keycloak-${long}`));
    expect(deriveUserOidcUid({ ...base, uidMode: 'raw' }, 'v'.repeat(64))).toBe('v'.repeat(64));
    expect(deriveUserOidcUid({ ...base, uidMode: 'raw' }, 'v'.repeat(65))).toBe(sha256('v'.repeat(65)));
  });

  it('agrees with the fake server for every provider setting', async () => {
    const providers = [
      { id: 1, identifier: 'Keycloak' },
      { id: 2, identifier: 'Azure', uniqueUid: false, providerBasedId: true },
      { id: 3, identifier: 'Plain', uniqueUid: false },
    ];
    const cases = [
      { providerId: 1, providerIdentifier: 'Keycloak', uidMode: 'unique' as const },
      { providerId: 2, providerIdentifier: 'Azure', uidMode: 'providerBased' as const },
      { providerId: 3, providerIdentifier: 'Plain', uidMode: 'raw' as const },
    ];
    for (const config of cases) {
      const { client, oidc, nc } = await setup({ providers, config });
      const result = await client.createUser({ username: 'alice@example.com', email: 'alice@example.com' });
      const uid = oidc.uidFor(config.providerId, 'alice@example.com');
      expect(result.summary).toContain(`as Nextcloud user ${uid}`);
      expect(nc.users.get(uid)?.email).toBe('alice@example.com');
      await expect(client.getUser('alice@example.com')).resolves.toMatchObject({ userId: uid, exists: true });
    }
  });
});

describe('user_oidc client', () => {
  it('creates through user_oidc and shows the derived uid', async () => {
    const { client, nc, oidc } = await setup();
    const uid = sha256('1_0_bob');
    const result = await client.createUser({
      username: 'bob',
      email: 'bob@example.com',
      displayName: 'Bob B',
      quotaBytes: 10 * GiB,
    });
    expect(oidc.requests.map((r) => [r.method, r.rawPath, r.body])).toEqual([
      [
        'POST',
        '/ocs/v2.php/apps/user_oidc/api/v1/user',
        { providerId: 1, userId: 'bob', displayName: 'Bob B', email: 'bob@example.com', quota: '10GB' },
      ],
    ]);
    expect(nc.users.get(uid)).toMatchObject({
      email: 'bob@example.com',
      quota: '10 GB',
      displayname: 'Bob B',
      enabled: true,
    });
    expect(result.summary).toContain(uid);
    await expect(client.getUser('bob')).resolves.toMatchObject({
      userId: uid,
      exists: true,
      email: 'bob@example.com',
      // user_oidc sets up the home and copies the skeleton files at once (observed on Nextcloud 32.0.1).
      quota: { limitBytes: 10 * GiB, usedBytes: SKELETON_BYTES },
    });
    expect(nc.users.get(uid)?.backend).toBe('user_oidc');
    expect(client.passwordHandling).toBe('identity-provider');
  });

  it('refuses to create a login that already has an account (the route would silently update it)', async () => {
    const { client, nc, oidc } = await setup();
    nc.seedUser({ id: sha256('1_0_carol'), email: 'old@example.com' });
    expect((await failure(client.createUser({ username: 'carol', email: 'new@example.com' }))).code).toBe(
      'already_exists',
    );
    expect(oidc.requests).toHaveLength(0);
    expect(nc.users.get(sha256('1_0_carol'))?.email).toBe('old@example.com');
  });

  it('stops with a clear error when uidMode does not match the provider settings', async () => {
    const { client } = await setup({ config: { uidMode: 'raw' } });
    const err = await failure(client.createUser({ username: 'dave' }));
    expect(err.code).toBe('protocol');
    expect(err.message).toMatch(/uidMode 'raw'/);
    expect(err.message).toContain(sha256('1_0_dave'));
  });

  it('sends a zero quota in a form PHP does not drop', async () => {
    const { client, nc } = await setup();
    await client.createUser({ username: 'zero', quotaBytes: 0 });
    expect(nc.users.get(sha256('1_0_zero'))?.quota).toBe('0 B');
  });

  it('storedQuota is exactly what Nextcloud reports after a create with 1.25 TB and a change to 2.7 GB', async () => {
    const { client, nc } = await setup();
    const uid = sha256('1_0_quinn');
    const tb125 = 1.25 * 1024 * GiB;
    const created = await client.createUser({ username: 'quinn', quotaBytes: tb125 });
    expect(nc.users.get(uid)?.quota).toBe('1.3 TB');
    expect((await client.getUser('quinn')).quota?.limitBytes).toBe(client.storedQuota(tb125));
    expect(client.storedQuota(tb125)).not.toBe(tb125); // Nextcloud rounded it
    expect(created.summary).toContain('quota 1.3 TB');

    const gb27 = Math.round(2.7 * GiB);
    await client.setQuota('quinn', gb27);
    expect(nc.users.get(uid)?.quota).toBe('2.7 GB');
    expect((await client.getUser('quinn')).quota?.limitBytes).toBe(client.storedQuota(gb27));
    expect(client.storedQuota(null)).toBeNull();
  });

  it('adds the requested groups after creating', async () => {
    const { client, nc } = await setup();
    nc.groups.add('staff');
    const result = await client.createUser({ username: 'erin', groups: ['staff', 'missing'] });
    expect(nc.users.get(sha256('1_0_erin'))?.groups).toEqual(['staff']);
    expect(result.summary).toMatch(/groups staff/);
    expect(result.summary).toMatch(/NOT added to group missing/);
  });

  it('disables, enables and sets the quota through OCS under the derived uid', async () => {
    const { client, nc } = await setup();
    const uid = sha256('1_0_frank');
    nc.seedUser({ id: uid });
    const disabled = await client.disableUser('frank');
    expect(nc.users.get(uid)?.enabled).toBe(false);
    expect(disabled.summary).toContain(`disabled frank (Nextcloud user ${uid})`);
    await client.setQuota('frank', 50 * GiB);
    expect(nc.users.get(uid)).toMatchObject({ quota: '50 GB', enabled: false });
    await client.enableUser('frank');
    expect(nc.users.get(uid)?.enabled).toBe(true);
    expect(nc.requests.map((r) => `${r.method} ${r.path}`)).toContain(`PUT /ocs/v2.php/cloud/users/${uid}/disable`);
    await expect(client.getUser('nobody')).resolves.toEqual({ userId: sha256('1_0_nobody'), exists: false });
    expect((await failure(client.disableUser('nobody'))).code).toBe('not_found');
  });

  it('deletes through user_oidc with the uid, and tells a missing user from a non-OIDC one', async () => {
    const { client, nc, oidc } = await setup();
    await client.createUser({ username: 'gina' });
    const uid = sha256('1_0_gina');
    const result = await client.deleteUser!('gina');
    expect(oidc.requests.at(-1)).toMatchObject({
      method: 'DELETE',
      rawPath: `/ocs/v2.php/apps/user_oidc/api/v1/user/${uid}`,
    });
    expect(nc.users.has(uid)).toBe(false);
    expect(result.after).toEqual({ userId: uid, exists: false });
    expect((await failure(client.deleteUser!('gina'))).code).toBe('not_found');

    nc.seedUser({ id: sha256('1_0_local') });
    const err = await failure(client.deleteUser!('local'));
    expect([err.code, err.retryable]).toEqual(['not_managed', false]);
    expect(err.message).toMatch(/not managed by user_oidc/);
    expect(nc.users.has(sha256('1_0_local'))).toBe(true);
  });

  it('confirms a create or delete whose answer was lost, without sending it twice', async () => {
    const { client, nc, oidc } = await setup();
    oidc.failNext({ route: 'create', drop: 'after' });
    const created = await client.createUser({ username: 'hank' });
    expect(created.summary).toMatch(/hank/);
    await expect(client.getUser('hank')).resolves.toMatchObject({ exists: true });
    oidc.failNext({ route: 'delete', drop: 'after' });
    const deleted = await client.deleteUser!('hank');
    expect(deleted.summary).toMatch(/confirmed/);
    expect(oidc.requests.map((r) => r.method)).toEqual(['POST', 'DELETE']);

    oidc.failNext({ route: 'create', drop: 'before' });
    expect((await failure(client.createUser({ username: 'ivy' }))).code).toBe('unavailable');
    expect(nc.users.has(sha256('1_0_ivy'))).toBe(false);
  });

  it('says user_oidc is missing when its route does not exist', async () => {
    const { client } = await setup({ mount: false });
    const err = await failure(client.createUser({ username: 'jo' }));
    expect(err.code).toBe('unsupported');
    expect(err.message).toMatch(/install or update the user_oidc app/);
  });

  it('keeps logins with / or .. out of the URL when they would appear in it', async () => {
    const raw = await setup({
      providers: [{ id: 1, identifier: 'Keycloak', uniqueUid: false }],
      config: { uidMode: 'raw' },
    });
    raw.nc.seedUser({ id: 'bob' });
    for (const name of ['../bob', 'x/../../bob', '..', 'a/b', '']) {
      expect((await failure(raw.client.disableUser(name))).code).toBe('invalid_input');
      expect((await failure(raw.client.deleteUser!(name))).code).toBe('invalid_input');
    }
    expect(raw.nc.requests).toHaveLength(0);
    expect(raw.nc.users.get('bob')?.enabled).toBe(true);
    await expect(raw.client.getUser('a?b#c')).resolves.toMatchObject({ userId: 'a?b#c', exists: false });
    expect(raw.nc.requests.at(-1)?.path).toBe('/ocs/v2.php/cloud/users/a%3Fb%23c');

    // With unique uids the login is hashed, so even a '/' is harmless and allowed.
    const unique = await setup();
    await unique.client.createUser({ username: 'team/alice' });
    expect(unique.nc.users.has(sha256('1_0_team/alice'))).toBe(true);
  });

  it('says forbidden, not retryable, when the account is not an admin', async () => {
    const { client, nc } = await setup({
      nonAdmins: { helper: 'helper-app-password' },
      config: { user: 'helper' },
      secret: 'helper-app-password',
    });
    nc.seedUser({ id: sha256('1_0_kept'), backend: 'user_oidc' });
    const err = await failure(client.deleteUser!('kept'));
    expect([err.code, err.status, err.retryable]).toEqual(['forbidden', 403, false]);
    expect(err.message).toMatch(/Logged in account must be an admin/);
    expect(nc.users.has(sha256('1_0_kept'))).toBe(true);
  });

  it('spends exactly one request on wrong credentials and never shows the password', async () => {
    const { client, nc } = await setup({ secret: 'wrong-secret-value-99' });
    const err = await failure(client.createUser({ username: 'kim' }));
    expect(err.code).toBe('auth_failed');
    expect(err.message).toMatch(/OIDC_APP_PASSWORD/);
    expect(err.message).not.toContain('wrong-secret-value-99');
    expect(nc.requests).toHaveLength(1);
    expect((await failure(client.deleteUser!('kim'))).code).toBe('auth_failed');
    expect(nc.requests).toHaveLength(2);
  });
});

describe('user_oidc config', () => {
  it('defaults uidMode to unique and refuses unknown keys', () => {
    const base = {
      kind: 'user_oidc',
      url: 'https://cloud.example.com',
      user: 'admin',
      secretEnv: 'PW',
      providerId: 2,
      providerIdentifier: 'Keycloak',
    };
    expect(userOidcConfigSchema.parse(base).uidMode).toBe('unique');
    expect(userOidcConfigSchema.safeParse({ ...base, uidMode: 'hashed' }).success).toBe(false);
    expect(userOidcConfigSchema.safeParse({ ...base, providerId: '2' }).success).toBe(false);
    expect(userOidcConfigSchema.safeParse({ ...base, extra: 1 }).success).toBe(false);
  });
});
