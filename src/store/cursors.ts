/**
 * Durable cursors: the last audit seq each consumer finished. advance() is a compare-and-swap, so two replicas
 * running the same consumer cannot both move a cursor past the same entry (one of them sees `false` and knows the
 * other posted it).
 */
import { decode, encode } from './codec.js';
import type { Engine } from './engine.js';
import { requireKeyText, type KeyLayout } from './keys.js';
import { MAX_ATTEMPTS, contention } from './retry.js';
import { corrupt } from './codec.js';
import type { Cursors } from './types.js';

export function cursors(engine: Engine, keys: KeyLayout): Cursors {
  function positionOf(raw: string | undefined, key: string): number {
    if (raw === undefined) return 0;
    const value = decode<unknown>(raw, key).value;
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw corrupt(key, 'is not a cursor position');
    return value;
  }

  return {
    async get(name) {
      requireKeyText('cursor name', name);
      const key = keys.cursor(name);
      return positionOf(await engine.getRaw(key), key);
    },

    async advance(name, from, to) {
      requireKeyText('cursor name', name);
      if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) {
        throw new TypeError('Cursor positions must be integers.');
      }
      const key = keys.cursor(name);
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const raw = await engine.getRaw(key);
        if (positionOf(raw, key) !== from) return false;
        const applied = await engine.commit({
          expect: [{ key, raw: raw ?? null }],
          set: [{ key, raw: encode({ value: to }) }],
          indexAdd: [],
          indexRemove: [],
        });
        if (applied) return true;
        // Lost a race: the loop re-reads, and returns false unless the cursor is (still) at `from`.
      }
      throw contention(`The cursor "${name}"`);
    },
  };
}
