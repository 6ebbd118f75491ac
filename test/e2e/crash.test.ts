/**
 * SIGKILL while a change is being applied (docs/architecture.md#crash-recovery: a request left applying is reconciled
 * by reading the backend, never by running the call again blindly). AccountDesk runs as a child
 * process against fakes that live in the test process; the test kills it mid-call and starts another.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { AccountRequest } from '../../src/requests/types.js';
import { openStore, type Store } from '../../src/store/index.js';
import { startFakeNextcloud, type FakeNextcloud } from '../fakes/nextcloud.js';
import { startChildApp } from './child-process.js';
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
/** A second Nextcloud, so an onboarding is a plan of two steps on two servers. */
let archive: FakeNextcloud;
let store: Store;
const children: ChildProcess[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'accountdesk-crash-'));
  slack = await startFakeSlack();
  nextcloud = await startFakeNextcloud({ adminUser: 'admin', adminPassword: NC_PASSWORD });
  nextcloud.seedUser({ id: 'alice', email: 'alice@example.com', quota: String(10 * GiB) });
  archive = await startFakeNextcloud({ adminUser: 'admin', adminPassword: NC_PASSWORD });
  writeFileSync(
    join(dir, 'accountdesk.yaml'),
    stringify({
      slack: { command: '/account', approvalsChannel: 'C0APPROVALS', auditChannel: 'C0AUDITLOG' },
      approvers: { users: [APPROVER] },
      backends: {
        cloud: { kind: 'nextcloud', url: nextcloud.url, user: 'admin', secretEnv: 'NC_PASSWORD', apiVersion: 'v2' },
        archive: { kind: 'nextcloud', url: archive.url, user: 'admin', secretEnv: 'NC_PASSWORD', apiVersion: 'v1' },
      },
      profiles: { staff: { cloud: { quota: '10GB' }, archive: { quota: '1GB' } } },
    }),
  );
  store = await openStore(`sqlite://${join(dir, 'store.sqlite')}`);
});

afterEach(async () => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await store.close();
  await Promise.all([slack.close(), nextcloud.close(), archive.close()]);
  rmSync(dir, { recursive: true, force: true });
});

/** Every audit entry that has a line (not the bookkeeping `previewed`) is in the audit channel, in order. */
async function expectEveryEntryPosted(): Promise<void> {
  const wanted = (await store.audit.readAfter(0, 100)).filter((e) => e.event !== 'previewed').map((e) => e.seq);
  const posted = () => slack.messagesIn('C0AUDITLOG').map((m) => Number(/· #(\d+)$/.exec(m.text)?.[1]));
  await slack.waitFor(() => wanted.every((seq) => posted().includes(seq)) || undefined, 10_000);
  const firsts = [...new Set(posted())];
  expect(firsts).toEqual(wanted);
}

/** Starts AccountDesk as a process; resolves with its signed client once it logs that it is ready. */
function startProcess(extraEnv: Record<string, string> = {}) {
  return startChildApp({ slack, signingSecret: SIGNING_SECRET, dir, ncPassword: NC_PASSWORD, children, extraEnv });
}

async function ask(client: ReturnType<typeof createSignedSlackClient>, text: string): Promise<string> {
  const responseUrl = slack.newResponseUrl({ userId: REQUESTER, channelId: 'C0GENERAL' });
  await client.slashCommand({ command: '/account', text, userId: REQUESTER, channelId: 'C0GENERAL', responseUrl });
  const receipt = await slack.waitFor(() => slack.responsesAt(responseUrl)[0], 10_000);
  return /AD-[2-9A-HJKMNP-Z]{6}/.exec(visibleText(receipt.body))![0];
}

/**
 * Clicks a button on the approval card of `id` (a click must come from its own card: the one the Slack layer
 * recorded). A kill between Slack's answer to chat.postMessage and the store's record of it leaves that first card
 * unrecorded, and the restarted process posts the card again (at least once, like every outbox post): the card to
 * click is the recorded one.
 */
async function click(client: ReturnType<typeof createSignedSlackClient>, actionId: string, id: string) {
  const cards = store.records<{ id: string; version: number; ref: string }>('cards', () => []);
  const ref = await poll(
    async () => (await cards.get(id))?.ref,
    () => `no card recorded for ${id}`,
    10_000,
  );
  const card = await slack.waitFor(() => slack.messagesIn('C0APPROVALS').find((m) => ref.endsWith(`/${m.ts}`)), 10_000);
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

describe('SIGKILL while applying', { timeout: 60_000 }, () => {
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
    expect(applied.steps[0]?.result?.summary).toMatch(/confirmed by reading cloud after AccountDesk restarted/);
    expect(quotaEdits()).toHaveLength(1); // read, never re-sent
    // The audit entry follows the state change (one step later): wait for it rather than race it.
    const audit = await poll(
      async () => {
        const entries = (await store.audit.readAfter(0, 100)).filter((e) => e.event !== 'previewed');
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
    expect(failed.steps[0]?.error?.message).toMatch(
      /AccountDesk stopped while applying this, and cloud does not show the change in place. Retry to apply it./,
    );
    expect(nextcloud.users.get('alice')?.quota).not.toBe(String(50 * GiB));

    await click(second.client, 'request_retry', id);
    const applied = await stateReached(id, 'applied', 'Retry did not apply the request', 10_000);
    expect(applied.steps[0]?.attempts).toBe(2);
    expect(quotaEdits()).toHaveLength(2); // the lost one, and the Retry
    second.child.kill('SIGTERM');
  });
});

/**
 * Starts AccountDesk set to SIGKILL itself right after its `n`th request commit, asks `text`, approves once every
 * step has its preview, and lets it run until it dies or finishes. Then starts a second process on the same store
 * and drives the request to its end there: approves it if the first process died before the vote, and Retries a
 * step that was cut off between its claim and its call (read back, found not done, reported "interrupted").
 * Resolves with whether the first process was killed, the second process, and the final request (undefined when
 * the kill came before the request was stored).
 */
async function killAfterCommitAndFinish(n: number, text: string) {
  const first = await startProcess({ TEST_KILL_AFTER_REQUEST_COMMIT: String(n) });
  const exited = new Promise<void>((resolve) => first.child.once('exit', () => resolve()));
  const dead = () => first.child.exitCode !== null || first.child.signalCode !== null;
  const responseUrl = slack.newResponseUrl({ userId: REQUESTER, channelId: 'C0GENERAL' });
  await first.client
    .slashCommand({ command: '/account', text, userId: REQUESTER, channelId: 'C0GENERAL', responseUrl })
    .catch(() => undefined); // the kill may cut the answer off
  const requests = store.records<AccountRequest>('requests', () => [`requester:${REQUESTER}`]);
  const stored = () => requests.listByIndex(`requester:${REQUESTER}`).then((all) => all[0]);
  const previewed = async () => (await stored())?.steps.every((s) => s.preview !== undefined) ?? false;
  // Approve once the card is up (the first process may already be gone: the second one will get the click).
  const id = await poll(
    async () => (await stored())?.id ?? (dead() ? 'none' : undefined),
    () => 'nothing stored',
    10_000,
  );
  if (id !== 'none' && !dead()) {
    await poll(
      async () => dead() || (await previewed()) || undefined,
      () => 'no preview',
      10_000,
    );
    if (!dead()) await click(first.client, 'request_approve', id).catch(() => undefined);
  }
  await Promise.race([exited, stateReached(id, 'applied', 'never applied', 15_000).catch(() => undefined)]);
  const killed = dead();
  if (!killed) first.child.kill('SIGTERM');
  await exited;

  const second = await startProcess();
  const before = await stored();
  if (!before) return { killed, second, request: undefined };
  if (before.state === 'pending') {
    await poll(
      async () => (await previewed()) || undefined,
      () => 'no preview',
      10_000,
    );
    await click(second.client, 'request_approve', before.id);
  }
  const settled = await poll(
    async () => {
      const now = await stored();
      return now && ['applied', 'failed', 'partly_applied'].includes(now.state) ? now : undefined;
    },
    () => 'the restarted process did not finish the request',
    20_000,
  );
  if (settled.state === 'applied') return { killed, second, request: settled };
  expect(settled.steps.filter((s) => s.state === 'failed').map((s) => s.error?.code)).toEqual(['interrupted']);
  await click(second.client, 'request_retry', settled.id);
  return { killed, second, request: await stateReached(settled.id, 'applied', 'Retry did not finish it', 10_000) };
}

/**
 * A state change and its audit entry are one commit (docs/architecture.md "Crash consistency"). Killing the
 * process right after each commit of a request's life in turn (stored, previewed, approved, claimed, applied)
 * must never leave the store ahead of its audit log: after a restart the request finishes, the change reaches the
 * backend exactly once, and the log, the audit channel, the card and the DM all tell the same story.
 */
describe('SIGKILL right after each commit of a request', { timeout: 60_000 }, () => {
  it.each([1, 2, 3, 4, 5])('killed after request commit %i: finishes once, and the log tells it all', async (n) => {
    const { killed, second, request } = await killAfterCommitAndFinish(n, 'quota cloud alice 50GB');
    if (!request) {
      // Killed before the request was stored: nothing is half done; the requester simply asks again.
      expect(await store.audit.readAfter(0, 10)).toEqual([]);
      second.child.kill('SIGTERM');
      return;
    }
    expect(quotaEdits()).toHaveLength(1); // exactly once on the backend
    expect(nextcloud.users.get('alice')?.quota).toMatch(/^(50 GB|53687091200)$/);
    const events = (await store.audit.readAfter(0, 100)).filter((e) => e.event !== 'previewed').map((e) => e.event);
    expect(['requested,approved,applied', 'requested,approved,failed,retried,applied']).toContain(events.join(','));
    expect(await store.audit.verify()).toMatchObject({ ok: true });
    // Slack hears every line, in order, and the requester ends on "applied".
    await slack.waitFor(() => slack.messagesIn('C0AUDITLOG').find((m) => m.text.includes('*applied*')), 10_000);
    // A kill between Slack accepting a line and the cursor moving past it posts that one line again (Slack has no
    // idempotency key: at least once, never lost).
    await expectEveryEntryPosted();
    await slack.waitFor(() => slack.dmsTo(REQUESTER).find((m) => visibleText(m).includes('Done')), 10_000);
    second.child.kill('SIGTERM');
    expect(killed || n > 4).toBe(true);
  });
});

/**
 * The same for a plan of two steps (an onboarding on two Nextclouds): killed between the steps or inside one, the
 * restarted process finishes it with each account created exactly once, and every step logged once.
 */
describe('SIGKILL right after each commit of a two-step plan', { timeout: 60_000 }, () => {
  const creates = () => ({
    cloud: nextcloud.requests.filter((r) => r.route === 'createUser').length,
    archive: archive.requests.filter((r) => r.route === 'createUser').length,
  });

  it.each([1, 2, 3, 4, 5, 6, 7])('killed after request commit %i: each account created once', async (n) => {
    const { second, request } = await killAfterCommitAndFinish(n, 'onboard dana dana@example.com profile:staff');
    if (!request) {
      expect(await store.audit.readAfter(0, 10)).toEqual([]);
      second.child.kill('SIGTERM');
      return;
    }
    expect(creates()).toEqual({ cloud: 1, archive: 1 });
    expect(nextcloud.users.has('dana') && archive.users.has('dana')).toBe(true);
    const events = (await store.audit.readAfter(0, 100)).filter((e) => e.event !== 'previewed').map((e) => e.event);
    expect(events.slice(0, 2)).toEqual(['requested', 'approved']);
    expect(events.filter((e) => e === 'step-applied')).toHaveLength(2);
    expect(events.at(-1)).toBe('applied');
    expect(await store.audit.verify()).toMatchObject({ ok: true });
    await slack.waitFor(() => slack.messagesIn('C0AUDITLOG').find((m) => m.text.includes('*applied*')), 10_000);
    await expectEveryEntryPosted();
    second.child.kill('SIGTERM');
  });
});
