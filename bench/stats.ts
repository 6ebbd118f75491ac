/** Small helpers shared by the benchmarks: percentiles and a bounded-concurrency driver. */

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
