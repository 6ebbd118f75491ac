/**
 * AccountDesk as its own process, for the crash tests: what main.ts does (config from the environment, start,
 * log JSON lines to stdout), with the test's short liveness and sweep intervals so a SIGKILL is reconciled
 * within seconds. Run with `node --import tsx test/e2e/child-app.ts`.
 */
import { startAccountDesk } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';

const config = loadConfig(process.env);
const logger = createLogger({
  level: 'info',
  secrets: config.secrets,
  destination: { write: (line: string) => void process.stdout.write(line) },
});
/**
 * TEST_KILL_AFTER_REQUEST_COMMIT=N: the process SIGKILLs itself right after the Nth store commit that writes a
 * request record, the harshest moment a crash can hit a state change (test/e2e/crash.test.ts).
 */
const killAfter = Number(process.env.TEST_KILL_AFTER_REQUEST_COMMIT ?? 0);
let requestCommits = 0;
const afterStoreCommit =
  killAfter > 0
    ? (keys: string[]) => {
        if (!keys.some((key) => key.includes(':rec:requests:'))) return;
        requestCommits++;
        if (requestCommits === killAfter) process.kill(process.pid, 'SIGKILL');
      }
    : undefined;

await startAccountDesk(config, {
  logger,
  env: process.env,
  instanceTtlMs: Number(process.env.TEST_INSTANCE_TTL_MS ?? 1_000),
  sweepIntervalMs: 60_000,
  engineSweepIntervalMs: 500,
  publishIntervalMs: 100,
  ...(afterStoreCommit ? { afterStoreCommit } : {}),
});
