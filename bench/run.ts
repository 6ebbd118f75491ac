/**
 * `npm run bench [-- --rounds N] [-- --quick]`: every benchmark, one after the other, each in its own process,
 * each printing its baseline, its own figures and the ratio. The figures every bench hands over (saveFigures in
 * bench/stats.ts) are written to bench/results.json with the date, the machine and the git commit;
 * `npm run bench:report` prints the README's table from that file. Run by hand, never from the test suite.
 *
 * To add a bench, add its file to the list.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchOptions } from './stats.js';

const benches = [
  ['hot-path.ts', 'AccountDesk vs a bare Bolt app: acks, receipts, cards, pending, memory'],
  ['backend-overhead.ts', 'Nextcloud client vs raw undici'],
  ['store-race.ts', 'claim and audit races on SQLite and Redis'],
  ['store-hot-path.ts', 'SQLite reads during a write burst and the replay guard, older form vs current'],
  ['batch.ts', 'batches: validate and store, cost per row, rows/s against the backend limit'],
] as const;

const args = process.argv.slice(2);
const options = benchOptions(args);
const figuresDir = mkdtempSync(join(tmpdir(), 'accountdesk-bench-results-'));
const started = Date.now();
// Taken before the run: the code measured is the code at the start.
const commit = gitCommit();
const loadAtStart = loadavg()[0]!;

let failed = 0;
for (const [file, what] of benches) {
  console.log(`\n=== ${file}: ${what}`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(file, import.meta.url)), ...args], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_RESULTS_DIR: figuresDir },
  });
  if (run.status !== 0) {
    failed++;
    console.error(`${file} failed (exit ${run.status ?? run.signal})`);
  }
}

const figures: Record<string, unknown> = {};
for (const file of readdirSync(figuresDir).sort()) {
  figures[file.replace(/\.json$/, '')] = JSON.parse(readFileSync(join(figuresDir, file), 'utf8')) as unknown;
}
rmSync(figuresDir, { recursive: true, force: true });

const results = {
  date: new Date(started).toISOString(),
  durationSeconds: Math.round((Date.now() - started) / 1000),
  machine: {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    ramGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    /** The 1-minute load average before and after the run: how much else the machine was doing. */
    loadAverage: { start: loadAtStart, end: loadavg()[0]! },
  },
  commit,
  rounds: options.rounds,
  quick: options.quick,
  failed,
  benches: figures,
};
const resultsFile = fileURLToPath(new URL('results.json', import.meta.url));
writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote ${resultsFile} (${results.durationSeconds} s); \`npm run bench:report\` prints the README table`);
process.exit(failed === 0 ? 0 : 1);

/** The commit measured, marked "+changes" when the work tree differs from it. */
function gitCommit(): string {
  if (!existsSync(fileURLToPath(new URL('../.git', import.meta.url)))) return 'unknown';
  try {
    const git = (...gitArgs: string[]) => execFileSync('git', gitArgs, { encoding: 'utf8' }).trim();
    const changed = git('status', '--porcelain', '--untracked-files=no') !== '';
    return `${git('rev-parse', '--short=12', 'HEAD')}${changed ? '+changes' : ''}`;
  } catch {
    return 'unknown';
  }
}
