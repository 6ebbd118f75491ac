/**
 * The stored text of every value: keyv's envelope `{"value": ..., "expires"?: ms}` written with plain JSON, so a
 * value written by an engine's atomic primitive (a Lua script, an SQLite transaction) reads back through keyv
 * exactly as one written by keyv. (keyv's default serializer escapes strings starting with ':'; the store passes
 * plain JSON.stringify/JSON.parse to keyv so both paths agree byte for byte.)
 */
import { StoreError } from './types.js';

export interface Envelope<V> {
  value: V;
  /** Epoch ms after which keyv treats the value as gone (leases, once-keys). */
  expires?: number;
  /** Insertion order of a record, used as its score in index listings. */
  order?: number;
}

export function encode<V>(envelope: Envelope<V>): string {
  return JSON.stringify(envelope);
}

/** Parses stored text; anything that is not an envelope is reported as corrupt, naming the key. */
export function decode<V>(raw: string, key: string): Envelope<V> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw corrupt(key, 'is not valid JSON', error);
  }
  if (typeof parsed !== 'object' || parsed === null || !('value' in parsed)) {
    throw corrupt(key, 'is JSON but not a stored value (no "value" field)');
  }
  return parsed as Envelope<V>;
}

export function corrupt(key: string, what: string, cause?: unknown): StoreError {
  return new StoreError(
    'corrupt',
    `The stored entry "${key}" ${what}. It was changed outside AccountDesk; restore it from a backup or delete it.`,
    cause === undefined ? undefined : { cause },
  );
}
