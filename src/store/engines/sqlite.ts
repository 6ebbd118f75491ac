/**
 * SQLite engine: one file, shared by every process that opens it.
 *
 * - keyv's SQLite adapter owns the connection; plain values live in its table (`keyv`: key TEXT PRIMARY KEY,
 *   value TEXT). Index memberships live in one extra table, keyed for ordered range reads.
 * - Atomic steps are SQLite transactions begun with BEGIN IMMEDIATE: the write lock is taken up front, so two
 *   processes never both read-then-write (a deferred transaction that upgrades to a writer can fail with
 *   SQLITE_BUSY without waiting). Single conditional statements (INSERT ... ON CONFLICT ... WHERE ... RETURNING)
 *   cover once-keys, leases and counters.
 * - busy_timeout makes a process wait for another process's write lock instead of failing with SQLITE_BUSY;
 *   WAL lets readers go on while one process writes.
 * - The adapter has a single connection and exposes it as `query`. A statement another task sent between our
 *   BEGIN and COMMIT would silently join (or be rolled back with) our transaction, so every statement on the
 *   connection, keyv's included, goes through one FIFO queue.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import KeyvSqlite from '@keyv/sqlite';
import type { Logger } from '../../log.js';
import type { AtomicBatch, Engine } from '../engine.js';
import { corrupt } from '../codec.js';
import { SerialQueue } from '../queue.js';
import { StoreError } from '../types.js';
import { keyvOver, readThrough } from './keyv.js';

export interface SqliteEngineOptions {
  /** Absolute or cwd-relative path of the database file. */
  file: string;
  /** How long a process waits for another one's write lock. */
  busyTimeoutMs?: number;
  logger?: Logger;
  now?: () => number;
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

  const adapter = new KeyvSqlite({
    uri: `sqlite://${file}`,
    table: TABLE,
    busyTimeout: options.busyTimeoutMs ?? 10_000,
  });
  adapter.on('error', (error: unknown) => options.logger?.debug({ err: error }, 'sqlite adapter error'));
  const direct = adapter.query as Query;
  const connection = new SerialQueue();
  adapter.query = (sql: string, ...params: unknown[]) => connection.run(() => direct(sql, ...params));
  const query: Query = (sql, ...params) => connection.run(() => direct(sql, ...params));
  const kv = keyvOver(adapter, options.logger);

  try {
    // WAL is a property of the file: the first process sets it, later ones find it set.
    await query('PRAGMA journal_mode = WAL');
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

  async function guarded<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw unavailable(error);
    }
  }

  /** Runs `work` inside BEGIN IMMEDIATE ... COMMIT, holding the connection so nothing else interleaves. */
  function transaction<T>(work: (q: Query) => Promise<T>, rollbackIf: (result: T) => boolean): Promise<T> {
    return connection.run(async () => {
      await direct('BEGIN IMMEDIATE');
      try {
        const result = await work(direct);
        await direct(rollbackIf(result) ? 'ROLLBACK' : 'COMMIT');
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

    getRaw: (key) => guarded(async () => (await adapter.get<string>(key)) ?? undefined),

    getManyRaw: (keys) =>
      guarded(async () => {
        if (keys.length === 0) return [];
        const rows = await query(
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
        ),
      ),

    increment: (key) =>
      guarded(async () => {
        const rows = await query(
          `INSERT INTO ${TABLE} (key, value) VALUES (?, '{"value":1}') ON CONFLICT(key) DO UPDATE ` +
            `SET value = json_object('value', json_extract(value, '$.value') + 1) ` +
            `RETURNING json_extract(value, '$.value') AS n`,
          key,
        );
        const n = Number(rows[0]?.n);
        if (!Number.isSafeInteger(n)) throw corrupt(key, 'does not hold a counter');
        return n;
      }),

    indexRange: (index, offset, count) =>
      guarded(async () => {
        const rows = await query(
          `SELECT member FROM ${INDEX_TABLE} WHERE ikey = ? ORDER BY score, member LIMIT ? OFFSET ?`,
          index,
          count,
          offset,
        );
        return rows.map((row) => String(row.member));
      }),

    setIfAbsent: (key, raw) =>
      guarded(async () => {
        // One statement: insert, or take over a row whose time is up. The expiry sits in keyv's envelope, so a
        // keyv read of the key agrees with this decision.
        const rows = await query(
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
        const rows = await query(
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
        await query(
          `DELETE FROM ${TABLE} WHERE key = ? AND json_valid(value) AND json_extract(value, '$.value.owner') = ?`,
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
        return rows.length;
      }),

    close: () => guarded(() => adapter.disconnect()),
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
