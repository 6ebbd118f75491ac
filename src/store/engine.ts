/**
 * The small internal interface each storage engine implements. Everything that must be atomic across processes
 * lives behind it, one file per engine (engines/sqlite.ts, engines/redis.ts); records, audit, cursors and
 * coordination are written once against it. Keys passed here are physical keys (namespace already applied).
 */
/** A conditional multi-key write: applied all at once if every expectation holds, else not at all. */
export interface AtomicBatch {
  /** Each key must currently hold exactly `raw` (null: must not exist). */
  expect: { key: string; raw: string | null }[];
  set: { key: string; raw: string }[];
  /** Sorted-index membership: `member` listed under `index`, ordered by `score`. */
  indexAdd: { index: string; member: string; score: number }[];
  indexRemove: { index: string; member: string }[];
}

export interface Engine {
  readonly kind: 'sqlite' | 'redis';
  /** A plain read through keyv: the envelope's value, or undefined. Bad JSON -> StoreError('corrupt'). */
  read<V>(key: string): Promise<V | undefined>;
  /** The stored text of a key, exactly as written (the compare-and-swap token). */
  getRaw(key: string): Promise<string | undefined>;
  /** Stored texts of several keys in one round trip, in the order asked. */
  getManyRaw(keys: string[]): Promise<(string | undefined)[]>;
  /** True if the batch was applied; false if an expectation failed (nothing was written). */
  commit(batch: AtomicBatch): Promise<boolean>;
  /**
   * Members of an index from `offset`, at most `count`: lowest score first (ties by member), or with 'newest'
   * highest score first (ties by member, descending).
   */
  indexRange(index: string, offset: number, count: number, order?: 'oldest' | 'newest'): Promise<string[]>;
  /** How many members an index has. */
  indexCount(index: string): Promise<number>;
  /** Stores `raw` under `key` for ttlMs unless a live value is there. True for the first caller. */
  setIfAbsent(key: string, raw: string, ttlMs: number): Promise<boolean>;
  /** Takes or renews the lease at `key` for `owner`. True if `owner` holds it now. */
  acquireLease(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Drops the lease only if `owner` holds it. */
  releaseLease(key: string, owner: string): Promise<void>;
  /** Deletes expired once-keys under `prefix` where the engine has no native expiry. Returns how many. */
  pruneExpired(prefix: string): Promise<number>;
  close(): Promise<void>;
}
