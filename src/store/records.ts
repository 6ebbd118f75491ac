/**
 * Versioned JSON records with secondary indexes.
 *
 * Index design: the record and its index memberships change in ONE atomic step (the engine's commit: a Lua
 * script / an SQLite transaction), so a listing never misses a record or shows one under a key it just left.
 * Reads still re-check `indexKeys(record)`, which drops members left behind by an older `indexKeys` definition
 * (a code change between deploys) or by a record deleted by hand.
 */
import type { AuditJournal } from './audit.js';
import { decode, encode } from './codec.js';
import type { AtomicBatch, Engine } from './engine.js';
import { requireKeyText, requireName, type KeyLayout } from './keys.js';
import { MAX_ATTEMPTS, contention, pauseAfterLostRound } from './retry.js';
import {
  StoreError,
  type AuditEntryInput,
  type RecordStore,
  type Refusal,
  type UpdateResult,
  type VersionedRecord,
} from './types.js';

const REPAIR_PAGE = 500;

export function recordStore<T extends VersionedRecord>(
  engine: Engine,
  keys: KeyLayout,
  collection: string,
  indexKeys: (record: T) => string[],
  journal: AuditJournal,
  nextOrder: () => number,
): RecordStore<T> {
  requireName('collection', collection);
  const keyOf = (id: string): string => keys.record(collection, id);
  const indexOf = (indexKey: string): string => keys.index(collection, indexKey);
  const indexesOf = (record: T): Set<string> => new Set(indexKeys(record));

  async function insert(input: Omit<T, 'version'>, audit?: (stored: T) => AuditEntryInput[]): Promise<T> {
    requireKeyText('record id', input.id);
    const record = { ...input, version: 1 } as T;
    const key = keyOf(record.id);
    const order = nextOrder();
    const batch = {
      expect: [{ key, raw: null }],
      set: [{ key, raw: encode({ value: record, order }) }],
      indexAdd: [...indexesOf(record)].map((k) => ({ index: indexOf(k), member: record.id, score: order })),
      indexRemove: [],
    };
    const exists = () => new StoreError('exists', `A ${collection} record with id "${record.id}" already exists.`);
    if (!audit) {
      if (!(await engine.commit(batch))) throw exists();
      return record;
    }
    const inputs = audit(record);
    return journal.serially(async () => {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const journaled = await journal.prepare(inputs);
        const applied = await engine.commit({
          ...batch,
          expect: [...batch.expect, ...journaled.expect],
          set: [...batch.set, ...journaled.set],
        });
        if (applied) return record;
        if ((await engine.getRaw(key)) !== undefined) throw exists();
        await journal.assertHeadMoved(journaled.headRaw, journaled.entries[0]?.seq ?? 0);
        await pauseAfterLostRound(attempt);
      }
      throw contention('The audit log head');
    });
  }

  async function update<R>(
    id: string,
    change: (current: T) => T | Refusal<R>,
    audit?: (next: T, previous: T) => AuditEntryInput[],
  ): Promise<UpdateResult<T, R>> {
    requireKeyText('record id', id);
    const key = keyOf(id);
    const attemptOnce = async (): Promise<UpdateResult<T, R> | 'lost'> => {
      const raw = await engine.getRaw(key);
      if (raw === undefined) return { ok: false, notFound: true };
      const stored = decode<T>(raw, key);
      const current = stored.value;
      const outcome = change(current);
      if (isRefusal(outcome)) return { ok: false, refusal: outcome.refuse, record: current };
      // The store owns id and version: a change cannot move a record or forge its CAS token.
      const next = { ...outcome, id: current.id, version: current.version + 1 };
      const before = indexesOf(current);
      const after = indexesOf(next);
      const order = stored.order ?? 0;
      const journaled = audit ? await journal.prepare(audit(next, current)) : undefined;
      const applied = await engine.commit({
        expect: [{ key, raw }, ...(journaled?.expect ?? [])],
        set: [{ key, raw: encode({ value: next, order }) }, ...(journaled?.set ?? [])],
        indexAdd: [...after]
          .filter((k) => !before.has(k))
          .map((k) => ({ index: indexOf(k), member: id, score: order })),
        indexRemove: [...before].filter((k) => !after.has(k)).map((k) => ({ index: indexOf(k), member: id })),
      });
      if (applied) return { ok: true, record: next };
      if (journaled && (await engine.getRaw(key)) === raw) {
        await journal.assertHeadMoved(journaled.headRaw, journaled.entries[0]?.seq ?? 0);
      }
      return 'lost';
    };
    const run = async (): Promise<UpdateResult<T, R>> => {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const result = await attemptOnce();
        if (result !== 'lost') return result;
        await pauseAfterLostRound(attempt);
      }
      throw contention(`The ${collection} record "${id}"`);
    };
    // Audited changes queue with this process's audit appends, so they never compete with each other.
    return audit ? journal.serially(run) : run();
  }

  async function listByIndex(indexKey: string, limit?: number): Promise<T[]> {
    return readIndex(indexKey, limit ?? Number.POSITIVE_INFINITY, 0, 'oldest');
  }

  /**
   * Up to `wanted` records listed under `indexKey`, skipping the first `skip` members, in `order`. Reads the
   * index in pages and only the records on them; members whose record no longer carries the key are dropped.
   */
  async function readIndex(indexKey: string, wanted: number, skip: number, order: 'oldest' | 'newest'): Promise<T[]> {
    const found: T[] = [];
    const page = Number.isFinite(wanted) ? Math.max(Math.min(wanted, 500), 20) : 500;
    for (let offset = skip; found.length < wanted; offset += page) {
      const ids = await engine.indexRange(indexOf(indexKey), offset, page, order);
      const recordKeys = ids.map(keyOf);
      const raws = await engine.getManyRaw(recordKeys);
      raws.forEach((raw, i) => {
        if (raw === undefined || found.length >= wanted) return;
        const record = decode<T>(raw, recordKeys[i] ?? '').value;
        if (indexesOf(record).has(indexKey)) found.push(record);
      });
      if (ids.length < page) break;
    }
    return found;
  }

  /**
   * Adds every record listed under `indexKey` to all the index keys `indexKeys` gives it now, a page (500) per
   * commit. Each commit expects every record on its page unchanged (a record moved meanwhile is retried with the
   * page), so it never lists a record under a key the record has just left.
   */
  async function repairIndex(indexKey: string): Promise<number> {
    let seen = 0;
    for (let offset = 0; ; offset += REPAIR_PAGE) {
      const ids = await engine.indexRange(indexOf(indexKey), offset, REPAIR_PAGE);
      for (let attempt = 0; ; attempt++) {
        const recordKeys = ids.map(keyOf);
        const raws = await engine.getManyRaw(recordKeys);
        const batch: AtomicBatch = { expect: [], set: [], indexAdd: [], indexRemove: [] };
        raws.forEach((raw, i) => {
          const key = recordKeys[i] ?? '';
          if (raw === undefined) return;
          const stored = decode<T>(raw, key);
          batch.expect.push({ key, raw });
          for (const k of indexesOf(stored.value)) {
            batch.indexAdd.push({ index: indexOf(k), member: stored.value.id, score: stored.order ?? 0 });
          }
        });
        if (batch.indexAdd.length === 0 || (await engine.commit(batch))) break;
        if (attempt + 1 >= MAX_ATTEMPTS) throw contention(`The ${collection} index "${indexKey}"`);
        await pauseAfterLostRound(attempt);
      }
      seen += ids.length;
      if (ids.length < REPAIR_PAGE) return seen;
    }
  }

  function requireCount(what: string, n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`A page's ${what} must be a whole number >= 0.`);
  }

  return {
    insert,
    get: (id) => {
      requireKeyText('record id', id);
      return engine.read<T>(keyOf(id));
    },
    update,
    listByIndex,
    pageByIndex: (indexKey, { limit, offset = 0, newestFirst = false }) => {
      requireCount('limit', limit);
      requireCount('offset', offset);
      return readIndex(indexKey, limit, offset, newestFirst ? 'newest' : 'oldest');
    },
    countByIndex: (indexKey) => engine.indexCount(indexOf(indexKey)),
    repairIndex,
  };
}

/**
 * Insertion order for listings: the insert's time in microsecond steps (ms * 1000), strictly increasing within
 * this process. It replaced a stored counter, which cost a durable commit of its own per insert; it only sorts
 * listings, so processes whose clocks differ by a few ms may interleave their records by that much, and an order
 * from the old counter (1, 2, 3, ...) sorts before every new one. ms * 1000 stays an exact integer in a Redis
 * score (a double: exact to 2^53, about the year 2255) and in SQLite's INTEGER column.
 */
export function insertionOrder(now: () => number): () => number {
  let last = 0;
  return () => (last = Math.max(Math.floor(now()) * 1000, last + 1));
}

function isRefusal<T, R>(outcome: T | Refusal<R>): outcome is Refusal<R> {
  // Records always carry an id; a refusal is the bare { refuse } object the contract defines.
  return typeof outcome === 'object' && outcome !== null && 'refuse' in outcome && !('id' in outcome);
}
