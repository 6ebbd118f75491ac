/**
 * Starts AccountDesk as a process of its own (test/e2e/child-app.ts, HTTP mode, a SQLite store in `dir`), for the
 * tests that kill it and start it again: the crash tests and the batch that carries on after a restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../support/net.js';
import { createSignedSlackClient } from '../support/slack-client.js';
import type { FakeSlack } from '../support/slack-fake.js';
import { poll } from './harness.js';

export interface ChildAppOptions {
  slack: FakeSlack;
  signingSecret: string;
  /** Holds accountdesk.yaml and store.sqlite. */
  dir: string;
  /** The Nextcloud app password the config's NC_PASSWORD names. */
  ncPassword: string;
  /** Every process started is pushed here, so the test's afterEach can kill what is left. */
  children: ChildProcess[];
  extraEnv?: Record<string, string>;
}

/** Resolves with the process and its signed Slack client once it logs that it is ready. */
export async function startChildApp(options: ChildAppOptions) {
  const { slack, signingSecret, dir } = options;
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./child-app.ts', import.meta.url))],
    {
      env: {
        PATH: process.env.PATH,
        SLACK_BOT_TOKEN: slack.token,
        SLACK_MODE: 'http',
        SLACK_SIGNING_SECRET: signingSecret,
        SLACK_API_URL: slack.apiUrl,
        PORT: String(port),
        CONFIG_FILE: join(dir, 'accountdesk.yaml'),
        STORE_URL: `sqlite://${join(dir, 'store.sqlite')}`,
        NC_PASSWORD: options.ncPassword,
        TEST_INSTANCE_TTL_MS: '1000',
        ...options.extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  options.children.push(child);
  let output = '';
  child.stdout.on('data', (chunk) => (output += String(chunk)));
  child.stderr.on('data', (chunk) => (output += String(chunk)));
  await poll(
    () => {
      if (child.exitCode !== null) throw new Error(`AccountDesk exited: ${output}`);
      return output.includes('AccountDesk is ready') || undefined;
    },
    () => `AccountDesk did not get ready: ${output}`,
    20_000,
  );
  const client = createSignedSlackClient({ url: `http://127.0.0.1:${port}/slack/events`, signingSecret, slack });
  return { child, client, output: () => output };
}
