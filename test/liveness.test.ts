/** Which processes are alive, and work leases that a dead process cannot keep (src/liveness.ts), on a real store. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Liveness } from '../src/liveness.js';
import { createLogger } from '../src/log.js';
import { openStore, type Store } from '../src/store/index.js';

const logger = createLogger({ level: 'silent' });
let dir: string;
let stores: Store[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'accountdesk-liveness-'));
  stores = [];
});
afterEach(async () => {
  for (const store of stores) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A process: its own store connection and liveness. */
async function process_(): Promise<{ store: Store; liveness: Liveness }> {
  const store = await openStore(`sqlite://${join(dir, 'store.sqlite')}`);
  stores.push(store);
  return { store, liveness: await Liveness.start(store.coordination, 60_000, logger) };
}

describe('Liveness', () => {
  it('tells a running process from one that stopped', async () => {
    const a = await process_();
    const b = await process_();
    expect(await b.liveness.isAlive(a.liveness.id)).toBe(true);
    expect(await b.liveness.isAlive('instance-never-existed')).toBe(false);
    await a.liveness.stop();
    expect(await b.liveness.isAlive(a.liveness.id)).toBe(false);
    await b.liveness.stop();
  });

  it('a work lease is held by one live process at a time', async () => {
    const a = await process_();
    const b = await process_();
    expect(await a.liveness.acquire('slack-publisher', 60_000)).toBe(true);
    expect(await b.liveness.acquire('slack-publisher', 60_000)).toBe(false);
    expect(await a.liveness.acquire('slack-publisher', 60_000)).toBe(true); // renewal
    await a.liveness.release('slack-publisher');
    expect(await b.liveness.acquire('slack-publisher', 60_000)).toBe(true);
    await Promise.all([a.liveness.stop(), b.liveness.stop()]);
  });

  it(
    'takes over at once a work lease whose holder died ' + '(no heartbeat), without waiting for it to run out',
    async () => {
      const b = await process_();
      // A process that took the lease and was SIGKILLed: the lease stays for its full minute, its heartbeat is gone.
      expect(await b.store.coordination.acquireLease('sweeper', 'instance-killed', 60_000)).toBe(true);
      expect(await b.liveness.acquire('sweeper', 60_000)).toBe(true);
      expect(await b.store.coordination.leaseHolder('sweeper')).toBe(b.liveness.id);
      await b.liveness.stop();
    },
  );

  it(
    'leaves alone a lease whose holder runs no heartbeat at all ' + '(an older version): it waits for it to run out',
    async () => {
      const b = await process_();
      expect(await b.store.coordination.acquireLease('slack-publisher', 'c0ffee-random-owner', 60_000)).toBe(true);
      expect(await b.liveness.acquire('slack-publisher', 60_000)).toBe(false);
      expect(await b.store.coordination.leaseHolder('slack-publisher')).toBe('c0ffee-random-owner');
      await b.liveness.stop();
    },
  );
});
