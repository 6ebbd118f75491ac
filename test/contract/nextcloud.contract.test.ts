/**
 * Contract suite: the Nextcloud client against a REAL server (or the fake, to prove the two agree).
 *
 *   NEXTCLOUD_TEST_URL=https://cloud.example.com NEXTCLOUD_TEST_USER=admin NEXTCLOUD_TEST_PASSWORD=<app password> \
 *     [NEXTCLOUD_TEST_API_VERSION=v1|v2] npm run test:contract
 *
 * Use an admin APP password on a test instance. Subset covered: getUser (present / missing), createUser (invitation,
 * quota, display name, group, email read back lower-cased), setQuota (round and odd sizes, read back after the
 * server's rounding), disable, enable, addToGroup / removeFromGroup on a group the suite creates, resendInvite (a
 * server without a mail server answers 102, accepted as such), deleteUser, and exactly ONE login with a wrong
 * password (far below the ~11 that trigger the brute-force lockout). Then what the fake must answer as the server
 * does: OCS codes kept in meta with the HTTP status, the password policy on create, groups?search, the fields of a
 * user record, and "5 GiB" read as 5 bytes. About 5 user edits are spent from the 50-per-10-minutes budget. Every
 * user is named accountdesk-contract-<random> and deleted in afterAll, with the group, even when a test fails.
 */
import type { UserState } from '../../src/backends/types.js';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNextcloudClient } from '../../src/backends/nextcloud/client.js';
import type { NextcloudClient } from '../../src/backends/nextcloud/client.js';
import { nextcloudConfigSchema } from '../../src/backends/nextcloud/config.js';
import { pathSegment } from '../../src/backends/http.js';
import { BackendError } from '../../src/backends/types.js';
import { OcsFailure } from '../../src/backends/nextcloud/ocs.js';
import { backendFailure } from '../support/backend-error.js';

const url = process.env['NEXTCLOUD_TEST_URL'];
const user = process.env['NEXTCLOUD_TEST_USER'];
const password = process.env['NEXTCLOUD_TEST_PASSWORD'];
const configured = Boolean(url && user && password);
if (!configured) {
  console.log(
    'Nextcloud contract suite skipped: set NEXTCLOUD_TEST_URL, NEXTCLOUD_TEST_USER and NEXTCLOUD_TEST_PASSWORD to ' +
      'run it',
  );
}

const GB = 1024 ** 3;
const suffix = randomBytes(4).toString('hex');
const username = `accountdesk-contract-${suffix}`;
const group = `accountdesk-contract-${suffix}`;
const email = `${username}@example.invalid`;
const weakUser = `${username}-weak`;

describe.skipIf(!configured)(`Nextcloud contract (${process.env['NEXTCLOUD_TEST_URL'] ?? 'unset'})`, () => {
  let client: NextcloudClient;
  const config = () =>
    nextcloudConfigSchema.parse({
      kind: 'nextcloud',
      url,
      user,
      secretEnv: 'NEXTCLOUD_TEST_PASSWORD',
      apiVersion: process.env['NEXTCLOUD_TEST_API_VERSION'] ?? 'v2',
    });

  beforeAll(async () => {
    client = createNextcloudClient('contract', config(), password!);
    await client.ocs('POST', '/cloud/groups', { body: { groupid: group } });
  });

  afterAll(async () => {
    if (!client) return;
    await client.deleteUser(username).catch(() => undefined);
    await client.deleteUser(weakUser).catch(() => undefined);
    await client.ocs('DELETE', `/cloud/groups/${pathSegment(group)}`).catch(() => undefined);
    await client.close();
  });

  it('reads the admin account and reports a missing user as absent', async () => {
    const admin = await client.getUser(user!);
    expect(admin.exists).toBe(true);
    expect(admin.enabled).toBe(true);
    expect(await client.getUser(`${username}-missing`)).toEqual({ userId: `${username}-missing`, exists: false });
  });

  it('creates a user without a password, with display name, quota and group', async () => {
    const result = await client.createUser({
      username,
      email: email.toUpperCase(), // stored lower-cased
      displayName: 'AccountDesk Contract',
      quotaBytes: 2 * GB,
      groups: [group],
    });
    expect(result.summary).toMatch(new RegExp(`^created ${username} on contract`));
    expect(await client.getUser(username)).toMatchObject({
      userId: username,
      exists: true,
      enabled: true,
      email,
      displayName: 'AccountDesk Contract',
      // No login yet, so no home folder: nothing used.
      quota: { limitBytes: 2 * GB, usedBytes: 0 },
      groups: [group],
    });
  });

  it('refuses to create the same user again', async () => {
    const err = await client.createUser({ username, email }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as BackendError).code).toBe('already_exists');
  });

  it('sets a quota and reads it back after the server rounding', async () => {
    expect((await stateAfter(client, client.setQuota(username, 10 * GB), username))?.quota?.limitBytes).toBe(10 * GB);
    // Stored as "2.9 MB", read back as 3040870 (docs/nextcloud-ocs.md#quota-values).
    expect((await stateAfter(client, client.setQuota(username, 3042824), username))?.quota?.limitBytes).toBe(3040870);
    // storedQuota predicts the server's rounding (the domain compares quotas through it).
    expect(client.storedQuota(3042824)).toBe(3040870);
    expect(client.storedQuota(10 * GB)).toBe(10 * GB);
  });

  it('disables and enables', async () => {
    expect((await stateAfter(client, client.disableUser(username), username))?.enabled).toBe(false);
    expect((await stateAfter(client, client.enableUser(username), username))?.enabled).toBe(true);
  });

  it('removes from and adds to a group', async () => {
    expect((await stateAfter(client, client.removeFromGroup(username, group), username))?.groups).toEqual([]);
    expect((await stateAfter(client, client.addToGroup(username, group), username))?.groups).toEqual([group]);
    const err = await client.addToGroup(username, `${group}-missing`).catch((e: unknown) => e);
    expect((err as BackendError).code).toBe('not_found');
  });

  it('resends the invitation, or says the server could not send mail', async () => {
    try {
      expect((await client.resendInvite(username)).summary).toMatch(/sent .* a new invitation mail/);
    } catch (err) {
      expect(err).toBeInstanceOf(BackendError);
      expect([(err as BackendError).code, (err as BackendError).remoteCode]).toEqual(['unavailable', 102]);
    }
  });

  it('maps a wrong password to auth_failed without retrying', async () => {
    const wrong = createNextcloudClient('contract', config(), `not-the-password-${suffix}`);
    try {
      const err = await wrong.getUser(username).catch((e: unknown) => e);
      expect((err as BackendError).code).toBe('auth_failed');
      // OCS keeps its own code (997) in meta beside HTTP 401, in both versions.
      expect([(err as BackendError).status, (err as BackendError).remoteCode]).toEqual([401, 997]);
      expect((err as BackendError).message).toMatch(/NEXTCLOUD_TEST_PASSWORD/);
      expect((err as BackendError).message).not.toContain(`not-the-password-${suffix}`);
    } finally {
      await wrong.close();
    }
  });

  it('records a user with the fields Nextcloud 32 returns', async () => {
    const data = await client.ocs<Record<string, unknown>>('GET', `/cloud/users/${pathSegment(username)}`);
    for (const field of [
      'firstLoginTimestamp',
      'lastLoginTimestamp',
      'lastLogin',
      'backend',
      'bluesky',
      'fediverse',
      'organisation',
      'role',
      'headline',
      'biography',
      'profile_enabled',
      'pronouns',
      'timezone',
      'notify_email',
    ]) {
      expect(data, field).toHaveProperty(field);
    }
    expect(data).toMatchObject({ backend: 'Database', lastLogin: 0, email });
  });

  it('filters groups with ?search=, ignoring case', async () => {
    const data = await client.ocs<{ groups: string[] }>('GET', '/cloud/groups', {
      query: { search: suffix.toUpperCase() },
    });
    expect(data.groups).toEqual([group]);
  });

  it('reads "5 GiB" as 5 bytes: the reason the client only ever sends digits', async () => {
    await client.ocs('PUT', `/cloud/users/${pathSegment(username)}`, { body: { key: 'quota', value: '5 GiB' } });
    expect((await client.getUser(username)).quota?.limitBytes).toBe(5);
  });

  it('refuses a weak password on create with 107 and creates nothing', async () => {
    const err = await backendFailure(
      client.ocs('POST', '/cloud/users', { body: { userid: weakUser, password: 'short', email } }),
    );
    expect(err).toBeInstanceOf(OcsFailure);
    const v2 = (process.env['NEXTCLOUD_TEST_API_VERSION'] ?? 'v2') === 'v2';
    expect([err.remoteCode, err.status]).toEqual([107, v2 ? 400 : 200]);
    expect((err as OcsFailure).ocsMessage).toMatch(/at least 10 characters/);
    expect((await client.getUser(weakUser)).exists).toBe(false);
  });

  it('deletes the user, and a second delete finds it missing (998 kept beside HTTP 404 on v2)', async () => {
    expect((await client.deleteUser(username)).after).toEqual({ userId: username, exists: false });
    expect((await client.getUser(username)).exists).toBe(false);
    const err = await backendFailure(client.deleteUser(username));
    expect([err.code, err.remoteCode]).toEqual(['not_found', 998]);
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
