import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendError } from '../../src/backends/types.js';
import { isLostAnswer, OcsFailure } from '../../src/backends/nextcloud/ocs.js';
import { nextcloudConfigSchema } from '../../src/backends/nextcloud/config.js';
import { SKELETON_BYTES, type FakeNextcloudOptions } from '../fakes/nextcloud.js';
import { callsTo, startHarness } from './nextcloud-helpers.js';
import type { Harness } from './nextcloud-helpers.js';
import { backendFailure } from '../support/backend-error.js';

const GB = 1024 ** 3;
let harness: Harness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(version: 'v1' | 'v2', options: FakeNextcloudOptions = {}, config: Record<string, unknown> = {}) {
  harness = await startHarness(version, options, config);
  return harness;
}

/** Runs `fn` and returns the BackendError it threw. */
const failure = (call: () => Promise<unknown>) => backendFailure(call());

describe('nextcloud config', () => {
  const base = {
    kind: 'nextcloud',
    url: 'https://cloud.example.com',
    user: 'admin',
    secretEnv: 'NEXTCLOUD_APP_PASSWORD',
  };
  it('defaults to OCS v2 and no default groups', () => {
    const config = nextcloudConfigSchema.parse(base);
    expect(config.apiVersion).toBe('v2');
    expect(config.defaultGroups).toEqual([]);
  });
  it('rejects unknown keys and a secret pasted where the env var name belongs', () => {
    expect(nextcloudConfigSchema.safeParse({ ...base, password: 'x' }).success).toBe(false);
    expect(nextcloudConfigSchema.safeParse({ ...base, secretEnv: 'hunter2-secret' }).success).toBe(false);
    expect(nextcloudConfigSchema.safeParse({ ...base, apiVersion: 'v3' }).success).toBe(false);
  });
});

describe.each(['v1', 'v2'] as const)('Nextcloud client over OCS %s', (version) => {
  describe('getUser', () => {
    it('maps enabled, email, display name, quota, usage and groups', async () => {
      const { fake, client } = await start(version);
      fake.groups.add('staff');
      fake.seedUser({
        id: 'alice',
        email: 'alice@example.com',
        displayname: 'Alice A',
        quota: '5 GB',
        usedBytes: 1024,
        groups: ['staff'],
        enabled: false,
      });
      const state = await client.getUser('alice');
      expect(state).toEqual({
        userId: 'alice',
        exists: true,
        enabled: false,
        email: 'alice@example.com',
        displayName: 'Alice A',
        quota: { limitBytes: 5 * GB, usedBytes: 1024 },
        groups: ['staff'],
      });
    });

    it('reads a user who never logged in (quota -3, used 0, email null) as unlimited with nothing used', async () => {
      const { fake, client } = await start(version);
      fake.seedUser({ id: 'fresh' });
      const state = await client.getUser('fresh');
      expect(state.quota).toEqual({ limitBytes: null, usedBytes: 0 });
      expect(state.email).toBeNull();
      expect(state.displayName).toBe('fresh');
    });

    it('reads a home holding more than its quota (the skeleton files under a small quota)', async () => {
      const { fake, client } = await start(version);
      fake.seedUser({ id: 'small', quota: '10 MB', usedBytes: SKELETON_BYTES });
      expect((await client.getUser('small')).quota).toEqual({ limitBytes: 10 * 1024 ** 2, usedBytes: SKELETON_BYTES });
    });

    it('with an account that is not an admin, sees other users as missing and is refused a create', async () => {
      const { fake, clientWith } = await start(version, { nonAdmins: { helper: 'helper-app-password' } });
      fake.seedUser({ id: 'alice' });
      const helper = clientWith('helper-app-password', 'helper');
      // What Nextcloud 32.0.1 answers (998): indistinguishable from a missing user.
      expect(await helper.getUser('alice')).toEqual({ userId: 'alice', exists: false });
      const err = await failure(() => helper.createUser({ username: 'bob', email: 'bob@example.com' }));
      expect([err.code, err.retryable]).toEqual(['forbidden', false]);
      expect(err.message).toMatch(/'helper' lacks the right .*must be a Nextcloud admin/);
      expect(fake.users.has('bob')).toBe(false);
    });

    it('reports a missing user as exists: false, not an error', async () => {
      const { client } = await start(version);
      expect(await client.getUser('nobody')).toEqual({ userId: 'nobody', exists: false });
    });

    it('keeps a user id with a slash inside its own path segment', async () => {
      const { fake, client } = await start(version);
      expect(await client.getUser('a/b')).toEqual({ userId: 'a/b', exists: false });
      expect(fake.requests.at(-1)?.path).toMatch(/\/cloud\/users\/a%2Fb$/);
    });

    it('refuses a user name made of dots before any call', async () => {
      const { fake, client } = await start(version);
      const err = await failure(() => client.getUser('..'));
      expect(err.code).toBe('invalid_input');
      expect(fake.requests).toHaveLength(0);
    });
  });

  describe('createUser', () => {
    it('creates without a password so Nextcloud mails the invitation, and reads the user back', async () => {
      const { fake, client } = await start(version);
      fake.groups.add('staff');
      const result = await client.createUser({
        username: 'bob',
        email: 'bob@example.com',
        displayName: 'Bob B',
        quotaBytes: 10 * GB,
        groups: ['staff'],
      });
      expect(result.summary).toBe(
        "created bob on cloud (display name 'Bob B', quota 10 GB, groups staff); Nextcloud mails the invitation to " +
          'bob@example.com itself and does not confirm delivery',
      );
      // One call: the create itself, no read before it (the server checks existence) and none after (unused).
      expect(fake.requests.map((r) => r.route)).toEqual(['createUser']);
      expect(result.after).toBeUndefined();
      expect(await client.getUser('bob')).toMatchObject({
        exists: true,
        email: 'bob@example.com',
        displayName: 'Bob B',
        quota: { limitBytes: 10 * GB },
        groups: ['staff'],
      });
      expect(fake.users.get('bob')?.quota).toBe('10 GB');
      expect(fake.mails).toEqual([{ to: 'bob@example.com', userId: 'bob' }]);
    });

    it('Nextcloud stores the email lower-cased; an interrupted create is still recognised as ours', async () => {
      const { fake, client } = await start(version);
      await client.createUser({ username: 'mia', email: 'Mia.Moe@Example.COM' });
      expect((await client.getUser('mia')).email).toBe('mia.moe@example.com');
      expect(fake.mails).toEqual([{ to: 'mia.moe@example.com', userId: 'mia' }]);
      // An interrupted create of the same kind is still recognised as ours despite the case change.
      fake.failNext('createUser', 'ambiguous-create');
      const resumed = await client.createUser({ username: 'max', email: 'Max@Example.COM' });
      expect(resumed.after?.email).toBe('max@example.com');
    });

    it('adds the configured default groups', async () => {
      const { fake, client } = await start(version, {}, { defaultGroups: ['customers'] });
      fake.groups.add('customers');
      await client.createUser({ username: 'carol', email: 'carol@example.com' });
      expect(fake.users.get('carol')?.groups).toEqual(['customers']);
    });

    it('refuses a create without an email before any call', async () => {
      const { fake, client } = await start(version);
      const err = await failure(() => client.createUser({ username: 'dave' }));
      expect(err.code).toBe('invalid_input');
      expect(err.message).toMatch(/needs an email address/);
      expect(fake.requests).toHaveLength(0);
    });

    it('reports an existing user (102 to the create) as already_exists with its email; nothing changed', async () => {
      const { fake, client } = await start(version);
      fake.seedUser({ id: 'erin', email: 'erin@old.example' });
      const err = await failure(() => client.createUser({ username: 'erin', email: 'erin@example.com' }));
      expect(err.code).toBe('already_exists');
      expect(err.message).toBe("'erin' already exists on cloud (email erin@old.example): nothing was changed");
      // The create (refused with 102 before the server does anything) and one read for the email in the message.
      expect(fake.requests.map((r) => r.route)).toEqual(['createUser', 'getUser']);
      expect(fake.users.get('erin')?.email).toBe('erin@old.example');
      expect(fake.mails).toHaveLength(0);
    });

    it('after a lost answer, does not take over a user with another email: ambiguous, nothing changed', async () => {
      const { fake, client } = await start(version);
      fake.seedUser({ id: 'olga', email: 'olga@old.example' });
      // The server's 102 is lost on the way back: the read finds a user the request did not describe.
      fake.failNext('createUser', 'reset');
      const err = await failure(() => client.createUser({ username: 'olga', email: 'olga@example.com' }));
      expect(err.code).toBe('ambiguous');
      expect(err.message).toMatch(/exists there with email olga@old.example, not olga@example.com: check in Nextcloud/);
      expect(callsTo(fake, 'createUser')).toBe(1);
      expect(fake.users.get('olga')?.email).toBe('olga@old.example');
      expect(fake.mails).toHaveLength(0);
    });

    it('maps 104 (a group does not exist) to invalid_input and creates nothing', async () => {
      const { fake, client } = await start(version);
      const err = await failure(() =>
        client.createUser({ username: 'finn', email: 'finn@example.com', groups: ['ghosts'] }),
      );
      expect(err.code).toBe('invalid_input');
      expect(err.remoteCode).toBe(104);
      expect(err.message).toMatch(/does not exist on cloud.*Group ghosts does not exist/);
      expect(fake.users.has('finn')).toBe(false);
    });

    it('maps 101 for an invalid user id to invalid_input with the server words, once nothing was created', async () => {
      const { fake, client } = await start(version);
      const err = await failure(() => client.createUser({ username: 'bad/name', email: 'x@example.com' }));
      expect(err.code).toBe('invalid_input');
      expect(err.remoteCode).toBe(101);
      expect(err.message).toMatch(/refused to create 'bad\/name'.*Only the following characters/);
      expect(callsTo(fake, 'createUser')).toBe(1);
    });

    it('after 101 "Bad request" that still created the user, completes the missing fields and invites', async () => {
      const { fake, client } = await start(version);
      fake.groups.add('staff');
      fake.failNext('createUser', 'ambiguous-create');
      const result = await client.createUser({
        username: 'gina',
        email: 'gina@example.com',
        displayName: 'Gina G',
        quotaBytes: 5 * GB,
        groups: ['staff'],
      });
      expect(result.summary).toBe(
        `created gina on cloud although Nextcloud answered "Bad request"; then set display name 'Gina G', quota 5 ` +
          `GB, email gina@example.com; everything asked for is in place; invitation sent to gina@example.com`,
      );
      expect(result.after).toMatchObject({
        email: 'gina@example.com',
        displayName: 'Gina G',
        quota: { limitBytes: 5 * GB },
        groups: ['staff'],
      });
      expect(fake.mails).toEqual([{ to: 'gina@example.com', userId: 'gina' }]);
      expect(callsTo(fake, 'createUser')).toBe(1);
    });

    it('after a 101 whose user appears only later, completes it from the read-back, without a 2nd create', async () => {
      const { fake, client } = await start(version);
      fake.failNext('createUser', 'commit-late');
      const result = await client.createUser({ username: 'hank', email: 'hank@example.com' });
      // The late commit is visible from the next request on: the read-back sees it, so no second POST is needed.
      expect(result.summary).toBe(
        'created hank on cloud although Nextcloud answered "Bad request"; then set email hank@example.com; ' +
          'everything asked for is in place; invitation sent to hank@example.com',
      );
      expect(fake.users.get('hank')?.email).toBe('hank@example.com');
      expect(fake.mails).toHaveLength(1);
    });

    it('treats 102 after its own retry as success only if the user matches what was asked', async () => {
      const { fake, client } = await start(version);
      fake.failNext('createUser', 'bad-request');
      let posts = 0;
      // The first POST fails with nothing created; just before the retry arrives, our first attempt's commit lands.
      fake.addRoute((req) => {
        if (req.method === 'POST' && req.url?.includes('/cloud/users?') && ++posts === 2) {
          fake.seedUser({ id: 'ivy', email: 'ivy@example.com' });
        }
        return false;
      });
      const result = await client.createUser({ username: 'ivy', email: 'ivy@example.com' });
      expect(callsTo(fake, 'createUser')).toBe(2);
      expect(result.summary).toMatch(
        /^created ivy on cloud although Nextcloud answered "User already exists"; everything asked for is in place/,
      );
    });

    it('refuses to call a 102 after its retry a success when the user there has another email', async () => {
      const { fake, client } = await start(version);
      fake.failNext('createUser', 'bad-request');
      let posts = 0;
      fake.addRoute((req) => {
        if (req.method === 'POST' && req.url?.includes('/cloud/users?') && ++posts === 2) {
          fake.seedUser({ id: 'jack', email: 'someone-else@example.com' });
        }
        return false;
      });
      const err = await failure(() => client.createUser({ username: 'jack', email: 'jack@example.com' }));
      expect(err.code).toBe('already_exists');
      expect(err.message).toMatch(/now exists on cloud with email someone-else@example.com, not jack@example.com/);
      expect(fake.users.get('jack')?.email).toBe('someone-else@example.com');
    });

    it('after a lost answer (timeout) reads back, finds the user complete, and does not mail twice', async () => {
      const { fake, client } = await start(version);
      fake.failNext('createUser', 'timeout-after-work');
      const result = await client.createUser({ username: 'kim', email: 'kim@example.com' });
      expect(result.summary).toMatch(
        new RegExp(
          '^created kim on cloud although Nextcloud answered nothing in time; everything asked for is in place; ' +
            'the invitation to kim@example.com was most likely sent',
        ),
      );
      expect(fake.mails).toHaveLength(1);
      expect(callsTo(fake, 'createUser')).toBe(1);
    });

    it('never carries the credentials in a network error, its cause included', async () => {
      const { fake, client } = await start(version);
      fake.failNext('getUser', 'reset', { times: 3 });
      const err = await failure(() => client.getUser('alice'));
      expect(err.code).toBe('unavailable');
      const basic = Buffer.from(`${fake.adminUser}:${fake.adminPassword}`).toString('base64');
      const dump = inspect(err, { depth: 10, showHidden: true });
      expect(dump).not.toContain(basic);
      expect(dump).not.toContain(fake.adminPassword);
    });

    it('after a timeout with nothing created, sends the create exactly once more', async () => {
      const { fake, client } = await start(version);
      fake.failNext('createUser', 'hang');
      const result = await client.createUser({ username: 'lee', email: 'lee@example.com' });
      expect(result.summary).toMatch(/^created lee on cloud; .*\(succeeded on a second attempt\)$/);
      expect(callsTo(fake, 'createUser')).toBe(2);
    });

    it('reports ambiguous when the create failed and the read-back failed too', async () => {
      const { fake, client } = await start(version);
      // The pre-check GET passes; the POST gets a 500; the read-back then meets an HTML page.
      fake.failNext('createUser', 'server-error', { afterReply: () => fake.failNext('getUser', 'not-json') });
      const err = await failure(() => client.createUser({ username: 'max', email: 'max@example.com' }));
      expect(err.code).toBe('ambiguous');
      expect(err.retryable).toBe(false);
      expect(err.message).toMatch(
        /^creating 'max' on cloud failed .* and reading the user back failed too .*check in Nextcloud whether the user/,
      );
      expect(callsTo(fake, 'createUser')).toBe(1);
    });

    it('says plainly that the user was created but its quota refused (over the maximum), and invites', async () => {
      const { fake, client } = await start(version, { maxQuotaBytes: 100 * GB });
      const result = await client.createUser({ username: 'nina', email: 'nina@example.com', quotaBytes: 500 * GB });
      expect(result.summary).toMatch(
        new RegExp(
          '^created nina on cloud although Nextcloud answered "Invalid quota value\\. 536870912000 is exceeding the ' +
            'maximum quota"; then set email nina@example.com; NOT set: quota 500 GB \\(Nextcloud: "Invalid quota value',
        ),
      );
      expect(result.summary).toMatch(/; invitation sent to nina@example.com$/);
      expect(fake.users.get('nina')?.email).toBe('nina@example.com');
      expect(fake.mails).toEqual([{ to: 'nina@example.com', userId: 'nina' }]);
    });

    it('reports the edit rate limit inside the summary when completing a user hits it', async () => {
      const { fake, client } = await start(version, { editLimit: { calls: 0, windowMs: 600_000 } });
      fake.failNext('createUser', 'ambiguous-create');
      const result = await client.createUser({ username: 'omar', email: 'omar@example.com' });
      expect(result.summary).toMatch(
        new RegExp(
          "NOT set: email omar@example.com \\(Nextcloud's limit of 50 edits per 10 minutes was reached: set it " +
            'later\\); NO invitation was sent',
        ),
      );
    });
  });

  describe('setQuota', () => {
    it('sends bytes as digits and reads back what Nextcloud stored', async () => {
      const { fake, client } = await start(version);
      fake.seedUser({ id: 'pat' });
      const result = await client.setQuota('pat', 10 * GB);
      expect(result.summary).toBe('set the quota of pat on cloud to 10 GB');
      expect(fake.users.get('pat')?.quota).toBe('10 GB');
      expect(callsTo(fake, 'editUser')).toBe(1);
      expect(callsTo(fake, 'getUser')).toBe(0); // nothing reads the state after a write that succeeded
    });

    it('accepts the server rounding an odd size to one decimal', async () => {
      const { fake, client } = await start(version);
      fake.seedUser({ id: 'pat' });
      const result = await client.setQuota('pat', 3042824);
      expect(fake.users.get('pat')?.quota).toBe('2.9 MB');
      expect(result.summary).toBe('set the quota of pat on cloud to 2.9 MB');
      expect((await client.getUser('pat')).quota?.limitBytes).toBe(3040870);
    });

    it.each([
      ['1.25 TB', 1.25 * 1024 * GB, '1.3 TB'],
      ['2.7 GB', Math.round(2.7 * GB), '2.7 GB'],
      ['3042824 bytes', 3042824, '2.9 MB'],
      ['unlimited', null, 'none'],
    ])('storedQuota(%s) is exactly the limit Nextcloud reports after setQuota of it', async (_label, bytes, kept) => {
      const { fake, client } = await start(version);
      fake.seedUser({ id: 'pat' });
      await client.setQuota('pat', bytes);
      expect(fake.users.get('pat')?.quota).toBe(kept);
      const reported = (await client.getUser('pat')).quota?.limitBytes;
      expect(client.storedQuota(bytes)).toBe(reported);
    });

    it('storedQuota differs from the request where Nextcloud rounds, and refuses what setQuota refuses', async () => {
      const { client } = await start(version);
      expect(client.storedQuota(1.25 * 1024 * GB)).toBe(Math.round(1.3 * 1024 * GB));
      expect(() => client.storedQuota(-1)).toThrow(/not a whole number of bytes/);
      expect(() => client.storedQuota(1.5)).toThrow(BackendError);
    });

    it('sets unlimited as none', async () => {
      const { fake, client } = await start(version);
      fake.seedUser({ id: 'pat', quota: '1 GB' });
      const result = await client.setQuota('pat', null);
      expect(fake.users.get('pat')?.quota).toBe('none');
      expect(result.summary).toBe('set the quota of pat on cloud to unlimited');
      expect((await client.getUser('pat')).quota?.limitBytes).toBeNull();
    });

    it('explains when the instance forbids unlimited quotas', async () => {
      const { fake, client } = await start(version, { allowUnlimitedQuota: false });
      fake.seedUser({ id: 'pat', quota: '1 GB' });
      const err = await failure(() => client.setQuota('pat', null));
      expect(err.code).toBe('invalid_input');
      expect(err.message).toMatch(/cloud forbids unlimited quotas.*ask for a size/);
      expect(fake.users.get('pat')?.quota).toBe('1 GB');
    });

    it('maps an invalid value refused with 101 to invalid_input quoting the server', async () => {
      const { fake, client } = await start(version);
      fake.seedUser({ id: 'pat' });
      const err = await failure(() => client.ocs('PUT', '/cloud/users/pat', { body: { key: 'quota', value: 'lots' } }));
      expect((err as OcsFailure).statuscode).toBe(101);
      expect((err as OcsFailure).ocsMessage).toBe('Invalid quota value: lots');
    });

    it('sends bytes, never a unit: Nextcloud reads "5 GiB" as 5 bytes and says OK', async () => {
      const { fake, client } = await start(version);
      fake.seedUser({ id: 'pat' });
      await client.ocs('PUT', '/cloud/users/pat', { body: { key: 'quota', value: '5 GiB' } });
      expect(fake.users.get('pat')?.quota).toBe('5 B');
      await client.setQuota('pat', 5 * GB);
      expect((await client.getUser('pat')).quota?.limitBytes).toBe(5 * GB);
      expect(fake.users.get('pat')?.quota).toBe('5 GB');
    });

    it('maps a missing user to not_found', async () => {
      const { client } = await start(version);
      const err = await failure(() => client.setQuota('ghost', GB));
      expect(err.code).toBe('not_found');
      expect(err.message).toMatch(/^user 'ghost' does not exist on cloud/);
    });

    it('refuses a fractional quota before any call', async () => {
      const { fake, client } = await start(version);
      const err = await failure(() => client.setQuota('pat', 1.5));
      expect(err.code).toBe('invalid_input');
      expect(fake.requests).toHaveLength(0);
    });

    it('turns the 51st edit in 10 minutes (429, empty body, no Retry-After) into rate_limited, one call', async () => {
      let now = 1_000_000;
      const { fake, client } = await start(version, { now: () => now });
      fake.seedUser({ id: 'quinn' });
      for (let i = 1; i <= 50; i++) await client.setQuota('quinn', i * GB);
      const before = callsTo(fake, 'editUser');
      const err = await failure(() => client.setQuota('quinn', 51 * GB));
      expect(callsTo(fake, 'editUser') - before).toBe(1);
      expect(err.code).toBe('rate_limited');
      expect(err.retryable).toBe(true);
      expect(err.retryAfterMs).toBe(600_000);
      expect(err.message).toMatch(/allows admin account 'admin' 50 user edits per 10 minutes/);
      // Nothing retries on its own: the message tells the approver to press Retry, and the Nextcloud admin how to lift
      // it.
      expect(err.message).toMatch(
        /Nothing retries it automatically: an approver can press Retry once 10 minutes have passed/,
      );
      expect(err.message).toContain("'ratelimit.protection.enabled' => false in config.php");
      expect(err.message).not.toMatch(/will be tried again/);
      now += 600_001;
      await client.setQuota('quinn', 51 * GB);
      expect(fake.users.get('quinn')?.quota).toBe('51 GB');
    });

    it('confirms a quota edit whose answer was lost by reading it back', async () => {
      const { fake, client } = await start(version);
      fake.seedUser({ id: 'rita' });
      fake.failNext('editUser', 'reset-after-work');
      const result = await client.setQuota('rita', 2 * GB);
      expect(result.summary).toBe('set the quota of rita on cloud to 2 GB');
      expect(callsTo(fake, 'editUser')).toBe(1);
    });

    it('reports a 500 on the edit as unavailable when the read-back shows nothing changed', async () => {
      const { fake, client } = await start(version);
      fake.seedUser({ id: 'rita' });
      fake.failNext('editUser', 'server-error');
      const err = await failure(() => client.setQuota('rita', 2 * GB));
      expect(err.code).toBe('unavailable');
      expect(err.message).toMatch(/internal error \(HTTP 500\): "Internal Server Error/);
      expect(callsTo(fake, 'editUser')).toBe(1); // a write is never sent twice
    });
  });

  describe('disable / enable', () => {
    it('disables and enables with one call each', async () => {
      const { fake, client } = await start(version);
      fake.seedUser({ id: 'sam' });
      expect(await client.disableUser('sam')).toEqual({ summary: 'disabled sam on cloud' });
      expect(fake.users.get('sam')?.enabled).toBe(false);
      expect(await client.enableUser('sam')).toEqual({ summary: 'enabled sam on cloud' });
      expect(fake.users.get('sam')?.enabled).toBe(true);
      expect(fake.requests.map((r) => r.route)).toEqual(['disableUser', 'enableUser']);
    });

    it('maps 101 for a missing user to not_found', async () => {
      const { client } = await start(version);
      const err = await failure(() => client.disableUser('ghost'));
      expect(err.code).toBe('not_found');
      expect(err.message).toBe("user 'ghost' does not exist on cloud");
    });

    it('refuses to disable its own admin account before any call', async () => {
      const { fake, client } = await start(version);
      const err = await failure(() => client.disableUser('Admin'));
      expect(err.code).toBe('invalid_input');
      expect(fake.requests).toHaveLength(0);
    });
  });

  describe('deleteUser', () => {
    it('deletes and reports the user gone', async () => {
      const { fake, client } = await start(version);
      fake.seedUser({ id: 'tom' });
      expect(await client.deleteUser('tom')).toEqual({
        summary: 'deleted tom from cloud with all their files',
        after: { userId: 'tom', exists: false },
      });
      expect(fake.users.has('tom')).toBe(false);
    });
    it('maps 998 to not_found, keeping the server code (HTTP 404 on v2, 200 on v1)', async () => {
      const { client } = await start(version);
      const err = await failure(() => client.deleteUser('ghost'));
      expect([err.code, err.remoteCode, err.status]).toEqual(['not_found', 998, version === 'v2' ? 404 : 200]);
    });
    it('confirms a delete whose answer was lost', async () => {
      const { fake, client } = await start(version);
      fake.seedUser({ id: 'tom' });
      fake.failNext('deleteUser', 'reset-after-work');
      expect((await client.deleteUser('tom')).after).toEqual({ userId: 'tom', exists: false });
    });
  });

  describe('groups', () => {
    it('adds to and removes from a group', async () => {
      const { fake, client } = await start(version);
      fake.groups.add('staff');
      fake.seedUser({ id: 'uma' });
      await client.addToGroup('uma', 'staff');
      expect(fake.users.get('uma')?.groups).toEqual(['staff']);
      expect((await client.addToGroup('uma', 'staff')).summary).toBe('added uma to group staff on cloud');
      await client.removeFromGroup('uma', 'staff');
      expect(fake.users.get('uma')?.groups).toEqual([]);
      expect(callsTo(fake, 'getUser')).toBe(0);
    });
    it('maps 102 (group missing) and 103 (user missing) to not_found with the right subject', async () => {
      const { fake, client } = await start(version);
      fake.seedUser({ id: 'uma' });
      fake.groups.add('staff');
      expect((await failure(() => client.addToGroup('uma', 'ghosts'))).message).toBe(
        "group 'ghosts' does not exist on cloud: create it in Nextcloud first",
      );
      const err = await failure(() => client.removeFromGroup('ghost', 'staff'));
      expect([err.code, err.message]).toEqual(['not_found', "user 'ghost' does not exist on cloud"]);
    });
  });

  describe('resendInvite', () => {
    it('asks Nextcloud to mail a new invitation', async () => {
      const { fake, client } = await start(version);
      fake.seedUser({ id: 'vic', email: 'vic@example.com' });
      expect((await client.resendInvite('vic')).summary).toBe(
        'Nextcloud cloud sent vic a new invitation mail to vic@example.com',
      );
      expect(fake.mails).toEqual([{ to: 'vic@example.com', userId: 'vic' }]);
    });
    it('maps 101 (no email) and 102 (sending failed)', async () => {
      const { fake, client } = await start(version);
      fake.seedUser({ id: 'vic' });
      expect((await failure(() => client.resendInvite('vic'))).message).toMatch(/has no email address on cloud/);
      fake.users.get('vic')!.email = 'vic@example.com';
      fake.failNext('welcome', 'mail-fails');
      const err = await failure(() => client.resendInvite('vic'));
      expect([err.code, err.retryable]).toEqual(['unavailable', false]);
      expect(err.message).toMatch(/check Nextcloud's mail server settings/);
    });
  });

  describe('login and transport failures', () => {
    it('a wrong password costs exactly one request and names the env var, never the secret', async () => {
      const { fake, clientWith } = await start(version);
      const wrong = clientWith('wrong-secret-value');
      const err = await failure(() => wrong.getUser('alice'));
      expect([err.code, err.status, err.remoteCode]).toEqual(['auth_failed', 401, 997]);
      expect(err.retryable).toBe(false);
      expect(err.message).toMatch(/check the app password in NEXTCLOUD_APP_PASSWORD/);
      expect(err.message).not.toContain('wrong-secret-value');
      expect(JSON.stringify(err)).not.toContain('wrong-secret-value');
      expect(fake.requests).toHaveLength(1);
    });

    it('is not locked out by its own retries: ten failed calls, ten requests; the right password works', async () => {
      const { fake, client, clientWith } = await start(version);
      const wrong = clientWith('wrong-secret-value');
      for (let i = 0; i < 10; i++) await failure(() => wrong.setQuota('admin', GB));
      expect(fake.requests).toHaveLength(10);
      expect((await client.getUser('admin')).exists).toBe(true);
    });

    it('after the brute-force lockout, says the address is blocked for up to 30 minutes, does not retry', async () => {
      const { fake, client, clientWith } = await start(version, { bruteForceAfter: 3 });
      const wrong = clientWith('wrong-secret-value');
      for (let i = 0; i < 3; i++) await failure(() => wrong.getUser('alice'));
      const before = fake.requests.length;
      const err = await failure(() => client.getUser('alice'));
      expect(fake.requests.length - before).toBe(1);
      expect(err.code).toBe('locked_out');
      expect(err.message).toMatch(
        /blocking AccountDesk's address .* up to 30 minutes.*NEXTCLOUD_APP_PASSWORD.*occ security:bruteforce:reset/,
      );
    });

    it('explains a 412 CSRF failure as a proxy stripping OCS-APIRequest', async () => {
      const { fake, client } = await start(version);
      fake.addRoute((req) => {
        delete req.headers['ocs-apirequest']; // what a misconfigured proxy does
        return false;
      });
      const err = await failure(() => client.getUser('alice'));
      expect([err.code, err.status]).toEqual(['protocol', 412]);
      expect(err.message).toMatch(/strips the OCS-APIRequest header/);
    });

    it('reports the 503 maintenance page as unavailable after the bounded retries of a read', async () => {
      const { fake, client, sleeps } = await start(version);
      fake.failNext('getUser', 'maintenance', { times: 3 });
      const err = await failure(() => client.getUser('alice'));
      expect(err.code).toBe('unavailable');
      expect(err.retryable).toBe(true);
      expect(err.message).toMatch(/in maintenance mode \(HTTP 503\)/);
      expect(callsTo(fake, 'getUser')).toBe(3);
      expect(sleeps).toEqual([250, 500]);
    });

    it('recovers when maintenance ends within the retries', async () => {
      const { fake, client } = await start(version);
      fake.seedUser({ id: 'alice' });
      fake.failNext('getUser', 'maintenance');
      expect((await client.getUser('alice')).exists).toBe(true);
    });

    it('reports a non-JSON answer as a protocol error quoting at most ~200 characters', async () => {
      const { fake, client } = await start(version);
      fake.failNext('getUser', 'not-json');
      const err = await failure(() => client.getUser('alice'));
      expect(err.code).toBe('protocol');
      const quoted = /: "(.*)"/.exec(err.message)?.[1] ?? '';
      expect(quoted.length).toBeGreaterThan(50);
      expect(quoted.length).toBeLessThanOrEqual(201);
      expect(err.message).not.toContain('<p>');
      expect(err.message).toMatch(/Check that its url is the Nextcloud base URL/);
    });

    it('says what to check when the API version is not served there', async () => {
      const { client } = await start(version, { apiVersions: version === 'v1' ? ['v2'] : ['v1'] });
      const err = await failure(() => client.getUser('alice'));
      expect([err.code, err.status]).toEqual(['protocol', 404]);
    });

    it('reports a dropped connection on a write as unavailable without sending it twice', async () => {
      const { fake, client } = await start(version);
      fake.seedUser({ id: 'wes' });
      fake.failNext('disableUser', 'reset');
      const err = await failure(() => client.disableUser('wes'));
      expect(err.code).toBe('unavailable');
      expect(callsTo(fake, 'disableUser')).toBe(1);
    });
  });

  describe('ocs() for other OCS routes', () => {
    it('returns the envelope data and throws OcsFailure with the server code', async () => {
      const { fake, client } = await start(version);
      fake.seedUser({ id: 'xena' });
      expect(await client.ocs('GET', '/cloud/users', { query: { search: 'xen' } })).toEqual({ users: ['xena'] });
      const err = await failure(() => client.ocs('POST', '/cloud/groups', { body: { groupid: 'admin' } }));
      expect(err).toBeInstanceOf(OcsFailure);
      expect((err as OcsFailure).statuscode).toBe(102);
      expect(err.status).toBe(version === 'v1' ? 200 : 400);
    });
  });
});

describe('isLostAnswer (shared by the Nextcloud and user_oidc clients)', () => {
  const ocs = (code: 'invalid_input' | 'unavailable' | 'not_found') =>
    new OcsFailure('cloud', code, 'x', {
      status: 200,
      statuscode: code === 'unavailable' ? 996 : 101,
      ocsMessage: 'x',
    });

  it('a failure stated in an OCS envelope is an answer, unless the server said it was unavailable', () => {
    expect(isLostAnswer(ocs('invalid_input'))).toBe(false);
    expect(isLostAnswer(ocs('not_found'))).toBe(false);
    expect(isLostAnswer(ocs('unavailable'))).toBe(true);
    // An error explained from an envelope carries it as its cause.
    expect(isLostAnswer(new BackendError('cloud', 'unknown', 'x', { cause: ocs('invalid_input') }))).toBe(false);
  });

  it('timeouts, 5xx, non-OCS answers and unexpected errors leave the outcome unknown', () => {
    expect(isLostAnswer(new BackendError('cloud', 'timeout', 'x'))).toBe(true);
    expect(isLostAnswer(new BackendError('cloud', 'unavailable', 'x', { status: 502 }))).toBe(true);
    expect(isLostAnswer(new BackendError('cloud', 'protocol', 'x', { status: 200 }))).toBe(true);
    expect(isLostAnswer(new TypeError('socket hang up'))).toBe(true);
  });

  it('refusals before any work (401, 403, 412 CSRF, 429) are not lost answers', () => {
    for (const status of [401, 403, 412, 429]) {
      expect(isLostAnswer(new BackendError('cloud', 'protocol', 'x', { status }))).toBe(false);
    }
  });
});
