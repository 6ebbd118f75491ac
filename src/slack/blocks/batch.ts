/**
 * What Slack shows of a batch (docs/architecture.md#batches): the form, the one card with counts and progress, the
 * thread's full list of rows and its results, and the CSV report. Pure builders: a request in, blocks or text out.
 */
import type { types } from '@slack/bolt';
import { batchCounts } from '../../requests/audit-entries.js';
import { ACTION_KINDS } from '../../requests/actions/index.js';
import { BATCH_COLUMNS, BATCH_ROW_ACTIONS } from '../../requests/batch.js';
import { formatBytes } from '../../requests/sizes.js';
import type { AccountRequest, Step } from '../../requests/types.js';
import { BATCH_FIELD, INPUT, SLACK_ACTION_ID, VIEW } from '../block-ids.js';
import { LIMITS, esc, mention, truncate, when } from '../text.js';
import type { SlackMessage } from './card.js';
import { option } from './modals.js';

type Block = types.KnownBlock;

/** Rows shown on the card itself; the thread has them all. */
const CARD_ROWS = 10;
/** A thread message's text stays well inside what Slack renders in full (docs/slack.md#limits). */
const THREAD_CHUNK = 3_500;

const ACTION_TITLE: Record<(typeof BATCH_ROW_ACTIONS)[number], string> = {
  create: 'Create accounts',
  disable: 'Disable accounts',
  enable: 'Re-enable accounts',
  quota: 'Change quotas',
  onboard: 'Onboard people (accounts from a profile)',
};

export function batchModal(options: {
  backends: { name: string; kind: string }[];
  /** The configured onboarding profiles; none: the form has no profile field. */
  profiles?: string[];
  channel?: string;
}): types.ModalView {
  return {
    type: 'modal',
    callback_id: VIEW.batch,
    title: { type: 'plain_text', text: 'Batch request' },
    submit: { type: 'plain_text', text: 'Send for approval' },
    close: { type: 'plain_text', text: 'Cancel' },
    private_metadata: JSON.stringify(options.channel ? { channel: options.channel } : {}),
    blocks: [
      {
        type: 'input',
        block_id: BATCH_FIELD.backend,
        // Optional for Slack so an onboarding can leave it empty; the other actions are refused without it.
        optional: true,
        label: { type: 'plain_text', text: 'Where' },
        hint: { type: 'plain_text', text: 'Not for onboarding: each profile names its backends.' },
        element: {
          type: 'static_select',
          action_id: INPUT,
          options: options.backends.slice(0, 100).map((b) => option(`${b.name} (${b.kind})`, b.name)),
        },
      },
      {
        type: 'input',
        block_id: BATCH_FIELD.action,
        label: { type: 'plain_text', text: 'What every row does' },
        element: {
          type: 'static_select',
          action_id: INPUT,
          options: BATCH_ROW_ACTIONS.map((a) => option(ACTION_TITLE[a], a)),
        },
      },
      ...profileBlock(options.profiles ?? []),
      {
        type: 'input',
        block_id: BATCH_FIELD.csv,
        optional: true,
        label: { type: 'plain_text', text: 'Rows (CSV, first line names the columns)' },
        hint: {
          type: 'plain_text',
          text: `Columns: ${BATCH_COLUMNS.join(', ')}. Groups separated by spaces. More than fits here: attach a file.`,
        },
        element: {
          type: 'plain_text_input',
          action_id: INPUT,
          multiline: true,
          // A plain_text_input holds at most 3000 characters (docs/slack.md#limits); bigger batches come as a file.
          max_length: 3000,
          placeholder: { type: 'plain_text', text: 'username,email,quota\nalice,alice@example.com,10GB' },
        },
      },
      {
        type: 'input',
        block_id: BATCH_FIELD.file,
        optional: true,
        label: { type: 'plain_text', text: 'Or a CSV file' },
        element: { type: 'file_input', action_id: INPUT, filetypes: ['csv', 'txt'], max_files: 1 },
      },
      {
        type: 'input',
        block_id: BATCH_FIELD.skipInvalid,
        optional: true,
        label: { type: 'plain_text', text: 'Invalid rows' },
        element: {
          type: 'checkboxes',
          action_id: INPUT,
          options: [option('Submit only the valid rows (the others are listed in your receipt)', 'skip')],
        },
      },
      {
        type: 'input',
        block_id: BATCH_FIELD.reason,
        optional: true,
        label: { type: 'plain_text', text: 'Why (approvers read it)' },
        element: { type: 'plain_text_input', action_id: INPUT, multiline: true, max_length: 500 },
      },
    ],
  };
}

/** Onboarding batches: one profile for every row that names none (a `profile` column overrides it). */
function profileBlock(profiles: string[]): Block[] {
  if (profiles.length === 0) return [];
  return [
    {
      type: 'input',
      block_id: BATCH_FIELD.profile,
      optional: true,
      label: { type: 'plain_text', text: 'Profile (onboarding)' },
      hint: { type: 'plain_text', text: 'For every row without a profile column of its own.' },
      element: {
        type: 'static_select',
        action_id: INPUT,
        options: profiles.slice(0, 100).map((name) => option(name, name)),
      },
    },
  ];
}

/** "create 200 accounts", "onboard 3 people, 6 accounts" */
export function describeBatch(request: AccountRequest): string {
  const action = request.batch?.action ?? request.steps[0]?.action ?? 'change';
  if (action === 'onboard') {
    const people = new Set(request.steps.map((s) => s.line ?? s.username)).size;
    return `onboard ${people} people, ${request.steps.length} accounts (batch)`;
  }
  return `${action} ${request.steps.length} accounts (batch)`;
}

/** The backends a batch's steps touch, in the order of the rows: one, or an onboarding profile's several. */
function backendsOf(request: AccountRequest): string[] {
  return [...new Set(request.steps.map((s) => s.backend))];
}

/** Quotas the rows set or give, in total: what an approver weighs before saying yes to a quota batch. */
function quotaTotal(steps: readonly Step[]): string | undefined {
  const quotas = steps.map((s) => s.params.quotaBytes).filter((q) => q !== undefined);
  if (quotas.length === 0) return undefined;
  const unlimited = quotas.filter((q) => q === null).length;
  const bytes = quotas.reduce<number>((sum, q) => sum + (q ?? 0), 0);
  return `${formatBytes(bytes)} in total over ${quotas.length} rows${unlimited ? ` (${unlimited} unlimited)` : ''}`;
}

/** "waiting for cloud's rate limit until 11:02", while a row waits out a backend's window. */
function waitingText(request: AccountRequest, now: number): string | undefined {
  let latest: Step | undefined;
  for (const step of request.steps) {
    if (step.state !== 'pending' || !step.waitingUntil || Date.parse(step.waitingUntil) <= now) continue;
    if (!latest || step.waitingUntil > (latest.waitingUntil ?? '')) latest = step;
  }
  if (!latest?.waitingUntil) return undefined;
  const seconds = Math.floor(Date.parse(latest.waitingUntil) / 1000);
  return `waiting for ${esc(latest.backend)}'s rate limit until <!date^${seconds}^{time}|${latest.waitingUntil}>`;
}

/** "142/200 applied · 3 failed · waiting for cloud's rate limit until 11:02" */
function progressLine(request: AccountRequest, now: number): string {
  const count = (state: Step['state']) => request.steps.filter((s) => s.state === state).length;
  const parts = [`${count('applied')}/${request.steps.length} applied`];
  if (count('failed')) parts.push(`${count('failed')} failed`);
  if (count('skipped')) parts.push(`${count('skipped')} skipped`);
  if (request.batch?.paused)
    parts.push(`paused by ${mention(request.batch.paused.by)} ${when(request.batch.paused.at)}`);
  const waiting = waitingText(request, now);
  if (waiting && !request.batch?.paused) parts.push(waiting);
  return parts.join(' · ');
}

function rowLine(step: Step, withBackend = false): string {
  const where = withBackend ? `${esc(step.backend)}: ` : '';
  return `line ${step.line ?? '?'}: ${where}${esc(ACTION_KINDS[step.action].describe(step))}`;
}

/** The rows as listed on the card and in the thread: an onboarding's steps name their backend (one row, several). */
function rowLines(request: AccountRequest, steps: readonly Step[] = request.steps): string[] {
  const withBackend = request.batch?.action === 'onboard';
  return steps.map((step) => rowLine(step, withBackend));
}

const STATE_LABEL: Record<AccountRequest['state'], string> = {
  pending: ':hourglass_flowing_sand: Waiting for approval',
  approved: ':white_check_mark: Approved, applying soon',
  applying: ':gear: Applying',
  applied: ':white_check_mark: Applied',
  scheduled: ':calendar: Applied, with scheduled steps to come',
  failed: ':x: Failed',
  partly_applied: ':warning: Partly applied',
  rejected: ':no_entry: Rejected',
  expired: ':alarm_clock: Expired',
  cancelled: ':heavy_multiplication_x: Cancelled',
};

export function renderBatchCard(request: AccountRequest, now: number, backendKind?: string): SlackMessage {
  const backends = backendsOf(request);
  const backend = backends.join(', ') || '?';
  const lines = [
    `${mention(request.requester)} asks to *${esc(describeBatch(request))}* on *${backends.map(esc).join('*, *') || '?'}*` +
      (backendKind && backends.length === 1 ? ` (${esc(backendKind)})` : '') +
      (request.reason ? `\n>${esc(request.reason).replace(/\n/g, '\n>')}` : ''),
  ];
  if (request.batch?.profiles?.length) lines.push(`*Profiles:* ${request.batch.profiles.map(esc).join(', ')}`);
  const quota = quotaTotal(request.steps);
  if (quota) lines.push(`*Quota:* ${quota}`);
  if (request.batch?.skippedRows) {
    lines.push(`${request.batch.skippedRows} invalid rows of the CSV were left out by the requester.`);
  }
  const first = rowLines(request, request.steps.slice(0, CARD_ROWS));
  const hidden = request.steps.length - CARD_ROWS;
  const more = hidden > 0 ? `\n…and ${hidden} more in the thread` : '';
  const blocks: Block[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: truncate(`Account request ${request.id}`, LIMITS.headerText) },
    },
    { type: 'section', text: { type: 'mrkdwn', text: truncate(lines.join('\n'), LIMITS.sectionText) } },
    { type: 'section', text: { type: 'mrkdwn', text: truncate(`${first.join('\n')}${more}`, LIMITS.sectionText) } },
  ];
  const votes = request.approvals.map((v) => `${mention(v.by)} ${when(v.at)}`).join(', ');
  const status = [
    `*${STATE_LABEL[request.state]}*`,
    `approvals ${request.approvals.length} of ${request.approvalsRequired}${votes ? `: ${votes}` : ''}`,
  ];
  if (request.state === 'pending') status.push(`expires ${when(request.expiresAt)}`);
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: truncate(status.join(' · '), LIMITS.contextText) }],
  });
  const outcome = outcomeText(request, now);
  if (outcome) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(outcome, LIMITS.sectionText) } });
  const buttons = batchButtons(request);
  if (buttons.length > 0) blocks.push({ type: 'actions', block_id: `card_actions_${request.id}`, elements: buttons });
  return {
    text: truncate(
      `${request.id}: ${esc(describeBatch(request))} on ${esc(backend)} — ${request.state.replace('_', ' ')}`,
      LIMITS.fallbackText,
    ),
    blocks,
  };
}

function outcomeText(request: AccountRequest, now: number): string | undefined {
  if (request.state === 'pending' || request.state === 'rejected' || request.state === 'expired') {
    if (!request.decision) return undefined;
    const who = request.state === 'expired' ? 'Expired' : `Rejected by ${mention(request.decision.by)}`;
    return `${who} ${when(request.decision.at)}${request.decision.reason ? `\n>${esc(request.decision.reason)}` : ''}`;
  }
  const progress = progressLine(request, now);
  const cancelled = request.batch?.cancelled ?? (request.state === 'cancelled' ? request.decision : undefined);
  const stopped = cancelled ? `\nCancelled by ${mention(cancelled.by)} ${when(cancelled.at)}: applied rows stay.` : '';
  const fix =
    request.state === 'failed' || request.state === 'partly_applied'
      ? '\nThe thread lists each failed row and why. Retry runs only the failed rows.'
      : '';
  return `${progress}${stopped}${fix}`;
}

function batchButtons(request: AccountRequest): types.Button[] {
  const value = request.id;
  const button = (actionId: string, text: string, style?: 'primary' | 'danger'): types.Button => ({
    type: 'button',
    action_id: actionId,
    text: { type: 'plain_text', text },
    ...(style ? { style } : {}),
    value,
  });
  if (request.state === 'pending') {
    const destructive = request.steps.some((s) => ACTION_KINDS[s.action].destructive);
    return [
      button(SLACK_ACTION_ID.approve, destructive ? 'Approve…' : 'Approve', 'primary'),
      button(SLACK_ACTION_ID.reject, 'Reject…', 'danger'),
    ];
  }
  if ((request.state === 'approved' || request.state === 'applying') && !request.batch?.cancelled) {
    return [
      request.batch?.paused
        ? button(SLACK_ACTION_ID.resumeBatch, 'Resume', 'primary')
        : button(SLACK_ACTION_ID.pauseBatch, 'Pause'),
      button(SLACK_ACTION_ID.cancelBatch, 'Cancel the rest', 'danger'),
    ];
  }
  if (request.state === 'failed' || request.state === 'partly_applied') {
    return [button(SLACK_ACTION_ID.retry, 'Retry failed rows', 'primary'), button(SLACK_ACTION_ID.cancel, 'Give up')];
  }
  return [];
}

/** Lines grouped into messages of at most THREAD_CHUNK characters, whole lines only. */
function chunks(header: string, lines: string[]): string[] {
  const messages: string[] = [];
  let current = header;
  for (const line of lines) {
    if (current.length + line.length + 1 > THREAD_CHUNK) {
      messages.push(current);
      current = '';
    }
    current += `${current ? '\n' : ''}${line}`;
  }
  if (current) messages.push(current);
  return messages;
}

/** Every row, for the card's thread when the batch is posted. */
export function batchRowsMessages(request: AccountRequest): string[] {
  return chunks(`*All ${request.steps.length} rows of ${request.id}:*`, rowLines(request));
}

/** The results once nothing runs: counts, then each failed row with its line and the backend's words. */
export function batchResultsMessages(request: AccountRequest): string[] {
  const failed = request.steps
    .filter((s) => s.state === 'failed')
    .map((s) => `:x: line ${s.line ?? '?'} ${esc(s.username)}: ${esc(s.error?.message ?? 'failed')}`);
  const header =
    `*Results of ${request.id}:* ${batchCounts(request)}.` +
    (failed.length ? ' Failed rows (Retry on the card runs only these):' : '') +
    ' The CSV report below has every row.';
  return chunks(header, failed);
}

/** The CSV report: one line per row with its outcome (RFC 4180 quoting). */
export function batchReportCsv(request: AccountRequest): string {
  const cell = (value: string | number | undefined): string => {
    const text = String(value ?? '');
    // A leading = + - @ would run as a formula when the report is opened in a spreadsheet (OWASP CSV injection).
    const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
    return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  const rows = request.steps.map((s) =>
    [s.line, s.username, s.action, s.backend, s.state, s.attempts, s.result?.summary ?? s.error?.message]
      .map(cell)
      .join(','),
  );
  return ['line,username,action,backend,outcome,attempts,detail', ...rows].join('\r\n') + '\r\n';
}
