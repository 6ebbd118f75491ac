/**
 * Redis engine: for several replicas sharing one store.
 *
 * - keyv's Redis adapter owns the client; plain values are Redis strings holding keyv's envelope. Index
 *   memberships are sorted sets (score = the record's insertion order), so a listing is one ZRANGE.
 * - Atomic steps are Lua scripts (EVAL): Redis runs a script to completion before any other command, so a
 *   compare-then-write inside one script cannot interleave with another client's write.
 * - Once-keys and leases use Redis' own expiry (PX), judged by the server's clock rather than each replica's.
 * - The offline queue is off: while Redis is down a call fails at once with 'unavailable' instead of hanging
 *   until it comes back (a Slack click must be answered within 3 seconds).
 */
import KeyvRedis, { createClient } from '@keyv/redis';
import type { Logger } from '../../log.js';
import type { AtomicBatch, Engine } from '../engine.js';
import { StoreError } from '../types.js';
import { keyvOver, readThrough } from './keyv.js';

export interface RedisEngineOptions {
  url: string;
  /** The URL without credentials, for messages. */
  displayUrl: string;
  logger?: Logger;
  connectTimeoutMs?: number;
}

/**
 * ARGV[1..4]: how many expectations, sets, index adds, index removes. KEYS are laid out in that order; each
 * expectation has ARGV (mode, raw), each set ARGV (raw), each add ARGV (score, member), each remove ARGV (member).
 */
const COMMIT_SCRIPT = `
local ne, ns, na, nr = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local k, a = 1, 5
for i = 1, ne do
  local current = redis.call('GET', KEYS[k])
  if ARGV[a] == 'absent' then
    if current then return 0 end
  elseif current ~= ARGV[a + 1] then
    return 0
  end
  k = k + 1
  a = a + 2
end
for i = 1, ns do
  redis.call('SET', KEYS[k], ARGV[a])
  k = k + 1
  a = a + 1
end
for i = 1, na do
  redis.call('ZADD', KEYS[k], ARGV[a], ARGV[a + 1])
  k = k + 1
  a = a + 2
end
for i = 1, nr do
  redis.call('ZREM', KEYS[k], ARGV[a])
  k = k + 1
  a = a + 1
end
return 1
`;

/** The owner of the lease envelope at KEYS[1], or false. Malformed text counts as someone else's lease. */
const LEASE_OWNER = `
local function lease_owner(key)
  local current = redis.call('GET', key)
  if not current then return false end
  local ok, decoded = pcall(cjson.decode, current)
  if not ok or type(decoded) ~= 'table' or type(decoded.value) ~= 'table' then return '' end
  return decoded.value.owner
end
`;

/** ARGV: owner, envelope, ttl ms. */
const ACQUIRE_LEASE_SCRIPT = `${LEASE_OWNER}
local owner = lease_owner(KEYS[1])
if owner and owner ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`;

/** ARGV: owner. */
const RELEASE_LEASE_SCRIPT = `${LEASE_OWNER}
if lease_owner(KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`;

export async function openRedisEngine(options: RedisEngineOptions): Promise<Engine> {
  const where = options.displayUrl;
  const unavailable = (error: unknown): StoreError =>
    error instanceof StoreError
      ? error
      : new StoreError(
          'unavailable',
          `Redis at ${where} did not answer (${error instanceof Error ? error.message : String(error)}). ` +
            `Check that redis-server is running and reachable from this host, and ` +
            `STORE_URL (host, port, password, TLS).`,
          { cause: error },
        );

  let connectedOnce = false;
  const client = createClient({
    url: options.url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: options.connectTimeoutMs ?? 5_000,
      // At start-up a wrong address should fail fast with a clear message; after that, ride out restarts.
      reconnectStrategy: (retries: number) => (connectedOnce ? Math.min(2 ** retries * 100, 3_000) : false),
    },
  });
  client.on('error', (error: unknown) =>
    options.logger?.warn(
      { err: error instanceof Error ? error.message : String(error) },
      `Redis store ${where}: connection problem`,
    ),
  );
  try {
    await client.connect();
    connectedOnce = true;
  } catch (error) {
    // After a failed first connect the client is already closed; destroy() would throw "client is closed".
    if (client.isOpen) client.destroy();
    throw unavailable(error);
  }
  const adapter = new KeyvRedis(client, { throwOnErrors: true, throwOnConnectError: true });
  const kv = keyvOver(adapter, options.logger);

  async function guarded<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw unavailable(error);
    }
  }

  const command = (args: string[]): Promise<unknown> => client.sendCommand(args);
  const evalScript = (script: string, keys: string[], args: (string | number)[]): Promise<unknown> =>
    command(['EVAL', script, String(keys.length), ...keys, ...args.map(String)]);

  return {
    kind: 'redis',
    read: (key) => readThrough(kv, key, unavailable),

    getRaw: (key) => guarded(async () => (await client.get(key)) ?? undefined),

    getManyRaw: (keys) =>
      guarded(async () => (keys.length === 0 ? [] : (await client.mGet(keys)).map((value) => value ?? undefined))),

    commit: (batch: AtomicBatch) =>
      guarded(async () => {
        const keys = [
          ...batch.expect.map((e) => e.key),
          ...batch.set.map((s) => s.key),
          ...batch.indexAdd.map((a) => a.index),
          ...batch.indexRemove.map((r) => r.index),
        ];
        const args: (string | number)[] = [
          batch.expect.length,
          batch.set.length,
          batch.indexAdd.length,
          batch.indexRemove.length,
          ...batch.expect.flatMap((e) => (e.raw === null ? ['absent', ''] : ['equals', e.raw])),
          ...batch.set.map((s) => s.raw),
          ...batch.indexAdd.flatMap((a) => [a.score, a.member]),
          ...batch.indexRemove.map((r) => r.member),
        ];
        return (await evalScript(COMMIT_SCRIPT, keys, args)) === 1;
      }),

    indexRange: (index, offset, count, order = 'oldest') =>
      guarded(async () => {
        if (count <= 0) return [];
        const last = offset + count - 1;
        // REV: highest score first, ties in reverse lexicographic order (ZRANGE ... REV, Redis 6.2+; deploy/ runs
        // Redis 7; https://redis.io/docs/latest/commands/zrange/).
        return order === 'newest'
          ? await client.zRange(index, offset, last, { REV: true })
          : await client.zRange(index, offset, last);
      }),

    indexCount: (index) => guarded(() => client.zCard(index)),

    setIfAbsent: (key, raw, ttlMs) =>
      guarded(
        async () => (await command(['SET', key, raw, 'NX', 'PX', String(Math.max(1, Math.ceil(ttlMs)))])) === 'OK',
      ),

    acquireLease: (key, owner, ttlMs) =>
      guarded(async () => {
        const ttl = Math.max(1, Math.ceil(ttlMs));
        const raw = JSON.stringify({ value: { owner }, expires: Date.now() + ttl });
        return (await evalScript(ACQUIRE_LEASE_SCRIPT, [key], [owner, raw, ttl])) === 1;
      }),

    releaseLease: (key, owner) =>
      guarded(async () => {
        await evalScript(RELEASE_LEASE_SCRIPT, [key], [owner]);
      }),

    // Redis expires once-keys itself (PX).
    pruneExpired: () => Promise.resolve(0),

    close: () => guarded(() => adapter.disconnect()),
  };
}
