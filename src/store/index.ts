/**
 * The durable store: versioned records with indexes, the hash-chained audit log, cursors and coordination, on
 * SQLite (one host) or Redis (several replicas). Everything above this folder sees only the contracts in
 * ./types.ts and openStore().
 */
import type { Logger } from '../log.js';
import { auditChain } from './audit.js';
import { decode } from './codec.js';
import { coordination } from './coordination.js';
import { cursors } from './cursors.js';
import type { Engine } from './engine.js';
import { openRedisEngine } from './engines/redis.js';
import { openSqliteEngine } from './engines/sqlite.js';
import { keyLayout } from './keys.js';
import { insertionOrder, recordStore } from './records.js';
import type { AuditLog, Coordination, Cursors, RecordStore, VersionedRecord } from './types.js';
import { parseStoreUrl } from './url.js';

export * from './types.js';
export { parseStoreUrl } from './url.js';
export { canonicalJson } from './audit.js';

/** Written by the SQLite engine when it opens a file (src/store/engines/sqlite.ts). */
const SCHEMA_KEY = 'accountdesk:schema';

export interface Store {
  /** A collection of records; `indexKeys` names the index keys a record is listed under (e.g. 'pending'). */
  records<T extends VersionedRecord>(collection: string, indexKeys: (record: T) => string[]): RecordStore<T>;
  audit: AuditLog;
  cursors: Cursors;
  coordination: Coordination;
  engine: 'sqlite' | 'redis';
  /** The layout version the store records (SQLite writes `accountdesk:schema`; Redis records none). */
  schemaVersion(): Promise<number | undefined>;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** Key prefix; lets several deployments (or test suites) share one Redis. Default 'accountdesk'. */
  namespace?: string;
  logger?: Logger;
  /** Clock for audit timestamps and SQLite expiries (tests). Redis expiries use the server's clock. */
  now?: () => number;
  /**
   * Called after every applied atomic commit with the keys it wrote. The crash tests use it to kill the process
   * right after a chosen commit of a request's life (test/e2e/commit-kill.test.ts).
   */
  afterCommit?: (keys: string[]) => void;
  /**
   * SQLite only: called after every write that waited for the disk (an fsynced commit), with the keys it wrote.
   * Counts durable commits per user action (test/e2e/store-commits.test.ts). Redis has no per-command fsync.
   */
  afterDurableWrite?: (keys: string[]) => void;
}

/**
 * Opens the store named by `url` (STORE_URL; undefined -> sqlite://./data/accountdesk.sqlite). Fails with
 * StoreError('unavailable') when the URL is not understood, Redis cannot be reached or the SQLite file cannot be
 * created or written.
 */
export async function openStore(url: string | undefined, options: OpenStoreOptions = {}): Promise<Store> {
  const keys = keyLayout(options.namespace ?? 'accountdesk');
  const now = options.now ?? Date.now;
  const location = parseStoreUrl(url);
  const opened: Engine =
    location.engine === 'sqlite'
      ? await openSqliteEngine({
          file: location.file,
          logger: options.logger,
          now,
          ...(options.afterDurableWrite ? { afterDurableWrite: options.afterDurableWrite } : {}),
        })
      : await openRedisEngine({ url: location.url, displayUrl: location.displayUrl, logger: options.logger });
  const engine = options.afterCommit ? observeCommits(opened, options.afterCommit) : opened;
  options.logger?.info(
    { engine: engine.kind, where: location.engine === 'sqlite' ? location.file : location.displayUrl },
    'store opened',
  );

  let closing: Promise<void> | undefined;
  const audit = auditChain(engine, keys, now);
  const nextOrder = insertionOrder(now);
  return {
    records: (collection, indexKeys) => recordStore(engine, keys, collection, indexKeys, audit.journal, nextOrder),
    audit: audit.log,
    cursors: cursors(engine, keys),
    coordination: coordination(engine, keys, now),
    engine: engine.kind,
    schemaVersion: async () => {
      const raw = await engine.getRaw(SCHEMA_KEY);
      const value = raw === undefined ? undefined : decode<unknown>(raw, SCHEMA_KEY).value;
      return typeof value === 'number' ? value : undefined;
    },
    close: () => (closing ??= engine.close()),
  };
}

function observeCommits(engine: Engine, afterCommit: (keys: string[]) => void): Engine {
  const commit = engine.commit.bind(engine);
  return Object.assign(Object.create(engine) as Engine, {
    async commit(batch: Parameters<Engine['commit']>[0]) {
      const applied = await commit(batch);
      if (applied) afterCommit(batch.set.map((entry) => entry.key));
      return applied;
    },
  });
}
