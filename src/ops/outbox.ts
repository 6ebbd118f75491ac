/**
 * How far the Slack outbox is behind the audit log: the metrics' lag gauge and the readiness probe read it.
 * Each Slack consumer keeps a durable cursor in the store (src/slack/publisher.ts); the outbox is behind by the
 * entries past the slowest cursor.
 */
import type { AuditLog, Cursors } from '../store/types.js';

/** The cursor names src/slack/publisher.ts advances, one per consumer. */
const OUTBOX_CONSUMERS = ['audit-channel', 'cards', 'requester-dm', 'reminders', 'batch-thread'] as const;

export interface OutboxStatus {
  /** Entries the slowest consumer has not posted. */
  waiting: number;
  /** When the oldest of them was appended (ISO time), if any waits. */
  oldestAt?: string;
}

export async function outboxStatus(audit: AuditLog, cursors: Cursors): Promise<OutboxStatus> {
  const [head, ...positions] = await Promise.all([audit.head(), ...OUTBOX_CONSUMERS.map((c) => cursors.get(c))]);
  const slowest = Math.min(...positions);
  const waiting = Math.max(0, head.seq - slowest);
  if (waiting === 0) return { waiting };
  const [oldest] = await audit.readAfter(slowest, 1);
  return oldest ? { waiting, oldestAt: oldest.at } : { waiting };
}
