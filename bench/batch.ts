/**
 * Batches, measured: `npx tsx bench/batch.ts [--rounds N] [--quick] [parts, e.g. 2,3]` (also in `npm run bench`).
 *
 * The real request desk (createRequestDesk) on a temp SQLite store, the real Nextcloud client against the fake
 * Nextcloud on loopback (test/fakes/nextcloud.ts), no Slack:
 *   1. validate and store: a CSV of N rows checked row by row (checkBatchRows) and stored as one request
 *      (decisions.submit), median over rounds, for N = 500, 2,000 and 10,000;
 *   2. the cost of one row as the batch grows: rows per second applied with no rate limit, for batches of 500,
 *      2,000 and 10,000 rows (the first 400 rows of each, then Cancel; 30 rows, once, of the biggest), median over
 *      rounds. Every claim and settle
 *      rewrites the whole request record, so this falls as the batch grows: the figure behind MAX_BATCH_ROWS;
 *   3. against the fake's own edit limit (L calls per W ms, no Retry-After, as Nextcloud 32 answers): a quota batch
 *      of R rows; the engine's own time per window (elapsed beyond the least the limit allows, (ceil(R/L) - 1) * W,
 *      per window) and the steady rate L / (W + that time) as a share of the limit L / W; the goal is at least 0.95
 *      when the backend is the bottleneck.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNextcloudClient } from '../src/backends/nextcloud/client.js';
import { nextcloudConfigSchema } from '../src/backends/nextcloud/config.js';
import { createLogger } from '../src/log.js';
import { checkBatchRows } from '../src/requests/batch.js';
import { createRequestDesk, type RequestDesk } from '../src/requests/index.js';
import { requestIndexKeys } from '../src/requests/lifecycle.js';
import { ApprovalPolicy, type ActionPolicy } from '../src/requests/policy.js';
import { POLICY_NAMES, type AccountRequest, type PolicyName } from '../src/requests/types.js';
import { openStore, type Store } from '../src/store/index.js';
import { startFakeNextcloud, type FakeNextcloud } from '../test/fakes/nextcloud.js';
import { benchOptions } from './stats.js';

const REQUESTER = 'UREQUESTER';
const APPROVER = 'UAPPROVER';
const PASSWORD = 'bench-app-password';

interface World {
  desk: RequestDesk;
  store: Store;
  nextcloud: FakeNextcloud;
  close(): Promise<void>;
}

async function world(editLimit: { calls: number; windowMs: number }): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'accountdesk-bench-batch-'));
  const store = await openStore(`sqlite://${join(dir, 'store.sqlite')}`);
  const nextcloud = await startFakeNextcloud({ adminUser: 'admin', adminPassword: PASSWORD, editLimit });
  const config = nextcloudConfigSchema.parse({
    kind: 'nextcloud',
    url: nextcloud.url,
    user: 'admin',
    secretEnv: 'NC_PASSWORD',
    editLimitWindowMs: Math.max(editLimit.windowMs, 1_000),
  });
  const cloud = createNextcloudClient('cloud', config, PASSWORD);
  const open: ActionPolicy = { enabled: true, approvals: 1, expiresAfterMs: 3_600_000, rules: [] };
  const actions = Object.fromEntries(POLICY_NAMES.map((n) => [n, open])) as Record<PolicyName, ActionPolicy>;
  const policy = new ApprovalPolicy(
    { approvers: { users: [APPROVER], groups: [] }, actions },
    { membersOf: () => Promise.resolve([]) },
  );
  const desk = createRequestDesk({
    requests: store.records<AccountRequest>('requests', requestIndexKeys),
    backends: new Map([['cloud', cloud]]),
    policy,
    deliverPassword: () => Promise.resolve(),
    logger: createLogger({ level: 'silent' }),
    maxBatchRows: 10_000,
  });
  return {
    desk,
    store,
    nextcloud,
    async close() {
      await desk.engine.idle();
      await store.close();
      await nextcloud.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const quotaCsv = (rows: number) =>
  ['username,quota', ...Array.from({ length: rows }, (_, i) => `u${i},2GB`)].join('\n');

async function submit(w: World, rows: number): Promise<AccountRequest> {
  const result = await w.desk.decisions.submit(
    { action: 'batch', backend: 'cloud', rowAction: 'quota', csv: quotaCsv(rows), reason: 'bench' },
    REQUESTER,
  );
  if (!result.ok) throw new Error(result.message);
  return result.request;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Polls every 250 ms: reading a 10,000-row record more often would take the CPU the engine is measured on. */
async function waitUntil(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 250));
}

async function validateAndStore(rows: number, rounds: number): Promise<void> {
  const w = await world({ calls: 1_000_000, windowMs: 1_000 });
  const backend = w.desk.plans.backend('cloud')!;
  const check: number[] = [];
  const stored: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const t0 = performance.now();
      const checked = checkBatchRows(quotaCsv(rows), 'quota', backend, rows);
      if ('problem' in checked || checked.valid.length !== rows) throw new Error('rows did not validate');
      check.push(performance.now() - t0);
      const t1 = performance.now();
      await submit(w, rows);
      stored.push(performance.now() - t1);
    }
  } finally {
    await w.close();
  }
  console.log(
    `validate ${String(rows).padStart(6)} rows: ${median(check).toFixed(0)} ms  ` +
      `validate+store: ${median(stored).toFixed(0)} ms  (median of ${rounds})`,
  );
}

/** Rows per second applied with no limit, for the first `applied` rows of a batch of `rows`. */
async function rowCost(rows: number, applied: number, rounds: number): Promise<void> {
  const rates: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const w = await world({ calls: 1_000_000, windowMs: 1_000 });
    try {
      for (let i = 0; i < rows; i++) w.nextcloud.seedUser({ id: `u${i}`, email: `u${i}@example.com` });
      const request = await submit(w, rows);
      const t0 = performance.now();
      await w.desk.decisions.approve(request.id, APPROVER);
      await waitUntil(async () => {
        const r = await w.desk.queries.get(request.id);
        return (r?.steps.filter((s) => s.state === 'applied').length ?? 0) >= applied;
      });
      const ms = performance.now() - t0;
      await w.desk.batches.cancel(request.id, APPROVER);
      rates.push((applied / ms) * 1000);
    } finally {
      await w.close();
    }
  }
  console.log(
    `batch of ${String(rows).padStart(6)} rows: ${median(rates).toFixed(1)} rows/s ` +
      `= ${(1000 / median(rates)).toFixed(0)} ms per row (first ${applied} rows, no rate limit, median of ${rounds})`,
  );
}

/**
 * A quota batch against the fake's own edit limit. The engine waits a whole window after the 429 (Nextcloud names
 * no time), so each window costs the window plus the time the engine takes to make its L calls: measured here as
 * the elapsed time beyond the least the limit allows, per window.
 */
async function againstTheLimit(rows: number, calls: number, windowMs: number, rounds: number): Promise<void> {
  const elapsed: number[] = [];
  const windows = Math.ceil(rows / calls);
  const least = (windows - 1) * windowMs;
  for (let round = 0; round < rounds; round++) {
    const w = await world({ calls, windowMs });
    try {
      for (let i = 0; i < rows; i++) w.nextcloud.seedUser({ id: `u${i}`, email: `u${i}@example.com` });
      const request = await submit(w, rows);
      const t0 = performance.now();
      await w.desk.decisions.approve(request.id, APPROVER);
      await waitUntil(async () => (await w.desk.queries.get(request.id))?.state === 'applied');
      elapsed.push(performance.now() - t0);
      const accepted = w.nextcloud.requests.filter((r) => r.route === 'editUser' && r.status === 200).length;
      if (accepted !== rows) throw new Error(`${accepted} edits accepted for ${rows} rows`);
    } finally {
      await w.close();
    }
  }
  const ms = median(elapsed);
  const perWindow = (ms - least) / windows;
  const limitRate = (calls / windowMs) * 1000;
  const steadyRate = (calls / (windowMs + perWindow)) * 1000;
  console.log(
    `${rows} quota rows, limit ${calls} per ${windowMs} ms (${limitRate.toFixed(2)} rows/s): ${ms.toFixed(0)} ms ` +
      `(least the limit allows: ${least} ms); the engine's own time per window of ${calls} calls: ` +
      `${perWindow.toFixed(0)} ms; steady rate ${steadyRate.toFixed(2)} rows/s = ` +
      `${(steadyRate / limitRate).toFixed(3)} of the limit; with Nextcloud's 600 s window: ` +
      `${(600_000 / (600_000 + perWindow)).toFixed(4)} of the limit (median of ${rounds})`,
  );
}

const options = benchOptions();
const rounds = options.rounds;
/** Which parts to run, e.g. `2,3` (default all); --quick runs only the validate-and-store part. */
const parts = new Set((options.positional[0] ?? (options.quick ? '1' : '1,2,3')).split(','));
if (parts.has('1')) {
  console.log('1. validate and store');
  for (const rows of [500, 2_000, 10_000]) await validateAndStore(rows, rounds);
}
if (parts.has('2')) {
  console.log('2. cost of a row as the batch grows (every claim and settle rewrites the request record)');
  // The biggest batch applies one row a second or slower: 30 of its rows, once, say enough.
  for (const rows of [500, 2_000]) await rowCost(rows, 400, rounds);
  await rowCost(10_000, 30, 1);
}
if (parts.has('3')) {
  console.log("3. against the backend's own limit (the fake Nextcloud's editUser limit)");
  await againstTheLimit(150, 50, 20_000, Math.min(rounds, 2));
}
