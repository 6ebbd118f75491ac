/**
 * What a monitoring system sees, end to end in HTTP mode: /readyz and /metrics on the bot's port while a request
 * goes through, a Slack outage making the outbox lag and then readiness fail, and the daily anchor of the audit
 * chain posted once a day by one replica (the clock moved a day ahead).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { APPROVER, AUDIT, REQUESTER, poll, requestIdIn, startDesk, type Desk } from './harness.js';

/** The value of one sample line of a Prometheus text exposition, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = (match[2] ?? '').split(',');
    if (wanted.every((w) => present.includes(w))) return Number(match[3]);
  }
  return undefined;
}

describe('/readyz and /metrics (HTTP mode)', () => {
  let desk: Desk | undefined;
  afterEach(async () => {
    await desk?.stop();
    desk = undefined;
  });

  it('count a request from ask to applied, its backend calls and durations', async () => {
    desk = await startDesk();
    const ready = await fetch(`${desk.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe('store: ok\nslack: connected\noutbox: ok (0 waiting)\n');

    desk.nextcloud.seedUser({ id: 'carol', email: 'carol@example.com', quota: '10 GB', usedBytes: 1024 });
    const id = requestIdIn(await desk.command(REQUESTER, 'quota cloud carol 50GB more photos'));
    await desk.card(id);
    await desk.click(APPROVER, 'request_approve', id);
    await desk.waitForState(id, 'applied');
    await desk.waitForOutboxDrained();

    const res = await fetch(`${desk.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(sample(text, 'accountdesk_requests_total', { action: 'quota', state: 'pending' })).toBe(1);
    expect(sample(text, 'accountdesk_requests_total', { action: 'quota', state: 'approved' })).toBe(1);
    expect(sample(text, 'accountdesk_requests_total', { action: 'quota', state: 'applied' })).toBe(1);
    expect(sample(text, 'accountdesk_request_decision_seconds_count', { action: 'quota', decision: 'approved' })).toBe(
      1,
    );
    expect(sample(text, 'accountdesk_request_apply_seconds_count', { action: 'quota', backend: 'cloud' })).toBe(1);
    const setQuota = { backend: 'cloud', operation: 'setQuota' };
    expect(sample(text, 'accountdesk_backend_calls_total', { ...setQuota, outcome: 'ok' })).toBe(1);
    expect(sample(text, 'accountdesk_backend_call_seconds_count', setQuota)).toBe(1);
    // The card's live read of carol.
    expect(
      sample(text, 'accountdesk_backend_calls_total', { backend: 'cloud', operation: 'getUser', outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'accountdesk_outbox_lag_entries')).toBe(0);
    expect(sample(text, 'accountdesk_engine_queue_depth')).toBe(0);
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('a backend refusal is counted under its error code', async () => {
    desk = await startDesk();
    desk.nextcloud.seedUser({ id: 'dan', email: 'dan@example.com', quota: '10 GB' });
    desk.nextcloud.failNext('editUser', 'bad-request');
    const id = requestIdIn(await desk.command(REQUESTER, 'quota cloud dan 20GB more'));
    await desk.card(id);
    await desk.click(APPROVER, 'request_approve', id);
    await desk.waitForState(id, 'failed', 'applied');
    const text = await (await fetch(`${desk.baseUrl}/metrics`)).text();
    const failed = await desk.request(id);
    expect(failed.state).toBe('failed');
    expect(
      sample(text, 'accountdesk_backend_calls_total', {
        backend: 'cloud',
        operation: 'setQuota',
        outcome: failed.steps[0]!.error!.code,
      }),
    ).toBe(1);
    expect(failed.steps[0]!.error!.code).not.toBe('ok');
    expect(sample(text, 'accountdesk_requests_total', { action: 'quota', state: 'failed' })).toBe(1);
  });

  it('Slack refusing posts: the errors are counted, the outbox lags, then /readyz says it is stuck', async () => {
    desk = await startDesk({ appOptions: { outboxStuckAfterMs: 300 } });
    desk.slack.failNext('chat.postMessage', { error: 'not_in_channel', count: 1_000 });
    desk.nextcloud.seedUser({ id: 'erin', email: 'erin@example.com' });
    requestIdIn(await desk.command(REQUESTER, 'disable cloud erin left'));

    const text = await poll(
      async () => {
        const body = await (await fetch(`${desk!.baseUrl}/metrics`)).text();
        const refused = sample(body, 'accountdesk_slack_api_errors_total', {
          method: 'chat.postMessage',
          code: 'not_in_channel',
        });
        return refused !== undefined && refused >= 1 ? body : undefined;
      },
      () => 'the refused posts were never counted',
    );
    // The request and its stored preview: nothing got through.
    expect(sample(text, 'accountdesk_outbox_lag_entries')).toBeGreaterThanOrEqual(1);

    const stuck = await poll(
      async () => {
        const res = await fetch(`${desk!.baseUrl}/readyz`);
        return res.status === 503 ? res.text() : undefined;
      },
      () => '/readyz never reported the stuck outbox',
    );
    expect(stuck).toMatch(/^outbox: stuck: [12] audit entries not posted to Slack, the oldest since \d{4}-/m);
    expect(stuck).toContain('store: ok');
    expect((await fetch(`${desk.baseUrl}/healthz`)).status).toBe(200);
  });
});

describe('the daily anchor of the audit chain', () => {
  let desk: Desk | undefined;
  afterEach(async () => {
    await desk?.stop();
    desk = undefined;
  });

  it('posts the head (seq and hash) once a day, from one replica only', async () => {
    let offsetMs = 0;
    const clock = () => new Date(Date.now() + offsetMs);
    desk = await startDesk({ appOptions: { clock } });
    const replica = await desk.startReplica();
    desk.nextcloud.seedUser({ id: 'gus', email: 'gus@example.com' });
    requestIdIn(await desk.command(REQUESTER, 'disable cloud gus left'));
    await desk.waitForOutboxDrained();

    // The first day of a deployment counts as anchored: nothing is posted on the day it starts.
    expect(await desk.app.anchor.check()).toBe(false);
    const anchors = () => desk!.slack.messagesIn(AUDIT).filter((m) => m.text.includes('Audit log anchor'));
    expect(anchors()).toHaveLength(0);

    offsetMs += 86_400_000;
    const posted = await Promise.all([desk.app.anchor.check(), replica.app.anchor.check()]);
    expect(posted.filter(Boolean)).toHaveLength(1);
    const head = await desk.app.store.audit.head();
    expect(head.seq).toBeGreaterThan(0);
    expect(anchors().map((m) => m.text)).toEqual([
      expect.stringContaining(`entry #${head.seq}, sha256 \`${head.hash}\``),
    ]);
    expect(anchors()[0]!.text).toContain(`npm run audit -- verify --anchor ${head.seq}:${head.hash}`);

    // Later the same day: nothing more. The next day: one more line.
    expect(await desk.app.anchor.check()).toBe(false);
    offsetMs += 86_400_000;
    expect(await replica.app.anchor.check()).toBe(true);
    expect(anchors()).toHaveLength(2);
  });
});
