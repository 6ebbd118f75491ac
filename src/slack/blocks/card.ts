/**
 * The approval card posted in the approvals channel and updated in place as the request moves on. Pure: a request
 * (and, while it waits, the backend's live view of the user) in; blocks and fallback text out.
 */
import type { types } from '@slack/bolt';
import type { UserState } from '../../backends/types.js';
import { ACTION_KINDS } from '../../requests/actions/index.js';
import { isDestructive } from '../../requests/decisions.js';
import { formatBytes } from '../../requests/sizes.js';
import type { AccountRequest, Step, StepPreview, StepTarget } from '../../requests/types.js';
import { SLACK_ACTION_ID } from '../block-ids.js';
import { LIMITS, esc, mention, truncate, when } from '../text.js';
import { scheduleCancelButton, scheduledLines } from './schedule.js';
import { describeBatch, renderBatchCard } from './batch.js';

type Block = types.KnownBlock;

export interface CardInput {
  request: AccountRequest;
  /** Backend name -> kind ("cloud" -> "nextcloud"), for the "on cloud (nextcloud)" line. */
  backendKinds?: ReadonlyMap<string, string>;
  /** Now, for a batch's "waiting for cloud's rate limit until ..." (epoch ms; default the wall clock). */
  now?: number;
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
  scheduled: ':white_check_mark: Applied, with a scheduled step to come',
  failed: ':x: Failed',
  partly_applied: ':warning: Partly applied',
  rejected: ':no_entry: Rejected',
  expired: ':alarm_clock: Expired',
  cancelled: ':heavy_multiplication_x: Cancelled',
};

/** One step in words: "create alice (alice@example.com, quota 10 GB)". */
function describeStep(step: Pick<StepTarget, 'action' | 'username' | 'params'>): string {
  return ACTION_KINDS[step.action].describe(step);
}

/** The request in words: its one step, or "onboard alice (profile staff)" / "offboard alice". */
export function describeRequest(request: AccountRequest): string {
  // A one-action request stays that action when a time limit adds its scheduled undo.
  const only = request.steps.length === 1 || request.plan === 'single' ? request.steps[0] : undefined;
  if (request.plan === 'batch') return describeBatch(request);
  if (request.plan === 'single' && only) return describeStep(only);
  if (request.plan === 'onboard') return `onboard ${request.username} (profile ${request.profile ?? '?'})`;
  const deleting = request.steps.some((s) => s.action === 'delete');
  return `offboard ${request.username}${deleting ? ' (delete accounts)' : ''}`;
}

/** Where it applies: "cloud", or "cloud, nas" for a plan over several backends. */
export function backendsOf(request: Pick<AccountRequest, 'steps'>): string {
  return [...new Set(request.steps.map((s) => s.backend))].join(', ');
}

/** The steps that run once approved (not the scheduled ones). */
function immediateSteps(request: AccountRequest): Step[] {
  return request.steps.filter((s) => s.notBefore === undefined);
}

export function renderCard({ request, backendKinds, now }: CardInput): SlackMessage {
  if (request.plan === 'batch') {
    return renderBatchCard(request, now ?? Date.now(), backendKinds?.get(request.steps[0]?.backend ?? ''));
  }
  const what = esc(describeRequest(request));
  const immediate = immediateSteps(request);
  const only = immediate.length === 1 ? immediate[0] : undefined;
  const backendKind = only ? backendKinds?.get(only.backend) : undefined;
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
          `${mention(request.requester)} asks to *${what}* on *${esc(backendsOf(request))}*` +
            (backendKind ? ` (${esc(backendKind)})` : '') +
            (request.extends
              ? `\n:calendar: More time for *${esc(request.extends)}*: approving this replaces its time limit`
              : '') +
            (request.reason ? `\n>${esc(request.reason).replace(/\n/g, '\n>')}` : ''),
          LIMITS.sectionText,
        ),
      },
    },
  ];

  if (only) {
    if (request.state === 'pending') blocks.push(...previewBlocks(only.preview));
  } else {
    blocks.push(stepsBlock(request, backendKinds));
  }
  const scheduled = scheduledLines(request);
  if (scheduled.length > 0) {
    const text = `*Time limit* (approved with the request):\n${scheduled.join('\n')}`;
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: fitLines([text], LIMITS.sectionText) } });
  }

  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: truncate(statusLine(request), LIMITS.contextText) }],
  });
  const outcome = only ? outcomeText(request, only) : planOutcomeText(request);
  if (outcome) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(outcome, LIMITS.sectionText) } });

  const buttons = cardButtons(request);
  if (buttons.length > 0) blocks.push({ type: 'actions', block_id: `card_actions_${request.id}`, elements: buttons });

  return {
    text: truncate(
      `${request.id}: ${esc(describeRequest(request))} on ${esc(backendsOf(request))} ` +
        `— ${request.state.replace('_', ' ')}`,
      LIMITS.fallbackText,
    ),
    blocks,
  };
}

function previewBlocks(preview: StepPreview | undefined): Block[] {
  if (!preview) {
    return [{ type: 'context', elements: [{ type: 'mrkdwn', text: ':mag: Reading the current state…' }] }];
  }
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

const STEP_LABEL: Record<Step['state'], string> = {
  pending: ':white_circle: waiting',
  applying: ':gear: applying',
  applied: ':white_check_mark: applied',
  failed: ':x: failed',
  skipped: ':heavy_minus_sign: skipped',
};

/** A plan over several backends: one line per step, with its live state while pending, its progress after. */
function stepsBlock(request: AccountRequest, backendKinds?: ReadonlyMap<string, string>): Block {
  const lines = immediateSteps(request).map((step) => {
    const kind = backendKinds?.get(step.backend);
    const head = `*${esc(step.backend)}*${kind ? ` (${esc(kind)})` : ''}: ${esc(describeStep(step))}`;
    if (request.state === 'pending') return `${head}\n${stepPreviewLine(step)}`;
    if (request.state === 'approved' || ['rejected', 'expired', 'cancelled'].includes(request.state)) {
      if (step.state === 'pending') return head;
    }
    const detail =
      step.state === 'applied' || step.state === 'skipped'
        ? step.result
          ? ` — ${esc(step.result.summary)}`
          : ''
        : step.state === 'failed' && step.error
          ? ` — ${esc(step.error.message)}`
          : '';
    return `${STEP_LABEL[step.state]} ${head}${detail}`;
  });
  return { type: 'section', text: { type: 'mrkdwn', text: fitLines(lines, LIMITS.sectionText) } };
}

function stepPreviewLine(step: Step): string {
  const preview = step.preview;
  if (!preview) return '      :mag: reading the current state…';
  if (preview.error) return `      :warning: could not read: ${esc(preview.error)}`;
  const parts = [`now: ${preview.current ? esc(describeState(preview.current)) : 'unknown'}`];
  const assessment = preview.assessment;
  if (assessment?.blocker) parts.push(`:no_entry: ${esc(assessment.blocker)}`);
  else if (assessment?.noOp) parts.push(`:information_source: would change nothing (${esc(assessment.noOp)})`);
  else if (step.skipIfMissing && preview.current && !preview.current.exists) parts.push('will be skipped');
  if (assessment?.warning) parts.push(`:warning: ${esc(assessment.warning)}`);
  return `      ${parts.join(' · ')}`;
}

/** Whole lines within a block's limit, with a count of what did not fit. */
function fitLines(lines: string[], limit: number): string {
  const shown: string[] = [];
  let length = 0;
  for (const [i, line] of lines.entries()) {
    const more = `\n…and ${lines.length - i} more steps`;
    if (length + line.length + 1 + more.length > limit) return truncate(`${shown.join('\n')}${more}`, limit);
    shown.push(line);
    length += line.length + 1;
  }
  return truncate(shown.join('\n'), limit);
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
  if (state.unmanaged) parts.push(state.unmanaged);
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

function outcomeText(request: AccountRequest, step: Step): string | undefined {
  switch (request.state) {
    // Partly applied with one immediate step: its scheduled step failed, and its time-limit line says why.
    case 'applied':
    case 'scheduled':
    case 'partly_applied':
      return step.result ? `:white_check_mark: ${esc(step.result.summary)} (${when(step.result.at)})` : undefined;
    case 'failed':
      return step.error
        ? `:x: *${esc(step.backend)} said:* ${esc(step.error.message)} ` +
            `(${when(step.error.at)}, attempt ${step.attempts})` +
            (step.error.retryable ? '' : '\nFix the cause first (see the message), then Retry.')
        : undefined;
    default:
      return decisionText(request);
  }
}

function planOutcomeText(request: AccountRequest): string | undefined {
  const steps = immediateSteps(request);
  const count = (state: Step['state']) => steps.filter((s) => s.state === state).length;
  switch (request.state) {
    case 'applying':
    case 'scheduled':
    case 'applied':
    case 'failed':
    case 'partly_applied': {
      const parts = [`${count('applied')} of ${steps.length} applied`];
      if (count('skipped')) parts.push(`${count('skipped')} skipped`);
      if (count('failed')) parts.push(`${count('failed')} failed`);
      const fix =
        request.state === 'failed' || request.state === 'partly_applied'
          ? '\nRetry runs only the failed steps (reading the backend first where an answer was lost); ' +
            'Give up closes it.'
          : '';
      return `${parts.join(' · ')}${fix}`;
    }
    default:
      return decisionText(request);
  }
}

function decisionText(request: AccountRequest): string | undefined {
  if (!['rejected', 'cancelled', 'expired'].includes(request.state) || !request.decision) return undefined;
  const who =
    request.state === 'expired' ? 'Expired' : `${capitalise(request.state)} by ${mention(request.decision.by)}`;
  const reason =
    request.decision.reason && request.state !== 'expired'
      ? `\n>${esc(request.decision.reason).replace(/\n/g, '\n>')}`
      : '';
  return `${who} ${when(request.decision.at)}${reason}`;
}

function cardButtons(request: AccountRequest): types.Button[] {
  const value = request.id;
  if (request.state === 'pending') {
    const destructive = isDestructive(request);
    const blocked = request.steps.some((s) => s.preview?.assessment?.blocker);
    return [
      {
        type: 'button',
        action_id: SLACK_ACTION_ID.approve,
        text: { type: 'plain_text', text: destructive ? 'Approve…' : 'Approve' },
        style: blocked ? undefined : 'primary',
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
  if (request.state === 'failed' || request.state === 'partly_applied') {
    return [
      {
        type: 'button',
        action_id: SLACK_ACTION_ID.retry,
        text: { type: 'plain_text', text: 'Retry' },
        style: 'primary',
        value,
      },
      { type: 'button', action_id: SLACK_ACTION_ID.cancel, text: { type: 'plain_text', text: 'Give up' }, value },
      ...(waitingAfterApproval(request) ? [scheduleCancelButton(value)] : []),
    ];
  }
  return waitingAfterApproval(request) ? [scheduleCancelButton(value)] : [];
}

/** An approved request with a scheduled step still to run: approvers may cancel that step. */
function waitingAfterApproval(request: AccountRequest): boolean {
  return request.state !== 'pending' && request.steps.some((s) => s.state === 'pending' && s.notBefore !== undefined);
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
