/**
 * Persistence contracts. The store is generic: it keeps versioned JSON records, a hash-chained audit log and a
 * few coordination primitives. It knows nothing about account requests; the domain (src/requests) gives it
 * records and says how to index them.
 */

export interface VersionedRecord {
  id: string;
  /** Bumped by the store on every successful update; the compare-and-swap token. */
  version: number;
}

/** What an update callback returns to refuse the change (the record is left as it is). */
export interface Refusal<R> {
  refuse: R;
}

export type UpdateResult<T, R> =
  { ok: true; record: T } | { ok: false; refusal: R; record: T } | { ok: false; notFound: true };

export interface RecordStore<T extends VersionedRecord> {
  /**
   * Stores a new record (version 1). Throws StoreError('exists') when the id is taken. With `audit`, the entries
   * it returns are appended to the audit log in the SAME atomic commit: a crash can never leave the record
   * without its audit entry, or the entry without the record.
   */
  insert(record: Omit<T, 'version'>, audit?: (stored: T) => AuditEntryInput[]): Promise<T>;
  get(id: string): Promise<T | undefined>;
  /**
   * One atomic transition: reads the record, asks `change` for the next value (or a refusal), and writes it only
   * if nobody wrote in between (compare-and-swap on `version`, atomic across processes: a Redis script / an
   * SQLite transaction). On a lost race it reads again and asks `change` again, so the loser sees the winner's
   * state and refuses with "already decided by X" instead of overwriting it.
   * `change` must be pure: it may be called more than once.
   * With `audit`, the entries it returns for the new value are appended in the SAME atomic commit (a state
   * change and its audit entry are one commit; see docs/architecture.md).
   */
  update<R>(
    id: string,
    change: (current: T) => T | Refusal<R>,
    audit?: (next: T, previous: T) => AuditEntryInput[],
  ): Promise<UpdateResult<T, R>>;
  /**
   * Records whose index keys (see the `indexKeys` the store was built with) include `key`, without scanning
   * every record. Ordered oldest first by insertion.
   */
  listByIndex(key: string, limit?: number): Promise<T[]>;
  /**
   * One page of the records listed under `key`: at most `limit`, after skipping `offset` index members, oldest
   * first by insertion (or newest first). Reads only that page's records, however long the index is.
   */
  pageByIndex(key: string, page: { limit: number; offset?: number; newestFirst?: boolean }): Promise<T[]>;
  /** How many records are listed under `key`, from the index alone (no record is read). */
  countByIndex(key: string): Promise<number>;
  /**
   * Lists every record found under `key` under all the index keys it should carry now as well: after a code
   * change adds an index key, records written before it are listed under it too. Returns how many it looked at.
   */
  repairIndex(key: string): Promise<number>;
}

export interface AuditEntryInput {
  /** What happened: 'requested', 'approved', 'applied', ... */
  event: string;
  /** What it happened to (a request id). */
  subject: string;
  /** Who did it (a user id, or 'system'). */
  actor: string;
  /** Event details; must never hold a secret. */
  data: Record<string, unknown>;
}

export interface AuditEntry extends AuditEntryInput {
  /** 1, 2, 3 ... with no gaps. */
  seq: number;
  /** ISO-8601 time of the append. */
  at: string;
  /** hash of the previous entry ('' for seq 1). */
  prevHash: string;
  /** sha256 over seq, at, event, subject, actor, data and prevHash. */
  hash: string;
}

export type AuditVerification =
  { ok: true; entries: number } | { ok: false; entries: number; brokenAt: number; problem: string };

export interface AuditLog {
  /** Appends atomically (one writer wins each seq, across processes) and returns the stored entry. */
  append(entry: AuditEntryInput): Promise<AuditEntry>;
  /** Entries with seq > afterSeq, oldest first. */
  readAfter(afterSeq: number, limit: number): Promise<AuditEntry[]>;
  /** Walks the chain and reports the first edited, inserted or deleted entry. */
  verify(): Promise<AuditVerification>;
  /** The last entry's seq and hash (seq 0 and '' while the log is empty), without reading any entry. */
  head(): Promise<{ seq: number; hash: string }>;
}

/**
 * Durable cursors for consumers of the audit log (the Slack audit channel poster, the card updater, DMs): each
 * consumer remembers the last seq it finished, so a Slack outage delays a line and never loses it.
 */
export interface Cursors {
  get(name: string): Promise<number>;
  /** Moves the cursor from `from` to `to` only if it still is at `from`. */
  advance(name: string, from: number, to: number): Promise<boolean>;
}

export interface Coordination {
  /**
   * Remembers `key` for ttlMs. True for the first caller, false while it is remembered (replay protection,
   * idempotency of one-shot effects). Atomic across processes.
   */
  once(key: string, ttlMs: number): Promise<boolean>;
  /**
   * A lease: true if `owner` now holds `name` for ttlMs (newly, or renewing its own lease). Lets one replica at
   * a time run a background loop such as the outbox poster or the expiry sweep.
   */
  acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean>;
  releaseLease(name: string, owner: string): Promise<void>;
  /** Who holds `name` now (undefined when nobody does or it expired). Reads only: takes nothing. */
  leaseHolder(name: string): Promise<string | undefined>;
}

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: 'exists' | 'unavailable' | 'corrupt' | 'contention',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
