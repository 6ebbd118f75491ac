/**
 * The README's benchmark table comes from bench/results.json through `npm run bench:report`: medians over the
 * rounds with their spread, ratios taken within each round, the date and machine on top. Checked on a small
 * results file written here (the benches themselves never run in the test suite).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { benchOptions, formatSpread, median, spread } from '../../bench/stats.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function report(results: unknown): { status: number | null; out: string; err: string } {
  const dir = mkdtempSync(join(tmpdir(), 'accountdesk-report-'));
  dirs.push(dir);
  const file = join(dir, 'results.json');
  writeFileSync(file, JSON.stringify(results));
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/report.ts', file], { encoding: 'utf8' });
  return { status: run.status, out: run.stdout, err: run.stderr };
}

const help = (ackP50Ms: number, ackP99Ms: number) => ({ 'help.ackP50Ms': ackP50Ms, 'help.ackP99Ms': ackP99Ms });

describe('npm run bench:report', () => {
  it('prints medians with the spread over the rounds and ratios taken within each round', () => {
    const { status, out } = report({
      date: '2026-12-01T04:31:00.000Z',
      machine: { cpuModel: 'Test CPU', cpus: 2, ramGiB: 4, node: 'v20.20.2', platform: 'linux x64' },
      commit: 'abc123',
      rounds: 3,
      quick: false,
      benches: {
        'hot-path': {
          sizes: { help: 2000, creates: 1000, mixed: 10000, concurrency: 50, pendingEach: 100 },
          rounds: [
            // p50 ratios 2, 4 and 3 within the rounds: the median ratio is 3; the ratio of the medians would be 4.
            { bare: help(10, 20), bot: help(20, 60) },
            { bare: help(20, 30), bot: help(80, 90) },
            { bare: help(30, 40), bot: help(90, 120) },
          ],
        },
      },
    });
    expect(status).toBe(0);
    expect(out).toContain('Measured 2026-12-01 04:31 UTC on 2 x Test CPU, 4 GiB RAM, Node v20.20.2');
    expect(out).toContain('commit abc123; 3 rounds');
    expect(out).toContain(
      '| `/account help`, 2,000 at concurrency 50 (`bench/hot-path.ts`): ack p50 / p99 | ' +
        '20 (10-30) ms / 30 (20-40) ms | 80 (20-90) ms / 90 (60-120) ms | 3.00 (2.00-4.00)x / 3.00x |',
    );
  });

  it('says how to get results when there are none', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/report.ts', '/nonexistent/results.json'], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('run `npm run bench` first');
  });
});

describe('bench figures over rounds', () => {
  it('takes the median and the spread, leaving out rounds without the figure', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(spread([5, null, 1, 3])).toEqual({ median: 3, min: 1, max: 5 });
    expect(spread([null, undefined])).toBeNull();
    expect(formatSpread({ median: 2, min: 2, max: 2 }, 1)).toBe('2.0');
    expect(formatSpread(spread([1, 2, 4]), 0)).toBe('2 (1-4)');
  });

  it('reads --rounds and --quick, and refuses what it does not know', () => {
    expect(benchOptions(['--quick', '--rounds', '5', '3000'])).toEqual({
      rounds: 5,
      quick: true,
      positional: ['3000'],
    });
    expect(benchOptions([])).toEqual({ rounds: 3, quick: false, positional: [] });
    expect(() => benchOptions(['--rounds', '0'])).toThrow('--rounds takes a whole number of at least 1 (got 0)');
    expect(() => benchOptions(['--fast'])).toThrow('unknown option --fast');
  });
});
