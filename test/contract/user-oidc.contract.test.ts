/**
 * Contract suite: the user_oidc client against a REAL Nextcloud with the user_oidc app (or the fakes, to prove the
 * two agree).
 *
 *   USER_OIDC_TEST_URL=http://127.0.0.1:8080 USER_OIDC_TEST_USER=admin USER_OIDC_TEST_PASSWORD=<app password> \
 *     USER_OIDC_TEST_PROVIDER_ID=1 USER_OIDC_TEST_PROVIDER_IDENTIFIER=keycloak [USER_OIDC_TEST_UID_MODE=unique] \
 *     npm run test:contract
 *
 * The provider must exist in user_oidc (`occ user_oidc:provider`) and its "unique user id" / "provider based id"
 * settings must match USER_OIDC_TEST_UID_MODE (default unique, user_oidc's default). No identity provider has to
 * answer: nobody logs in. Covered: create (uid derived as user_oidc does, email lower-cased, quota, the skeleton
 * copied at once), the refusal to "create" an existing login, disable / enable and quota through OCS, delete, a
 * delete of a missing login and of a user user_oidc does not manage, and ONE wrong password. Users are named
 * accountdesk-oidc-<random> and deleted in afterAll, even when a test fails; about 3 user edits are spent from the
 * 50-per-10-minutes budget.
 */
import type { UserState } from '../../src/backends/types.js';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNextcloudClient } from '../../src/backends/nextcloud/client.js';
import type { NextcloudClient } from '../../src/backends/nextcloud/client.js';
import { createUserOidcClient } from '../../src/backends/nextcloud-oidc/user-oidc-client.js';
import { userOidcConfigSchema } from '../../src/backends/nextcloud-oidc/user-oidc-config.js';
import { deriveUserOidcUid } from '../../src/backends/nextcloud-oidc/oidc-user-ids.js';
import { nextcloudConfigSchema } from '../../src/backends/nextcloud/config.js';
import { pathSegment } from '../../src/backends/http.js';
import type { BackendClient } from '../../src/backends/types.js';
import { backendFailure } from '../support/backend-error.js';

const env = {
  url: process.env['USER_OIDC_TEST_URL'],
  user: process.env['USER_OIDC_TEST_USER'],
  password: process.env['USER_OIDC_TEST_PASSWORD'],
  providerId: process.env['USER_OIDC_TEST_PROVIDER_ID'],
  providerIdentifier: process.env['USER_OIDC_TEST_PROVIDER_IDENTIFIER'],
};
const configured = Object.values(env).every((value) => value !== undefined && value !== '');
if (!configured) {
  console.log(
    'user_oidc contract suite skipped: set USER_OIDC_TEST_URL, USER_OIDC_TEST_USER, USER_OIDC_TEST_PASSWORD, ' +
      'USER_OIDC_TEST_PROVIDER_ID and USER_OIDC_TEST_PROVIDER_IDENTIFIER to run it',
  );
}

const GB = 1024 ** 3;
const suffix = randomBytes(4).toString('hex');
const login = `accountdesk-oidc-${suffix}`;
const localLogin = `accountdesk-oidc-local-${suffix}`;

describe.skipIf(!configured)(`user_oidc contract (${env.url ?? 'unset'})`, () => {
  let client: BackendClient;
  /** The same server through plain OCS, to see what user_oidc's answers do not show (the user backend). */
  let nextcloud: NextcloudClient;
  const config = () =>
    userOidcConfigSchema.parse({
      kind: 'user_oidc',
      url: env.url,
      user: env.user,
      secretEnv: 'USER_OIDC_TEST_PASSWORD',
      providerId: Number(env.providerId),
      providerIdentifier: env.providerIdentifier,
      uidMode: process.env['USER_OIDC_TEST_UID_MODE'] ?? 'unique',
    });

  beforeAll(() => {
    client = createUserOidcClient('contract', config(), env.password!);
    nextcloud = createNextcloudClient(
      'contract-ocs',
      nextcloudConfigSchema.parse({ kind: 'nextcloud', url: env.url, user: env.user, secretEnv: 'X_TEST_PW' }),
      env.password!,
    );
  });

  afterAll(async () => {
    await client?.deleteUser?.(login).catch(() => undefined);
    if (nextcloud) await nextcloud.deleteUser(deriveUserOidcUid(config(), localLogin)).catch(() => undefined);
    await client?.close();
    await nextcloud?.close();
  });

  it('creates a login under the uid user_oidc derives, with the skeleton files already in its home', async () => {
    const result = await client.createUser({
      username: login,
      email: `${login}@Example.Invalid`,
      displayName: 'AccountDesk OIDC',
      quotaBytes: GB,
    });
    const created = await client.getUser(login);
    const uid = created.userId;
    expect(result.summary).toContain(`as Nextcloud user ${uid}`);
    expect(created).toMatchObject({
      exists: true,
      enabled: true,
      email: `${login}@example.invalid`,
      displayName: 'AccountDesk OIDC',
      quota: { limitBytes: GB },
    });
    // A new home holds Nextcloud's skeleton files (about 20 MB on a default install; less if it was trimmed).
    expect(created.quota?.usedBytes).toBeGreaterThan(0);
    const raw = await nextcloud.ocs<{ backend: string; lastLogin: number }>('GET', `/cloud/users/${pathSegment(uid)}`);
    expect(raw).toMatchObject({ backend: 'user_oidc', lastLogin: 0 });
  });

  it('refuses to "create" a login that has an account (the route would update it)', async () => {
    const err = await backendFailure(client.createUser({ username: login, email: 'other@example.invalid' }));
    expect(err.code).toBe('already_exists');
    expect((await client.getUser(login)).email).toBe(`${login}@example.invalid`);
  });

  it('disables, enables and sets the quota through OCS under the uid', async () => {
    expect((await stateAfter(client, client.disableUser(login), login))?.enabled).toBe(false);
    expect((await stateAfter(client, client.enableUser(login), login))?.enabled).toBe(true);
    expect((await stateAfter(client, client.setQuota(login, 3042824), login))?.quota?.limitBytes).toBe(
      client.storedQuota(3042824),
    );
  });

  it('will not delete a user that user_oidc does not manage, and leaves it in place', async () => {
    // An ordinary (OCS-created) account under exactly the uid user_oidc derives for this login.
    const uid = deriveUserOidcUid(config(), localLogin);
    await nextcloud.createUser({ username: uid, email: `${localLogin}@example.invalid` });
    expect(await client.getUser(localLogin)).toMatchObject({ userId: uid, exists: true });
    const err = await backendFailure(client.deleteUser!(localLogin));
    expect([err.code, err.retryable]).toEqual(['not_managed', false]);
    expect((await nextcloud.getUser(uid)).exists).toBe(true);
  });

  it('deletes the login, then says a second delete finds nothing', async () => {
    expect((await client.deleteUser!(login)).after?.exists).toBe(false);
    expect((await client.getUser(login)).exists).toBe(false);
    expect((await backendFailure(client.deleteUser!(login))).code).toBe('not_found');
  });

  it('maps a wrong password to auth_failed without retrying', async () => {
    const wrong = createUserOidcClient('contract', config(), `not-the-password-${suffix}`);
    try {
      const err = await backendFailure(wrong.createUser({ username: `${login}-x` }));
      expect([err.code, err.status, err.retryable]).toEqual(['auth_failed', 401, false]);
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
