/**
 * The keyv instance both engines put over their adapter. keyv's own namespacing is turned off: the store builds
 * full keys itself (`<namespace>:...`) so the atomic primitives, which talk to the engine directly, use the very
 * same keys keyv reads. Errors are thrown, not swallowed: by default keyv turns a failed read into "not found",
 * which would make an unreachable store look like a missing request.
 */
import { Keyv, type DeserializedData, type KeyvStoreAdapter } from 'keyv';
import type { Logger } from '../../log.js';
import { corrupt } from '../codec.js';
import { StoreError } from '../types.js';

export function keyvOver(adapter: KeyvStoreAdapter, logger: Logger | undefined): Keyv {
  const kv = new Keyv(adapter, {
    namespace: undefined,
    useKeyPrefix: false,
    serialize: JSON.stringify,
    // The store writes only JSON.stringify output, so parsing yields what keyv stored.
    deserialize: <Value>(text: string) => JSON.parse(text) as DeserializedData<Value>,
    throwOnErrors: true,
  });
  // keyv re-emits adapter errors; without a listener Node would treat them as unhandled. They are also thrown
  // to the caller (throwOnErrors), so a debug line is enough here.
  kv.on('error', (error: unknown) => logger?.debug({ err: error }, 'store adapter reported an error'));
  return kv;
}

/** keyv.get with the store's error words: bad JSON -> corrupt (naming the key); anything else -> unavailable. */
export async function readThrough<V>(
  kv: Keyv,
  key: string,
  unavailable: (error: unknown) => StoreError,
): Promise<V | undefined> {
  try {
    return (await kv.get<V>(key)) ?? undefined;
  } catch (error) {
    if (error instanceof StoreError) throw error;
    if (error instanceof SyntaxError) throw corrupt(key, 'is not valid JSON', error);
    throw unavailable(error);
  }
}
