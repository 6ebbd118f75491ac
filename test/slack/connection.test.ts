/**
 * The "Slack connection up" signal a readiness probe reads (slackConnection(app)), and which errors count as Slack
 * being away for a while (what main.ts lets pass instead of exiting).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webApi } from '@slack/bolt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSlackApp, initSlackApp, slackConnection } from '../../src/slack/app.js';
import { isTransientSlackError } from '../../src/slack/connection.js';
import { createLogger } from '../../src/log.js';
import { openStore, type Store } from '../../src/store/index.js';
import { startFakeSlack, type FakeSlack } from '../support/slack-fake.js';
import { startFakeSocketMode, type FakeSocketMode } from '../support/socket-mode-fake.js';
import type { App } from '@slack/bolt';

const APP_TOKEN = 'xapp-1-A0FAKE0001-connection-test';

describe('slackConnection(app) in Socket Mode', () => {
  let slack: FakeSlack;
  let socket: FakeSocketMode;
  let store: Store;
  let dir: string;
  let app: App;
  const logs: string[] = [];

  beforeEach(async () => {
    slack = await startFakeSlack({ appToken: APP_TOKEN });
    socket = await startFakeSocketMode({ webApiUpstream: slack.apiUrl });
    slack.setSocketModeUrl(socket.url);
    dir = mkdtempSync(join(tmpdir(), 'accountdesk-connection-'));
    const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(line) } });
    store = await openStore(`sqlite://${join(dir, 'store.sqlite')}`, { logger });
    const settings = {
      mode: 'socket' as const,
      botToken: slack.token,
      appToken: APP_TOKEN,
      port: 0,
      apiUrl: socket.apiUrl,
      command: '/account',
      approvalsChannel: 'C0APPROVALS',
      auditChannel: 'C0AUDIT',
    };
    app = createSlackApp({ settings, coordination: store.coordination, logger, healthy: () => Promise.resolve(true) });
    await initSlackApp(app, settings);
  });
  afterEach(async () => {
    await app.stop();
    await Promise.all([socket.close(), slack.close(), store.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('is down before start, up after Slack says hello, down in an outage (saying why), up again after it', async () => {
    const connection = slackConnection(app);
    expect(connection.isUp()).toBe(false);
    await app.start();
    expect(connection.isUp()).toBe(true);
    expect(connection.lastError()).toBeUndefined();

    const outage = socket.outage(1_500);
    await slack.waitFor(() => !connection.isUp() && connection.lastError());
    expect(connection.lastError()).toContain('failed (503)');
    await outage;
    await slack.waitFor(() => connection.isUp(), 10_000);
    expect(connection.lastError()).toBeUndefined();
    expect(Date.now() - connection.since().getTime()).toBeLessThan(10_000);
  });

  it('stop() during an outage ends the reconnect loop: no attempt after it', async () => {
    await app.start();
    void socket.outage(60_000);
    await slack.waitFor(() => socket.refusedCalls().length >= 1);
    await app.stop();
    const attempts = socket.refusedCalls().length;
    await new Promise((r) => setTimeout(r, 2_500));
    expect(socket.refusedCalls().length).toBe(attempts);
    expect(slackConnection(app).isUp()).toBe(false);
  });
});

describe('isTransientSlackError', () => {
  it('is true for Slack being unreachable: network errors, HTTP 5xx and 429, a socket that is not open', () => {
    const network = Object.assign(new Error('connect ECONNREFUSED'), { code: webApi.ErrorCode.RequestError });
    const http503 = Object.assign(new Error('503'), { code: webApi.ErrorCode.HTTPError, statusCode: 503 });
    const http429 = Object.assign(new Error('429'), { code: webApi.ErrorCode.HTTPError, statusCode: 429 });
    const notReady = Object.assign(new Error('x'), { code: 'slack_socket_mode_send_while_not_ready_error' });
    for (const err of [network, http503, http429, notReady]) expect(isTransientSlackError(err)).toBe(true);
  });

  it('is false for anything else: a refused token, a 404, a TypeError, nothing at all', () => {
    const refused = Object.assign(new Error('invalid_auth'), {
      code: webApi.ErrorCode.PlatformError,
      data: { ok: false, error: 'invalid_auth' },
    });
    const http404 = Object.assign(new Error('404'), { code: webApi.ErrorCode.HTTPError, statusCode: 404 });
    for (const err of [refused, http404, new TypeError('x is undefined'), undefined, 'text'])
      expect(isTransientSlackError(err)).toBe(false);
  });
});
