/** Small helpers shared by the benchmarks: percentiles, a bounded-concurrency driver, medians over rounds, options. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return Number.NaN;
  const index = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1));
  return sortedMs[index]!;
}

export interface RunStats {
  count: number;
  p50: number;
  p99: number;
  totalMs: number;
  perSecond: number;
}

/** Runs `total` calls of `task`, at most `concurrency` at a time, timing each. */
export async function drive(total: number, concurrency: number, task: (i: number) => Promise<void>): Promise<RunStats> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const t0 = performance.now();
        await task(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const totalMs = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return {
    count: total,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    totalMs,
    perSecond: (total / totalMs) * 1000,
  };
}

export function row(name: string, s: RunStats): string {
  return (
    `${name.padEnd(34)} n=${s.count}  p50=${s.p50.toFixed(2)} ms  ` +
    `p99=${s.p99.toFixed(2)} ms  ${s.perSecond.toFixed(0)}/s`
  );
}

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** A figure over the rounds: its median and its spread (lowest and highest round). */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** Median and min-max of the rounds' values; null when no round has the figure. */
export function spread(values: (number | null | undefined)[]): Spread | null {
  const present = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (present.length === 0) return null;
  return { median: median(present), min: Math.min(...present), max: Math.max(...present) };
}

/** "12.3 (11.9-13.0)" with the given decimals: the median, then the spread when the rounds differ. */
export function formatSpread(s: Spread | null, decimals: number): string {
  if (!s) return '-';
  const median = s.median.toFixed(decimals);
  const min = s.min.toFixed(decimals);
  const max = s.max.toFixed(decimals);
  return min === max ? median : `${median} (${min}-${max})`;
}

/** What `npm run bench` passes every bench: `--rounds N` (baseline and subject alternate N times), `--quick`. */
export interface BenchOptions {
  rounds: number;
  /** Smaller sizes, for a smoke run that shows the runner works; its figures are not the ones to quote. */
  quick: boolean;
  /** The arguments that are not flags (a bench's own sizes). */
  positional: string[];
}

export function benchOptions(argv: string[] = process.argv.slice(2)): BenchOptions {
  const options: BenchOptions = { rounds: 3, quick: false, positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') options.quick = true;
    else if (arg === '--rounds') {
      options.rounds = Number(argv[++i]);
      if (!Number.isInteger(options.rounds) || options.rounds < 1)
        throw new Error(`--rounds takes a whole number of at least 1 (got ${argv[i] ?? 'nothing'})`);
    } else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}: the benches take --rounds N and --quick`);
    else options.positional.push(arg);
  }
  return options;
}

/**
 * Hands a bench's raw figures to `npm run bench` (bench/run.ts), which gathers every bench's into
 * bench/results.json; a bench run on its own only prints.
 */
export function saveFigures(bench: string, figures: unknown): void {
  const dir = process.env.BENCH_RESULTS_DIR;
  if (!dir) return;
  writeFileSync(join(dir, `${bench}.json`), `${JSON.stringify(figures, null, 2)}\n`);
}
