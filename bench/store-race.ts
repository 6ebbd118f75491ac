/**
 * The claim race, printable: `npx tsx bench/store-race.ts [rounds=1000] [--quick]` (--quick: 200 rounds).
 *
 * Per engine (a temp SQLite file; Redis at REDIS_URL, or a private redis-server on a free loopback port):
 *   1. two store instances (two connections) race `rounds` times: each round both try to move one fresh record
 *      from 'approved' to 'applying' through update(), refusing when it is no longer 'approved';
 *   2. `rounds` audit appends fired at once, split across the two instances, then verify();
 *   3. the same claim race and audit race from two separate processes (child_process.fork).
 * Prints rounds, single-winner rounds, double wins, no-winner rounds, audit result and wall time per engine.
 *
 * The functions are exported for test/store/race.test.ts, which asserts the same figures. Run with `--worker`
 * (by fork only) this file is one racing process.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore, type RecordStore, type Store, type VersionedRecord } from '../src/store/index.js';
import { benchOptions, saveFigures } from './stats.js';

export interface Claimable extends VersionedRecord {
  state: 'approved' | 'applying';
  claimedBy?: string;
}

export interface ClaimRaceResult {
  rounds: number;
  singleWinner: number;
  doubleWins: number;
  noWinner: number;
  /** Rounds where BOTH contenders read the record as 'approved': real collisions that the CAS had to settle. */
  contested: number;
  ms: number;
}

export interface AuditRaceResult {
  appends: number;
  distinctSeqs: number;
  verified: boolean;
  entries: number;
  ms: number;
}

export const claims = (store: Store): RecordStore<Claimable> =>
  store.records<Claimable>('claims', (record) => [record.state]);

/** The claim step the domain will use for "apply": only an approved request may start applying. */
export function claim(records: RecordStore<Claimable>, id: string, who: string, sawApproved?: () => void) {
  return records.update<string>(id, (current) => {
    if (current.state !== 'approved')
      return { refuse: `already ${current.state} by ${current.claimedBy ?? 'someone'}` };
    sawApproved?.();
    return { ...current, state: 'applying', claimedBy: who };
  });
}

/** Two instances, one fresh record per round, both claim it at the same moment. */
export async function raceClaims(a: Store, b: Store, rounds: number): Promise<ClaimRaceResult> {
  const ra = claims(a);
  const rb = claims(b);
  const started = performance.now();
  const tally = { rounds, singleWinner: 0, doubleWins: 0, noWinner: 0, contested: 0 };
  const prefix = `round-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  for (let round = 0; round < rounds; round++) {
    const id = `${prefix}-${round}`;
    await ra.insert({ id, state: 'approved' });
    const saw = { a: false, b: false };
    const [x, y] = await Promise.all([
      claim(ra, id, 'a', () => (saw.a = true)),
      claim(rb, id, 'b', () => (saw.b = true)),
    ]);
    if (saw.a && saw.b) tally.contested++;
    const wins = Number(x.ok) + Number(y.ok);
    if (wins === 1) tally.singleWinner++;
    else if (wins === 2) tally.doubleWins++;
    else tally.noWinner++;
  }
  return { ...tally, ms: Math.round(performance.now() - started) };
}

/** `appends` audit appends fired at once, alternating between the two instances; then the chain is verified. */
export async function raceAudit(a: Store, b: Store, appends: number): Promise<AuditRaceResult> {
  const started = performance.now();
  const entries = await Promise.all(
    Array.from({ length: appends }, (_, i) =>
      (i % 2 === 0 ? a : b).audit.append({
        event: 'raced',
        subject: `s-${i}`,
        actor: i % 2 === 0 ? 'a' : 'b',
        data: { i },
      }),
    ),
  );
  const verification = await a.audit.verify();
  return {
    appends,
    distinctSeqs: new Set(entries.map((e) => e.seq)).size,
    verified: verification.ok,
    entries: verification.entries,
    ms: Math.round(performance.now() - started),
  };
}

// ---- two processes -------------------------------------------------------------------------------------------

type ToWorker = { cmd: 'claim'; ids: string[] } | { cmd: 'audit'; count: number; tag: string } | { cmd: 'exit' };
type FromWorker =
  { ready: true } | { won: string[]; sawApproved: string[] } | { appended: number[] } | { error: string };

export interface ProcessRaceResult {
  claims: ClaimRaceResult;
  audit: AuditRaceResult;
}

/** Two forked processes on the same store: each claims every record (all at once), then each appends. */
export async function raceProcesses(url: string, namespace: string, rounds: number): Promise<ProcessRaceResult> {
  const self = fileURLToPath(import.meta.url);
  const workers = [0, 1].map((n) =>
    fork(self, ['--worker', url, namespace, `p${n}`], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const parent = await openStore(url, { namespace });
  try {
    await Promise.all(workers.map((w) => nextMessage(w)));
    const records = claims(parent);
    const ids = Array.from({ length: rounds }, (_, i) => `proc-${Date.now()}-${i}`);
    for (const id of ids) await records.insert({ id, state: 'approved' });

    let started = performance.now();
    const replies = await Promise.all(workers.map((w) => ask(w, { cmd: 'claim', ids })));
    const claimMs = Math.round(performance.now() - started);
    const winsPerId = new Map<string, number>(ids.map((id) => [id, 0]));
    const sawPerId = new Map<string, number>();
    for (const reply of replies) {
      if (!('won' in reply)) throw new Error('race worker gave no claim result');
      for (const id of reply.won) winsPerId.set(id, (winsPerId.get(id) ?? 0) + 1);
      for (const id of reply.sawApproved) sawPerId.set(id, (sawPerId.get(id) ?? 0) + 1);
    }
    const counts = [...winsPerId.values()];

    started = performance.now();
    const half = Math.floor(rounds / 2);
    const seqs = (
      await Promise.all(
        workers.map((w, n) => ask(w, { cmd: 'audit', count: n === 0 ? half : rounds - half, tag: `p${n}` })),
      )
    ).map((reply) => ('appended' in reply ? reply.appended : []));
    const verification = await parent.audit.verify();
    const auditMs = Math.round(performance.now() - started);
    return {
      claims: {
        rounds,
        singleWinner: counts.filter((c) => c === 1).length,
        doubleWins: counts.filter((c) => c >= 2).length,
        noWinner: counts.filter((c) => c === 0).length,
        contested: [...sawPerId.values()].filter((n) => n >= 2).length,
        ms: claimMs,
      },
      audit: {
        appends: rounds,
        distinctSeqs: new Set(seqs.flat()).size,
        verified: verification.ok,
        entries: verification.entries,
        ms: auditMs,
      },
    };
  } finally {
    for (const w of workers) if (w.connected) w.send({ cmd: 'exit' } satisfies ToWorker);
    await Promise.all(
      workers.map((w) => (w.exitCode !== null ? Promise.resolve() : new Promise((r) => w.once('exit', r)))),
    );
    await parent.close();
  }
}

function nextMessage(worker: ChildProcess): Promise<FromWorker> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`race worker exited early (code ${code})`));
    worker.once('exit', onExit);
    worker.once('message', (message) => {
      worker.off('exit', onExit);
      const m = message as FromWorker;
      if ('error' in m) reject(new Error(`race worker failed: ${m.error}`));
      else resolve(m);
    });
  });
}

async function ask(worker: ChildProcess, command: ToWorker): Promise<FromWorker> {
  const reply = nextMessage(worker);
  worker.send(command);
  return reply;
}

async function runWorker(url: string, namespace: string, name: string): Promise<void> {
  const store = await openStore(url, { namespace });
  const records = claims(store);
  const send = (m: FromWorker) => process.send?.(m);
  process.on('message', (message: ToWorker) => {
    void (async () => {
      try {
        if (message.cmd === 'exit') {
          await store.close();
          process.disconnect();
          return;
        }
        if (message.cmd === 'claim') {
          const saw = new Set<string>();
          const results = await Promise.all(message.ids.map((id) => claim(records, id, name, () => saw.add(id))));
          send({ won: message.ids.filter((_, i) => results[i]?.ok), sawApproved: [...saw] });
        } else {
          const entries = await Promise.all(
            Array.from({ length: message.count }, (_, i) =>
              store.audit.append({ event: 'raced', subject: `${message.tag}-${i}`, actor: message.tag, data: { i } }),
            ),
          );
          send({ appended: entries.map((e) => e.seq) });
        }
      } catch (error) {
        send({ error: error instanceof Error ? error.message : String(error) });
      }
    })();
  });
  send({ ready: true });
}

// ---- printable run -------------------------------------------------------------------------------------------

async function startRedis(): Promise<{ url: string; stop: () => void }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: () => undefined };
  if (spawnSync('redis-server', ['--version']).error) throw new Error('redis-server not found; set REDIS_URL');
  const port = await new Promise<number>((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
  const server = spawn(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100; i++) {
    const open = await new Promise<boolean>((r) =>
      connect(port, '127.0.0.1', function (this: import('node:net').Socket) {
        this.end();
        r(true);
      }).once('error', () => r(false)),
    );
    if (open) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `redis://127.0.0.1:${port}`, stop: () => server.kill('SIGTERM') };
}

async function main(rounds: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'accountdesk-race-'));
  const redis = await startRedis();
  const figures: Record<string, unknown> = { rounds };
  try {
    for (const [engine, url] of [
      ['sqlite', `sqlite://${join(dir, 'race.sqlite')}`],
      ['redis', redis.url],
    ] as const) {
      const namespace = `race-${Date.now()}`;
      const a = await openStore(url, { namespace });
      const b = await openStore(url, { namespace });
      const inProcess = await raceClaims(a, b, rounds);
      const audit = await raceAudit(a, b, rounds);
      await Promise.all([a.close(), b.close()]);
      const processes = await raceProcesses(url, `${namespace}-p`, rounds);
      const line = (what: string, r: ClaimRaceResult) =>
        `${engine.padEnd(6)} ${what.padEnd(22)} rounds=${r.rounds} single-winner=${r.singleWinner} ` +
        `double-wins=${r.doubleWins} no-winner=${r.noWinner} contested=${r.contested} wall=${r.ms}ms`;
      const auditLine = (what: string, r: AuditRaceResult) =>
        `${engine.padEnd(6)} ${what.padEnd(22)} appends=${r.appends} distinct-seqs=${r.distinctSeqs} ` +
        `chain=${r.verified ? 'ok' : 'BROKEN'} entries=${r.entries} wall=${r.ms}ms`;
      console.log(line('claims, 2 connections', inProcess));
      console.log(auditLine('audit, 2 connections', audit));
      console.log(line('claims, 2 processes', processes.claims));
      console.log(auditLine('audit, 2 processes', processes.audit));
      figures[engine] = { inProcess, audit, processes };
    }
    saveFigures('store-race', figures);
  } finally {
    redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === '--worker') {
    await runWorker(process.argv[3] ?? '', process.argv[4] ?? '', process.argv[5] ?? 'worker');
  } else {
    // `npm run bench` passes every bench --rounds and --quick; the race's own rounds are its first argument.
    const options = benchOptions();
    await main(Number(options.positional[0] ?? (options.quick ? 200 : 1000)));
  }
}
