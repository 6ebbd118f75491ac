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
await startAccountDesk(config, {
  logger,
  env: process.env,
  instanceTtlMs: Number(process.env.TEST_INSTANCE_TTL_MS ?? 1_000),
  sweepIntervalMs: 60_000,
  publishIntervalMs: 100,
});
