/**
 * The replay guard's once-key on SQLite is written without an fsync of its own (synchronous=NORMAL,
 * docs/architecture.md#the-replay-guard-and-durable-commits): it must still survive the process that wrote it being
 * SIGKILLed right after, and be seen at once by another process on the same file.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';

const STORE_MODULE = fileURLToPath(new URL('../../src/store/index.ts', import.meta.url));
const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** Another process: opens the store, takes the once-key, prints the answer and SIGKILLs itself. */
function onceThenKill(url: string, key: string): Promise<{ printed: string; signal: NodeJS.Signals | null }> {
  const script =
    `const { openStore } = await import(${JSON.stringify(STORE_MODULE)});` +
    `const store = await openStore(${JSON.stringify(url)});` +
    `process.stdout.write(String(await store.coordination.once(${JSON.stringify(key)}, 630000)), () =>` +
    ` process.kill(process.pid, 'SIGKILL'));`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let printed = '';
  child.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (_code, signal) => resolve({ printed, signal })));
}

describe('the SQLite once-key without its own fsync', () => {
  it('outlives the process that wrote it when that process is killed right after', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'accountdesk-once-'));
    dirs.push(dir);
    const url = `sqlite://${join(dir, 'store.sqlite')}`;
    // This process holds the file open throughout, as a second replica would.
    const store = await openStore(url);
    try {
      const killed = await onceThenKill(url, 'slack:signature:v0=abc');
      expect(killed).toEqual({ printed: 'true', signal: 'SIGKILL' });
      expect(await store.coordination.once('slack:signature:v0=abc', 630_000)).toBe(false);
      // And after a restart (a fresh connection) too.
      const reopened = await openStore(url);
      try {
        expect(await reopened.coordination.once('slack:signature:v0=abc', 630_000)).toBe(false);
        expect(await reopened.coordination.once('slack:signature:v0=def', 630_000)).toBe(true);
      } finally {
        await reopened.close();
      }
    } finally {
      await store.close();
    }
  }, 30_000);
});
