/**
 * The thread under a batch's card: the full list of rows when the batch is posted, and once nothing runs a
 * summary of the results (each failed row with its line and the backend's words) and a CSV report with every
 * row. An outbox consumer (publisher.ts) like the others: it moves on only after Slack accepted, so a Slack outage
 * delays the thread and never loses it. It runs after the `cards` consumer, so the card it replies to exists.
 */
import type { RequestDesk } from '../requests/index.js';
import type { AuditEntry, RecordStore } from '../store/types.js';
import { batchReportCsv, batchResultsMessages, batchRowsMessages } from './blocks/batch.js';
import type { CardRecord } from './publisher.js';
import type { SlackSurface } from './surface.js';

/** Beyond this many messages the full list goes into the thread as a file. */
const MAX_LIST_MESSAGES = 5;

/** Entries after which a batch has nothing left running. */
const ENDS = new Set(['applied', 'failed', 'partly_applied', 'stopped']);

export class BatchThread {
  constructor(
    private readonly deps: {
      desk: Pick<RequestDesk, 'queries'>;
      cards: RecordStore<CardRecord>;
      surface: SlackSurface;
    },
  ) {}

  async handle(entry: AuditEntry): Promise<void> {
    if (entry.data.plan !== 'batch') return;
    const ended = ENDS.has(entry.event) || (entry.event === 'cancelled' && entry.data.state === 'cancelled');
    if (entry.event !== 'requested' && !ended) return;
    const request = await this.deps.desk.queries.get(entry.subject);
    const card = await this.deps.cards.get(entry.subject);
    if (!request) return;
    // The cards consumer posts the card first; if Slack refused it, this waits for it (thrown: retried next pass).
    if (!card) throw new Error('card_not_posted');
    if (entry.event === 'requested') {
      const messages = batchRowsMessages(request);
      if (messages.length <= MAX_LIST_MESSAGES) {
        for (const text of messages) await this.deps.surface.postInThread(card.ref, text);
        return;
      }
      // Dozens of messages would take Slack's one post per second per channel for a minute: one file instead.
      await this.deps.surface.postInThread(
        card.ref,
        `*All ${request.steps.length} rows of ${request.id}* are in the file below.`,
      );
      await this.deps.surface.uploadToThread(card.ref, {
        name: `${request.id}-rows.csv`,
        title: `${request.id}: every row`,
        content: batchReportCsv(request),
      });
      return;
    }
    // A batch given up before any row ran has no results to report.
    if (!request.steps.some((s) => s.attempts > 0)) return;
    for (const text of batchResultsMessages(request)) await this.deps.surface.postInThread(card.ref, text);
    await this.deps.surface.uploadToThread(card.ref, {
      name: `${request.id}-report-${entry.seq}.csv`,
      title: `${request.id}: results of every row`,
      content: batchReportCsv(request),
    });
  }
}
