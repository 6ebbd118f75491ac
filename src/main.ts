/**
 * Start-up: read .env (if present) and the config, build everything, start Socket Mode or HTTP, and stop cleanly on
 * SIGTERM/SIGINT. Configuration problems end the process at once with every problem listed.
 */
import { existsSync } from 'node:fs';
import { startAccountDesk } from './app.js';
import { ConfigError, loadConfig } from './config/load.js';
import { createLogger } from './log.js';

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ level: config.log.level, pretty: config.log.pretty, secrets: config.secrets });
  const running = await startAccountDesk(config, { logger, env: process.env });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    // stop() lets in-flight applies finish; a hard deadline keeps a hung backend from blocking the shutdown
    // forever, and whatever it cuts off is reconciled by reading the backend at the next start.
    const deadline = setTimeout(() => process.exit(1), 15_000);
    deadline.unref();
    running.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`AccountDesk failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
