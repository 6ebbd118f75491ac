/**
 * The store's hot path on SQLite, the older form against the current one in the same run:
 * `npx tsx bench/store-hot-path.ts [writes=400] [--rounds 3] [--quick]` (--quick: 100 writes).
 *
 *   old: every statement through one connection's FIFO queue, and once-keys and leases fsynced like any commit;
 *   new: reads on a second connection (WAL readers beside the one writer), once-keys and leases written with
 *        synchronous=NORMAL (docs/architecture.md#the-replay-guard-and-durable-commits).
 *
 * Per round and form, on a fresh temp file:
 *   1. reads during a write burst: `writes` audited inserts (record + index + audit entry, one commit each) at
 *      concurrency 20, while 4 readers loop on get() and a 20-record index page until the burst ends;
 *   2. the replay guard: 300 once() calls one after another (each a fresh key, as for every new Slack request).
 * Prints the median over rounds of each figure for both forms and the ratio new/old (below 1 is better).
 * Run by hand or through `npm run bench`; never from the test suite.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditChain } from '../src/store/audit.js';
import { coordination } from '../src/store/coordination.js';
import { openSqliteEngine, type SqliteEngineOptions } from '../src/store/engines/sqlite.js';
import { keyLayout } from '../src/store/keys.js';
import { insertionOrder, recordStore } from '../src/store/records.js';
import type { VersionedRecord } from '../src/store/types.js';
import { benchOptions, percentile, saveFigures } from './stats.js';

const options = benchOptions();
const rounds = options.rounds;
const writes = Number(options.positional[0] ?? (options.quick ? 100 : 400));
const WRITE_CONCURRENCY = 20;
const READERS = 4;
const READ_EVERY_MS = 5;
const GUARD_CALLS = 300;

interface Item extends VersionedRecord {
  state: 'open';
  n: number;
}

type Form = Pick<SqliteEngineOptions, 'reads' | 'coordinationSync'>;
const FORMS: Record<'old' | 'new', Form> = {
  old: { reads: 'shared', coordinationSync: 'full' },
  new: { reads: 'separate', coordinationSync: 'normal' },
};

interface Figures {
  readP50: number;
  readP99: number;
  readsDuringBurst: number;
  burstMs: number;
  onceP50: number;
  onceMeanMs: number;
}

async function measure(form: Form): Promise<Figures> {
  const dir = await mkdtemp(join(tmpdir(), 'accountdesk-hot-'));
  const engine = await openSqliteEngine({ file: join(dir, 'store.sqlite'), ...form });
  try {
    const keys = keyLayout('bench');
    const audit = auditChain(engine, keys);
    const items = recordStore<Item>(
      engine,
      keys,
      'items',
      () => ['state:open'],
      audit.journal,
      insertionOrder(Date.now),
    );
    const guard = coordination(engine, keys);
    await items.insert({ id: 'first', state: 'open', n: 0 });

    // 2. The replay guard (run first, on the fresh file): one once() per request, each with a key never seen.
    const onceMs: number[] = [];
    const guardStarted = performance.now();
    for (let i = 0; i < GUARD_CALLS; i++) {
      const t0 = performance.now();
      if (!(await guard.once(`slack:signature:v0=${i}`, 630_000))) throw new Error('a fresh key was refused');
      onceMs.push(performance.now() - t0);
    }
    const onceMeanMs = (performance.now() - guardStarted) / GUARD_CALLS;
    onceMs.sort((a, b) => a - b);

    // 1. Reads while a burst of audited inserts runs.
    const readMs: number[] = [];
    let writing = true;
    let next = 0;
    const started = performance.now();
    const burst = Promise.all(
      Array.from({ length: WRITE_CONCURRENCY }, async () => {
        while (next < writes) {
          const n = next++;
          await items.insert({ id: `item-${n}`, state: 'open', n }, (stored) => [
            { event: 'requested', subject: stored.id, actor: 'U0BENCH', data: { n } },
          ]);
        }
      }),
    ).then(() => {
      writing = false;
      return performance.now() - started;
    });
    // Each reader asks every READ_EVERY_MS (a person opening App Home, a `pending`), not as fast as it can:
    // the figure is how long a read waits, not how many reads can crowd out the writes.
    const readers = Array.from({ length: READERS }, async () => {
      while (writing) {
        const t0 = performance.now();
        await Promise.all([items.get('first'), items.pageByIndex('state:open', { limit: 20, newestFirst: true })]);
        readMs.push(performance.now() - t0);
        await new Promise((resolve) => setTimeout(resolve, READ_EVERY_MS));
      }
    });
    const [burstMs] = await Promise.all([burst, ...readers]);
    readMs.sort((a, b) => a - b);

    return {
      readP50: percentile(readMs, 50),
      readP99: percentile(readMs, 99),
      readsDuringBurst: readMs.length,
      burstMs: burstMs ?? Number.NaN,
      onceP50: percentile(onceMs, 50),
      onceMeanMs,
    };
  } finally {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (values: number[]): number =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

async function main(): Promise<void> {
  const results: Record<'old' | 'new', Figures[]> = { old: [], new: [] };
  for (let round = 0; round < rounds; round++) {
    // Alternate which form goes first, so neither always runs on a warmer machine.
    const order: ('old' | 'new')[] = round % 2 === 0 ? ['old', 'new'] : ['new', 'old'];
    for (const name of order) results[name].push(await measure(FORMS[name]));
  }
  const fields: [keyof Figures, string][] = [
    ['readP50', 'read during a write burst, p50 ms'],
    ['readP99', 'read during a write burst, p99 ms'],
    ['readsDuringBurst', `reads finished during the burst (every ${READ_EVERY_MS} ms)`],
    ['burstMs', `${writes} audited inserts, wall ms`],
    ['onceP50', 'replay guard once(), p50 ms'],
    ['onceMeanMs', 'replay guard once(), mean ms'],
  ];
  console.log(
    `SQLite, ${rounds} rounds (medians), ${writes} inserts at concurrency ${WRITE_CONCURRENCY}, ${READERS} readers`,
  );
  console.log(`${'figure'.padEnd(40)} ${'old'.padStart(10)} ${'new'.padStart(10)} ${'new/old'.padStart(8)}`);
  for (const [field, label] of fields) {
    const old = median(results.old.map((r) => r[field]));
    const now = median(results.new.map((r) => r[field]));
    console.log(
      `${label.padEnd(40)} ${old.toFixed(2).padStart(10)} ${now.toFixed(2).padStart(10)} ` +
        `${(now / old).toFixed(2).padStart(8)}`,
    );
  }
  saveFigures('store-hot-path', { writes, concurrency: WRITE_CONCURRENCY, readers: READERS, rounds: results });
}

await main();
