/** Who may approve, how often, and how many approvals a request needs. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  APPROVER,
  APPROVER2,
  GROUP_APPROVER,
  OUTSIDER,
  REQUESTER,
  requestIdIn,
  startDesk,
  type Desk,
} from './harness.js';

describe('approvals', () => {
  let desk: Desk;
  beforeEach(async () => {
    desk = await startDesk();
  });
  afterEach(async () => {
    await desk.stop();
  });

  const creates = () => desk.nextcloud.requests.filter((r) => r.route === 'createUser').length;

  async function newCreate(user = REQUESTER): Promise<string> {
    const id = requestIdIn(await desk.command(user, 'create cloud alice alice@example.com 10GB'));
    await desk.card(id);
    return id;
  }

  it('a non-approver click is refused ephemerally and changes nothing', async () => {
    const id = await newCreate();
    const cardBefore = desk.cardMessage(id);
    const answer = await desk.clickAnswer(OUTSIDER, 'request_approve', id);
    expect(answer).toContain('Only the approvers named in the AccountDesk config');
    // Ephemeral: through response_url, not replacing the card.
    const response = desk.slack.ephemeralsFor(OUTSIDER).at(-1);
    expect(response?.via).toBe('response_url');
    await desk.waitForOutboxDrained();
    expect((await desk.request(id)).approvals).toHaveLength(0);
    expect((await desk.request(id)).state).toBe('pending');
    expect(desk.cardMessage(id)?.edits).toBe(cardBefore?.edits);
    expect((await desk.cardParts(id)).status).toContain('approvals 0 of 1');
    expect(creates()).toBe(0);

    const rejectAnswer = await desk.clickAnswer(OUTSIDER, 'request_reject', id);
    expect(rejectAnswer).toContain('Only the approvers');
    expect(desk.slack.viewsOpenedFor(OUTSIDER)).toHaveLength(0);
  });

  it('an approver cannot approve their own request', async () => {
    const id = await newCreate(APPROVER);
    expect(await desk.clickAnswer(APPROVER, 'request_approve', id)).toContain('someone else has to approve it');
    expect((await desk.request(id)).approvals).toHaveLength(0);
    expect(creates()).toBe(0);
  });

  it(
    'a double click and a second approver after approval get "already approved by"; ' + 'the backend is called once',
    async () => {
      const id = await newCreate();
      await Promise.all([desk.click(APPROVER, 'request_approve', id), desk.click(APPROVER, 'request_approve', id)]);
      await desk.waitForState(id, 'applied');
      // One click wins; the other is told (already voted, or already approved) - never a second apply.
      const told = await desk.slack.waitFor(
        () => desk.slack.ephemeralsFor(APPROVER).length === 1 && desk.slack.ephemeralsFor(APPROVER),
        5_000,
      );
      expect(told[0]!.text).toMatch(/already approved/);

      const late = await desk.clickAnswer(APPROVER2, 'request_approve', id);
      expect(late).toContain(`${id} was already approved by <@${APPROVER}>`);
      expect(late).toContain('and is applied');
      await desk.waitForOutboxDrained();
      const request = await desk.request(id);
      expect(request.approvals.map((v) => v.by)).toEqual([APPROVER]);
      expect(creates()).toBe(1);
      expect(desk.auditLines().filter((l) => l.includes('*applied*'))).toHaveLength(1);
    },
  );

  it('an approval by a member of the approver user group counts', async () => {
    const id = await newCreate();
    expect(await desk.click(GROUP_APPROVER, 'request_approve', id)).toBeUndefined();
    await desk.waitForState(id, 'applied');
    await desk.waitForOutboxDrained();
    expect(desk.nextcloud.users.has('alice')).toBe(true);
    expect((await desk.cardParts(id)).status).toContain(`approvals 1 of 1: <@${GROUP_APPROVER}>`);
    expect(desk.auditLines().join('\n')).toMatch(new RegExp(`\\*approved\\* by <@${GROUP_APPROVER}>`));
  });

  it(
    'when Slack will not list the approver group (missing scope), a group ' +
      'member is told what to fix, and nothing changes',
    async () => {
      await desk.stop();
      // From the start: the refresh at start-up fails too (1), then the click (2) and `pending` (3) ask Slack
      // themselves.
      desk = await startDesk({ slackFaults: [['usergroups.users.list', { error: 'missing_scope', count: 3 }]] });
      await desk.slack.waitFor(() => desk.slack.calls('usergroups.users.list').length >= 1, 5_000);
      const id = await newCreate();
      const answer = await desk.clickAnswer(GROUP_APPROVER, 'request_approve', id);
      expect(answer).toContain('could not check who is in the approver group S0ITADMINS');
      expect(answer).toContain('usergroups:read');
      expect(await desk.command(GROUP_APPROVER, 'pending')).toContain('usergroups:read');
      expect((await desk.request(id)).approvals).toHaveLength(0);
      expect(creates()).toBe(0);

      // Once Slack answers again, the same click counts.
      expect(await desk.click(GROUP_APPROVER, 'request_approve', id)).toBeUndefined();
      await desk.waitForState(id, 'applied');
    },
  );

  it("approver groups are kept warm: a group member's click does not wait on usergroups.users.list", async () => {
    // The start-up refresh.
    await desk.slack.waitFor(() => desk.slack.calls('usergroups.users.list').length >= 1, 5_000);
    const id = await newCreate();
    const lookups = desk.slack.calls('usergroups.users.list').length;
    expect(await desk.click(GROUP_APPROVER, 'request_approve', id)).toBeUndefined();
    await desk.waitForState(id, 'applied');
    expect(desk.slack.calls('usergroups.users.list')).toHaveLength(lookups);
  });

  it(
    'a quota above 100GB needs two approvers: the first leaves it pending, ' +
      'the same one again is refused, the second applies it',
    async () => {
      desk.nextcloud.seedUser({ id: 'alice', email: 'alice@example.com', quota: '10 GB' });
      const receipt = await desk.command(REQUESTER, 'quota cloud alice 200GB');
      expect(receipt).toContain('waits for 2 approvers');
      const id = requestIdIn(receipt);
      expect((await desk.cardParts(id)).status).toContain('approvals 0 of 2');

      expect(await desk.click(APPROVER, 'request_approve', id)).toBeUndefined();
      await desk.waitForOutboxDrained();
      const afterOne = await desk.request(id);
      expect(afterOne.state).toBe('pending');
      expect(afterOne.approvals).toHaveLength(1);
      const card = await desk.cardParts(id);
      expect(card.status).toContain('Waiting for approval');
      expect(card.status).toContain(`approvals 1 of 2: <@${APPROVER}>`);
      expect(card.buttons.map((b) => b.actionId)).toEqual(['request_approve', 'request_reject']);
      expect(desk.nextcloud.users.get('alice')?.quota).toBe('10 GB');
      // The requester hears nothing yet: it is not decided.
      expect(desk.dms(REQUESTER)).toHaveLength(0);

      expect(await desk.clickAnswer(APPROVER, 'request_approve', id)).toContain('already approved this request');
      expect((await desk.request(id)).approvals).toHaveLength(1);

      expect(await desk.click(APPROVER2, 'request_approve', id)).toBeUndefined();
      await desk.waitForState(id, 'applied');
      await desk.waitForOutboxDrained();
      expect(desk.nextcloud.users.get('alice')?.quota).toBe('200 GB');
      const final = await desk.cardParts(id);
      expect(final.status).toContain('Applied');
      expect(final.status).toContain('approvals 2 of 2');
      expect(final.buttons).toEqual([]);
      expect(desk.auditLines().join('\n')).toMatch(/approved\* by <@U0APPROVER1>.*\(1\/2\)/);
      expect(desk.auditLines().join('\n')).toMatch(/approved\* by <@U0APPROVER2>.*\(2\/2\)/);
    },
  );

  it('an exact replay of a signed approve click is acknowledged but does nothing', async () => {
    desk.nextcloud.seedUser({ id: 'alice', email: 'alice@example.com', quota: '10 GB' });
    const id = requestIdIn(await desk.command(REQUESTER, 'quota cloud alice 200GB'));
    await desk.card(id);
    const { sent } = await desk.clickSigned(APPROVER, 'request_approve', id);
    await desk.waitForOutboxDrained();
    expect((await desk.request(id)).approvals).toHaveLength(1);

    const replay = await desk.client.replay(sent);
    expect(replay.status).toBe(200);
    await desk.waitForOutboxDrained();
    const request = await desk.request(id);
    expect(request.approvals.map((v) => v.by)).toEqual([APPROVER]);
    expect(request.state).toBe('pending');
    expect(desk.logs.join('')).toContain('a replay');
  });
});
