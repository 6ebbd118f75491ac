/**
 * The daily anchor: once a day the audit log's head (its last seq and that entry's hash) is posted in the audit
 * channel. Slack keeps that line outside the store, so a log rewritten later (entries edited and every hash after
 * them recomputed) no longer leads to a head that was published: `npm run audit -- verify --anchor SEQ:HASH`
 * checks it.
 *
 * The first anchor is posted on the first UTC day after the deployment's first start. One replica posts: a work
 * lease plus a cursor in the store holding the last anchored day (UTC day number), moved by compare-and-swap only
 * after Slack accepted the line. A failed post is tried again at the next check.
 */
import type { Logger } from '../log.js';
import type { AuditLog, Cursors } from '../store/types.js';

const DAY_MS = 86_400_000;
const CURSOR = 'audit-anchor-day';
const LEASE = 'audit-anchor';
const LEASE_MS = 60_000;

export interface AuditAnchorDeps {
  audit: AuditLog;
  cursors: Cursors;
  leases: { acquire(name: string, ttlMs: number): Promise<boolean>; release(name: string): Promise<void> };
  /** Posts one line in the audit channel. */
  post(text: string): Promise<void>;
  logger: Logger;
  now: () => number;
  /** How often to look whether today's anchor is due (default 10 minutes). */
  checkIntervalMs?: number;
}

function anchorText(head: { seq: number; hash: string }, at: Date): string {
  const day = at.toISOString().slice(0, 10);
  if (head.seq === 0) return `:anchor: Audit log anchor ${day}: the log is empty.`;
  return (
    `:anchor: Audit log anchor ${day}: entry #${head.seq}, sha256 \`${head.hash}\`. ` +
    'An auditor checks that the log still leads here with ' +
    `\`npm run audit -- verify --anchor ${head.seq}:${head.hash}\`.`
  );
}

export class AuditAnchor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<boolean> | undefined;

  constructor(private readonly deps: AuditAnchorDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), this.deps.checkIntervalMs ?? 600_000);
    this.timer.unref();
    void this.check();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Posts today's anchor if no replica has yet; true when this call posted it. Never throws. */
  check(): Promise<boolean> {
    this.running ??= this.postIfDue()
      .catch((err) => {
        this.deps.logger.warn({ err }, 'could not post the daily audit anchor; trying again at the next check');
        return false;
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async postIfDue(): Promise<boolean> {
    const { audit, cursors, leases, now } = this.deps;
    const today = Math.floor(now() / DAY_MS);
    if ((await cursors.get(CURSOR)) >= today) return false;
    if (!(await leases.acquire(LEASE, LEASE_MS))) return false;
    try {
      // Read again under the lease: another replica may have posted between the first read and the lease.
      const last = await cursors.get(CURSOR);
      if (last >= today) return false;
      if (last === 0) {
        // A new deployment: today counts as anchored, and the first anchor is posted on the next UTC day.
        await cursors.advance(CURSOR, last, today);
        return false;
      }
      const head = await audit.head();
      await this.deps.post(anchorText(head, new Date(now())));
      await cursors.advance(CURSOR, last, today);
      this.deps.logger.info({ seq: head.seq, hash: head.hash }, 'posted the daily audit anchor');
      return true;
    } finally {
      await leases.release(LEASE);
    }
  }
}
