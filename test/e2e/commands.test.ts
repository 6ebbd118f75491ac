/** The slash command's other verbs and its errors: what the person typing sees, ephemerally. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APPROVER, OUTSIDER, REQUESTER, requestIdIn, startDesk, type Desk } from './harness.js';

describe('slash command answers', () => {
  let desk: Desk;
  beforeEach(async () => {
    desk = await startDesk();
  });
  afterEach(async () => {
    await desk.stop();
  });

  it('a parse error comes back ephemerally, naming the problem and the usage; nothing is stored', async () => {
    const result = await desk.client.slashCommand({
      command: '/account',
      text: 'create cloud',
      userId: REQUESTER,
      responseUrl: desk.slack.newResponseUrl({ userId: REQUESTER, channelId: 'C0GENERAL' }),
    });
    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({ response_type: 'ephemeral' });
    const text = (result.json as { text: string }).text;
    expect(text).toContain('Say which username');
    // mrkdwn: the usage's angle brackets are escaped, so Slack shows them literally instead of reading a link.
    expect(text).toContain('Usage: `/account create &lt;backend&gt; &lt;username&gt;');

    expect(await desk.command(REQUESTER, 'quota cloud alice')).toMatch(/Say the new size.*Usage: `\/account quota/s);
    expect(await desk.command(REQUESTER, 'frobnicate cloud alice')).toMatch(
      /"frobnicate" is not something AccountDesk does.*\/account help/s,
    );
    expect(await desk.command(REQUESTER, 'cancel')).toContain('Usage: `/account cancel &lt;request id&gt;`');
    expect(await desk.command(REQUESTER, 'create cloud "alice smith')).toContain('quote is not closed');
    expect(await desk.app.desk.queries.listForRequester(REQUESTER)).toHaveLength(0);
    expect(desk.slack.messagesIn('C0APPROVALS')).toHaveLength(0);
  });

  it('a request the domain refuses says why and points at help', async () => {
    const answer = await desk.command(REQUESTER, 'create cloud alice 10GB');
    expect(answer).toContain('email address is required');
    expect(answer).toContain('/account help');
    expect(await desk.command(REQUESTER, 'disable mainframe alice')).toContain(
      'There is no backend named "mainframe". Known: cloud, nas, sso.',
    );
    expect(await desk.app.desk.queries.listForRequester(REQUESTER)).toHaveLength(0);
  });

  it('help lists the actions and the backends, in the ack itself (no second call to response_url)', async () => {
    const responseUrl = desk.slack.newResponseUrl({ userId: REQUESTER, channelId: 'C0GENERAL' });
    const acked = await desk.client.slashCommand({ command: '/account', text: 'help', userId: REQUESTER, responseUrl });
    expect(acked.json).toMatchObject({ response_type: 'ephemeral' });
    const help = (acked.json as { text: string }).text;
    for (const verb of ['create', 'disable', 'enable', 'quota', 'delete', 'cancel', 'status', 'pending', 'info'])
      expect(help).toContain(`/account ${verb}`);
    expect(help).toContain(
      '`/account create <backend> <username> [email] [quota] [group,group] [reason]` (cloud, nas, sso)',
    );
    // Only Nextcloud resends invitations.
    expect(help).toContain('`/account reinvite <backend> <username> [reason]` (cloud)');
    await new Promise((r) => setTimeout(r, 100));
    expect(desk.slack.responsesAt(responseUrl)).toHaveLength(0);
  });

  it('pending shows one page of each list with how many more there are, and `pending 2` the next', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 18; i++) ids.push(requestIdIn(await desk.command(REQUESTER, `disable cloud user${i}`)));
    await desk.command(REQUESTER, `cancel ${ids[0]}`);
    // 17 open: the first page lists 15, oldest first, and says how to see the other 2.
    const first = await desk.command(APPROVER, 'pending');
    const waiting = first.slice(first.indexOf('Waiting for approvers'));
    expect(waiting).toContain(ids[1]);
    expect(waiting).toContain(ids[15]);
    expect(waiting).not.toContain(ids[16]);
    expect(waiting).not.toContain(ids[0]);
    expect(waiting).toContain('…and 2 more: `/account pending 2`');
    const second = await desk.command(APPROVER, 'pending 2');
    expect(second.slice(second.indexOf('Waiting for approvers'))).toMatch(new RegExp(`${ids[16]}.*${ids[17]}`, 's'));
    expect(second).not.toContain(ids[15]);
    expect(second).not.toContain('more');
    // The requester's own open requests page the same way.
    const own = await desk.command(REQUESTER, 'pending');
    expect(own).toContain('Your open requests');
    expect(own).toContain('…and 2 more: `/account pending 2`');
    expect(await desk.command(REQUESTER, 'pending 3')).toContain(
      'Your open requests: none on this page (17 in all, from `/account pending`).',
    );
  });

  it('status and pending show where a request stands', async () => {
    const id = requestIdIn(await desk.command(REQUESTER, 'disable cloud alice'));
    expect(await desk.command(REQUESTER, `status ${id.toLowerCase()}`)).toMatch(
      new RegExp(`${id}.*disable alice.*pending.*0/1 approvals`),
    );
    expect(await desk.command(REQUESTER, 'status AD-ZZZZZZ')).toContain('There is no request AD-ZZZZZZ');
    expect(await desk.command(REQUESTER, 'pending')).toMatch(new RegExp(`Your open requests.*${id}`, 's'));
    // Approvers also see everything waiting.
    expect(await desk.command(APPROVER, 'pending')).toMatch(new RegExp(`Waiting for approvers.*${id}`, 's'));
    expect(await desk.command(OUTSIDER, 'pending')).not.toContain('Waiting for approvers');
  });

  it('info shows an approver the live state, and refuses anyone else', async () => {
    desk.nextcloud.seedUser({
      id: 'alice',
      email: 'alice@example.com',
      quota: '10 GB',
      usedBytes: 2 * 1024 ** 3,
      enabled: true,
    });
    const info = await desk.command(APPROVER, 'info cloud alice');
    expect(info).toContain('*alice* on *cloud* (nextcloud)');
    expect(info).toContain('exists, enabled');
    expect(info).toContain('quota 10 GB (2 GB used)');
    expect(info).toContain('alice@example.com');

    const before = desk.nextcloud.requests.length;
    const refused = await desk.command(OUTSIDER, 'info cloud alice');
    expect(refused).toContain('Only approvers can look up accounts');
    expect(refused).not.toContain('alice@example.com');
    expect(desk.nextcloud.requests.length).toBe(before); // the backend was not even asked
  });

  it('the requester cancels their own request; someone else is refused', async () => {
    const id = requestIdIn(await desk.command(REQUESTER, 'disable cloud alice'));
    await desk.card(id);

    expect(await desk.command(OUTSIDER, `cancel ${id}`)).toContain('Only the person who asked');
    expect(await desk.command(APPROVER, `cancel ${id}`)).toContain('Only the person who asked');
    expect((await desk.request(id)).state).toBe('pending');

    expect(await desk.command(REQUESTER, `cancel ${id}`)).toBe(`Cancelled ${id}.`);
    expect((await desk.request(id)).state).toBe('cancelled');
    await desk.waitForOutboxDrained();
    const card = await desk.card(id);
    expect(card).toContain('Cancelled');
    expect(card).toContain(`Cancelled by <@${REQUESTER}>`);
    expect(card).not.toContain('Approve');
    expect(desk.auditLines().join('\n')).toMatch(new RegExp(`${id}\` \\*cancelled\\* by <@${REQUESTER}>`));

    // Approving a cancelled request changes nothing.
    expect(await desk.clickAnswer(APPROVER, 'request_approve', id)).toContain('already cancelled');
    expect((await desk.request(id)).state).toBe('cancelled');
    expect(await desk.command(REQUESTER, `cancel ${id}`)).toContain('already cancelled');
  });
});
