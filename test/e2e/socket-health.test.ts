/**
 * Health and metrics in Socket Mode, where the bot listens on no port for Slack: HEALTH_PORT serves /healthz,
 * /readyz and /metrics. AccountDesk starts as main.ts starts it (loadConfig -> startAccountDesk) against the fake
 * Slack Web API and the fake Socket Mode server; a slash command arrives over the socket and shows in /metrics.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startAccountDesk, type RunningAccountDesk } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { startFakeNextcloud, type FakeNextcloud } from '../fakes/nextcloud.js';
import { startFakeSlack, type FakeSlack } from '../support/slack-fake.js';
import { startFakeSocketMode, type FakeSocketMode } from '../support/socket-mode-fake.js';
import { APPROVALS, AUDIT, APPROVER, REQUESTER, poll } from './harness.js';

const APP_TOKEN = 'xapp-1-A0FAKE0001-health-e2e-1f2e3d';
const NC_PASSWORD = 'nc-app-password-health-4c5b6a';

interface Running {
  slack: FakeSlack;
  socket: FakeSocketMode;
  nextcloud: FakeNextcloud;
  app?: RunningAccountDesk;
  logs: string[];
  dir: string;
}

async function startSocketDesk(healthPort: string | undefined): Promise<Running> {
  const slack = await startFakeSlack({ appToken: APP_TOKEN });
  const socket = await startFakeSocketMode();
  slack.setSocketModeUrl(socket.url);
  const nextcloud = await startFakeNextcloud({ adminUser: 'admin', adminPassword: NC_PASSWORD });
  const dir = mkdtempSync(join(tmpdir(), 'accountdesk-health-'));
  const configFile = join(dir, 'accountdesk.yaml');
  writeFileSync(
    configFile,
    stringify({
      slack: { approvalsChannel: APPROVALS, auditChannel: AUDIT },
      approvers: { users: [APPROVER] },
      backends: { cloud: { kind: 'nextcloud', url: nextcloud.url, user: 'admin', secretEnv: 'NC_PASSWORD' } },
    }),
  );
  const config = loadConfig({
    SLACK_BOT_TOKEN: slack.token,
    SLACK_APP_TOKEN: APP_TOKEN,
    SLACK_API_URL: slack.apiUrl,
    CONFIG_FILE: configFile,
    STORE_URL: `sqlite://${join(dir, 'store.sqlite')}`,
    NC_PASSWORD,
    ...(healthPort === undefined ? {} : { HEALTH_PORT: healthPort }),
  });
  const logs: string[] = [];
  const logger = createLogger({ level: 'info', secrets: config.secrets, destination: { write: (l) => logs.push(l) } });
  const running: Running = { slack, socket, nextcloud, logs, dir };
  try {
    running.app = await startAccountDesk(config, { logger, publishIntervalMs: 50, sweepIntervalMs: 3_600_000 });
  } catch (err) {
    await stopAll(running);
    throw err;
  }
  return running;
}

async function stopAll(running: Running | undefined): Promise<void> {
  if (!running) return;
  await running.app?.stop();
  await Promise.all([running.slack.close(), running.socket.close(), running.nextcloud.close()]);
  rmSync(running.dir, { recursive: true, force: true });
}

/** Runs deploy/healthcheck.mjs (the image's HEALTHCHECK) against HEALTH_PORT; resolves to its exit code. */
function dockerHealthcheck(port: number): Promise<number> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [fileURLToPath(new URL('../../deploy/healthcheck.mjs', import.meta.url))],
      { env: { PATH: process.env.PATH, HEALTH_PORT: String(port) } },
      (error) => resolve(error ? Number(error.code ?? 1) : 0),
    );
  });
}

describe('health endpoints in Socket Mode', () => {
  let running: Running | undefined;
  afterEach(async () => {
    await stopAll(running);
    running = undefined;
  });

  it('serves /healthz, /readyz and /metrics on HEALTH_PORT, and stops serving them on shutdown', async () => {
    running = await startSocketDesk('0');
    const port = running.app!.healthPort!;
    expect(port).toBeGreaterThan(0);
    const base = `http://127.0.0.1:${port}`;

    const health = await fetch(`${base}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
    const ready = await fetch(`${base}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([200, 'store: ok\nslack: connected\noutbox: ok (0 waiting)\n']);
    expect((await fetch(`${base}/slack/events`)).status).toBe(404);

    running.nextcloud.seedUser({ id: 'alice', email: 'alice@example.com' });
    const responseUrl = running.slack.newResponseUrl({ userId: REQUESTER, channelId: 'C0GENERAL' });
    await running.socket.sendEnvelope('slash_commands', {
      team_id: 'T0FAKE0001',
      channel_id: 'C0GENERAL',
      user_id: REQUESTER,
      command: '/account',
      text: 'disable cloud alice left',
      api_app_id: 'A0FAKE0001',
      response_url: responseUrl,
      trigger_id: running.slack.issueTriggerId(REQUESTER),
    });
    const metrics = await poll(
      async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        return text.includes('accountdesk_requests_total{action="disable",state="pending"} 1') ? text : undefined;
      },
      () => 'the request never showed in /metrics',
    );
    expect(metrics).toContain('# TYPE accountdesk_backend_calls_total counter');

    // The Docker image's HEALTHCHECK command, as Docker runs it in the container.
    expect(await dockerHealthcheck(port)).toBe(0);

    await running.app!.store.close();
    expect((await fetch(`${base}/healthz`)).status).toBe(503);
    expect(await dockerHealthcheck(port)).toBe(1);
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toMatch(/^store: unavailable/);

    await running.app!.stop();
    running.app = undefined;
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });

  it('without HEALTH_PORT serves nothing and says how to turn it on', async () => {
    running = await startSocketDesk(undefined);
    expect(running.app!.healthPort).toBeUndefined();
    expect(running.logs.join('')).toContain('set HEALTH_PORT to serve /healthz, /readyz, /metrics');
  });

  it('a HEALTH_PORT in use stops the start with words', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, resolve));
    const taken = (blocker.address() as { port: number }).port;
    try {
      await expect(startSocketDesk(String(taken))).rejects.toThrow(
        `HEALTH_PORT ${taken} is already in use: choose a free port for /healthz, /readyz and /metrics`,
      );
    } finally {
      blocker.close();
    }
  });
});
