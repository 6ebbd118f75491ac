/**
 * mrkdwn injection: user text that tries to ping everyone (<!channel>, <!here>), a person (<@U…>) or a user group
 * (<!subteam^…>) must reach Slack escaped (&lt;…&gt;) everywhere: cards, audit lines, DMs, ephemerals, modals, Home
 * (docs/slack.md#text-and-escaping).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APPROVALS, APPROVER, APPROVER2, AUDIT, REQUESTER, requestIdIn, startDesk, type Desk } from './harness.js';

const PINGS = ['<!channel>', '<!here>', '<@U0APPROVER1>', '<!subteam^S0ITADMINS>'];

describe('mrkdwn injection', () => {
  let desk: Desk;
  beforeEach(async () => {
    desk = await startDesk();
  });
  afterEach(async () => {
    await desk.stop();
  });

  it(
    'pings in the reason, the display name and the reject reason are escaped ' +
      'in every message, card, DM, modal and audit line',
    async () => {
      // As Slack delivers a typed @channel (raw), and as it delivers literal angle brackets (escaped, should_escape).
      const receipt = await desk.command(
        REQUESTER,
        'create cloud alice alice@example.com name:"<!channel> <@U0APPROVER1>" ' +
          'urgent <!here> &lt;!subteam^S0ITADMINS&gt; <!channel>',
      );
      const id = requestIdIn(receipt);
      const stored = await desk.request(id);
      // The text is kept as typed (it is data); only its rendering is escaped.
      expect(stored.steps[0]?.params.displayName).toBe('<!channel> <@U0APPROVER1>');
      expect(stored.reason).toBe('urgent <!here> <!subteam^S0ITADMINS> <!channel>');

      const card = await desk.card(id);
      expect(card).toContain('&lt;!channel&gt;');
      expect(card).toContain('&lt;!subteam^S0ITADMINS&gt;');

      // The approver reads the reject modal (it quotes the request), then rejects with a ping in the reason.
      // APPROVER2 decides, so a real mention of U0APPROVER1 never appears legitimately.
      await desk.click(APPROVER2, 'request_reject', id);
      const rejectForm = await desk.waitForModal(APPROVER2, 'reject_modal');
      await desk.submitView(APPROVER2, 'reject_modal', String(rejectForm.view.private_metadata), {
        reject_reason: { value: 'no <!channel> <@U0APPROVER1> <!subteam^S0ITADMINS> <!here>' },
      });
      await desk.waitForState(id, 'rejected');
      await desk.waitForOutboxDrained();
      await desk.command(REQUESTER, `status ${id}`);
      await desk.command(APPROVER2, 'pending');
      await desk.client.appHomeOpened(REQUESTER);
      await desk.slack.waitFor(() => desk.slack.homeViewFor(REQUESTER), 5_000);

      const dm = desk.dms(REQUESTER).join('\n');
      expect(dm).toContain('no &lt;!channel&gt; &lt;@U0APPROVER1&gt;');
      expect(
        desk.slack
          .messagesIn(AUDIT)
          .map((m) => m.text)
          .join('\n'),
      ).toContain('urgent &lt;!here&gt;');

      const everything = desk.everythingSentToSlack();
      // Sanity: the scan does see the escaped forms of every source (request reason, display name, reject reason).
      expect(everything).toContain('urgent &lt;!here&gt;');
      expect(everything).toContain('&lt;!channel&gt; &lt;@U0APPROVER1&gt;');
      expect(everything).toContain('no &lt;!channel&gt;');
      expect(everything).toContain('views.publish');
      for (const ping of PINGS) expect(everything).not.toContain(ping);
      // Nor in anything the fake shows users (messages after every update, ephemerals, views).
      for (const channel of [
        'C0APPROVALS',
        AUDIT,
        desk.slack.dmChannelFor(REQUESTER),
        desk.slack.dmChannelFor(APPROVER),
      ]) {
        for (const message of desk.slack.messagesIn(channel))
          for (const ping of PINGS) expect(JSON.stringify(message)).not.toContain(ping);
      }
      for (const user of [REQUESTER, APPROVER, APPROVER2]) {
        for (const e of desk.slack.ephemeralsFor(user))
          for (const ping of PINGS) expect(JSON.stringify(e)).not.toContain(ping);
      }
    },
  );

  it('a ping in a parse error or a refusal is escaped too', async () => {
    const answer = await desk.command(REQUESTER, '<!channel> cloud alice');
    expect(answer).toContain('&lt;!channel&gt;');
    const unknownBackend = await desk.command(REQUESTER, 'disable <!here> alice');
    expect(unknownBackend).toContain('&lt;!here&gt;');
    await desk.command(REQUESTER, 'status <!channel>');
    await desk.command(APPROVER, 'info cloud <@U0APPROVER1>');
    const everything = desk.everythingSentToSlack();
    for (const ping of PINGS) expect(everything).not.toContain(ping);
  });

  it('an id typed into cancel comes back escaped: `cancel @boss` is no mention, <!channel> pings nobody', async () => {
    // What Slack sends for `/account cancel @boss` (a mention) and `/account status @channel`.
    const cancel = await desk.command(REQUESTER, 'cancel <@U0VICTIM|boss>');
    expect(cancel).toContain('There is no request &lt;@U0VICTIM|BOSS&gt;');
    const channel = await desk.command(REQUESTER, 'cancel <!channel>');
    expect(channel).toContain('There is no request &lt;!CHANNEL&gt;');
    const everything = desk.everythingSentToSlack();
    expect(everything).not.toContain('<@U0VICTIM');
    expect(everything).not.toContain('<!CHANNEL>');
  });

  it('an id longer than the store takes is "no such request", not an unexpected error', async () => {
    const answer = await desk.command(REQUESTER, `status AD-${'X'.repeat(600)}`);
    expect(answer).toContain('There is no request AD-XXX');
    expect(answer).not.toMatch(/unexpected error/);
    expect(answer.length).toBeLessThan(200);
    const cancel = await desk.command(REQUESTER, `cancel AD-${'X'.repeat(600)}`);
    expect(cancel).toContain('There is no request AD-XXX');
  });

  it('error replies cap what they echo: 10,000 ampersands come back as a short message', async () => {
    const answer = await desk.command(REQUESTER, '&amp;'.repeat(10_000));
    expect(answer).toContain('is not something AccountDesk does');
    expect(answer.length).toBeLessThan(500);
    // A long value inside a domain refusal is capped with the whole message.
    const backend = await desk.command(REQUESTER, `disable ${'b'.repeat(5_000)} alice`);
    expect(backend).toContain('There is no backend named');
    expect(backend.length).toBeLessThanOrEqual(1_100);
  });

  it('a username of only dots is refused at submit, before any card', async () => {
    for (const name of ['.', '..', '...', '.....']) {
      const answer = await desk.command(REQUESTER, `create cloud ${name} x@example.com 2GB`);
      expect(answer).toContain(`"${name}" is not a username`);
    }
    await desk.waitForOutboxDrained();
    expect(desk.slack.messagesIn(APPROVALS)).toHaveLength(0);
  });
});
