import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreError, openStore, parseStoreUrl } from '../../src/store/index.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'accountdesk-open-'));
  dirs.push(dir);
  return dir;
}

async function failure(promise: Promise<unknown>): Promise<StoreError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreError);
  return error as StoreError;
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  await new Promise((r) => server.close(r));
  return typeof address === 'object' && address ? address.port : 1;
}

describe('parseStoreUrl', () => {
  it('defaults to an SQLite file under ./data', () => {
    expect(parseStoreUrl(undefined, '/srv/app')).toEqual({
      engine: 'sqlite',
      file: '/srv/app/data/accountdesk.sqlite',
    });
    expect(parseStoreUrl('  ', '/srv/app')).toEqual({ engine: 'sqlite', file: '/srv/app/data/accountdesk.sqlite' });
  });

  it('reads absolute and relative SQLite paths', () => {
    expect(parseStoreUrl('sqlite:///var/lib/ad/store.sqlite', '/srv')).toEqual({
      engine: 'sqlite',
      file: '/var/lib/ad/store.sqlite',
    });
    expect(parseStoreUrl('sqlite://state/store.sqlite', '/srv')).toEqual({
      engine: 'sqlite',
      file: '/srv/state/store.sqlite',
    });
  });

  it('reads redis:// and rediss:// and shows them without credentials', () => {
    expect(parseStoreUrl('redis://:hunter22@cache.lan:6390/2')).toEqual({
      engine: 'redis',
      url: 'redis://:hunter22@cache.lan:6390/2',
      displayUrl: 'redis://cache.lan:6390/2',
    });
    expect(parseStoreUrl('rediss://user:pw@cache.example.com')).toMatchObject({
      displayUrl: 'rediss://cache.example.com:6380',
    });
  });

  it('refuses anything else, listing the accepted forms and never echoing a password', () => {
    for (const url of [
      'mysql://root:hunter22@db/ad',
      'postgres://u:hunter22@h/db',
      'hunter22',
      'redis://:hunter22@host/notadb',
      'sqlite://',
    ]) {
      let error: unknown;
      try {
        parseStoreUrl(url);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(StoreError);
      const message = (error as StoreError).message;
      expect(message).not.toContain('hunter22');
      expect(message).toContain('sqlite:///absolute/path/store.sqlite');
      expect(message).toContain('redis://');
      expect(message).toContain('rediss://');
    }
  });
});

describe('openStore', () => {
  it('creates the directory of a new SQLite file', async () => {
    const dir = await tempDir();
    const store = await openStore(`sqlite://${join(dir, 'nested', 'deeper', 'store.sqlite')}`);
    expect(store.engine).toBe('sqlite');
    await store.close();
    await store.close(); // closing twice is harmless
  });

  it('reports an SQLite path that cannot be created as unavailable, saying what to check', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a-file'), 'not a directory');
    const error = await failure(openStore(`sqlite://${join(dir, 'a-file', 'store.sqlite')}`));
    expect(error.code).toBe('unavailable');
    expect(error.message).toContain(join(dir, 'a-file'));
    expect(error.message).toMatch(/STORE_URL/);
  });

  it('reports an SQLite file that cannot be opened as unavailable', async () => {
    const dir = await tempDir();
    // A directory where the database file should be: SQLite cannot open it.
    const error = await failure(openStore(`sqlite://${dir}`));
    expect(error.code).toBe('unavailable');
    expect(error.message).toContain(dir);
  });

  it('reports an unreachable Redis as unavailable without leaking the password', async () => {
    const port = await closedPort();
    const error = await failure(openStore(`redis://:hunter22@127.0.0.1:${port}`));
    expect(error.code).toBe('unavailable');
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toMatch(/redis-server is running/);
    expect(error.message).not.toContain('hunter22');
    expect(String(error.stack)).not.toContain('hunter22');
  });

  it('refuses an unknown URL scheme', async () => {
    expect((await failure(openStore('mongodb://h/db'))).code).toBe('unavailable');
  });
});

describe('a Redis that goes away after start-up', () => {
  it('fails calls with unavailable instead of hanging or reporting "not found"', async () => {
    const { spawn } = await import('node:child_process');
    const port = await closedPort();
    const server = spawn(
      'redis-server',
      ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    try {
      let store: Awaited<ReturnType<typeof openStore>> | undefined;
      for (let i = 0; i < 200 && !store; i++) {
        store = await openStore(`redis://127.0.0.1:${port}`, { namespace: 'gone' }).catch(async () => {
          await new Promise((r) => setTimeout(r, 25));
          return undefined;
        });
      }
      if (!store) throw new Error('private redis-server did not start');
      const requests = store.records<{ id: string; version: number }>('requests', () => []);
      await requests.insert({ id: 'a' });
      server.kill('SIGKILL');
      await new Promise((r) => server.once('exit', r));
      const error = await failure(requests.get('a'));
      expect(error.code).toBe('unavailable');
      expect(error.message).toContain(`127.0.0.1:${port}`);
      expect((await failure(store.audit.append({ event: 'e', subject: 's', actor: 'a', data: {} }))).code).toBe(
        'unavailable',
      );
      await store.close().catch(() => undefined);
    } finally {
      if (server.exitCode === null) server.kill('SIGKILL');
    }
  });
});
