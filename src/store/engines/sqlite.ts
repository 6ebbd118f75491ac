/**
 * SQLite engine: one file, shared by every process that opens it.
 *
 * - keyv's SQLite adapter owns the connections; plain values live in its table (`keyv`: key TEXT PRIMARY KEY,
 *   value TEXT). Index memberships live in one extra table, keyed for ordered range reads.
 * - Two connections per process. The WRITER runs every write; a statement another task sent between our BEGIN
 *   and COMMIT would silently join (or be rolled back with) our transaction, so everything on it goes through one
 *   queue, one task at a time (a person's writes ahead of background ones: ../write-priority.ts). The READER runs the plain reads (get, getMany, index ranges and counts): in WAL mode a reader sees
 *   the last committed state and neither waits for nor blocks the one writer (https://sqlite.org/wal.html), so a
 *   listing no longer queues behind a burst of commits. A read started after a commit resolved sees that commit:
 *   each autocommit SELECT takes a fresh snapshot. Reads inside a transaction (the compare-and-swap checks) stay
 *   on the writer, in the transaction.
 * - Atomic steps are SQLite transactions begun with BEGIN IMMEDIATE: the write lock is taken up front, so two
 *   processes never both read-then-write (a deferred transaction that upgrades to a writer can fail with
 *   SQLITE_BUSY without waiting). Single conditional statements (INSERT ... ON CONFLICT ... WHERE ... RETURNING)
 *   cover once-keys and leases.
 * - busy_timeout makes a process wait for another process's write lock instead of failing with SQLITE_BUSY.
 * - Durability: the writer runs with synchronous=FULL, so every commit is on disk (the WAL fsynced) when it
 *   resolves. Once-keys (the replay guard) and leases are the exception: they are written with synchronous=NORMAL,
 *   which survives a process crash but leaves the fsync to the next FULL commit of anyone on this file. Why that
 *   is as safe: docs/architecture.md#the-replay-guard-and-durable-commits.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import KeyvSqlite from '@keyv/sqlite';
import type { Logger } from '../../log.js';
import type { AtomicBatch, Engine } from '../engine.js';
import { WriterQueue } from '../write-priority.js';
import { StoreError } from '../types.js';
import { keyvOver, readThrough } from './keyv.js';

export interface SqliteEngineOptions {
  /** Absolute or cwd-relative path of the database file. */
  file: string;
  /** How long a process waits for another one's write lock. */
  busyTimeoutMs?: number;
  logger?: Logger;
  now?: () => number;
  /**
   * Called after every write that waited for the disk (a synchronous=FULL commit that changed something), with
   * the keys it wrote. Counts durable commits per user action (test/e2e/store-commits.test.ts).
   */
  afterDurableWrite?: (keys: string[]) => void;
  /**
   * The older forms, kept to measure against in bench/store-hot-path.ts: 'shared' sends reads through the
   * writer's queue; 'full' syncs once-keys and leases to disk like any commit. Defaults: 'separate', 'normal'.
   */
  reads?: 'separate' | 'shared';
  coordinationSync?: 'normal' | 'full';
}

type Query = (sql: string, ...params: unknown[]) => Promise<Record<string, unknown>[]>;

const TABLE = 'keyv';
const INDEX_TABLE = 'keyv_index';

export async function openSqliteEngine(options: SqliteEngineOptions): Promise<Engine> {
  const { file } = options;
  const now = options.now ?? Date.now;
  const unavailable = (error: unknown): StoreError =>
    error instanceof StoreError
      ? error
      : new StoreError(
          'unavailable',
          `The SQLite store at ${file} failed (${describe(error)}). Check that the file and its directory exist, ` +
            `are writable by the user running AccountDesk and the disk is not full (STORE_URL).`,
          { cause: error },
        );

  try {
    await mkdir(dirname(file), { recursive: true });
  } catch (error) {
    throw new StoreError(
      'unavailable',
      `Cannot create the directory ${dirname(file)} for the SQLite store (${describe(error)}). ` +
        `Create it or point STORE_URL at a writable place, e.g. sqlite:///var/lib/accountdesk/store.sqlite.`,
      { cause: error },
    );
  }

  const openAdapter = (): KeyvSqlite => {
    const opened = new KeyvSqlite({
      uri: `sqlite://${file}`,
      table: TABLE,
      busyTimeout: options.busyTimeoutMs ?? 10_000,
    });
    opened.on('error', (error: unknown) => options.logger?.debug({ err: error }, 'sqlite adapter error'));
    return opened;
  };
  const adapter = openAdapter();
  const direct = adapter.query as Query;
  const connection = new WriterQueue();
  adapter.query = (sql: string, ...params: unknown[]) => connection.run(() => direct(sql, ...params));
  const query: Query = (sql, ...params) => connection.run(() => direct(sql, ...params));
  const separateReads = (options.reads ?? 'separate') === 'separate';
  const lightCoordination = (options.coordinationSync ?? 'normal') === 'normal';
  const durable = (keys: string[]): void => options.afterDurableWrite?.(keys);

  try {
    // WAL is a property of the file: the first process sets it, later ones find it set.
    await query('PRAGMA journal_mode = WAL');
    // FULL is SQLite's default; set it anyway, as every commit's durability (and the once-key argument in
    // docs/architecture.md) rests on it.
    await query('PRAGMA synchronous = FULL');
    await query(
      `CREATE TABLE IF NOT EXISTS ${INDEX_TABLE} (ikey TEXT NOT NULL, member TEXT NOT NULL, score INTEGER NOT NULL, ` +
        `PRIMARY KEY (ikey, member)) WITHOUT ROWID`,
    );
    await query(`CREATE INDEX IF NOT EXISTS ${INDEX_TABLE}_by_score ON ${INDEX_TABLE} (ikey, score, member)`);
    // Prove the file is writable now rather than on the first approval click.
    await query(
      `INSERT INTO ${TABLE} (key, value) VALUES ('accountdesk:schema', '{"value":1}') ` +
        `ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
    );
  } catch (error) {
    await adapter.disconnect().catch(() => undefined);
    throw unavailable(error);
  }
  // Opened once the file is in WAL mode and has its tables: switching a new file to WAL needs it to itself.
  const readerAdapter = separateReads ? openAdapter() : undefined;
  const disconnect = async (): Promise<void> => {
    await adapter.disconnect();
    await readerAdapter?.disconnect();
  };
  // The reader runs no transactions, so its statements need no queue: sqlite3 runs them one at a time itself.
  const read: Query = readerAdapter ? (readerAdapter.query as Query) : query;
  const kv = keyvOver(readerAdapter ?? adapter, options.logger);

  /**
   * One coordination statement (a once-key, a lease): written with synchronous=NORMAL where `coordinationSync`
   * allows, i.e. safe against a process crash and made durable by the next FULL commit on this file. synchronous
   * is per connection: NORMAL for this statement only, FULL again before anything else runs on the writer (same
   * queue slot). Why this is as safe as an fsync: docs/architecture.md#the-replay-guard-and-durable-commits.
   */
  function coordinate(keys: string[], sql: string, ...params: unknown[]): Promise<Record<string, unknown>[]> {
    return connection.run(async () => {
      if (!lightCoordination) {
        const rows = await direct(sql, ...params);
        if (rows.length > 0) durable(keys);
        return rows;
      }
      await direct('PRAGMA synchronous = NORMAL');
      try {
        return await direct(sql, ...params);
      } finally {
        await direct('PRAGMA synchronous = FULL');
      }
    });
  }

  async function guarded<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw unavailable(error);
    }
  }

  /** Runs `work` inside BEGIN IMMEDIATE ... COMMIT, holding the connection so nothing else interleaves. */
  function transaction<T>(
    work: (q: Query) => Promise<T>,
    rollbackIf: (result: T) => boolean,
    writtenBy: (result: T) => string[],
  ): Promise<T> {
    return connection.run(async () => {
      await direct('BEGIN IMMEDIATE');
      try {
        const result = await work(direct);
        await direct(rollbackIf(result) ? 'ROLLBACK' : 'COMMIT');
        if (!rollbackIf(result)) durable(writtenBy(result));
        return result;
      } catch (error) {
        await direct('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }

  return {
    kind: 'sqlite',
    read: (key) => readThrough(kv, key, unavailable),

    getRaw: (key) =>
      guarded(async () => {
        const rows = await read(`SELECT value FROM ${TABLE} WHERE key = ?`, key);
        return rows[0] === undefined ? undefined : String(rows[0].value);
      }),

    getManyRaw: (keys) =>
      guarded(async () => {
        if (keys.length === 0) return [];
        const rows = await read(
          `SELECT key, value FROM ${TABLE} WHERE key IN (SELECT value FROM json_each(?))`,
          JSON.stringify(keys),
        );
        const byKey = new Map(rows.map((row) => [String(row.key), String(row.value)]));
        return keys.map((key) => byKey.get(key));
      }),

    commit: (batch: AtomicBatch) =>
      guarded(() =>
        transaction(
          async (q) => {
            for (const expectation of batch.expect) {
              const rows = await q(`SELECT value FROM ${TABLE} WHERE key = ?`, expectation.key);
              const current = rows[0] === undefined ? null : String(rows[0].value);
              if (current !== expectation.raw) return false;
            }
            for (const entry of batch.set) {
              await q(
                `INSERT INTO ${TABLE} (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
                entry.key,
                entry.raw,
              );
            }
            for (const add of batch.indexAdd) {
              await q(
                `INSERT INTO ${INDEX_TABLE} (ikey, member, score) VALUES (?, ?, ?) ` +
                  `ON CONFLICT(ikey, member) DO UPDATE SET score = excluded.score`,
                add.index,
                add.member,
                add.score,
              );
            }
            for (const remove of batch.indexRemove) {
              await q(`DELETE FROM ${INDEX_TABLE} WHERE ikey = ? AND member = ?`, remove.index, remove.member);
            }
            return true;
          },
          (applied) => !applied,
          () => batch.set.map((entry) => entry.key),
        ),
      ),

    indexRange: (index, offset, count, order = 'oldest') =>
      guarded(async () => {
        const direction = order === 'oldest' ? 'ASC' : 'DESC';
        const rows = await read(
          `SELECT member FROM ${INDEX_TABLE} WHERE ikey = ? ORDER BY score ${direction}, member ${direction} ` +
            `LIMIT ? OFFSET ?`,
          index,
          count,
          offset,
        );
        return rows.map((row) => String(row.member));
      }),

    indexCount: (index) =>
      guarded(async () => {
        const rows = await read(`SELECT COUNT(*) AS n FROM ${INDEX_TABLE} WHERE ikey = ?`, index);
        return Number(rows[0]?.n ?? 0);
      }),

    setIfAbsent: (key, raw) =>
      guarded(async () => {
        // One statement: insert, or take over a row whose time is up. The expiry sits in keyv's envelope, so a
        // keyv read of the key agrees with this decision.
        const rows = await coordinate(
          [key],
          `INSERT INTO ${TABLE} (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value ` +
            `WHERE json_valid(${TABLE}.value) AND json_extract(${TABLE}.value, '$.expires') <= ? RETURNING key`,
          key,
          raw,
          now(),
        );
        return rows.length === 1;
      }),

    acquireLease: (key, owner, ttlMs) =>
      guarded(async () => {
        const raw = JSON.stringify({ value: { owner }, expires: now() + ttlMs });
        const rows = await coordinate(
          [key],
          `INSERT INTO ${TABLE} (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value ` +
            `WHERE json_valid(${TABLE}.value) AND (json_extract(${TABLE}.value, '$.value.owner') = ? ` +
            `OR json_extract(${TABLE}.value, '$.expires') <= ?) RETURNING key`,
          key,
          raw,
          owner,
          now(),
        );
        return rows.length === 1;
      }),

    releaseLease: (key, owner) =>
      guarded(async () => {
        await coordinate(
          [key],
          `DELETE FROM ${TABLE} WHERE key = ? AND json_valid(value) AND json_extract(value, '$.value.owner') = ? ` +
            `RETURNING key`,
          key,
          owner,
        );
      }),

    pruneExpired: (prefix) =>
      guarded(async () => {
        // A key range (not LIKE) so the primary-key index bounds the scan to this prefix.
        const rows = await query(
          `DELETE FROM ${TABLE} WHERE key >= ? AND key < ? AND json_valid(value) ` +
            `AND json_extract(value, '$.expires') <= ? RETURNING key`,
          prefix,
          `${prefix}\uffff`,
          now(),
        );
        if (rows.length > 0) durable(rows.map((row) => String(row.key)));
        return rows.length;
      }),

    close: () => guarded(disconnect),
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
