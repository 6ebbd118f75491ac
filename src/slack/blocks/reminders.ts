/**
 * The texts of a reminder (a reply in the card's thread) and of an escalation (a DM or a channel post). Pure
 * builders: the people to mention come from the audit entry the domain recorded (src/requests/reminders.ts).
 */
import type { AccountRequest } from '../../requests/types.js';
import { esc, mention, truncate, when, LIMITS } from '../text.js';
import { backendsOf, describeRequest } from './card.js';

/** Whom a reminder mentions: approvers who have not voted yet, and the approvers' user groups. */
export interface ReminderMentions {
  users: string[];
  groups: string[];
}

/** A user-group mention notifies every member (docs/slack.md#text-and-escaping); ids come from the config. */
function groupMention(groupId: string): string {
  return /^S[A-Z0-9]+$/.test(groupId) ? `<!subteam^${groupId}>` : esc(groupId);
}

function summary(request: AccountRequest): string {
  return truncate(
    `*${request.id}* (${esc(describeRequest(request))} on ${esc(backendsOf(request))}) from ` +
      `${mention(request.requester)}, asked ${when(request.createdAt)}`,
    LIMITS.sectionText,
  );
}

function progress(request: AccountRequest): string {
  const noun = request.approvalsRequired === 1 ? 'approval' : 'approvals';
  return `${request.approvals.length} of ${request.approvalsRequired} ${noun}`;
}

export function reminderText(request: AccountRequest, mentions: ReminderMentions): string {
  const who = [...mentions.groups.map(groupMention), ...mentions.users.map(mention)].join(' ');
  return truncate(
    `:hourglass: ${who ? `${who}: ` : ''}${summary(request)}, is still waiting for a decision ` +
      `(${progress(request)}). Approve or reject it on the card above.`,
    LIMITS.fallbackText,
  );
}

export function escalationText(request: AccountRequest, cardLink: string | undefined): string {
  const card = cardLink ? ` <${cardLink}|Open the card>.` : '';
  return truncate(
    `:rotating_light: ${summary(request)}, still has no decision after a reminder to the approvers ` +
      `(${progress(request)}).${card}`,
    LIMITS.fallbackText,
  );
}
