/**
 * Runs each store suite against both engines: a temp-dir SQLite file, and the real redis-server that
 * test/setup/redis.ts starts. Every opened store gets a fresh namespace (Redis) or file (SQLite) and is closed
 * after its test; `raw` writes stored text directly, to play the part of someone editing the store by hand.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import KeyvSqlite from '@keyv/sqlite';
import { createClient } from '@keyv/redis';
import { afterEach, inject } from 'vitest';
import { openStore, type OpenStoreOptions, type Store } from '../../src/store/index.js';

export interface EngineUnderTest {
  name: 'sqlite' | 'redis';
  /** A fresh store location: `open()` as often as needed to get several instances (connections) on it. */
  fresh(): Promise<Location>;
}

export interface Location {
  url: string;
  namespace: string;
  open(options?: Omit<OpenStoreOptions, 'namespace'>): Promise<Store>;
  /** Overwrites (text) or deletes (undefined) a key's stored text, bypassing the store. */
  raw(key: string, text: string | undefined): Promise<void>;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  const pending = cleanups.splice(0).reverse();
  for (const cleanup of pending) await cleanup();
});

let counter = 0;
const uniqueNamespace = () => `t${process.pid}-${Date.now().toString(36)}-${counter++}`;

function location(url: string, namespace: string, raw: Location['raw']): Location {
  return {
    url,
    namespace,
    async open(options = {}) {
      const store = await openStore(url, { ...options, namespace });
      cleanups.push(() => store.close());
      return store;
    },
    raw,
  };
}

const sqlite: EngineUnderTest = {
  name: 'sqlite',
  async fresh() {
    const dir = await mkdtemp(join(tmpdir(), 'accountdesk-store-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const url = `sqlite://${join(dir, 'store.sqlite')}`;
    return location(url, uniqueNamespace(), async (key, text) => {
      const adapter = new KeyvSqlite({ uri: url, busyTimeout: 5_000 });
      try {
        if (text === undefined) await adapter.delete(key);
        else await adapter.set(key, text);
      } finally {
        await adapter.disconnect();
      }
    });
  },
};

const redis: EngineUnderTest = {
  name: 'redis',
  // Nothing to create: the namespace alone keeps this location apart on the shared test server.
  fresh() {
    const url = inject('redisUrl');
    return Promise.resolve(
      location(url, uniqueNamespace(), async (key, text) => {
        const client = createClient({ url });
        await client.connect();
        try {
          if (text === undefined) await client.del(key);
          else await client.set(key, text);
        } finally {
          await client.close();
        }
      }),
    );
  },
};

export const ENGINES = [sqlite, redis];
