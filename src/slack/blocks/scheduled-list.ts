/**
 * The `/account scheduled` list (also on App Home) and the DM before a scheduled step runs, with its "Ask for more
 * time" button. Pure builders; block limits from docs/slack.md#limits.
 */
import type { types } from '@slack/bolt';
import { isWaiting } from '../../requests/lifecycle.js';
import { nextScheduled } from '../../requests/schedules.js';
import type { AccountRequest } from '../../requests/types.js';
import { SLACK_ACTION_ID } from '../block-ids.js';
import { LIMITS, esc, mention, truncate, when } from '../text.js';
import { backendsOf, describeRequest } from './card.js';
import { describeScheduledStep, scheduleCancelButton } from './schedule.js';

type Block = types.KnownBlock;

/** One line of the list: the request, what runs when, who asked. */
function scheduledEntry(request: AccountRequest): string {
  const steps = request.steps.filter(isWaiting).map((s) => esc(describeScheduledStep(s)));
  return truncate(
    `*${request.id}* ${steps.join('; ')} ${when(nextScheduled(request) ?? '')} · ` +
      `asked by ${mention(request.requester)} (${esc(describeRequest(request))})`,
    LIMITS.sectionText,
  );
}

/**
 * `/account scheduled` and App Home: what is coming, soonest first, with Cancel for approvers. At most 20 entries
 * (a message holds 50 blocks, docs/slack.md#limits).
 */
export function scheduledListBlocks(
  requests: AccountRequest[],
  options: { everyone: boolean; canCancel: boolean },
): { text: string; blocks: Block[] } {
  const title = options.everyone ? 'Scheduled steps' : 'Your scheduled steps';
  if (requests.length === 0) {
    const text = `${title}: none.`;
    return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
  }
  const shown = requests.slice(0, 20);
  const blocks: Block[] = [{ type: 'section', text: { type: 'mrkdwn', text: `*${title}*` } }];
  for (const request of shown) {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: scheduledEntry(request) },
      ...(options.canCancel ? { accessory: scheduleCancelButton(request.id) } : {}),
    });
  }
  if (requests.length > shown.length) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${requests.length - 20} more.` }] });
  }
  const text = truncate(`${title}:\n${shown.map(scheduledEntry).join('\n')}`, LIMITS.fallbackText);
  return { text, blocks };
}

/** The DM before a scheduled step runs; the requester's button asks for more time (a new, prefilled request). */
export function scheduleNoticeMessage(
  request: AccountRequest,
  forRequester: boolean,
): { text: string; blocks: Block[] } {
  const steps = request.steps.filter(isWaiting).map((s) => esc(describeScheduledStep(s)));
  const text = truncate(
    `:calendar: Coming up for ${request.id} (${esc(describeRequest(request))} on ${esc(backendsOf(request))}): ` +
      `AccountDesk will ${steps.join('; ')} ${when(nextScheduled(request) ?? '')}, as approved.` +
      (forRequester ? ' If more time is needed, ask for it before then.' : ''),
    LIMITS.sectionText,
  );
  const blocks: Block[] = [{ type: 'section', text: { type: 'mrkdwn', text } }];
  if (forRequester) {
    blocks.push({
      type: 'actions',
      block_id: `schedule_notice_${request.id}`,
      elements: [
        {
          type: 'button',
          action_id: SLACK_ACTION_ID.scheduleExtend,
          text: { type: 'plain_text', text: 'Ask for more time' },
          value: request.id,
        },
      ],
    });
  }
  return { text, blocks };
}
