/**
 * SQLite: reads go over their own connection, so they answer while a write waits for the file's write lock
 * (here held by another process's open transaction), instead of queueing behind that write.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import KeyvSqlite from '@keyv/sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type Store, type VersionedRecord } from '../../src/store/index.js';

interface Item extends VersionedRecord {
  state: string;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function storeFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'accountdesk-reads-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'store.sqlite');
}

describe('SQLite reads beside a waiting write', () => {
  it('get, a listing and a count answer while an insert waits for another process holding the write lock', async () => {
    const file = await storeFile();
    const store: Store = await openStore(`sqlite://${file}`);
    cleanups.push(() => store.close());
    const items = store.records<Item>('items', (item) => [`state:${item.state}`]);
    await items.insert({ id: 'a', state: 'open' });

    // Another process (another connection) begins a write transaction and keeps it open.
    const other = new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: 5_000 });
    cleanups.push(() => other.disconnect());
    await other.query('BEGIN IMMEDIATE');
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      await other.query('COMMIT');
    };
    // Whatever happens below, let the waiting insert through in the end.
    const safety = setTimeout(() => void release(), 3_000);
    cleanups.push(async () => {
      clearTimeout(safety);
      await release();
    });

    const waitingInsert = items.insert({ id: 'b', state: 'open' });
    const read = await Promise.all([items.get('a'), items.listByIndex('state:open'), items.countByIndex('state:open')]);
    // The reads came back while the lock was still held: they did not queue behind the insert.
    expect(released).toBe(false);
    expect(read[0]).toMatchObject({ id: 'a', version: 1 });
    expect(read[1].map((item) => item.id)).toEqual(['a']);
    expect(read[2]).toBe(1);

    await release();
    await waitingInsert;
    // A read started after the write resolved sees it.
    expect((await items.listByIndex('state:open')).map((item) => item.id)).toEqual(['a', 'b']);
  });
});
