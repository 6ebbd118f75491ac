/**
 * The approval card posted in the approvals channel and updated in place as the request moves on. Pure: a request
 * (and, while it waits, the backend's live view of the user) in; blocks and fallback text out.
 */
import type { types } from '@slack/bolt';
import type { UserState } from '../../backends/types.js';
import { ACTION_KINDS } from '../../requests/actions/index.js';
import { formatBytes } from '../../requests/sizes.js';
import type { Preview } from '../../requests/service.js';
import type { AccountRequest } from '../../requests/types.js';
import { SLACK_ACTION_ID } from '../block-ids.js';
import { LIMITS, esc, mention, truncate, when } from '../text.js';

type Block = types.KnownBlock;

export interface CardInput {
  request: AccountRequest;
  backendKind?: string;
  /** The live read of the backend; only fetched while the request waits for approval. */
  preview?: Preview;
}

export interface SlackMessage {
  text: string;
  blocks: Block[];
}

const STATE_LABEL: Record<AccountRequest['state'], string> = {
  pending: ':hourglass_flowing_sand: Waiting for approval',
  approved: ':white_check_mark: Approved, applying soon',
  applying: ':gear: Applying',
  applied: ':white_check_mark: Applied',
  failed: ':x: Failed',
  rejected: ':no_entry: Rejected',
  expired: ':alarm_clock: Expired',
  cancelled: ':heavy_multiplication_x: Cancelled',
};

export function describeRequest(request: Pick<AccountRequest, 'action' | 'username' | 'params'>): string {
  return ACTION_KINDS[request.action].describe(request);
}

export function renderCard({ request, backendKind, preview }: CardInput): SlackMessage {
  const what = esc(describeRequest(request));
  const blocks: Block[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: truncate(`Account request ${request.id}`, LIMITS.headerText) },
    },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: truncate(
          `${mention(request.requester)} asks to *${what}* on ` +
            `*${esc(request.backend)}*${backendKind ? ` (${esc(backendKind)})` : ''}` +
            (request.reason ? `\n>${esc(request.reason).replace(/\n/g, '\n>')}` : ''),
          LIMITS.sectionText,
        ),
      },
    },
  ];

  if (request.state === 'pending' && preview) blocks.push(...previewBlocks(preview));

  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: truncate(statusLine(request), LIMITS.contextText) }],
  });
  const outcome = outcomeText(request);
  if (outcome) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(outcome, LIMITS.sectionText) } });

  const buttons = cardButtons(request, preview);
  if (buttons.length > 0) blocks.push({ type: 'actions', block_id: `card_actions_${request.id}`, elements: buttons });

  return {
    text: truncate(
      `${request.id}: ${esc(describeRequest(request))} on ${esc(request.backend)} — ${request.state}`,
      LIMITS.fallbackText,
    ),
    blocks,
  };
}

function previewBlocks(preview: Preview): Block[] {
  if (preview.error) {
    return [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: truncate(`:warning: Could not read the current state: ${esc(preview.error)}`, LIMITS.sectionText),
        },
      },
    ];
  }
  const { current, assessment } = preview;
  const lines = [`*Current state:* ${current ? esc(describeState(current)) : 'unknown'}`];
  if (assessment) lines.push(`*Change:* ${esc(assessment.change)}`);
  if (assessment?.blocker) lines.push(`:no_entry: *Cannot apply as it stands:* ${esc(assessment.blocker)}`);
  if (assessment?.noOp) lines.push(`:information_source: *Would change nothing:* ${esc(assessment.noOp)}`);
  if (assessment?.warning) lines.push(`:warning: ${esc(assessment.warning)}`);
  return [{ type: 'section', text: { type: 'mrkdwn', text: truncate(lines.join('\n'), LIMITS.sectionText) } }];
}

/** "exists, enabled, quota 10 GB (2.1 GB used), alice@example.com, groups staff" or "user does not exist". */
export function describeState(state: UserState): string {
  if (!state.exists) return 'user does not exist';
  const parts = [state.enabled === undefined ? 'exists' : state.enabled ? 'exists, enabled' : 'exists, disabled'];
  if (state.quota) {
    parts.push(
      `quota ${formatBytes(state.quota.limitBytes)}` +
        (state.quota.usedBytes !== undefined ? ` (${formatBytes(state.quota.usedBytes)} used)` : ''),
    );
  }
  if (state.email) parts.push(state.email);
  if (state.displayName && state.displayName !== state.userId) parts.push(`"${state.displayName}"`);
  if (state.groups?.length) parts.push(`groups ${state.groups.join(', ')}`);
  if (state.userId) parts.push(`id ${state.userId}`);
  return parts.join(', ');
}

function statusLine(request: AccountRequest): string {
  const votes = request.approvals.map((v) => `${mention(v.by)} ${when(v.at)}`).join(', ');
  const parts = [
    `*${STATE_LABEL[request.state]}*`,
    `approvals ${request.approvals.length} of ${request.approvalsRequired}${votes ? `: ${votes}` : ''}`,
  ];
  if (request.state === 'pending') parts.push(`expires ${when(request.expiresAt)}`);
  return parts.join(' · ');
}

function outcomeText(request: AccountRequest): string | undefined {
  switch (request.state) {
    case 'applied':
      return request.result
        ? `:white_check_mark: ${esc(request.result.summary)} (${when(request.result.at)})`
        : undefined;
    case 'failed':
      return request.error
        ? `:x: *${esc(request.backend)} said:* ${esc(request.error.message)} ` +
            `(${when(request.error.at)}, attempt ${request.attempts})` +
            (request.error.retryable ? '' : '\nFix the cause first (see the message), then Retry.')
        : undefined;
    case 'rejected':
    case 'cancelled':
    case 'expired':
      return request.decision
        ? (request.state === 'expired'
            ? 'Expired'
            : `${capitalise(request.state)} by ${mention(request.decision.by)}`) +
            ` ${when(request.decision.at)}` +
            (request.decision.reason && request.state !== 'expired'
              ? `\n>${esc(request.decision.reason).replace(/\n/g, '\n>')}`
              : '')
        : undefined;
    default:
      return undefined;
  }
}

function cardButtons(request: AccountRequest, preview?: Preview): types.Button[] {
  const value = request.id;
  if (request.state === 'pending') {
    const destructive = ACTION_KINDS[request.action].destructive;
    return [
      {
        type: 'button',
        action_id: SLACK_ACTION_ID.approve,
        text: { type: 'plain_text', text: destructive ? 'Approve…' : 'Approve' },
        style: preview?.assessment?.blocker ? undefined : 'primary',
        value,
      },
      {
        type: 'button',
        action_id: SLACK_ACTION_ID.reject,
        text: { type: 'plain_text', text: 'Reject…' },
        style: 'danger',
        value,
      },
    ];
  }
  if (request.state === 'failed') {
    return [
      {
        type: 'button',
        action_id: SLACK_ACTION_ID.retry,
        text: { type: 'plain_text', text: 'Retry' },
        style: 'primary',
        value,
      },
      { type: 'button', action_id: SLACK_ACTION_ID.cancel, text: { type: 'plain_text', text: 'Give up' }, value },
    ];
  }
  return [];
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
