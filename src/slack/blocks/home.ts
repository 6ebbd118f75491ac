/** App Home: everyone sees their own requests; approvers also see what waits for them. Pure builder. */
import type { types } from '@slack/bolt';
import type { AccountRequest } from '../../requests/types.js';
import { SLACK_ACTION_ID } from '../block-ids.js';
import { LIMITS } from '../text.js';
import { requestLine } from './messages.js';
import { scheduledListBlocks } from './scheduled-list.js';

type Block = types.KnownBlock;

export function homeView(options: {
  own: AccountRequest[];
  /** How many requests the person has asked for in all (the Home shows the newest few). */
  ownTotal?: number;
  waiting?: AccountRequest[];
  /** How many requests are pending in all (the Home shows the oldest few this approver can still decide). */
  pendingTotal?: number;
  /** Scheduled steps still to run: all of them for an approver (with Cancel), the person's own otherwise. */
  scheduled?: { requests: AccountRequest[]; everyone: boolean };
  command: string;
}): types.HomeView {
  const note = (text: string): Block => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: 'AccountDesk' } },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `Ask for an account change with \`${options.command}\` in any channel, or \`${options.command} help\`.`,
      },
    },
  ];
  if (options.waiting) {
    blocks.push({
      type: 'header',
      text: { type: 'plain_text', text: `Waiting for your decision (${options.waiting.length})` },
    });
    if (options.waiting.length === 0)
      blocks.push({ type: 'section', text: { type: 'mrkdwn', text: 'Nothing waits for you.' } });
    for (const request of options.waiting) {
      blocks.push(
        { type: 'section', text: { type: 'mrkdwn', text: requestLine(request) } },
        {
          type: 'actions',
          block_id: `home_decide_${request.id}`,
          elements: [
            {
              type: 'button',
              action_id: SLACK_ACTION_ID.approve,
              text: { type: 'plain_text', text: 'Approve' },
              style: 'primary',
              value: request.id,
            },
            {
              type: 'button',
              action_id: SLACK_ACTION_ID.reject,
              text: { type: 'plain_text', text: 'Reject…' },
              style: 'danger',
              value: request.id,
            },
          ],
        },
      );
    }
    const pendingTotal = options.pendingTotal ?? 0;
    if (pendingTotal > options.waiting.length) {
      blocks.push(note(`${pendingTotal} requests are pending in all; \`${options.command} pending\` lists them.`));
    }
  }
  const scheduled = options.scheduled;
  if (scheduled && scheduled.requests.length > 0) {
    blocks.push({ type: 'header', text: { type: 'plain_text', text: 'Scheduled' } });
    blocks.push(...scheduledListBlocks(scheduled.requests, { ...scheduled, canCancel: scheduled.everyone }).blocks);
  }
  blocks.push({ type: 'header', text: { type: 'plain_text', text: 'Your requests' } });
  if (options.own.length === 0)
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: 'You have not asked for anything yet.' } });
  for (const request of options.own) {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: requestLine(request) },
      ...(request.state === 'pending'
        ? {
            accessory: {
              type: 'button',
              action_id: SLACK_ACTION_ID.cancel,
              text: { type: 'plain_text', text: 'Cancel' },
              value: request.id,
            },
          }
        : {}),
    });
  }
  const ownTotal = options.ownTotal ?? options.own.length;
  if (ownTotal > options.own.length) {
    blocks.push(
      note(
        `The newest ${options.own.length} of your ${ownTotal} requests; ` +
          `\`${options.command} pending\` lists the open ones, \`${options.command} status <id>\` any one.`,
      ),
    );
  }
  // The requests this Home offers buttons for: a click naming any other is refused (listeners/decide-buttons.ts).
  // At most 20 waiting, 15 own and 20 scheduled ids of 9 characters: far below private_metadata's 3000
  // (docs/slack.md#limits).
  const cancellable = scheduled?.everyone ? scheduled.requests.slice(0, 20) : [];
  const offered = [...(options.waiting ?? []), ...options.own.filter((r) => r.state === 'pending'), ...cancellable].map(
    (r) => r.id,
  );
  const private_metadata = homeMetadata(offered);
  // A Home tab holds at most 100 blocks (docs/slack.md#limits): keep the newest, say what was cut.
  if (blocks.length > LIMITS.blocksPerView) {
    const kept = blocks.slice(0, LIMITS.blocksPerView - 1);
    kept.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `…more than fit here; use \`${options.command} pending\`.` }],
    });
    return { type: 'home', blocks: kept, private_metadata };
  }
  return { type: 'home', blocks, private_metadata };
}

/** App Home's private_metadata: the ids of the requests it shows buttons for, space-separated. */
function homeMetadata(requestIds: string[]): string {
  return requestIds.join(' ');
}

/** The request ids a Home's private_metadata names (see homeMetadata). */
export function homeRequestIds(metadata: string): string[] {
  return metadata.split(' ').filter(Boolean);
}
