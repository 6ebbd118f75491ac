/**
 * Two replicas of one deployment on one Redis (the real redis-server the test setup starts), behind the same Slack
 * app and backends: every audit line, card and DM appears once, and a change approved on both at once is applied
 * once (docs/architecture.md#liveness-and-leases).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { visibleText } from '../support/slack-fake.js';
import { APPROVALS, APPROVER, APPROVER2, AUDIT, REQUESTER, requestIdIn, startDesk, type Desk } from './harness.js';

describe('two replicas on one Redis', () => {
  let desk: Desk;
  afterEach(async () => {
    await desk.stop();
  });

  it('post each audit line, card and DM once, and apply a doubly approved change once', async () => {
    desk = await startDesk({
      env: { STORE_URL: inject('redisUrl'), STORE_NAMESPACE: `e2e-replicas-${randomUUID()}` },
      policy: { quota: { rules: [] } },
    });
    const second = await desk.startReplica();
    for (const name of ['u1', 'u2', 'u3', 'u4']) desk.nextcloud.seedUser({ id: name, email: `${name}@example.com` });

    // Requests arrive at either replica (a load balancer, or Socket Mode spreading envelopes).
    const ids: string[] = [];
    for (const [i, name] of ['u1', 'u2', 'u3', 'u4'].entries()) {
      const client = i % 2 === 0 ? desk.client : second.client;
      const responseUrl = desk.slack.newResponseUrl({ userId: REQUESTER, channelId: 'C0GENERAL' });
      await client.slashCommand({
        command: '/account',
        text: `quota cloud ${name} 20GB`,
        userId: REQUESTER,
        channelId: 'C0GENERAL',
        responseUrl,
      });
      ids.push(
        requestIdIn(visibleText((await desk.slack.waitFor(() => desk.slack.responsesAt(responseUrl)[0], 5_000)).body)),
      );
    }
    for (const id of ids) await desk.card(id);

    // Two approvers click Approve on the same card at the same moment, one through each replica.
    const [target] = ids;
    const card = desk.cardMessage(target!)!;
    const click = (client: typeof desk.client, user: string) =>
      client.blockAction({
        userId: user,
        actionId: 'request_approve',
        value: target,
        message: { ts: card.ts, channel: APPROVALS },
        responseUrl: desk.slack.newResponseUrl({ userId: user, channelId: APPROVALS, messageTs: card.ts }),
      });
    await Promise.all([click(desk.client, APPROVER), click(second.client, APPROVER2)]);
    const applied = await desk.waitForState(target!, 'applied');
    expect(applied.approvals).toHaveLength(1); // the second vote found it already approved
    const quotaEdits = desk.nextcloud.requests.filter((r) => r.method === 'PUT' && r.path.includes('/users/u1'));
    expect(quotaEdits).toHaveLength(1);

    // Both publishers wake at once, again and again (as two replicas' timers and kicks do).
    for (let i = 0; i < 20; i++) {
      desk.app.publisher.kick();
      second.app.publisher.kick();
      await new Promise((r) => setTimeout(r, 5));
    }
    // Let both run until the log is fully delivered.
    await desk.waitForOutboxDrained();
    await second.app.publisher.idle();
    await desk.waitForOutboxDrained();
    const entries = await desk.app.store.audit.readAfter(0, 1000);
    const lines = desk.slack.messagesIn(AUDIT).map((m) => m.text);
    const seqs = lines.map((line) => Number(/· #(\d+)$/.exec(line)?.[1]));
    // Each entry once, in order (a stored live preview is bookkeeping and has no line).
    expect(seqs).toEqual(entries.filter((e) => e.event !== 'previewed').map((e) => e.seq));
    for (const id of ids)
      expect(
        desk.slack.messagesIn(APPROVALS).filter((m) => visibleText(m).includes(`Account request ${id}`)),
      ).toHaveLength(1);
    const done = desk.dms(REQUESTER).filter((t) => t.includes(target!) && t.startsWith(':white_check_mark: Done'));
    expect(done).toHaveLength(1);
    expect((await desk.app.store.audit.verify()).ok).toBe(true);
  });
});
