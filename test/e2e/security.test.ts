/**
 * Forged, stale and replayed requests from "Slack": refused before any listener runs; signed payloads whose values
 * point at another request than where they came from: refused by the listener.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issuedMetadata } from '../support/issued-metadata.js';
import { visibleText } from '../support/slack-fake.js';
import { APPROVALS, APPROVER, APPROVER2, REQUESTER, requestIdIn, startDesk, type Desk } from './harness.js';

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
      privateMetadata: issuedMetadata(desk.slack.token, 'reject_modal', APPROVER, id),
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

/**
 * Payloads correctly signed (by Slack, or by anyone holding the signing secret) whose values point elsewhere than
 * where they came from: each is refused, and the other request is left as it was.
 */
describe('signed payloads that name another request', () => {
  let desk: Desk;
  beforeEach(async () => {
    desk = await startDesk();
  });
  afterEach(async () => {
    await desk.stop();
  });

  const twoRequests = async () => {
    const mine = requestIdIn(await desk.command(REQUESTER, 'create cloud alice alice@example.com'));
    const other = requestIdIn(await desk.command(REQUESTER, 'create cloud bob bob@example.com'));
    await desk.card(mine);
    await desk.card(other);
    return { mine, other };
  };

  it("a click on one request's card whose value names another request is refused", async () => {
    const { mine, other } = await twoRequests();
    const card = desk.cardMessage(mine)!;
    const responseUrl = desk.slack.newResponseUrl({ userId: APPROVER, channelId: APPROVALS, messageTs: card.ts });
    await desk.client.blockAction({
      userId: APPROVER,
      actionId: 'request_approve',
      value: other,
      message: { ts: card.ts, channel: APPROVALS },
      triggerId: desk.slack.issueTriggerId(APPROVER),
      responseUrl,
    });
    const answer = await desk.slack.waitFor(() => desk.slack.responsesAt(responseUrl)[0], 5_000);
    expect(visibleText(answer.body)).toContain('This button does not belong to that request');
    expect((await desk.request(other)).approvals).toHaveLength(0);
    expect((await desk.request(mine)).approvals).toHaveLength(0);
    // The same click with the card's own request goes through.
    await desk.click(APPROVER, 'request_approve', mine);
    await desk.waitForState(mine, 'applied', 'approved', 'applying');
  });

  it('a click on a Home that listed other requests is refused; a Home the app did not publish too', async () => {
    const { mine, other } = await twoRequests();
    const click = (privateMetadata: string, value: string) =>
      desk.client.blockAction({
        userId: APPROVER,
        actionId: 'request_approve',
        value,
        view: { id: 'VHOMEFORGE1', type: 'home', privateMetadata },
        triggerId: desk.slack.issueTriggerId(APPROVER),
      });
    await click(issuedMetadata(desk.slack.token, 'home', APPROVER, mine), other);
    await click(other, other);
    await desk.slack.waitFor(
      () => desk.dms(APPROVER).filter((t) => t.includes('This button does not belong to that request')).length === 2,
      5_000,
    );
    expect((await desk.request(other)).approvals).toHaveLength(0);
  });

  it("a reject form whose private_metadata was changed to another request's id is refused inline", async () => {
    const { mine, other } = await twoRequests();
    await desk.click(APPROVER, 'request_reject', mine);
    const form = await desk.waitForModal(APPROVER, 'reject_modal');
    const issued = String(form.view.private_metadata);
    expect(issued.endsWith(mine)).toBe(true);
    const reason = { reject_reason: { value: 'no' } };
    for (const forged of [issued.replace(mine, other), other, '']) {
      const ack = (await desk.submitView(APPROVER, 'reject_modal', forged, reason)) as ErrorsAck;
      expect(ack.response_action).toBe('errors');
      expect(ack.errors?.reject_reason).toContain('not opened by AccountDesk for you');
    }
    // Issued to APPROVER, submitted by another approver: refused too.
    const stolen = (await desk.submitView(APPROVER2, 'reject_modal', issued, reason)) as ErrorsAck;
    expect(stolen.errors?.reject_reason).toContain('not opened by AccountDesk for you');
    expect((await desk.request(other)).state).toBe('pending');
    expect((await desk.request(mine)).state).toBe('pending');
    // The form as issued works.
    expect(await desk.submitView(APPROVER, 'reject_modal', issued, reason)).toBeUndefined();
    await desk.waitForState(mine, 'rejected');
  });

  it('a request form with an option value never offered gets a clear error on that field', async () => {
    const form = await desk.openRequestModal(REQUESTER);
    const metadata = String(form.view.private_metadata);
    const submit = (action: string, backend: string) =>
      desk.submitView(REQUESTER, 'request_modal', metadata, {
        field_action: { value: { selectedOption: action } },
        field_backend: { value: { selectedOption: backend } },
        field_username: { value: 'alice' },
      }) as Promise<ErrorsAck>;
    const action = await submit('../cloud', 'cloud');
    expect(action.errors).toEqual({ field_action: 'Pick one of the offered changes from the list.' });
    const backend = await submit('disable', '../cloud');
    expect(backend.errors?.field_backend).toContain('Pick one of the offered places from the list: cloud, nas, sso');
    expect(await desk.app.desk.queries.listForRequester(REQUESTER)).toHaveLength(0);
  });
});

interface ErrorsAck {
  response_action?: string;
  errors?: Record<string, string>;
}
