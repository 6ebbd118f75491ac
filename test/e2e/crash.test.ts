/**
 * SIGKILL while a change is being applied (docs/architecture.md#crash-recovery: a request left applying is reconciled
 * by reading the backend, never by running the call again blindly). AccountDesk runs as a child
 * process against fakes that live in the test process; the test kills it mid-call and starts another.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { AccountRequest } from '../../src/requests/types.js';
import { openStore, type Store } from '../../src/store/index.js';
import { startFakeNextcloud, type FakeNextcloud } from '../fakes/nextcloud.js';
import { freePort } from '../support/net.js';
import { poll } from './harness.js';
import { createSignedSlackClient } from '../support/slack-client.js';
import { startFakeSlack, visibleText, type FakeSlack } from '../support/slack-fake.js';

const SIGNING_SECRET = 'crash-signing-secret-0123456789abcd';
const NC_PASSWORD = 'nc-crash-app-password-4f3e2d';
const REQUESTER = 'U0REQUEST1';
const APPROVER = 'U0APPROVER1';
const GiB = 1024 ** 3;

let dir: string;
let slack: FakeSlack;
let nextcloud: FakeNextcloud;
let store: Store;
const children: ChildProcess[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'accountdesk-crash-'));
  slack = await startFakeSlack();
  nextcloud = await startFakeNextcloud({ adminUser: 'admin', adminPassword: NC_PASSWORD });
  nextcloud.seedUser({ id: 'alice', email: 'alice@example.com', quota: String(10 * GiB) });
  writeFileSync(
    join(dir, 'accountdesk.yaml'),
    stringify({
      slack: { command: '/account', approvalsChannel: 'C0APPROVALS', auditChannel: 'C0AUDITLOG' },
      approvers: { users: [APPROVER] },
      backends: {
        cloud: { kind: 'nextcloud', url: nextcloud.url, user: 'admin', secretEnv: 'NC_PASSWORD', apiVersion: 'v2' },
      },
    }),
  );
  store = await openStore(`sqlite://${join(dir, 'store.sqlite')}`);
});

afterEach(async () => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await store.close();
  await Promise.all([slack.close(), nextcloud.close()]);
  rmSync(dir, { recursive: true, force: true });
});

/** Starts AccountDesk as a process; resolves with its signed client once it logs that it is ready. */
async function startProcess() {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./child-app.ts', import.meta.url))],
    {
      env: {
        PATH: process.env.PATH,
        SLACK_BOT_TOKEN: slack.token,
        SLACK_MODE: 'http',
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: slack.apiUrl,
        PORT: String(port),
        CONFIG_FILE: join(dir, 'accountdesk.yaml'),
        STORE_URL: `sqlite://${join(dir, 'store.sqlite')}`,
        NC_PASSWORD,
        TEST_INSTANCE_TTL_MS: '1000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let output = '';
  child.stdout.on('data', (chunk) => (output += String(chunk)));
  child.stderr.on('data', (chunk) => (output += String(chunk)));
  await poll(
    () => {
      if (child.exitCode !== null) throw new Error(`AccountDesk exited: ${output}`);
      return output.includes('AccountDesk is ready') || undefined;
    },
    () => `AccountDesk did not get ready: ${output}`,
    20_000,
  );
  return {
    child,
    client: createSignedSlackClient({
      url: `http://127.0.0.1:${port}/slack/events`,
      signingSecret: SIGNING_SECRET,
      slack,
    }),
    output: () => output,
  };
}

async function ask(client: ReturnType<typeof createSignedSlackClient>, text: string): Promise<string> {
  const responseUrl = slack.newResponseUrl({ userId: REQUESTER, channelId: 'C0GENERAL' });
  await client.slashCommand({ command: '/account', text, userId: REQUESTER, channelId: 'C0GENERAL', responseUrl });
  const receipt = await slack.waitFor(() => slack.responsesAt(responseUrl)[0], 10_000);
  return /AD-[2-9A-HJKMNP-Z]{6}/.exec(visibleText(receipt.body))![0];
}

/** Clicks a button on the approval card of `id` (a click must come from its own card). */
async function click(client: ReturnType<typeof createSignedSlackClient>, actionId: string, id: string) {
  const card = await slack.waitFor(
    () => slack.messagesIn('C0APPROVALS').find((m) => visibleText(m).includes(`Account request ${id}`)),
    10_000,
  );
  return client.blockAction({
    userId: APPROVER,
    actionId,
    value: id,
    message: { ts: card.ts, channel: 'C0APPROVALS' },
    responseUrl: slack.newResponseUrl({ userId: APPROVER, channelId: 'C0APPROVALS', messageTs: card.ts }),
  });
}

async function stateOf(id: string): Promise<AccountRequest | undefined> {
  return store.records<AccountRequest>('requests', () => []).get(id);
}

/** Waits until request `id` is in `state` in the store, and returns it. */
function stateReached(
  id: string,
  state: AccountRequest['state'],
  failure: string,
  timeoutMs: number,
): Promise<AccountRequest> {
  return poll(
    async () => {
      const request = await stateOf(id);
      return request?.state === state ? request : undefined;
    },
    () => failure,
    timeoutMs,
  );
}

const quotaEdits = () => nextcloud.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/users/alice'));

describe('SIGKILL while applying', () => {
  it('the change reached the backend: the next process confirms it by reading, and never sends it again', async () => {
    const first = await startProcess();
    const id = await ask(first.client, 'quota cloud alice 50GB');
    nextcloud.failNext('editUser', 'timeout-after-work'); // Nextcloud does the edit; the answer never comes
    await click(first.client, 'request_approve', id);
    await poll(
      async () => ((await stateOf(id))?.state === 'applying' && quotaEdits().length === 1) || undefined,
      () => 'the apply never started',
      10_000,
    );
    first.child.kill('SIGKILL');

    const second = await startProcess();
    const applied = await stateReached(id, 'applied', 'the restarted process did not reconcile the request', 15_000);
    expect(applied.result?.summary).toMatch(/confirmed by reading cloud after AccountDesk restarted/);
    expect(quotaEdits()).toHaveLength(1); // read, never re-sent
    // The audit entry follows the state change (one step later): wait for it rather than race it.
    const audit = await poll(
      async () => {
        const entries = await store.audit.readAfter(0, 100);
        return entries.length >= 3 ? entries : undefined;
      },
      () => 'no audit entry for the recovered request',
      5_000,
    );
    expect(audit.map((e) => e.event)).toEqual(['requested', 'approved', 'applied']);
    expect(audit.at(-1)?.data).toMatchObject({ recovered: true });
    // The new process also tells Slack: the audit line arrives.
    await slack.waitFor(() => slack.messagesIn('C0AUDITLOG').find((m) => m.text.includes('applied')), 10_000);
    second.child.kill('SIGTERM');
  });

  it('the change never reached the backend: the request fails with words, and Retry applies it once', async () => {
    const first = await startProcess();
    const id = await ask(first.client, 'quota cloud alice 50GB');
    nextcloud.failNext('editUser', 'hang'); // the request is lost before Nextcloud does anything
    await click(first.client, 'request_approve', id);
    await poll(
      async () => ((await stateOf(id))?.state === 'applying' && quotaEdits().length === 1) || undefined,
      () => 'the apply never started',
      10_000,
    );
    first.child.kill('SIGKILL');

    const second = await startProcess();
    const failed = await stateReached(id, 'failed', 'the restarted process did not reconcile the request', 15_000);
    expect(failed.error?.message).toMatch(
      /AccountDesk stopped while applying this, and cloud does not show the change in place. Retry to apply it./,
    );
    expect(nextcloud.users.get('alice')?.quota).not.toBe(String(50 * GiB));

    await click(second.client, 'request_retry', id);
    const applied = await stateReached(id, 'applied', 'Retry did not apply the request', 10_000);
    expect(applied.attempts).toBe(2);
    expect(quotaEdits()).toHaveLength(2); // the lost one, and the Retry
    second.child.kill('SIGTERM');
  });
});
