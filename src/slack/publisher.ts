/**
 * The outbox: everything Slack learns about a request after the click that caused it comes from the durable
 * audit log. Four consumers read it in order, each with its own cursor in the store:
 *   audit-channel  one line per entry in the audit channel
 *   cards          posts the approval card for a new request, updates it in place after every other event
 *   requester-dm   tells the requester when their request is decided, applied or failed
 *   batch-thread   a batch's full list of rows, then its results and CSV report, in the card's thread
 * and any consumers passed in (reminders.ts: reminders in the card's thread, escalations).
 * A consumer advances its cursor only after Slack accepted the entry, so a Slack outage delays a line and never
 * loses it. One replica at a time runs the loop (a lease in the store), so two replicas do not post twice. The
 * three consumers run side by side, each in its own order: a card waiting for Slack's per-channel pace
 * (post-pacing.ts) does not hold back an audit line or a DM.
 */
import type { Logger } from 'pino';
import type { RequestDesk } from '../requests/index.js';
import type { AuditEntry, AuditLog, Cursors, RecordStore } from '../store/types.js';
import { CardThrottle } from './batch-progress.js';
import { BatchThread } from './batch-thread.js';
import { renderCard } from './blocks/card.js';
import { auditLine, requesterDm } from './blocks/messages.js';
import { scheduleNoticeMessage } from './blocks/scheduled-list.js';
import { slackErrorCode, type SlackSurface } from './surface.js';

export interface PublisherDeps {
  audit: AuditLog;
  cursors: Cursors;
  /** Work leases held in this process's name (src/liveness.ts): one replica at a time runs the publisher. */
  leases: { acquire(name: string, ttlMs: number): Promise<boolean>; release(name: string): Promise<void> };
  desk: Pick<RequestDesk, 'queries' | 'previews' | 'events'>;
  /** Where each request's card lives: the Slack layer's own records (request id -> "channel/ts"). */
  cards: RecordStore<CardRecord>;
  /** Backend name -> kind, for the card's "on cloud (nextcloud)". */
  backendKinds: ReadonlyMap<string, string>;
  surface: SlackSurface;
  logger: Logger;
  /** How often the loop looks for new entries even without a kick. */
  intervalMs?: number;
  /** Consumers run after the three built-in ones, each with its own cursor (e.g. reminders.ts). */
  consumers?: OutboxConsumer[];
  /** A running batch's card is updated at most this often (batch-progress.ts). Default 3 s. */
  batchCardIntervalMs?: number;
}

/** Where a request's approval card was posted. */
export interface CardRecord {
  /** The request id. */
  id: string;
  version: number;
  /** "channel/ts" as SlackSurface.postCard returned it. */
  ref: string;
}

export interface OutboxConsumer {
  /** Also the name of its cursor in the store. */
  name: string;
  handle(entry: AuditEntry, batch: AuditEntry[]): Promise<void>;
  /** Errors after which the entry is skipped rather than retried (the recipient cannot receive it, ever). */
  skippable?: ReadonlySet<string>;
  /**
   * The entries it acts on, when only a few: the others are passed over without a Slack call or a lease renewal,
   * so a consumer added to a deployment with a long log catches up in seconds (docs/architecture.md#the-outbox).
   */
  wants?(entry: AuditEntry): boolean;
}

const LEASE = 'slack-publisher';
/** Comfortably longer than one Slack call with the WebClient's 10 s timeout and 2 retries (about 35 s). */
const LEASE_MS = 60_000;
/**
 * The lease is renewed before an entry once this much of it has passed: one Slack call (about 35 s at worst) still
 * fits in what is left, and a burst of entries does not cost a store write each.
 */
const RENEW_AFTER_MS = LEASE_MS / 3;
const BATCH = 50;

/** Slack errors that no retry will fix for a DM: the person is gone or the app may not write to them. */
const UNREACHABLE_RECIPIENT = new Set([
  'user_not_found',
  'user_disabled',
  'cannot_dm_bot',
  'account_inactive',
  'user_not_visible',
]);

/**
 * chat.update errors that no retry will fix: the card was deleted (or is no longer the app's to edit). Retrying
 * would hold back every later card, for every request, for ever; the request itself lives on in the store, the
 * audit channel and the requester's DMs.
 */
const CARD_GONE = new Set(['message_not_found', 'cant_update_message']);

export class AuditPublisher {
  private readonly consumers: OutboxConsumer[];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** Consumers' last error, so a stuck outbox is logged once per cause, not every tick. */
  private readonly lastError = new Map<string, string>();
  /** When this pass last took or renewed the lease (ms), and the renewal in flight, shared by the consumers. */
  private leaseAt = 0;
  private renewing: Promise<boolean> | undefined;
  private readonly batchCards: CardThrottle;

  constructor(private readonly deps: PublisherDeps) {
    this.batchCards = new CardThrottle(deps.batchCardIntervalMs ?? 3_000);
    const thread = new BatchThread(deps);
    this.consumers = [
      { name: 'audit-channel', handle: (entry) => this.postAuditLine(entry) },
      { name: 'cards', handle: (entry, batch) => this.refreshCard(entry, batch), skippable: CARD_GONE },
      { name: 'requester-dm', handle: (entry) => this.notifyRequester(entry), skippable: UNREACHABLE_RECIPIENT },
      { name: 'batch-thread', handle: (entry) => thread.handle(entry), skippable: CARD_GONE },
      ...(deps.consumers ?? []),
    ];
  }

  start(): void {
    this.stopped = false;
    // Every stored change is news for some consumer: start a pass at once instead of at the next tick.
    this.deps.desk.events.subscribe(() => this.kick());
    this.timer = setInterval(() => this.kick(), this.deps.intervalMs ?? 2_000);
    this.timer.unref();
    this.kick();
  }

  /** Runs the consumers now (coalescing concurrent kicks into one more pass). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err) => this.deps.logger.error({ err }, 'audit publisher pass failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Resolves when no pass is running (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.batchCards.stop();
    await this.idle();
    await this.deps.leases.release(LEASE);
  }

  private async drain(): Promise<void> {
    try {
      this.leaseAt = 0;
      if (!(await this.holdLease())) return;
      // All settled before the lease is released below, even when one consumer fails (a store error).
      const outcomes = await Promise.allSettled(this.consumers.map((consumer) => this.drainConsumer(consumer)));
      const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failed) throw failed.reason;
    } finally {
      // Released after every pass, so the lease of a process that died blocks its successor for at most one
      // lease time, and only if it died mid-pass.
      await this.deps.leases.release(LEASE);
    }
  }

  private async drainConsumer(consumer: OutboxConsumer): Promise<void> {
    for (;;) {
      const from = await this.deps.cursors.get(consumer.name);
      const batch = await this.deps.audit.readAfter(from, BATCH);
      if (batch.length === 0) return;
      let at = from;
      let leaseLost = false;
      for (const entry of batch) {
        if (consumer.wants && !consumer.wants(entry)) {
          at = entry.seq;
          continue;
        }
        // Renewed before an entry once a third of it has passed: one Slack call (10 s timeout, 2 retries) fits in
        // what is left, so a slow pass does not overlap another replica's.
        if (!(await this.holdLease())) {
          leaseLost = true;
          break;
        }
        try {
          await consumer.handle(entry, batch);
          this.lastError.delete(consumer.name);
        } catch (err) {
          const code = slackErrorCode(err) ?? (err as Error).message;
          if (!consumer.skippable?.has(code)) {
            this.reportStuck(consumer.name, entry, code, err);
            if (at > from) await this.deps.cursors.advance(consumer.name, from, at);
            return;
          }
          this.deps.logger.warn(
            { consumer: consumer.name, seq: entry.seq, request: entry.subject, slackError: code },
            'skipped an audit entry Slack can never deliver',
          );
        }
        at = entry.seq;
      }
      // Another replica moved the cursor (it took the lease over): stop, it owns the work now.
      if (!(await this.deps.cursors.advance(consumer.name, from, at))) return;
      if (leaseLost || batch.length < BATCH) return;
    }
  }

  /** Takes or renews the publisher lease when RENEW_AFTER_MS has passed; false when another replica holds it. */
  private holdLease(): Promise<boolean> {
    if (Date.now() - this.leaseAt < RENEW_AFTER_MS) return Promise.resolve(true);
    this.renewing ??= this.deps.leases
      .acquire(LEASE, LEASE_MS)
      .then((held) => {
        if (held) this.leaseAt = Date.now();
        return held;
      })
      .finally(() => {
        this.renewing = undefined;
      });
    return this.renewing;
  }

  private reportStuck(consumer: string, entry: AuditEntry, code: string, err: unknown): void {
    if (this.lastError.get(consumer) === code) return;
    this.lastError.set(consumer, code);
    const hint =
      code === 'not_in_channel' || code === 'channel_not_found'
        ? ' Invite the AccountDesk app to the approvals and audit channels (/invite @AccountDesk), ' +
          'and check the channel IDs in the config.'
        : code === 'invalid_auth' || code === 'token_revoked'
          ? ' The bot token was refused: reinstall the app and update SLACK_BOT_TOKEN.'
          : ' It will be retried.';
    this.deps.logger.error(
      { err, consumer, seq: entry.seq, request: entry.subject, slackError: code },
      `Slack did not accept an update (${code}); nothing is lost, later updates wait.${hint}`,
    );
  }

  private async postAuditLine(entry: AuditEntry): Promise<void> {
    const line = auditLine(entry);
    if (line) await this.deps.surface.postAuditLine(line);
  }

  /**
   * Posts or updates the card from what is stored. No backend is called here (the lease must not wait on one):
   * the live preview is taken by the domain's preview module and arrives as its own audit entry.
   */
  private async refreshCard(entry: AuditEntry, batch: AuditEntry[]): Promise<void> {
    // A later entry about the same request in this batch renders the same current state: skip this one.
    if (batch.some((later) => later.seq > entry.seq && later.subject === entry.subject)) return;
    const request = await this.deps.desk.queries.get(entry.subject);
    if (!request) return;
    const posted = await this.deps.cards.get(request.id);
    // A row settling is progress, held back to the throttle's pace; a click (pause, cancel) shows at once.
    const progress = entry.event.startsWith('step-');
    if (posted && progress && this.batchCards.defer(request, () => this.renderLater(request.id))) return;
    const card = renderCard({ request, backendKinds: this.deps.backendKinds });
    if (posted) {
      await this.deps.surface.updateCard(posted.ref, card);
    } else {
      const ref = await this.deps.surface.postCard(card);
      await this.deps.cards.insert({ id: request.id, ref });
    }
    // A vote on a card whose live read is old: read again (outside this loop); the result re-renders the card.
    if (entry.event !== 'previewed') this.deps.desk.previews.refreshIfStale(request);
  }

  /** A running batch's card, from what is stored now, after an update the throttle held back. */
  private renderLater(id: string): void {
    if (this.stopped) return;
    void (async () => {
      const request = await this.deps.desk.queries.get(id);
      const posted = await this.deps.cards.get(id);
      if (!request || !posted || this.batchCards.defer(request, () => this.renderLater(id))) return;
      await this.deps.surface.updateCard(posted.ref, renderCard({ request, backendKinds: this.deps.backendKinds }));
    })().catch((err) =>
      this.deps.logger.warn({ err, request: id }, 'could not update the batch card; the next row will'),
    );
  }

  private async notifyRequester(entry: AuditEntry): Promise<void> {
    // Steps are never DM'd (the request's own entries are): no need to read a batch's thousands of rows for them.
    if (entry.event.startsWith('step-')) return;
    const request = await this.deps.desk.queries.get(entry.subject);
    if (!request) return;
    if (entry.event === 'schedule-notice') {
      // Before a scheduled step runs: the requester, with a button to ask for more time.
      const notice = scheduleNoticeMessage(request, true);
      await this.deps.surface.dm(request.requester, notice.text, notice.blocks);
      return;
    }
    const text = requesterDm(entry, request);
    if (text) await this.deps.surface.dm(request.requester, text);
  }
}
