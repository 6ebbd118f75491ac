/**
 * Replay protection, end to end: a real Bolt HTTP app (HTTPReceiver with the signed-request extractor and the
 * refuseReplays global middleware), signed requests from the harness client, the fake Slack Web API.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import type { Coordination } from '../../src/store/types.js';
import {
  checkReplay,
  EVENT_ID_MEMORY_MS,
  refuseReplays,
  SIGNATURE_MEMORY_MS,
  signedRequestProperties,
} from '../../src/slack/replay.js';
import { startFakeSlack, type FakeSlack } from '../support/slack-fake.js';
import { createSignedSlackClient, type SignedSlackClient } from '../support/slack-client.js';

const SIGNING_SECRET = 'replay-signing-secret-0123456789';

/** The Coordination contract in memory, on an injected clock; remembers the TTLs it was asked for. */
class MemoryCoordination implements Coordination {
  readonly ttls = new Map<string, number>();
  private readonly until = new Map<string, number>();
  failWith: Error | undefined;
  constructor(private readonly now: () => number = Date.now) {}
  once(key: string, ttlMs: number): Promise<boolean> {
    if (this.failWith) return Promise.reject(this.failWith);
    const expiry = this.until.get(key);
    if (expiry !== undefined && expiry > this.now()) return Promise.resolve(false);
    this.until.set(key, this.now() + ttlMs);
    this.ttls.set(key, ttlMs);
    return Promise.resolve(true);
  }
  acquireLease(): Promise<boolean> {
    return Promise.reject(new Error('not used by replay protection'));
  }
  releaseLease(): Promise<void> {
    return Promise.reject(new Error('not used by replay protection'));
  }
  leaseHolder(): Promise<string | undefined> {
    return Promise.reject(new Error('not used by replay protection'));
  }
}

interface Running {
  fake: FakeSlack;
  slack: SignedSlackClient;
  coordination: MemoryCoordination;
  handled: string[];
  stop(): Promise<void>;
}

/** A Bolt HTTP app wired the way src/main.ts is meant to wire it; `guarded: false` is bare Bolt for comparison. */
async function startApp(guarded: boolean): Promise<Running> {
  const fake = await startFakeSlack();
  const coordination = new MemoryCoordination();
  const handled: string[] = [];
  const receiver = new HTTPReceiver({
    signingSecret: SIGNING_SECRET,
    logLevel: LogLevel.ERROR,
    ...(guarded ? { customPropertiesExtractor: signedRequestProperties } : {}),
  });
  const app = new App({
    token: fake.token,
    receiver,
    logLevel: LogLevel.ERROR,
    clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
  });
  if (guarded) app.use(refuseReplays(coordination));
  app.command('/account', async ({ ack, command, client }) => {
    await ack();
    handled.push(`command:${command.text}`);
    await client.chat.postMessage({ channel: 'C0APPROVAL', text: `request: ${command.text}` });
  });
  app.action('approve', async ({ ack, action }) => {
    await ack();
    handled.push(`approve:${'value' in action ? action.value : ''}`);
  });
  app.event('app_home_opened', ({ event }) => {
    handled.push(`home:${event.user}`);
    return Promise.resolve();
  });
  const server = (await app.start({ port: 0, host: '127.0.0.1' })) as Server;
  const { port } = server.address() as AddressInfo;
  const slack = createSignedSlackClient({
    url: `http://127.0.0.1:${port}/slack/events`,
    signingSecret: SIGNING_SECRET,
    slack: fake,
  });
  return {
    fake,
    slack,
    coordination,
    handled,
    async stop() {
      await app.stop();
      await fake.close();
    },
  };
}

describe('replay protection in a real Bolt HTTP app', () => {
  let running: Running | undefined;
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });

  it('bare Bolt runs an exact replay twice and accepts a future timestamp (why this module exists)', async () => {
    running = await startApp(false);
    const first = await running.slack.slashCommand({
      command: '/account',
      text: 'create cloud alice',
      userId: 'U0ALICE',
    });
    await running.slack.replay(first.request);
    await running.slack.slashCommand(
      { command: '/account', text: 'future', userId: 'U0ALICE' },
      { timestampOffsetSec: 6 * 60 },
    );
    await running.fake.waitFor(() => running!.fake.messagesIn('C0APPROVAL').length === 3);
    expect(running.handled).toEqual(['command:create cloud alice', 'command:create cloud alice', 'command:future']);
  });

  it('runs a replayed command once and acks the replay with an empty 200', async () => {
    running = await startApp(true);
    const first = await running.slack.slashCommand({
      command: '/account',
      text: 'create cloud alice',
      userId: 'U0ALICE',
    });
    expect(first.status).toBe(200);
    const replayed = await running.slack.replay(first.request);
    // Acked at once (not Bolt's 404 after 3 s), so Slack would not retry; nothing ran.
    expect(replayed).toMatchObject({ status: 200, body: '' });
    const again = await running.slack.replay(first.request);
    expect(again.status).toBe(200);
    await running.fake.waitFor(() => running!.fake.messagesIn('C0APPROVAL').length >= 1);
    expect(running.handled).toEqual(['command:create cloud alice']);
    expect(running.fake.messagesIn('C0APPROVAL').map((m) => m.text)).toEqual(['request: create cloud alice']);
  });

  it('runs a replayed button click once', async () => {
    running = await startApp(true);
    const click = await running.slack.blockAction({
      userId: 'U0BOB',
      actionId: 'approve',
      value: 'r1',
      message: { ts: '1.000001', channel: 'C0APPROVAL' },
    });
    await running.slack.replay(click.request);
    expect(running.handled).toEqual(['approve:r1']);
  });

  it('refuses a timestamp 6 minutes in the future, and one 6 minutes old is refused by Bolt itself', async () => {
    running = await startApp(true);
    const future = await running.slack.slashCommand(
      { command: '/account', text: 'future', userId: 'U0ALICE' },
      { timestampOffsetSec: 6 * 60 },
    );
    expect(future).toMatchObject({ status: 200, body: '' });
    const old = await running.slack.slashCommand(
      { command: '/account', text: 'old', userId: 'U0ALICE' },
      { timestampOffsetSec: -6 * 60 },
    );
    expect(old.status).toBe(401);
    expect(running.handled).toEqual([]);
    expect(running.fake.calls('chat.postMessage')).toEqual([]);
  });

  it('lets fresh requests through, each one, even with the same text', async () => {
    running = await startApp(true);
    for (const text of ['disable cloud bob', 'disable cloud bob', 'quota cloud alice 50GB']) {
      // A new trigger_id and response_url each time: different bytes, so different signatures.
      expect((await running.slack.slashCommand({ command: '/account', text, userId: 'U0ALICE' })).status).toBe(200);
    }
    await running.fake.waitFor(() => running!.fake.messagesIn('C0APPROVAL').length === 3);
    expect(running.handled).toEqual([
      'command:disable cloud bob',
      'command:disable cloud bob',
      'command:quota cloud alice 50GB',
    ]);
  });

  it('handles an Events API retry (same event_id, re-signed with a new timestamp) once', async () => {
    running = await startApp(true);
    const first = await running.slack.appHomeOpened('U0ALICE', { eventId: 'Ev0RETRY01' });
    const retry = await running.slack.appHomeOpened('U0ALICE', {
      eventId: 'Ev0RETRY01',
      timestampOffsetSec: 60,
      headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' },
    });
    expect([first.status, retry.status]).toEqual([200, 200]);
    await running.slack.appHomeOpened('U0ALICE', { eventId: 'Ev0OTHER01' });
    await running.fake.waitFor(() => running!.handled.length === 2);
    expect(running.handled).toEqual(['home:U0ALICE', 'home:U0ALICE']);
    expect(running.coordination.ttls.get('slack:event:Ev0RETRY01')).toBe(EVENT_ID_MEMORY_MS);
  });

  it('fails closed with a 500 when the store cannot be asked, and runs nothing', async () => {
    running = await startApp(true);
    running.coordination.failWith = new Error('store unavailable');
    const result = await running.slack.slashCommand({ command: '/account', text: 'x', userId: 'U0ALICE' });
    expect(result.status).toBe(500);
    expect(running.handled).toEqual([]);
  });
});

describe('checkReplay decisions', () => {
  const t0 = 1_700_000_000_000;
  const signed = (timestampSec: number, signature = `v0=${'a'.repeat(64)}`) => ({ signature, timestampSec });

  it('accepts exactly the 300 s window on both sides and refuses one second beyond', async () => {
    const coordination = new MemoryCoordination(() => t0);
    const nowSec = t0 / 1000;
    expect(await checkReplay(coordination, signed(nowSec - 300, 'v0=old-edge'), undefined, t0)).toEqual({ ok: true });
    expect(await checkReplay(coordination, signed(nowSec + 300, 'v0=future-edge'), undefined, t0)).toEqual({
      ok: true,
    });
    expect(await checkReplay(coordination, signed(nowSec - 301), undefined, t0)).toEqual({
      ok: false,
      reason: 'stale',
    });
    expect(await checkReplay(coordination, signed(nowSec + 301), undefined, t0)).toEqual({
      ok: false,
      reason: 'future',
    });
  });

  it('remembers a signature for the whole span its timestamp stays acceptable', async () => {
    let now = t0;
    const coordination = new MemoryCoordination(() => now);
    // A timestamp 300 s ahead of this clock is accepted now and stays acceptable until 600 s later: a replay at
    // that last moment must still be refused.
    const ts = t0 / 1000 + 300;
    expect(await checkReplay(coordination, signed(ts), undefined, now)).toEqual({ ok: true });
    now = t0 + 600_000;
    expect(await checkReplay(coordination, signed(ts), undefined, now)).toEqual({
      ok: false,
      reason: 'replayed_signature',
    });
    expect(SIGNATURE_MEMORY_MS).toBeGreaterThanOrEqual(600_000);
  });

  it('refuses an HTTP request whose signing headers did not reach the context', async () => {
    const coordination = new MemoryCoordination(() => t0);
    expect(await checkReplay(coordination, { signature: undefined, timestampSec: t0 / 1000 }, undefined, t0)).toEqual({
      ok: false,
      reason: 'missing_headers',
    });
    expect(
      signedRequestProperties({ headers: { 'x-slack-request-timestamp': '12abc', 'x-slack-signature': 'v0=x' } }),
    ).toEqual({
      slackSignedRequest: { signature: 'v0=x', timestampSec: undefined },
    });
  });

  it('in Socket Mode (no signature) dedupes events by event_id and leaves interactions alone', async () => {
    const coordination = new MemoryCoordination(() => t0);
    expect(await checkReplay(coordination, undefined, undefined, t0)).toEqual({ ok: true });
    expect(await checkReplay(coordination, undefined, undefined, t0)).toEqual({ ok: true });
    expect(await checkReplay(coordination, undefined, 'Ev1', t0)).toEqual({ ok: true });
    expect(await checkReplay(coordination, undefined, 'Ev1', t0)).toEqual({ ok: false, reason: 'duplicate_event' });
    expect([...coordination.ttls.keys()]).toEqual(['slack:event:Ev1']);
  });
});
