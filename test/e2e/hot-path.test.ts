/**
 * The hot path as a user sees it: a slow or dead backend delays only its own cards (previews read in parallel per
 * backend, behind a circuit breaker), posts to one channel are paced to Slack's limit and a 429 is waited out
 * without losing anything, and a Nextcloud create makes exactly the calls it needs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { visibleText } from '../support/slack-fake.js';
import { APPROVER, AUDIT, REQUESTER, poll, requestIdIn, startDesk, type Desk } from './harness.js';

const READING = 'Reading the current state';
const BREAKER_OPEN = 'state unavailable, read failed 3 times in the last minute';

let desk: Desk | undefined;
afterEach(async () => {
  await desk?.stop();
  desk = undefined;
});

/** The card's text as the approvals channel shows it now (no waiting for the outbox). */
function cardNow(d: Desk, id: string): string {
  const message = d.cardMessage(id);
  return message ? visibleText(message) : '';
}

describe('a backend that hangs', () => {
  it("delays only its own cards: another backend's shows its state; then the breaker answers at once", async () => {
    const d = (desk = await startDesk({ appOptions: { previewTimeoutMs: 3_000 } }));
    // The next three reads of the Nextcloud ("cloud") never answer.
    d.nextcloud.failNext('getUser', 'hang', { times: 3 });
    const hung = [];
    for (const name of ['ann', 'ben', 'cat']) {
      hung.push(requestIdIn(await d.command(REQUESTER, `create cloud ${name} ${name}@example.com`)));
    }
    const healthy = requestIdIn(await d.command(REQUESTER, 'create nas dora dora@example.com'));

    // The DSM card gets its live state while every cloud read still hangs (they can only end at the 3 s limit).
    await poll(
      () => (cardNow(d, healthy).includes('Current state:') ? true : undefined),
      () => `the nas card never showed its live state: ${cardNow(d, healthy)}`,
    );
    for (const id of hung) expect(cardNow(d, id)).toContain(READING);

    // The hung reads end at the limit and say so on their cards.
    for (const id of hung) {
      await poll(
        () => (cardNow(d, id).includes('did not answer within 3 s') ? true : undefined),
        () => `the card of ${id} does not say the read timed out: ${cardNow(d, id)}`,
      );
    }

    // Three failed reads within a minute: the breaker is open, the next cloud card says so at once, no call made.
    const readsBefore = d.nextcloud.requests.filter((r) => r.route === 'getUser').length;
    const started = Date.now();
    const refused = requestIdIn(await d.command(REQUESTER, 'create cloud eve eve@example.com'));
    await poll(
      () => (cardNow(d, refused).includes(BREAKER_OPEN) ? true : undefined),
      () => `the card of ${refused} does not say the state is unavailable: ${cardNow(d, refused)}`,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(d.nextcloud.requests.filter((r) => r.route === 'getUser').length).toBe(readsBefore);

    // After the cooldown one probe goes through; the server answers again, so the card shows the live state.
    d.advanceClock(31_000);
    const probed = requestIdIn(await d.command(REQUESTER, 'create cloud finn finn@example.com'));
    expect((await d.cardParts(probed)).preview).toContain('Current state:');
    expect((await d.cardParts(probed)).preview).not.toContain(BREAKER_OPEN);
  });
});

describe('an onboarding over a hung backend and two healthy ones', () => {
  it("shows the healthy backends' live state on the card while the hung one's line still reads", async () => {
    const d = (desk = await startDesk({ appOptions: { previewTimeoutMs: 4_000 } }));
    d.nextcloud.failNext('getUser', 'hang', { times: 1 });
    const id = requestIdIn(await d.command(REQUESTER, 'onboard dana dana@example.com profile:staff new designer'));
    // cloud (hung) can only end at the 4 s limit; nas and sso answered and are stored after about 1 s.
    const card = await poll(
      () => {
        const text = cardNow(d, id);
        return (text.match(/now: /g) ?? []).length === 2 ? text : undefined;
      },
      () => `the card never showed the two healthy backends' state: ${cardNow(d, id)}`,
    );
    expect(card).toContain('reading the current state');
    // Then the hung read ends at its limit and its line says so.
    await poll(
      () => (cardNow(d, id).includes('did not answer within 4 s') ? true : undefined),
      () => `the cloud line does not say the read timed out: ${cardNow(d, id)}`,
    );
    expect(cardNow(d, id)).not.toContain('reading the current state');
  });
});

describe('posting to one channel', () => {
  /** Times (ms) at which each of the first `count` messages appeared in `channel`. */
  async function arrivals(d: Desk, channel: string, count: number, timeoutMs: number): Promise<number[]> {
    const times: number[] = [];
    const deadline = Date.now() + timeoutMs;
    while (times.length < count) {
      const seen = d.slack.messagesIn(channel).length;
      while (times.length < Math.min(seen, count)) times.push(Date.now());
      if (Date.now() > deadline) throw new Error(`only ${times.length} of ${count} messages in ${channel}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return times;
  }

  it('is paced by a token bucket (burst, then the configured rate), and nothing is lost', async () => {
    const d = (desk = await startDesk({ slack: { postsPerSecond: 4, postBurst: 2 } }));
    // Watched from before the first command, so every line is timed as it appears.
    const watching = arrivals(d, AUDIT, 6, 10_000);
    const ids = await Promise.all(
      ['ann', 'ben', 'cat', 'dan', 'eli', 'fay'].map(async (name) =>
        requestIdIn(await d.command(REQUESTER, `create cloud ${name} ${name}@example.com`)),
      ),
    );
    const times = await watching;
    // Two at once, then one every 250 ms: six lines take at least 4 x 250 ms (a little less for timer slack).
    expect(times[5]! - times[0]!).toBeGreaterThanOrEqual(900);
    await d.waitForOutboxDrained(10_000);
    const lines = d.auditLines();
    expect(lines).toHaveLength(6);
    for (const id of ids) expect(lines.filter((l) => l.includes(id))).toHaveLength(1);
  });

  it("a 429's Retry-After holds back the channel's next posts until it passed; each line arrives once", async () => {
    const d = (desk = await startDesk());
    d.slack.failNext('chat.postMessage', { retryAfter: 1, count: 1 });
    const first = requestIdIn(await d.command(REQUESTER, 'create cloud ann ann@example.com'));
    const started = Date.now();
    const second = requestIdIn(await d.command(REQUESTER, 'create cloud ben ben@example.com'));
    await d.waitForOutboxDrained(10_000);
    const lines = d.auditLines();
    expect(lines.filter((l) => l.includes(first))).toHaveLength(1);
    expect(lines.filter((l) => l.includes(second))).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    // The refused call and its retry, then one call per later message: none sent into the limit again.
    const refused = d.slack.calls('chat.postMessage').filter((c) => !c.outcome.ok);
    expect(refused).toHaveLength(1);
    expect(d.logs.join('')).toContain('Slack rate-limited posts to a channel');
  });
});

describe('a burst of requests', () => {
  it('costs the outbox no store write per entry: the publisher lease is renewed by time, not per post', async () => {
    const d = (desk = await startDesk());
    const coordination = d.app.store.coordination;
    const acquire = coordination.acquireLease.bind(coordination);
    let leaseWrites = 0;
    coordination.acquireLease = (name, owner, ttlMs) => {
      if (name === 'slack-publisher') leaseWrites++;
      return acquire(name, owner, ttlMs);
    };
    const ids = await Promise.all(
      Array.from({ length: 20 }, async (_, i) =>
        requestIdIn(await d.command(REQUESTER, `create cloud burst${i} burst${i}@example.com`)),
      ),
    );
    await d.waitForOutboxDrained(20_000);
    // 20 requests make 40 entries (requested, previewed), each posted by up to three consumers. Renewing before each
    // entry took about 6 lease writes per request; now a pass takes the lease once (20 s before renewing).
    expect(d.auditLines()).toHaveLength(20);
    expect(ids.every((id) => d.cardMessage(id))).toBe(true);
    expect(leaseWrites).toBeLessThan(20);
  });
});

describe('a Nextcloud create', () => {
  it('makes exactly one call to the server when it succeeds, besides the card preview', async () => {
    const d = (desk = await startDesk());
    const id = requestIdIn(await d.command(REQUESTER, 'create cloud gus gus@example.com 5GB'));
    await d.card(id);
    const before = d.nextcloud.requests.length;
    await d.click(APPROVER, 'request_approve', id);
    await d.waitForState(id, 'applied');
    expect(d.nextcloud.requests.slice(before).map((r) => `${r.method} ${r.route}`)).toEqual(['POST createUser']);
    expect(d.nextcloud.users.get('gus')).toMatchObject({ email: 'gus@example.com', quota: '5 GB' });
  });
});
