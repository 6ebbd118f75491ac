/**
 * `npm run bench`: every benchmark, one after the other, each printing its baseline, its own figures and the ratio.
 * Run by hand, never from the test suite.
 */
import { spawnSync } from 'node:child_process';

const benches = [
  ['slack-ack.ts', 'slash-command ack vs a bare Bolt app'],
  ['backend-overhead.ts', 'Nextcloud client vs raw undici'],
  ['store-race.ts', 'claim and audit races on SQLite and Redis'],
  ['store-hot-path.ts', 'SQLite reads during a write burst and the replay guard, older form vs current'],
] as const;

let failed = 0;
for (const [file, what] of benches) {
  console.log(`\n=== ${file}: ${what}`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', new URL(file, import.meta.url).pathname], {
    stdio: 'inherit',
  });
  if (run.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
