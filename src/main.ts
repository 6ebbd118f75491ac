/**
 * Start-up: read .env (if present) and the config, build everything, start Socket Mode or HTTP, and stop cleanly on
 * SIGTERM/SIGINT. Configuration problems end the process at once with every problem listed.
 */
import { existsSync } from 'node:fs';
import { startAccountDesk } from './app.js';
import { ConfigError, loadConfig } from './config/load.js';
import { createLogger, type Logger } from './log.js';
import { isTransientSlackError } from './slack/connection.js';

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
  process.on('unhandledRejection', (reason) => onUnhandledRejection(reason, logger));
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

/**
 * The last resort for a promise rejection nobody handled (Node's default ends the process).
 *
 * Slack being unreachable for a while is not a reason to stop: the Socket Mode reconnect loop and the publisher's
 * retries recover, and the durable store keeps every request. The SDKs have let such errors escape from their own
 * timers before (src/slack/connection.ts), so one that escapes is logged and the process goes on.
 *
 * Anything else is a state nobody planned for, and continuing in it could act on a request twice or not at all;
 * a restart is the safer path (start-up reconciles interrupted applies by reading the backends). So it is logged and
 * the process exits 1, for its supervisor (systemd, Docker's restart policy) to start it again.
 */
function onUnhandledRejection(reason: unknown, logger: Logger): void {
  if (isTransientSlackError(reason)) {
    logger.warn({ err: reason }, 'Slack could not be reached (an SDK error nobody caught); carrying on');
    return;
  }
  logger.fatal({ err: reason }, 'unexpected error nobody handled; exiting so that a clean start takes over');
  process.exit(1);
}

main().catch((err) => {
  process.stderr.write(`AccountDesk failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
