/**
 * How reminders and escalations reach people: an outbox consumer (src/slack/publisher.ts) over the `reminded` and
 * `escalated` audit entries the domain commits (src/requests/reminders.ts decides WHEN). A reminder is a reply in
 * the card's thread mentioning the approvers; an escalation is a DM to each listed person and/or a post in the
 * listed channel, with a link to the card. Like every consumer, it moves its cursor only after Slack accepted, so
 * a Slack outage delays a reminder and a restart does not send it again.
 */
import type { Logger } from 'pino';
import type { RequestDesk } from '../requests/index.js';
import type { AccountRequest } from '../requests/types.js';
import type { AuditEntry, RecordStore } from '../store/types.js';
import { escalationText, reminderText, type ReminderMentions } from './blocks/reminders.js';
import type { CardRecord, OutboxConsumer } from './publisher.js';
import { slackErrorCode, type SlackSurface } from './surface.js';

export interface ReminderDeliveryDeps {
  desk: Pick<RequestDesk, 'queries'>;
  cards: RecordStore<CardRecord>;
  surface: SlackSurface;
  logger: Logger;
}

/** DM errors that no retry fixes (the person is gone or cannot get DMs from the app): that person is skipped. */
const UNREACHABLE_PERSON = new Set(['user_not_found', 'user_disabled', 'cannot_dm_bot', 'account_inactive']);

export class ReminderDelivery implements OutboxConsumer {
  readonly name = 'reminders';
  /**
   * The card was deleted: a thread reply under it answers thread_not_found (a Bolt maintainer's word:
   * https://github.com/slackapi/bolt-js/issues/2307), its permalink message_not_found. No retry brings it back.
   */
  readonly skippable: ReadonlySet<string> = new Set(['thread_not_found', 'message_not_found']);

  constructor(private readonly deps: ReminderDeliveryDeps) {}

  wants(entry: AuditEntry): boolean {
    return entry.event === 'reminded' || entry.event === 'escalated';
  }

  async handle(entry: AuditEntry): Promise<void> {
    if (!this.wants(entry)) return;
    const request = await this.deps.desk.queries.get(entry.subject);
    // Decided while the entry waited in the outbox: a reminder now would only be noise.
    if (!request || request.state !== 'pending') return;
    const card = await this.deps.cards.get(request.id);
    // The cards consumer runs first in each pass; while it is held up, this one waits too (retried next pass).
    if (!card) throw new Error('card_not_posted_yet');
    if (entry.event === 'reminded') {
      await this.deps.surface.replyToCard(card.ref, reminderText(request, mentionsIn(entry)));
    } else {
      await this.escalate(request, card.ref, entry);
    }
  }

  private async escalate(request: AccountRequest, cardRef: string, entry: AuditEntry): Promise<void> {
    const to = (entry.data.escalateTo ?? {}) as { users?: string[]; channel?: string };
    const text = escalationText(request, await this.deps.surface.cardLink(cardRef));
    if (to.channel) await this.deps.surface.postTo(to.channel, text);
    for (const user of to.users ?? []) {
      try {
        await this.deps.surface.dm(user, text);
      } catch (err) {
        const code = slackErrorCode(err);
        if (!code || !UNREACHABLE_PERSON.has(code)) throw err;
        this.deps.logger.warn(
          { request: request.id, user, slackError: code },
          'could not DM an escalation to this person; check escalateTo in the config',
        );
      }
    }
  }
}

function mentionsIn(entry: AuditEntry): ReminderMentions {
  const mention = (entry.data.mention ?? {}) as Partial<ReminderMentions>;
  return { users: mention.users ?? [], groups: mention.groups ?? [] };
}
