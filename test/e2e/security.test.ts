/** Forged, stale and replayed requests from "Slack": refused before any listener runs. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APPROVER, REQUESTER, requestIdIn, startDesk, type Desk } from './harness.js';

describe('signed requests', () => {
  let desk: Desk;
  beforeEach(async () => {
    desk = await startDesk();
  });
  afterEach(async () => {
    await desk.stop();
  });

  const command = (text: string, forge?: Parameters<Desk['client']['slashCommand']>[1]) =>
    desk.client.slashCommand(
      {
        command: '/account',
        text,
        userId: REQUESTER,
        channelId: 'C0GENERAL',
        responseUrl: desk.slack.newResponseUrl({ userId: REQUESTER, channelId: 'C0GENERAL' }),
      },
      forge,
    );

  it('a wrong signature is answered 401 and stores nothing', async () => {
    const result = await command('disable cloud alice', { signingSecret: 'not-the-secret' });
    expect(result.status).toBe(401);
    expect(await desk.app.desk.queries.listForRequester(REQUESTER)).toHaveLength(0);
  });

  it('a timestamp 6 minutes old or 6 minutes ahead is ignored', async () => {
    // Bolt refuses the old one itself (401); it accepts a future one, which the app's replay guard acks and drops.
    expect((await command('disable cloud alice', { timestampOffsetSec: -360 })).status).toBe(401);
    expect((await command('disable cloud alice', { timestampOffsetSec: 360 })).status).toBe(200);
    await desk.waitForOutboxDrained();
    expect(await desk.app.desk.queries.listForRequester(REQUESTER)).toHaveLength(0);
    expect(desk.slack.messagesIn('C0APPROVALS')).toHaveLength(0);
  });

  it('an exact replay of a signed slash command makes no second request', async () => {
    const first = await command('disable cloud alice');
    expect(first.status).toBe(200);
    await desk.slack.waitFor(() => desk.slack.messagesIn('C0APPROVALS').length === 1, 5_000);
    const replay = await desk.client.replay(first.request);
    expect(replay.status).toBe(200);
    await desk.waitForOutboxDrained();
    expect(await desk.app.desk.queries.listForRequester(REQUESTER)).toHaveLength(1);
    expect(desk.slack.messagesIn('C0APPROVALS')).toHaveLength(1);
  });

  it('a replayed reject submission after the request was approved changes nothing', async () => {
    const id = requestIdIn(await desk.command(REQUESTER, 'create cloud alice alice@example.com'));
    await desk.card(id);
    const reject = await desk.client.viewSubmission({
      userId: APPROVER,
      callbackId: 'reject_modal',
      privateMetadata: id,
      values: { reject_reason: { value: 'first thought' } },
    });
    expect(reject.status).toBe(200);
    await desk.waitForState(id, 'rejected');
    const replay = await desk.client.replay(reject.request);
    expect(replay.status).toBe(200);
    await desk.waitForOutboxDrained();
    expect(desk.auditLines().filter((l) => l.includes('*rejected*'))).toHaveLength(1);
  });
});
