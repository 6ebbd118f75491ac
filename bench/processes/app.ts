/**
 * The app under measurement, alone in its process: `bot` is AccountDesk as `npm start` runs it (loadConfig from
 * the environment, startAccountDesk, production log level, HTTP mode, SQLite store), `bare` is a Bolt 5 app with
 * the same receiver and signing secret whose slash command only acks. Both listen on PORT and answer the load
 * generator's questions about this process: its CPU time and memory, and (bot) how many requests it stored.
 *
 *   forked by bench/hot-path.ts: node --import tsx bench/processes/app.ts bot|bare
 */
import { App, HTTPReceiver } from '@slack/bolt';
import { startAccountDesk } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { answerParent } from './ipc.js';

/** This process's cost so far, as the load generator reads it before and after a scenario. */
export interface ProcessUsage {
  /** process.cpuUsage(): user + system CPU time since the process started, in microseconds. */
  cpuMicros: number;
  rssBytes: number;
  heapUsedBytes: number;
}

const usage = (): ProcessUsage => {
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return { cpuMicros: cpu.user + cpu.system, rssBytes: memory.rss, heapUsedBytes: memory.heapUsed };
};

const kind = process.argv[2];
const port = Number(process.env.PORT);

if (kind === 'bare') {
  const bare = new App({
    receiver: new HTTPReceiver({ signingSecret: process.env.SLACK_SIGNING_SECRET ?? '' }),
    token: process.env.SLACK_BOT_TOKEN ?? '',
    // With botId and botUserId given, Bolt makes no auth.test call (docs/slack.md#web-api-client).
    botId: 'B0BENCH',
    botUserId: 'U0BENCHBOT',
  });
  bare.command('/account', async ({ ack }) => ack());
  await bare.start(port);
  answerParent({ port }, { usage }, () => bare.stop().then(() => undefined));
} else if (kind === 'bot') {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.log.level, secrets: config.secrets });
  const running = await startAccountDesk(config, { logger, env: process.env });
  answerParent(
    { port },
    {
      usage,
      /** Requests stored, counted from the audit log's `requested` entries (one per stored request). */
      requestsStored: async () =>
        (await running.store.audit.readAfter(0, 1_000_000)).filter((entry) => entry.event === 'requested').length,
    },
    () => running.stop(),
  );
} else {
  throw new Error(`usage: app.ts bot|bare (got ${kind ?? 'nothing'})`);
}
