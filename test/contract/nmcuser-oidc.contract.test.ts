/**
 * Contract suite: the nmcuser_oidc client against a REAL Nextcloud with the nmcuser_oidc app (or the fake, to prove
 * the two agree).
 *
 *   NMCUSER_OIDC_TEST_URL=http://127.0.0.1:8080 NMCUSER_OIDC_TEST_USER=admin NMCUSER_OIDC_TEST_PASSWORD=<app pw> \
 *     NMCUSER_OIDC_TEST_PROVIDER=keycloak npm run test:contract
 *
 * The provider must exist in user_oidc; no identity provider has to answer (nobody logs in). The account must be
 * an admin of the ordinary (Database) user backend, as an installer's admin is: the suite checks that such an
 * account is shown as existing but not managed by nmcuser_oidc, and that nothing is sent to change it. Covered:
 * create (email lower-cased, quota), the refusal of a second create, quota change keeping a disabled user disabled,
 * enable, "5GiB" read as 5 bytes by the server, a create whose quota is below the skeleton files (403, the user
 * exists), delete, and ONE wrong password. Users are named accountdesk-nmc-<random> and deleted in afterAll.
 */
import type { UserState } from '../../src/backends/types.js';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNmcuserOidcClient } from '../../src/backends/nextcloud-oidc/nmcuser-oidc-client.js';
import { nmcuserOidcConfigSchema } from '../../src/backends/nextcloud-oidc/nmcuser-oidc-config.js';
import type { BackendClient } from '../../src/backends/types.js';
import { backendFailure } from '../support/backend-error.js';

const env = {
  url: process.env['NMCUSER_OIDC_TEST_URL'],
  user: process.env['NMCUSER_OIDC_TEST_USER'],
  password: process.env['NMCUSER_OIDC_TEST_PASSWORD'],
  provider: process.env['NMCUSER_OIDC_TEST_PROVIDER'],
};
const configured = Object.values(env).every((value) => value !== undefined && value !== '');
if (!configured) {
  console.log(
    'nmcuser_oidc contract suite skipped: set NMCUSER_OIDC_TEST_URL, NMCUSER_OIDC_TEST_USER, ' +
      'NMCUSER_OIDC_TEST_PASSWORD and NMCUSER_OIDC_TEST_PROVIDER to run it',
  );
}

const GB = 1024 ** 3;
const suffix = randomBytes(4).toString('hex');
const username = `accountdesk-nmc-${suffix}`;
const tiny = `accountdesk-nmc-tiny-${suffix}`;

describe.skipIf(!configured)(`nmcuser_oidc contract (${env.url ?? 'unset'})`, () => {
  let client: BackendClient;
  const config = () =>
    nmcuserOidcConfigSchema.parse({
      kind: 'nmcuser_oidc',
      url: env.url,
      user: env.user,
      secretEnv: 'NMCUSER_OIDC_TEST_PASSWORD',
      provider: env.provider,
    });
  /** One raw call to the app's API, for what the client deliberately never sends. */
  const raw = (method: string, path: string, body?: object) =>
    fetch(`${env.url}/index.php/apps/nmcuser_oidc/api/1.1/nmcusers/${env.provider}/${path}`, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(`${env.user}:${env.password}`).toString('base64')}`,
        accept: 'application/json',
        'content-type': 'application/json',
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });

  beforeAll(() => {
    client = createNmcuserOidcClient('contract', config(), env.password!);
  });

  afterAll(async () => {
    for (const name of [username, tiny]) await client?.deleteUser?.(name).catch(() => undefined);
    await client?.close();
  });

  const ownAdminAccount =
    'shows its own admin account as existing but not provisioned by nmcuser_oidc, and sends it no change';
  it(ownAdminAccount, async () => {
    const state = await client.getUser(env.user!);
    expect(state).toMatchObject({ userId: env.user, exists: true });
    expect(state.unmanaged).toMatch(/^exists, but was not provisioned by nmcuser_oidc .*nextcloud backend$/);
    for (const change of [() => client.disableUser(env.user!), () => client.deleteUser!(env.user!)]) {
      const err = await backendFailure(change());
      expect([err.code, err.retryable]).toEqual(['not_managed', false]);
    }
    expect((await client.getUser(env.user!)).exists).toBe(true);
  });

  it('creates a user with its email lower-cased and the quota asked for, and refuses a second create', async () => {
    const result = await client.createUser({
      username,
      email: `${username}@Example.Invalid`,
      displayName: 'AccountDesk NMC',
      quotaBytes: 2 * GB,
    });
    expect(result.summary).toContain(`created ${username}`);
    const created = await client.getUser(username);
    expect(created).toMatchObject({
      userId: username,
      exists: true,
      enabled: true,
      email: `${username}@example.invalid`,
      displayName: 'AccountDesk NMC',
      quota: { limitBytes: 2 * GB },
    });
    expect(created.unmanaged).toBeUndefined();
    expect((await backendFailure(client.createUser({ username }))).code).toBe('already_exists');
  });

  it('keeps a disabled user disabled across a quota change, then enables it', async () => {
    expect((await stateAfter(client, client.disableUser(username), username))?.enabled).toBe(false);
    const quota = await stateAfter(client, client.setQuota(username, 3 * GB), username);
    expect(quota).toMatchObject({ enabled: false, quota: { limitBytes: 3 * GB } });
    expect((await stateAfter(client, client.enableUser(username), username))?.enabled).toBe(true);
  });

  it('reads "5GiB" as 5 bytes: the reason the client only sends units Nextcloud knows', async () => {
    const res = await raw('PUT', username, { quota: '5GiB', enabled: true });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { quota: string }).quota).toBe('5 B');
    expect((await client.getUser(username)).quota?.limitBytes).toBe(5);
  });

  const quotaBelowSkeleton =
    'shows the server reason when a quota below the skeleton files stops the home folder, and the user exists';
  it(quotaBelowSkeleton, async () => {
    const err = await backendFailure(client.createUser({ username: tiny, quotaBytes: 1024 ** 2 }));
    expect([err.status, err.retryable]).toEqual([403, false]);
    expect(err.message).toMatch(new RegExp(`^${tiny} now EXISTS on contract \\(quota 1 MB, read back\\)`));
    expect(err.message).toContain('Newly created user cannot init home folder. Reason: Could not create path');
    expect((await client.getUser(tiny)).exists).toBe(true);
  });

  it('deletes the users, then says a second delete finds nothing', async () => {
    for (const name of [username, tiny]) {
      expect((await client.deleteUser!(name)).after?.exists).toBe(false);
      expect((await client.getUser(name)).exists).toBe(false);
    }
    expect((await backendFailure(client.deleteUser!(username))).code).toBe('not_found');
  });

  it('maps a wrong password to auth_failed without retrying', async () => {
    const wrong = createNmcuserOidcClient('contract', config(), `not-the-password-${suffix}`);
    try {
      const err = await backendFailure(wrong.getUser(username));
      expect([err.code, err.status]).toEqual(['auth_failed', 401]);
      expect(err.message).not.toContain(`not-the-password-${suffix}`);
    } finally {
      await wrong.close();
    }
  });
});

/** The user as the server reports it after a write (writes that succeed no longer read back: nothing needs it). */
async function stateAfter(
  reader: { getUser(user: string): Promise<UserState> },
  write: Promise<unknown>,
  user: string,
) {
  await write;
  return reader.getUser(user);
}
