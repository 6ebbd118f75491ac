/**
 * Replay protection (once) and single-runner leases, atomic across processes by the engine's own means
 * (Redis SET NX PX and scripts; SQLite conditional upserts).
 */
import { encode } from './codec.js';
import type { Engine } from './engine.js';
import { requireKeyText, type KeyLayout } from './keys.js';
import type { Coordination } from './types.js';

/** How often, at most, expired once-keys are swept where the engine cannot expire them itself (SQLite). */
const PRUNE_EVERY_MS = 10 * 60_000;

export function coordination(engine: Engine, keys: KeyLayout, now: () => number = Date.now): Coordination {
  let lastPrune = now();

  function requireTtl(ttlMs: number): void {
    if (!Number.isFinite(ttlMs) || ttlMs <= 0)
      throw new TypeError('A ttlMs must be a positive number of milliseconds.');
  }

  return {
    async once(key, ttlMs) {
      requireKeyText('once key', key);
      requireTtl(ttlMs);
      if (now() - lastPrune >= PRUNE_EVERY_MS) {
        lastPrune = now();
        await engine.pruneExpired(keys.onceStart());
      }
      return engine.setIfAbsent(keys.once(key), encode({ value: true, expires: now() + ttlMs }), ttlMs);
    },

    async acquireLease(name, owner, ttlMs) {
      requireKeyText('lease name', name);
      requireKeyText('lease owner', owner);
      requireTtl(ttlMs);
      return engine.acquireLease(keys.lease(name), owner, ttlMs);
    },

    async releaseLease(name, owner) {
      requireKeyText('lease name', name);
      requireKeyText('lease owner', owner);
      await engine.releaseLease(keys.lease(name), owner);
    },

    async leaseHolder(name) {
      requireKeyText('lease name', name);
      const raw = await engine.getRaw(keys.lease(name));
      if (raw === undefined) return undefined;
      let lease: { value?: { owner?: unknown }; expires?: unknown };
      try {
        lease = JSON.parse(raw) as typeof lease;
      } catch {
        return undefined;
      }
      const owner = typeof lease.value?.owner === 'string' ? lease.value.owner : undefined;
      // Redis drops an expired lease itself (PX, by the server's clock); SQLite keeps the row, so check its expiry.
      if (engine.kind === 'sqlite' && !(typeof lease.expires === 'number' && lease.expires > now())) return undefined;
      return owner;
    },
  };
}
