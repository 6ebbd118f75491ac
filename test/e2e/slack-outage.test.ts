/** A Slack outage delays what the app posts, never loses it, and never reorders or repeats it. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APPROVER, AUDIT, REQUESTER, requestIdIn, startDesk, type Desk } from './harness.js';

/** The audit-log sequence numbers of the audit channel's lines, in posting order ("… · #7"). */
function seqs(lines: string[]): number[] {
  return lines.map((line) => Number(/· #(\d+)$/.exec(line)?.[1] ?? NaN));
}

describe('Slack outage', () => {
  let desk: Desk;
  beforeEach(async () => {
    desk = await startDesk();
  });
  afterEach(async () => {
    await desk.stop();
  });

  it('while Slack refuses every post, waiting for the outbox fails and names what is behind', async () => {
    desk.slack.failNext('chat.postMessage', { error: 'internal_error', count: 1_000 });
    requestIdIn(await desk.command(REQUESTER, 'create cloud alice alice@example.com'));
    await expect(desk.waitForOutboxDrained(1_000)).rejects.toThrow(
      // #1 requested, #2 the stored live preview; no line and no card got through.
      /did not drain within 1000 ms: the audit log is at #[12], still behind: audit-channel at #0, cards at #[01]/,
    );
  });

  it('chat.postMessage failing three times delays the audit lines; then they all arrive, in order, once', async () => {
    desk.slack.failNext('chat.postMessage', { error: 'internal_error', count: 3 });
    const first = requestIdIn(await desk.command(REQUESTER, 'create cloud alice alice@example.com'));
    const second = requestIdIn(await desk.command(REQUESTER, 'create cloud bob bob@example.com'));

    // All three injected failures were met, and the app went on.
    await desk.slack.waitFor(
      () => desk.slack.calls('chat.postMessage').filter((c) => !c.outcome.ok).length === 3,
      5_000,
    );
    await desk.slack.waitFor(() => desk.slack.messagesIn(AUDIT).length === 2 && desk.cardMessage(second), 5_000);
    expect(desk.cardMessage(first)).toBeDefined();

    const approved = await desk.click(APPROVER, 'request_approve', first);
    expect(approved).toBeUndefined();
    await desk.waitForState(first, 'applied');
    await desk.slack.waitFor(() => desk.slack.messagesIn(AUDIT).length === 4, 5_000);
    await desk.waitForOutboxDrained();

    const lines = desk.slack.messagesIn(AUDIT).map((m) => m.text);
    // Every entry that has a line (a stored live preview is bookkeeping and has none), once, in order.
    const entries = await desk.app.store.audit.readAfter(0, 100);
    expect(seqs(lines)).toEqual(entries.filter((e) => e.event !== 'previewed').map((e) => e.seq));
    expect(lines[0]).toContain(`${first}\` *requested*`);
    expect(lines[1]).toContain(`${second}\` *requested*`);
    expect(lines[2]).toContain(`${first}\` *approved*`);
    expect(lines[3]).toContain(`${first}\` *applied*`);
    // One card per request, never a duplicate after the failed posts.
    expect(desk.slack.messagesIn('C0APPROVALS').filter((m) => m.text.startsWith(`${first}:`))).toHaveLength(1);
    expect(desk.slack.messagesIn('C0APPROVALS')).toHaveLength(2);
    expect(desk.logs.join('')).toContain('nothing is lost');
  });

  it('a rate limit (429) on the audit channel delays the line; it still arrives once', async () => {
    desk.slack.failNext('chat.postMessage', { retryAfter: 1, count: 1 });
    const id = requestIdIn(await desk.command(REQUESTER, 'create cloud carol carol@example.com'));
    await desk.slack.waitFor(() => desk.slack.messagesIn(AUDIT).length === 1 && desk.cardMessage(id), 8_000);
    await desk.waitForOutboxDrained();
    expect(desk.slack.messagesIn(AUDIT)).toHaveLength(1);
    expect(desk.slack.messagesIn('C0APPROVALS')).toHaveLength(1);
  });
});

describe('a card Slack can no longer update', () => {
  let desk: Desk;
  beforeEach(async () => {
    desk = await startDesk();
  });
  afterEach(async () => {
    await desk.stop();
  });

  it('a deleted card (message_not_found) does not hold back the cards of other requests', async () => {
    const first = requestIdIn(await desk.command(REQUESTER, 'create cloud alice alice@example.com'));
    await desk.card(first);
    // Someone deleted the first card: every chat.update of it now fails for good.
    desk.slack.failNext('chat.update', { error: 'message_not_found', count: 1_000 });
    await desk.click(APPROVER, 'request_approve', first);
    await desk.waitForState(first, 'applied');

    const second = requestIdIn(await desk.command(REQUESTER, 'create cloud bob bob@example.com'));
    await desk.slack.waitFor(() => desk.cardMessage(second), 5_000);
    await desk.slack.waitFor(() => desk.dms(REQUESTER).some((t) => t.includes(`Done: ${first}`)), 5_000);
    expect(desk.auditLines().join('\n')).toContain(`${first}\` *applied*`);
    expect(desk.logs.join('')).toContain('skipped an audit entry Slack can never deliver');
  });
});
