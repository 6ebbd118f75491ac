import { describe, expect, it } from 'vitest';
import { renderCard, describeState } from '../../src/slack/blocks/card.js';
import { homeView } from '../../src/slack/blocks/home.js';
import {
  auditLine,
  helpText,
  listText,
  passwordText,
  receiptText,
  requesterDm,
} from '../../src/slack/blocks/messages.js';
import { confirmModal, rejectModal, requestModal } from '../../src/slack/blocks/modals.js';
import { SLACK_ACTION_ID } from '../../src/slack/block-ids.js';
import type { AccountRequest, Step, StepPreview } from '../../src/requests/types.js';
import type { AuditEntry } from '../../src/store/types.js';

const GiB = 1024 ** 3;
const EVIL = '<!channel>';

const KINDS = new Map([
  ['cloud', 'nextcloud'],
  ['nas', 'synology'],
  ['sso', 'nmcuser_oidc'],
]);
const READ_AT = '2030-03-01T09:00:01.000Z';

/** A one-step request (what `/account quota cloud alice 50GB` makes); `step` overrides its only step. */
function request(overrides: Partial<AccountRequest> = {}, step: Partial<Step> = {}): AccountRequest {
  return {
    id: 'AD-7K2M9Q',
    version: 1,
    plan: 'single',
    username: step.username ?? 'alice',
    steps: [
      {
        backend: 'cloud',
        action: 'quota',
        username: 'alice',
        params: { quotaBytes: 50 * GiB },
        state: 'pending',
        attempts: 0,
        ...step,
      },
    ],
    reason: 'project X needs room',
    requester: 'U0REQUEST1',
    state: 'pending',
    createdAt: '2030-03-01T09:00:00.000Z',
    expiresAt: '2030-03-04T09:00:00.000Z',
    approvalsRequired: 1,
    approvals: [],
    ...overrides,
  };
}

/** The preview a step carries once the preview module read its backend. */
function preview(read: Omit<StepPreview, 'at'>): StepPreview {
  return { at: READ_AT, ...read };
}

/** An onboarding of alice (profile staff) over cloud and nas by default; `steps` override each step in turn. */
function multiStep(overrides: Partial<AccountRequest>, steps: Partial<Step>[]): AccountRequest {
  const backends = ['cloud', 'nas'];
  return request(
    {
      plan: 'onboard',
      profile: 'staff',
      steps: steps.map((step, i) => ({
        backend: backends[i] ?? `b${i}`,
        action: 'create',
        username: 'alice',
        params: { email: 'alice@example.com', quotaBytes: 10 * GiB },
        state: 'pending',
        attempts: 0,
        ...step,
      })),
      ...overrides,
    },
    {},
  );
}

function only(r: AccountRequest): Step {
  const step = r.steps[0];
  if (!step) throw new Error('no step');
  return step;
}

type Json = Record<string, unknown>;

/** Every mrkdwn/plain_text string in the blocks, with the Slack limit that applies to it. */
function textsWithLimits(blocks: unknown[]): { text: string; limit: number; where: string }[] {
  const out: { text: string; limit: number; where: string }[] = [];
  for (const raw of blocks) {
    const block = raw as Json;
    const text = (block.text as Json | undefined)?.text as string | undefined;
    if (block.type === 'header' && text !== undefined) out.push({ text, limit: 150, where: 'header' });
    if (block.type === 'section' && text !== undefined) out.push({ text, limit: 3000, where: 'section' });
    if (block.type === 'context')
      for (const el of block.elements as Json[]) out.push({ text: el.text as string, limit: 2000, where: 'context' });
    if (block.type === 'actions') {
      for (const el of block.elements as Json[]) {
        out.push({ text: (el.text as Json).text as string, limit: 75, where: 'button' });
        out.push({ text: el.value as string, limit: 2000, where: 'button value' });
      }
    }
    if (typeof block.block_id === 'string') out.push({ text: block.block_id, limit: 255, where: 'block_id' });
  }
  return out;
}

function expectWithinLimits(blocks: unknown[]): void {
  for (const { text, limit, where } of textsWithLimits(blocks))
    expect(text.length, `${where}: ${text.slice(0, 60)}`).toBeLessThanOrEqual(limit);
}

/** What a person reads: all texts joined. */
function visible(message: { text: string; blocks: unknown[] }): string {
  return [
    message.text,
    ...textsWithLimits(message.blocks)
      .filter((t) => t.where !== 'block_id' && t.where !== 'button value')
      .map((t) => t.text),
  ].join('\n');
}

function buttons(blocks: unknown[]): { action_id: string; text: string; style?: string }[] {
  return blocks
    .filter((b) => (b as Json).type === 'actions')
    .flatMap((b) =>
      ((b as Json).elements as Json[]).map((e) => ({
        action_id: e.action_id as string,
        text: (e.text as Json).text as string,
        style: e.style as string | undefined,
      })),
    );
}

describe('the approval card', () => {
  it('pending with a preview: who asks what, the live state beside the change, Approve and Reject', () => {
    const card = renderCard({
      request: request(
        {},
        {
          preview: preview({
            current: {
              userId: 'alice',
              exists: true,
              enabled: true,
              quota: { limitBytes: 10 * GiB, usedBytes: 2 * GiB },
              email: 'alice@example.com',
            },
            assessment: { change: 'quota 10 GB -> 50 GB' },
          }),
        },
      ),
      backendKinds: KINDS,
    });
    const text = visible(card);
    expect(text).toContain('Account request AD-7K2M9Q');
    expect(text).toContain('<@U0REQUEST1> asks to *set the quota of alice to 50 GB* on *cloud* (nextcloud)');
    expect(text).toContain('>project X needs room');
    expect(text).toContain('*Current state:* exists, enabled, quota 10 GB (2 GB used), alice@example.com, id alice');
    expect(text).toContain('*Change:* quota 10 GB -&gt; 50 GB');
    expect(text).toContain('Waiting for approval');
    expect(text).toContain('approvals 0 of 1');
    expect(text).toMatch(/expires <!date\^\d+\^/);
    expect(buttons(card.blocks)).toEqual([
      { action_id: SLACK_ACTION_ID.approve, text: 'Approve', style: 'primary' },
      { action_id: SLACK_ACTION_ID.reject, text: 'Reject…', style: 'danger' },
    ]);
    expect(card.text).toBe('AD-7K2M9Q: set the quota of alice to 50 GB on cloud — pending');
  });

  it('flags a blocker (and drops the primary style) and a no-op', () => {
    const blocked = renderCard({
      request: request(
        {},
        {
          action: 'disable',
          params: {},
          preview: preview({
            current: { userId: 'alice', exists: false },
            assessment: { change: 'enabled -> disabled', blocker: 'user does not exist' },
          }),
        },
      ),
    });
    expect(visible(blocked)).toContain(':no_entry: *Cannot apply as it stands:* user does not exist');
    expect(visible(blocked)).toContain('*Current state:* user does not exist');
    // Destructive actions open the typed confirmation: the button says so.
    expect(buttons(blocked.blocks)[0]).toEqual({
      action_id: SLACK_ACTION_ID.approve,
      text: 'Approve…',
      style: undefined,
    });

    const noop = renderCard({
      request: request(
        {},
        {
          action: 'enable',
          params: {},
          preview: preview({
            current: { userId: 'alice', exists: true, enabled: true },
            assessment: { change: 'enabled -> enabled', noOp: 'already enabled' },
          }),
        },
      ),
    });
    expect(visible(noop)).toContain(':information_source: *Would change nothing:* already enabled');
  });

  it('says when the current state could not be read', () => {
    const card = renderCard({
      request: request({}, { preview: preview({ error: 'cloud did not answer within 10 s' }) }),
    });
    expect(visible(card)).toContain(':warning: Could not read the current state: cloud did not answer within 10 s');
    // Not read yet (the preview module stores it a moment after the request): the card says it is reading.
    expect(visible(renderCard({ request: request() }))).toContain(':mag: Reading the current state…');
  });

  it('applied: the backend answer, who approved, no buttons', () => {
    const card = renderCard({
      request: request(
        { state: 'applied', approvals: [{ by: 'U0ADMIN01', at: '2030-03-01T10:00:00.000Z' }] },
        {
          state: 'applied',
          attempts: 1,
          result: { at: '2030-03-01T10:00:05.000Z', summary: 'quota of alice set to 50 GB' },
          preview: preview({ error: 'must not be shown once decided' }),
        },
      ),
    });
    const text = visible(card);
    expect(text).toContain(':white_check_mark: Applied');
    expect(text).toContain('approvals 1 of 1: <@U0ADMIN01>');
    expect(text).toContain(':white_check_mark: quota of alice set to 50 GB');
    expect(text).not.toContain('must not be shown');
    expect(text).not.toContain('expires');
    expect(buttons(card.blocks)).toEqual([]);
  });

  it('failed: what the backend said, the attempt, and Retry / Give up', () => {
    const error = {
      at: '2030-03-01T10:00:05.000Z',
      code: 'unavailable',
      message: 'cloud is in maintenance mode',
      retryable: true,
    };
    const failed = request({ state: 'failed' }, { state: 'failed', attempts: 2, error });
    const card = renderCard({ request: failed });
    expect(visible(card)).toMatch(/:x: \*cloud said:\* cloud is in maintenance mode \(<!date.*attempt 2\)/);
    expect(visible(card)).not.toContain('Fix the cause first');
    expect(buttons(card.blocks)).toEqual([
      { action_id: SLACK_ACTION_ID.retry, text: 'Retry', style: 'primary' },
      { action_id: SLACK_ACTION_ID.cancel, text: 'Give up', style: undefined },
    ]);
    const permanent = renderCard({
      request: request(
        { state: 'failed' },
        { state: 'failed', attempts: 2, error: { ...error, retryable: false, code: 'auth_failed' } },
      ),
    });
    expect(visible(permanent)).toContain('Fix the cause first (see the message), then Retry.');
  });

  it('rejected, cancelled and expired: by whom and why', () => {
    const decision = { by: 'U0ADMIN01', at: '2030-03-01T10:00:00.000Z', reason: 'budget frozen\nuntil May' };
    expect(visible(renderCard({ request: request({ state: 'rejected', decision }) }))).toMatch(
      /Rejected by <@U0ADMIN01> <!date[^\n]*\n>budget frozen\n>until May/,
    );
    expect(
      visible(
        renderCard({ request: request({ state: 'cancelled', decision: { by: 'U0REQUEST1', at: decision.at } }) }),
      ),
    ).toMatch(/Cancelled by <@U0REQUEST1>/);
    const expired = visible(
      renderCard({
        request: request({
          state: 'expired',
          decision: { by: 'system', at: decision.at, reason: 'no decision before the expiry' },
        }),
      }),
    );
    expect(expired).toMatch(/:alarm_clock: Expired/);
    expect(expired).not.toContain('no decision before');
  });

  it('shows a hostile display name, reason, username and error only escaped, in every block and the fallback', () => {
    const hostilePreview = preview({
      current: { userId: EVIL, exists: true, displayName: EVIL, email: EVIL, groups: [EVIL] },
      assessment: { change: EVIL, warning: EVIL },
    });
    const at = '2030-03-01T10:00:00.000Z';
    const states: AccountRequest[] = [
      request(
        { reason: `${EVIL} <@U0BOSS> <!subteam^S1>` },
        {
          action: 'create',
          username: EVIL,
          params: { displayName: EVIL, email: 'a@example.com' },
          preview: hostilePreview,
        },
      ),
      request({ state: 'rejected', reason: EVIL, decision: { by: 'U0ADMIN01', at, reason: EVIL } }),
      request({ state: 'failed' }, { state: 'failed', error: { at, code: 'x', message: EVIL, retryable: true } }),
      request({ state: 'applied' }, { state: 'applied', result: { at, summary: EVIL } }),
      multiStep({ state: 'pending' }, [{ backend: EVIL, username: EVIL, preview: hostilePreview }, {}]),
      multiStep({ state: 'partly_applied' }, [
        { state: 'applied', result: { at, summary: EVIL } },
        { state: 'failed', error: { at, code: 'x', message: EVIL, retryable: true } },
      ]),
    ];
    for (const r of states) {
      const card = renderCard({ request: r, backendKinds: KINDS });
      const all = JSON.stringify(card);
      expect(all).not.toContain('<!channel>');
      expect(all).not.toContain('<@U0BOSS>');
      expect(all).not.toContain('<!subteam');
      expect(all).toContain('&lt;!channel&gt;');
    }
  });

  it('keeps every text within Slack limits for very long inputs', () => {
    const long = '<&>'.repeat(3000);
    const card = renderCard({
      request: request(
        {
          state: 'failed',
          reason: long,
          approvals: Array.from({ length: 40 }, (_, i) => ({
            by: `U0ADMIN${String(i).padStart(3, '0')}`,
            at: '2030-03-01T10:00:00.000Z',
          })),
        },
        {
          state: 'failed',
          username: 'u'.repeat(255),
          action: 'create',
          params: { displayName: long },
          error: { at: '2030-03-01T10:00:00.000Z', code: 'x', message: long, retryable: false },
        },
      ),
    });
    expectWithinLimits(card.blocks);
    expect(card.text.length).toBeLessThanOrEqual(4000);
    const longPreview = preview({
      current: { userId: long, exists: true, displayName: long },
      assessment: { change: long, blocker: long, noOp: long, warning: long },
    });
    const pending = renderCard({
      request: request({ reason: long }, { username: 'u'.repeat(255), preview: longPreview }),
    });
    expectWithinLimits(pending.blocks);
    expect(pending.blocks.length).toBeLessThanOrEqual(50);
    // A plan of many long steps: whole lines within the section, and a count of the rest.
    const plan = renderCard({
      request: multiStep(
        { reason: long },
        Array.from({ length: 40 }, (_, i) => ({ backend: `b${i}`, username: 'u'.repeat(255), preview: longPreview })),
      ),
    });
    expectWithinLimits(plan.blocks);
    expect(visible(plan)).toMatch(/…and \d+ more steps/);
  });
});

describe('the card of a plan with several steps', () => {
  const at = '2030-03-01T10:00:05.000Z';

  it('pending: one line per step with its backend, the change and the live state read for it', () => {
    const card = renderCard({
      request: multiStep({}, [
        {
          preview: preview({
            current: { userId: 'alice', exists: false },
            assessment: { change: 'new account' },
          }),
        },
        {
          preview: preview({
            current: { userId: 'alice', exists: true, enabled: true },
            assessment: { change: 'new account', blocker: 'user already exists' },
          }),
        },
      ]),
      backendKinds: KINDS,
    });
    const text = visible(card);
    expect(text).toContain('<@U0REQUEST1> asks to *onboard alice (profile staff)* on *cloud, nas*');
    const section = text.split('\n').filter((l) => l.startsWith('*cloud*') || l.startsWith('*nas*'));
    expect(section).toEqual([
      '*cloud* (nextcloud): create alice (alice@example.com, quota 10 GB)',
      '*nas* (synology): create alice (alice@example.com, quota 10 GB)',
    ]);
    expect(text).toContain('now: user does not exist');
    expect(text).toContain('now: exists, enabled, id alice · :no_entry: user already exists');
    // A blocker on any step drops the primary style of Approve.
    expect(buttons(card.blocks)[0]).toEqual({ action_id: SLACK_ACTION_ID.approve, text: 'Approve', style: undefined });
    expect(card.text).toBe('AD-7K2M9Q: onboard alice (profile staff) on cloud, nas — pending');
  });

  it('offboard pending: a backend without the account is shown as skipped, and Approve asks for the username', () => {
    const card = renderCard({
      request: request({
        plan: 'offboard',
        steps: ['cloud', 'sso'].map((backend) => ({
          backend,
          action: 'disable' as const,
          username: 'alice',
          params: {},
          state: 'pending' as const,
          attempts: 0,
          skipIfMissing: true,
          preview: preview(
            backend === 'cloud'
              ? {
                  current: { userId: 'alice', exists: true, enabled: true },
                  assessment: { change: 'enabled → disabled' },
                }
              : {
                  current: { userId: 'alice', exists: false },
                  assessment: { change: 'none', noOp: 'no account on sso: skipped' },
                },
          ),
        })),
      }),
      backendKinds: KINDS,
    });
    const text = visible(card);
    expect(text).toContain('asks to *offboard alice* on *cloud, sso*');
    expect(text).toContain('would change nothing (no account on sso: skipped)');
    expect(buttons(card.blocks)[0]).toEqual({
      action_id: SLACK_ACTION_ID.approve,
      text: 'Approve…',
      style: 'primary',
    });
  });

  it('partly applied: progress per step with the backend words, the count, and Retry / Give up', () => {
    const card = renderCard({
      request: multiStep({ state: 'partly_applied', approvals: [{ by: 'U0ADMIN01', at }] }, [
        { state: 'applied', attempts: 1, result: { at, summary: 'created alice; invitation mailed' } },
        {
          state: 'failed',
          attempts: 1,
          error: { at, code: 'busy', message: 'nas: another administrator is editing (3112)', retryable: true },
        },
      ]),
      backendKinds: KINDS,
    });
    const text = visible(card);
    expect(text).toContain(
      ':white_check_mark: applied *cloud* (nextcloud): create alice (alice@example.com, quota 10 GB) — ' +
        'created alice; invitation mailed',
    );
    expect(text).toContain(
      ':x: failed *nas* (synology): create alice (alice@example.com, quota 10 GB) — ' +
        'nas: another administrator is editing (3112)',
    );
    expect(text).toContain(':warning: Partly applied');
    expect(text).toContain('1 of 2 applied · 1 failed');
    expect(text).toContain('Retry runs only the failed steps');
    expect(buttons(card.blocks)).toEqual([
      { action_id: SLACK_ACTION_ID.retry, text: 'Retry', style: 'primary' },
      { action_id: SLACK_ACTION_ID.cancel, text: 'Give up', style: undefined },
    ]);
  });

  it('applying and applied: each step says where it stands; skipped steps are counted', () => {
    const applying = visible(
      renderCard({
        request: multiStep({ state: 'applying' }, [
          { state: 'applied', result: { at, summary: 'created alice' } },
          { state: 'applying' },
        ]),
      }),
    );
    expect(applying).toContain(':gear: applying *nas*');
    expect(applying).toContain('1 of 2 applied');
    const applied = visible(
      renderCard({
        request: multiStep({ state: 'applied' }, [
          { state: 'applied', result: { at, summary: 'created alice' } },
          { state: 'skipped', result: { at, summary: 'alice does not exist on nas' } },
        ]),
      }),
    );
    expect(applied).toContain(':heavy_minus_sign: skipped *nas*');
    expect(applied).toContain('1 of 2 applied · 1 skipped');
  });
});

describe('describeState', () => {
  it('reads like a sentence', () => {
    expect(describeState({ userId: 'alice', exists: false })).toBe('user does not exist');
    expect(
      describeState({
        userId: 'alice',
        exists: true,
        enabled: false,
        quota: { limitBytes: null },
        displayName: 'Alice',
        groups: ['staff', 'sales'],
      }),
    ).toBe('exists, disabled, quota unlimited, "Alice", groups staff, sales, id alice');
  });
});

describe('App Home', () => {
  const many = (n: number, state: AccountRequest['state']): AccountRequest[] =>
    Array.from({ length: n }, (_, i) =>
      request({ id: `AD-${String(i).padStart(6, '2')}`, state, reason: EVIL }, { params: { quotaBytes: null } }),
    );

  it('stays within 100 blocks with 200 requests, saying that more exist', () => {
    const view = homeView({ own: many(200, 'pending'), waiting: many(200, 'pending'), command: '/account' });
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    const last = view.blocks.at(-1) as unknown as Json;
    expect(JSON.stringify(last)).toContain('more than fit here; use `/account pending`');
    expectWithinLimits(view.blocks);
    expect(JSON.stringify(view)).not.toContain('<!channel>');
  });

  it('stays within 100 blocks with 200 own requests and no approver section', () => {
    const view = homeView({ own: many(200, 'applied'), command: '/account' });
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    expect(JSON.stringify(view)).not.toContain('Waiting for your decision');
  });

  it('shows what waits for an approver with Approve / Reject, and a Cancel for own pending requests', () => {
    const view = homeView({
      own: [request()],
      waiting: [request({ id: 'AD-WAIT22', requester: 'U0OTHER1' })],
      command: '/account',
    });
    const text = JSON.stringify(view);
    expect(text).toContain('Waiting for your decision (1)');
    expect(text).toContain('*AD-WAIT22* set the quota of alice to 50 GB on *cloud* · pending');
    expect(buttons(view.blocks).map((b) => b.action_id)).toEqual([SLACK_ACTION_ID.approve, SLACK_ACTION_ID.reject]);
    expect(text).toContain(`"action_id":"${SLACK_ACTION_ID.cancel}"`);
  });

  it('says when there is nothing', () => {
    const text = JSON.stringify(homeView({ own: [], waiting: [], command: '/account' }));
    expect(text).toContain('Nothing waits for you.');
    expect(text).toContain('You have not asked for anything yet.');
  });
});

describe('short messages', () => {
  const entry = (event: string, actor: string, data: Json): AuditEntry => ({
    seq: 7,
    at: '2030-03-01T10:00:00.000Z',
    event,
    subject: 'AD-7K2M9Q',
    actor,
    data: { action: 'quota', backend: 'cloud', username: 'alice', ...data },
    prevHash: '',
    hash: 'h',
  });

  it('audit lines: one per event, with who, what and why, escaped', () => {
    expect(auditLine(entry('approved', 'U0ADMIN01', { approvals: 1, required: 2 }))).toBe(
      ':ballot_box_with_check: `AD-7K2M9Q` *approved* by <@U0ADMIN01> — quota alice on cloud (1/2) · #7',
    );
    expect(auditLine(entry('applied', 'system', { summary: 'quota set' }))).toBe(
      ':white_check_mark: `AD-7K2M9Q` *applied* — quota alice on cloud: quota set · #7',
    );
    expect(auditLine(entry('rejected', 'U0ADMIN01', { reason: EVIL }))).toContain(': “&lt;!channel&gt;”');
    expect(auditLine(entry('failed', 'system', { error: EVIL }))).not.toContain('<!channel>');
    expect(auditLine(entry('retried', 'U0ADMIN02', { attempt: 2 }))).toContain(
      '*retried* by <@U0ADMIN02> — quota alice on cloud (attempt 2)',
    );
  });

  it('audit lines for the steps of a plan and for a partly applied request; none for a stored preview', () => {
    const step = entry('step-failed', 'system', {
      action: 'create',
      backend: 'nas',
      step: 2,
      of: 2,
      error: 'nas is busy',
    });
    expect(auditLine(step)).toBe(
      ':x: `AD-7K2M9Q` *step-failed* — create alice on nas (step 2 of 2): ' + 'nas is busy · #7',
    );
    const partly = entry('partly_applied', 'system', {
      action: 'onboard',
      backend: 'cloud, nas',
      error: 'cloud: created alice; nas: FAILED (nas is busy)',
    });
    expect(auditLine(partly)).toBe(
      ':warning: `AD-7K2M9Q` *partly_applied* — onboard alice on cloud, nas: ' +
        'cloud: created alice; nas: FAILED (nas is busy) · #7',
    );
    expect(auditLine(entry('previewed', 'system', {}))).toBeUndefined();
    expect(
      requesterDm(partly, multiStep({ state: 'partly_applied' }, [{ state: 'applied' }, { state: 'failed' }])),
    ).toBe(
      ':warning: Your request AD-7K2M9Q (onboard alice (profile staff) on cloud, nas) was only partly applied: ' +
        'cloud: created alice; nas: FAILED (nas is busy). An approver can retry the failed steps.',
    );
  });

  it('DMs the requester when it is decided and done, not for their own cancel', () => {
    const r = request();
    expect(requesterDm(entry('approved', 'U0ADMIN01', { complete: false }), r)).toBeUndefined();
    expect(requesterDm(entry('approved', 'U0ADMIN01', { complete: true }), r)).toMatch(
      /was approved by <@U0ADMIN01>; applying it now/,
    );
    expect(requesterDm(entry('rejected', 'U0ADMIN01', { reason: EVIL }), r)).toBe(
      ':no_entry: Your request AD-7K2M9Q (set the quota of alice to 50 GB on ' +
        'cloud) was rejected by <@U0ADMIN01>: “&lt;!channel&gt;”',
    );
    expect(requesterDm(entry('cancelled', r.requester, {}), r)).toBeUndefined();
    expect(requesterDm(entry('cancelled', 'U0ADMIN01', {}), r)).toMatch(/given up by <@U0ADMIN01>/);
    expect(requesterDm(entry('failed', 'system', { error: 'boom' }), r)).toMatch(
      /failed: boom An approver can retry it\./,
    );
  });

  it('receipt, list, help and password texts', () => {
    expect(receiptText(request({ approvalsRequired: 2 }))).toContain(
      'Request *AD-7K2M9Q* is in: set the quota of alice to 50 GB on *cloud*. It waits for 2 approvers',
    );
    expect(listText('Pending', [])).toBe('Pending: none.');
    const short = listText(
      'Pending',
      Array.from({ length: 3 }, () => request()),
    );
    expect(short.split('\n').filter((l) => l.startsWith('*AD-'))).toHaveLength(3);
    expect(short).not.toContain('more.');
    // Long lines: only whole lines fit in 3000 characters, and the count of the rest survives.
    const long = listText(
      'Pending',
      Array.from({ length: 25 }, () =>
        request(
          {},
          { params: { displayName: 'D'.repeat(60), email: `${'e'.repeat(60)}@example.com` }, action: 'create' },
        ),
      ),
    );
    expect(long.length).toBeLessThanOrEqual(3000);
    const lines = long.split('\n').filter((l) => l.startsWith('*AD-'));
    // No date token cut in half.
    const wholeDateThenCount =
      /<!date\^\d+\^\{date_short_pretty\} \{time\}\|2030-03-01T09:00:00\.000Z> · 0\/1 approvals$/;
    for (const line of lines) expect(line).toMatch(wholeDateThenCount);
    expect(long).toMatch(new RegExp(`\\n…and ${25 - lines.length} more\\.$`));
    expect(
      helpText('/account', [
        { action: 'create', backends: ['cloud', EVIL] },
        { action: 'quota', backends: ['cloud'] },
      ]),
    ).toContain('(cloud, &lt;!channel&gt;)');
    const created = request({}, { action: 'create', username: EVIL, backend: 'nas' });
    const text = passwordText(created, only(created), 'p<w>&d');
    expect(text).toContain('`p&lt;w&gt;&amp;d`');
    expect(text).toContain('*&lt;!channel&gt;* on *nas*');
  });
});

describe('modals', () => {
  it('keep titles within 24 characters and carry only the request id', () => {
    for (const view of [
      rejectModal(request()),
      confirmModal(request({}, { action: 'delete', params: {} })),
      requestModal({
        actions: ['create'],
        backends: [{ name: 'cloud', kind: 'nextcloud' }],
        metadata: { channel: 'C0X' },
      }),
    ]) {
      expect(view.title.text.length).toBeLessThanOrEqual(24);
      expect(view.submit!.text.length).toBeLessThanOrEqual(24);
      expect((view.private_metadata ?? '').length).toBeLessThanOrEqual(3000);
    }
    expect(rejectModal(request()).private_metadata).toBe('AD-7K2M9Q');
  });

  it('escape the request in the confirmation text', () => {
    const text = JSON.stringify(confirmModal(request({}, { action: 'delete', username: EVIL, params: {} })));
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('delete &lt;!channel&gt; and their files');
  });

  it('offer at most 100 backends, each option text within 75 characters', () => {
    const backends = Array.from({ length: 150 }, (_, i) => ({ name: `b${i}${'x'.repeat(80)}`, kind: 'nextcloud' }));
    const view = requestModal({ actions: ['create', 'quota'], backends, metadata: {} });
    const select = (view.blocks[1] as unknown as Json).element as Json;
    const options = select.options as { text: { text: string } }[];
    expect(options).toHaveLength(100);
    for (const o of options) expect(o.text.text.length).toBeLessThanOrEqual(75);
  });
});
