/**
 * Batches (issue 9): `/account batch`, a CSV pasted or attached, one card and one approval for every row, the rows
 * applied by the engine's paced queue, Nextcloud's limit on user edits waited out (never a failed row), live
 * progress on the card, Pause / Resume / Cancel, and the results and a CSV report in the card's thread.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { AccountRequest } from '../../src/requests/types.js';
import { openStore, type Store } from '../../src/store/index.js';
import { startFakeNextcloud, type FakeNextcloud } from '../fakes/nextcloud.js';
import { startChildApp } from './child-process.js';
import { startFakeSlack, visibleText, type FakeSlack, type FakeView } from '../support/slack-fake.js';
import { APPROVALS, APPROVER, APPROVER2, REQUESTER, poll, requestIdIn, startDesk, type Desk } from './harness.js';

/** Types `/account batch` and returns the form the app opened. */
async function openBatchForm(desk: Desk, user = REQUESTER): Promise<FakeView> {
  const before = desk.slack.viewsOpenedFor(user).filter((v) => v.view.callback_id === 'batch_modal').length;
  const result = await desk.client.slashCommand({
    command: '/account',
    text: 'batch',
    userId: user,
    channelId: 'C0GENERAL',
    responseUrl: desk.slack.newResponseUrl({ userId: user, channelId: 'C0GENERAL' }),
    triggerId: desk.slack.issueTriggerId(user),
  });
  expect(result.status).toBe(200);
  return desk.waitForModal(user, 'batch_modal', before);
}

interface BatchForm {
  backend?: string;
  action: string;
  /** The form's profile, for onboarding rows without a profile column. */
  profile?: string;
  csv?: string;
  fileId?: string;
  skipInvalid?: boolean;
  reason?: string;
}

/** Submits the batch form as the requester would fill it in; returns Slack's answer to the submission. */
async function submitBatch(desk: Desk, form: BatchForm, user = REQUESTER) {
  const view = await openBatchForm(desk, user);
  const answer = (await desk.submitView(user, 'batch_modal', String(view.view.private_metadata), {
    batch_backend: { value: { selectedOption: form.backend ?? 'cloud' } },
    batch_action: { value: { selectedOption: form.action } },
    ...(form.profile ? { batch_profile: { value: { selectedOption: form.profile } } } : {}),
    batch_csv: { value: form.csv ?? '' },
    batch_file: {
      value: { raw: { type: 'file_input', files: form.fileId ? [{ id: form.fileId, name: 'rows.csv' }] : [] } },
    },
    batch_skip_invalid: {
      value: {
        raw: {
          type: 'checkboxes',
          selected_options: form.skipInvalid ? [{ value: 'skip', text: { type: 'plain_text', text: 'skip' } }] : [],
        },
      },
    },
    batch_reason: { value: form.reason ?? 'migration' },
  })) as { response_action?: string; errors?: Record<string, string> } | undefined;
  return answer ?? {};
}

/** The receipt the requester got for the newest batch (an ephemeral in the channel where they typed). */
async function receipt(desk: Desk, user = REQUESTER): Promise<string> {
  return desk.slack.waitFor(
    () => desk.slack.ephemeralsFor(user).findLast((e) => e.text.includes('is in:'))?.text,
    5_000,
  );
}

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const count = (request: AccountRequest, state: string) => request.steps.filter((s) => s.state === state).length;

describe('batches', () => {
  let desk: Desk;
  afterEach(async () => {
    await desk.stop();
  });

  it('invalid rows come back with their line numbers; the valid ones can be submitted alone', async () => {
    desk = await startDesk();
    const csv = [
      'username,email,quota',
      'ann,ann@example.com,10GB',
      'bad/name,bob@example.com,10GB',
      'cy,not-an-email,10GB',
      '',
      'dee,dee@example.com,lots',
      'ann,ann2@example.com,5GB',
      'eve,eve@example.com,1.5 TB',
    ].join('\n');
    const refused = await submitBatch(desk, { action: 'create', csv });
    expect(refused.response_action).toBe('errors');
    const why = refused.errors?.batch_csv ?? '';
    expect(why).toContain('2 rows are valid, 4 are not');
    expect(why).toMatch(/line 3: The username "bad\/name"/);
    expect(why).toMatch(/line 4: "not-an-email" is not an email address/);
    expect(why).toMatch(/line 6: .*lots/);
    expect(why).toMatch(/line 7: ann is already on line 2/);
    expect(why).toContain('Submit only the valid rows');
    expect(desk.slack.messagesIn(APPROVALS)).toHaveLength(0);

    expect((await submitBatch(desk, { action: 'create', csv, skipInvalid: true })).response_action).toBeUndefined();
    const text = await receipt(desk);
    expect(text).toContain('create 2 accounts (batch)');
    expect(text).toMatch(/Left out \(4 invalid rows\)/);
    expect(text).toContain('line 3:');
    const id = requestIdIn(text);
    const card = await desk.card(id);
    expect(card).toContain('asks to *create 2 accounts (batch)* on *cloud* (nextcloud)');
    expect(card).toMatch(/\*Quota:\* \S+ TB in total over 2 rows/);
    expect(card).toContain('line 2: create ann');
    expect(card).toContain('line 8: create eve');
    expect(card).toContain('4 invalid rows of the CSV were left out');
    // The full list is in the card's thread.
    const thread = desk.slack.messagesIn(APPROVALS).filter((m) => m.threadTs === desk.cardMessage(id)!.ts);
    expect(thread.map((m) => m.text).join('\n')).toMatch(/All 2 rows of AD-.*\n.*line 2: create ann[\s\S]*line 8/);
    // No backend was touched before an approval.
    expect(desk.nextcloud.requests.filter((r) => r.method !== 'GET')).toHaveLength(0);
  });

  it(
    'onboarding 3 people with a profile on two backends: a bad profile row comes back with its line; one card, ' +
      'one approval (at least policy.onboard), each account created once',
    async () => {
      desk = await startDesk({
        policy: { onboard: { approvals: 2 } },
        editConfig: (config) => {
          config['profiles'] = {
            ...(config['profiles'] as object),
            interns: { cloud: { groups: ['staff'], quota: '1GB' }, sso: { quota: '1GB' } },
          };
        },
      });
      desk.nextcloud.groups.add('staff');
      const form = await openBatchForm(desk);
      expect(JSON.stringify(form.view.blocks)).toContain('Onboard people (accounts from a profile)');
      const csv = [
        'username,email,profile',
        'kim,kim@example.com,interns',
        'lou,lou@example.com,',
        'max,max@example.com,interns',
        'ned,ned@example.com,contractors',
      ].join('\n');
      // Onboarding needs no backend: the profile names them; the form's profile covers line 3.
      const refused = await submitBatch(desk, { backend: '', action: 'onboard', profile: 'interns', csv });
      expect(refused.errors?.batch_csv).toContain('3 rows are valid, 1 are not');
      expect(refused.errors?.batch_csv).toContain(
        'line 5: There is no profile named "contractors". Known: staff, interns.',
      );
      const quotaColumn = await submitBatch(desk, { action: 'onboard', csv: 'username,quota\nkim,1GB' });
      expect(quotaColumn.errors?.batch_csv).toMatch(/names quota: an onboarding takes them from the profile/);

      const accepted = await submitBatch(desk, { action: 'onboard', profile: 'interns', csv, skipInvalid: true });
      expect(accepted.response_action).toBeUndefined();
      const text = await receipt(desk);
      expect(text).toContain('onboard 3 people, 6 accounts (batch)');
      expect(text).toContain('line 5: There is no profile named "contractors"');
      const id = requestIdIn(text);
      const card = await desk.card(id);
      expect(card).toContain('asks to *onboard 3 people, 6 accounts (batch)* on *cloud*, *sso*');
      expect(card).toContain('*Profiles:* interns');
      expect(card).toContain('line 3: sso: create lou');
      // policy.onboard asks for 2 approvals; a batch alone would need 1.
      expect(card).toContain('approvals 0 of 2');
      expect(desk.slack.messagesIn(APPROVALS).filter((m) => !m.threadTs)).toHaveLength(1);

      await desk.click(APPROVER, 'request_approve', id);
      expect((await desk.request(id)).state).toBe('pending');
      await desk.click(APPROVER2, 'request_approve', id);
      const done = await desk.waitForState(id, 'applied', 'failed', 'partly_applied');
      expect(done.state).toBe('applied');
      expect(count(done, 'applied')).toBe(6);
      for (const name of ['kim', 'lou', 'max']) {
        expect(desk.nextcloud.users.get(name)).toMatchObject({ email: `${name}@example.com`, groups: ['staff'] });
        expect(desk.nmc.users.has(name)).toBe(true);
      }
      expect(desk.nextcloud.users.has('ned')).toBe(false);
      // Each account was created exactly once: one create call per person per backend.
      expect(desk.nextcloud.requests.filter((r) => r.route === 'createUser')).toHaveLength(3);
      expect(desk.nmc.requests.filter((r) => r.method === 'POST')).toHaveLength(3);
    },
  );

  it('a CSV with no username column, or no rows, is refused as a whole', async () => {
    desk = await startDesk();
    const noUser = await submitBatch(desk, { action: 'disable', csv: 'email\nann@example.com' });
    expect(noUser.errors?.batch_csv).toMatch(/at least "username"/);
    const empty = await submitBatch(desk, { action: 'disable', csv: 'username\n\n' });
    expect(empty.errors?.batch_csv).toMatch(/no rows/);
    const both = await submitBatch(desk, {
      action: 'disable',
      csv: 'username\nann',
      fileId: desk.slack.seedFile('x.csv', 'username\nbob').id,
    });
    expect(both.errors?.batch_csv).toMatch(/not both/);
  });

  it(
    '500 quota rows from a CSV file, against Nextcloud with its edit limit on: each row applied exactly once, the ' +
      'card shows progress and the wait, the thread gets the results and a CSV report',
    async () => {
      const windowMs = 1_000;
      desk = await startDesk({
        nextcloud: { editLimit: { calls: 50, windowMs } },
        editConfig: (config) => {
          config.backends.cloud.editLimitWindowMs = windowMs;
        },
        appOptions: { batchCardIntervalMs: 1_000 },
      });
      const rows = Array.from({ length: 500 }, (_, i) => `user${i},${(i % 5) + 1}GB`);
      for (let i = 0; i < 500; i++) desk.nextcloud.seedUser({ id: `user${i}`, email: `user${i}@example.com` });
      const file = desk.slack.seedFile('quotas.csv', ['username,quota', ...rows].join('\r\n') + '\r\n');

      expect((await submitBatch(desk, { action: 'quota', fileId: file.id })).response_action).toBeUndefined();
      const id = requestIdIn(await receipt(desk));
      const card = await desk.card(id);
      expect(card).toContain('set the quota of user0 to 1 GB');
      expect(card).toContain('…and 490 more in the thread');
      // 100 rows each of 1, 2, 3, 4 and 5 GB.
      expect(card).toMatch(/\*Quota:\* 1\.46 TB in total over 500 rows/);

      const started = Date.now();
      await desk.click(APPROVER, 'request_approve', id);
      // While it runs: the card says how far it is and that it waits for the rate limit.
      const waiting = await until(
        'the card shows the rate-limit wait',
        () => {
          const text = visibleText(desk.cardMessage(id)!);
          return /waiting for cloud's rate limit until/.test(text) ? text : undefined;
        },
        30_000,
      );
      expect(waiting).toMatch(/\d+\/500 applied/);
      expect(waiting).toContain('Pause');

      const done = await until(
        'the batch finishes',
        async () => {
          const r = await desk.request(id);
          return r.state === 'applied' ? r : undefined;
        },
        60_000,
      );
      const elapsed = Date.now() - started;
      expect(count(done, 'applied')).toBe(500);
      // Every row took exactly one attempt: a 429 gives the attempt back.
      expect(done.steps.every((s) => s.attempts === 1)).toBe(true);
      for (let i = 0; i < 500; i++) {
        expect(desk.nextcloud.users.get(`user${i}`)?.quota).toBe(`${(i % 5) + 1} GB`);
      }
      const edits = desk.nextcloud.requests.filter((r) => r.route === 'editUser');
      const accepted = edits.filter((r) => r.status === 200);
      expect(accepted).toHaveLength(500);
      expect(new Set(accepted.map((r) => r.path)).size).toBe(500);
      // The limit was hit (and waited out), not avoided by luck.
      expect(edits.some((r) => r.status === 429)).toBe(true);
      // 500 edits at 50 per window cannot take less than 9 windows.
      expect(elapsed).toBeGreaterThanOrEqual(9 * windowMs);

      await desk.waitForOutboxDrained(10_000);
      const final = visibleText(desk.cardMessage(id)!);
      expect(final).toContain('Applied');
      expect(final).toContain('500/500 applied');
      // Updated at most about once per second (the interval) while it ran, not once per row.
      expect(desk.cardMessage(id)!.edits).toBeLessThan(elapsed / 1_000 + 10);

      const cardTs = desk.cardMessage(id)!.ts;
      const thread = desk.slack
        .messagesIn(APPROVALS)
        .filter((m) => m.threadTs === cardTs)
        .map((m) => m.text);
      expect(thread.join('\n')).toContain(`Results of ${id}:* 500 applied`);
      // 500 rows are too many for thread messages: the full list came as a file when the card was posted.
      expect(thread[0]).toContain(`All 500 rows of ${id}* are in the file below`);
      const list = desk.slack.uploadedFiles().find((f) => f.name === `${id}-rows.csv`);
      expect(list?.content.trim().split('\r\n')).toHaveLength(501);
      const report = desk.slack.uploadedFiles().find((f) => f.name.startsWith(`${id}-report-`));
      expect(report).toMatchObject({ channel: APPROVALS, threadTs: cardTs });
      const lines = report!.content.trim().split('\r\n');
      expect(lines[0]).toBe('line,username,action,backend,outcome,attempts,detail');
      expect(lines).toHaveLength(501);
      expect(lines[1]).toMatch(/^2,user0,quota,cloud,applied,1,/);

      // The audit channel has the batch's own lines, not one per row; the log keeps every row.
      const audit = desk.auditLines();
      expect(audit.filter((l) => l.includes(id))).toHaveLength(3); // requested, approved, applied
      const logged = await desk.app.store.audit.readAfter(0, 100_000);
      expect(logged.filter((e) => e.subject === id && e.event === 'step-applied')).toHaveLength(500);
      expect(desk.dms(REQUESTER).join('\n')).toMatch(/Done: .*500 applied/);
    },
    90_000,
  );

  it('approvers pause, resume and cancel a running batch: applied rows stay, the rest are skipped', async () => {
    desk = await startDesk({
      nextcloud: { editLimit: { calls: 5, windowMs: 1_000 } },
      editConfig: (config) => {
        config.backends.cloud.editLimitWindowMs = 1_000;
      },
    });
    for (let i = 0; i < 40; i++) desk.nextcloud.seedUser({ id: `p${i}`, email: `p${i}@example.com` });
    const csv = ['username,quota', ...Array.from({ length: 40 }, (_, i) => `p${i},2GB`)].join('\n');
    await submitBatch(desk, { action: 'quota', csv });
    const id = requestIdIn(await receipt(desk));
    await desk.card(id);
    await desk.click(APPROVER, 'request_approve', id);
    await until(
      'some rows applied',
      async () => (count(await desk.request(id), 'applied') >= 5 ? true : undefined),
      5_000,
    );

    // Only approvers may stop a batch.
    expect(await desk.clickAnswer(REQUESTER, 'batch_pause', id)).toMatch(/Only approvers/);
    await desk.click(APPROVER, 'batch_pause', id);
    const paused = await desk.request(id);
    expect(paused.batch?.paused?.by).toBe(APPROVER);
    // Rows already at the backend finish; after that nothing moves.
    await new Promise((r) => setTimeout(r, 300));
    const frozen = count(await desk.request(id), 'applied');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(count(await desk.request(id), 'applied')).toBe(frozen);
    expect(frozen).toBeLessThan(40);
    await desk.waitForOutboxDrained();
    expect(visibleText(desk.cardMessage(id)!)).toMatch(/paused by <@U0APPROVER1>/);
    expect((await desk.cardParts(id)).buttons.map((b) => b.label)).toEqual(['Resume', 'Cancel the rest']);

    await desk.click(APPROVER, 'batch_resume', id);
    await until(
      'rows applied after resume',
      async () => (count(await desk.request(id), 'applied') > frozen ? true : undefined),
      5_000,
    );

    await desk.click(APPROVER, 'batch_cancel', id);
    const cancelled = await until(
      'the batch ends cancelled',
      async () => {
        const r = await desk.request(id);
        return r.state === 'cancelled' ? r : undefined;
      },
      5_000,
    );
    const applied = count(cancelled, 'applied');
    expect(applied).toBeGreaterThan(frozen);
    expect(applied + count(cancelled, 'skipped')).toBe(40);
    // The applied rows stay applied; the skipped ones were never sent.
    const set = [...desk.nextcloud.users.values()].filter((u) => u.id.startsWith('p') && u.quota === '2 GB');
    expect(set).toHaveLength(applied);
    await desk.waitForOutboxDrained();
    const audit = desk.auditLines().join('\n');
    expect(audit).toMatch(/\*paused\* by <@U0APPROVER1>/);
    expect(audit).toMatch(/\*resumed\* by <@U0APPROVER1>/);
    expect(audit).toMatch(/\*cancelled\* by <@U0APPROVER1>/);
    const card = visibleText(desk.cardMessage(id)!);
    expect(card).toContain('Cancelled');
    expect(card).toMatch(new RegExp(`${applied}/40 applied`));
    expect(card).toContain('applied rows stay');
  });
});

/**
 * Killed mid-batch (SIGKILL right after a store commit, as in crash.test.ts): the next process reconciles the row
 * that was at the backend by reading it, applies the rest, and no account is created twice.
 */
describe('a batch survives a crash', () => {
  const SIGNING_SECRET = 'batch-crash-signing-secret-0123456789';
  const NC_PASSWORD = 'nc-batch-crash-app-password';
  let dir: string;
  let slack: FakeSlack;
  let nextcloud: FakeNextcloud;
  let store: Store;
  const children: ChildProcess[] = [];

  afterEach(async () => {
    for (const child of children.splice(0))
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await store.close();
    await Promise.all([slack.close(), nextcloud.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  function startProcess(extraEnv: Record<string, string> = {}) {
    return startChildApp({ slack, signingSecret: SIGNING_SECRET, dir, ncPassword: NC_PASSWORD, children, extraEnv });
  }

  const killed = 'killed after its 30th request commit: the next process finishes the batch, each account created once';
  it(
    killed,
    async () => {
      dir = mkdtempSync(join(tmpdir(), 'accountdesk-batch-crash-'));
      slack = await startFakeSlack();
      nextcloud = await startFakeNextcloud({ adminUser: 'admin', adminPassword: NC_PASSWORD });
      writeFileSync(
        join(dir, 'accountdesk.yaml'),
        stringify({
          slack: { command: '/account', approvalsChannel: APPROVALS, auditChannel: 'C0AUDITLOG' },
          approvers: { users: [APPROVER] },
          backends: { cloud: { kind: 'nextcloud', url: nextcloud.url, user: 'admin', secretEnv: 'NC_PASSWORD' } },
        }),
      );
      store = await openStore(`sqlite://${join(dir, 'store.sqlite')}`);
      const rows = 60;
      const csv = ['username,email', ...Array.from({ length: rows }, (_, i) => `c${i},c${i}@example.com`)].join('\n');

      const first = await startProcess({ TEST_KILL_AFTER_REQUEST_COMMIT: '30' });
      await first.client.slashCommand({
        command: '/account',
        text: 'batch',
        userId: REQUESTER,
        channelId: 'C0GENERAL',
        responseUrl: slack.newResponseUrl({ userId: REQUESTER, channelId: 'C0GENERAL' }),
        triggerId: slack.issueTriggerId(REQUESTER),
      });
      const form = await slack.waitFor(() => slack.viewsOpenedFor(REQUESTER)[0], 10_000);
      await first.client.viewSubmission({
        userId: REQUESTER,
        callbackId: 'batch_modal',
        privateMetadata: String(form.view.private_metadata),
        values: {
          batch_backend: { value: { selectedOption: 'cloud' } },
          batch_action: { value: { selectedOption: 'create' } },
          batch_csv: { value: csv },
        },
      });
      const card = await slack.waitFor(
        () => slack.messagesIn(APPROVALS).find((m) => visibleText(m).includes('Account request AD-')),
        10_000,
      );
      const id = requestIdIn(visibleText(card));
      await first.client
        .blockAction({
          userId: APPROVER,
          actionId: 'request_approve',
          value: id,
          message: { ts: card.ts, channel: APPROVALS },
          responseUrl: slack.newResponseUrl({ userId: APPROVER, channelId: APPROVALS, messageTs: card.ts }),
        })
        .catch(() => undefined);
      await poll(
        () => (first.child.signalCode === 'SIGKILL' ? true : undefined),
        () => 'the first process was not killed mid-batch',
        20_000,
      );
      const requests = store.records<AccountRequest>('requests', () => []);
      const midway = (await requests.get(id))!;
      expect(count(midway, 'applied')).toBeGreaterThan(0);
      expect(count(midway, 'applied')).toBeLessThan(rows);

      const second = await startProcess();
      let last: AccountRequest | undefined;
      const done = await poll(
        async () => {
          last = await requests.get(id);
          return last?.state === 'applied' || last?.state === 'partly_applied' ? last : undefined;
        },
        () =>
          `the second process did not finish the batch: ${last?.state}, ` +
          `${['applied', 'applying', 'pending', 'failed'].map((s) => `${count(last!, s)} ${s}`).join(', ')}; ` +
          JSON.stringify(last?.steps.filter((s) => s.state === 'failed' || s.state === 'applying').slice(0, 3)),
        30_000,
      );
      let finished = done;
      if (done.state === 'partly_applied') {
        // The row claimed when the process died had not reached the server: reconciled by reading, it is failed
        // with words saying so, never sent again blindly. Retry sends it once.
        const failed = done.steps.filter((s) => s.state === 'failed');
        expect(failed).toHaveLength(1);
        expect(failed[0]!.error?.code).toBe('interrupted');
        const cardNow = slack.messagesIn(APPROVALS).find((m) => m.ts === card.ts)!;
        await second.client.blockAction({
          userId: APPROVER,
          actionId: 'request_retry',
          value: id,
          message: { ts: cardNow.ts, channel: APPROVALS },
          responseUrl: slack.newResponseUrl({ userId: APPROVER, channelId: APPROVALS, messageTs: card.ts }),
        });
        finished = await poll(
          async () => {
            const r = await requests.get(id);
            return r?.state === 'applied' ? r : undefined;
          },
          () => 'Retry did not finish the batch',
          10_000,
        );
      }
      expect(count(finished, 'applied')).toBe(rows);
      for (let i = 0; i < rows; i++) expect(nextcloud.users.has(`c${i}`)).toBe(true);
      // Exactly one accepted create per row: a second one would have been answered "exists" and failed its row.
      const created = nextcloud.requests.filter((r) => r.route === 'createUser' && r.status === 200);
      expect(created).toHaveLength(rows);
      second.child.kill('SIGTERM');
    },
    60_000,
  );
});

describe('a batch and the policy', () => {
  let desk: Desk;
  afterEach(async () => {
    await desk.stop();
  });

  it('more approvals above a size (rowsAbove); a disable batch is confirmed by typing its number of rows', async () => {
    desk = await startDesk({ policy: { batch: { rules: [{ rowsAbove: 2, approvals: 2 }] } } });
    for (const name of ['ann', 'bob', 'cy']) desk.nextcloud.seedUser({ id: name, email: `${name}@example.com` });
    await submitBatch(desk, { action: 'disable', csv: 'username\nann\nbob' });
    const small = requestIdIn(await receipt(desk));
    expect((await desk.request(small)).approvalsRequired).toBe(1);
    await submitBatch(desk, { action: 'disable', csv: 'username\nann\nbob\ncy' });
    const big = await desk.slack.waitFor(
      () => desk.slack.ephemeralsFor(REQUESTER).filter((e) => e.text.includes('is in:'))[1]?.text,
      5_000,
    );
    const id = requestIdIn(big);
    expect(big).toContain('It waits for 2 approvers');
    await desk.card(id);

    expect(await desk.click(APPROVER, 'request_approve', id)).toBeUndefined();
    const modal = await desk.waitForModal(APPROVER, 'confirm_modal');
    const [intro] = modal.view.blocks as { text?: { text: string } }[];
    expect(intro?.text?.text).toContain('This will *disable 3 accounts (batch)* on *cloud*');
    expect(intro?.text?.text).toContain('Type the number of rows (3)');
    const metadata = String(modal.view.private_metadata);
    const wrong = (await desk.submitView(APPROVER, 'confirm_modal', metadata, {
      confirm_username: { value: 'ann' },
    })) as { errors?: Record<string, string> };
    expect(wrong.errors).toEqual({ confirm_username: 'That is not the number of rows. Type 3.' });
    await desk.submitView(APPROVER, 'confirm_modal', metadata, { confirm_username: { value: '3' } });
    const voted = await desk.request(id);
    expect(voted.state).toBe('pending');
    expect(voted.approvals.map((v) => v.by)).toEqual([APPROVER]);
    expect(desk.nextcloud.users.get('ann')?.enabled).toBe(true);
  });
});
