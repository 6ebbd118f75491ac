/** Typed confirmation for destructive actions, and rejection with a reason. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issuedMetadata } from '../support/issued-metadata.js';
import { APPROVER, AUDIT, GROUP_APPROVER, OUTSIDER, REQUESTER, requestIdIn, startDesk, type Desk } from './harness.js';

interface ErrorsAck {
  response_action?: string;
  errors?: Record<string, string>;
}

describe('destructive actions ask for the typed username', () => {
  let desk: Desk;
  beforeEach(async () => {
    desk = await startDesk();
  });
  afterEach(async () => {
    await desk.stop();
  });

  it('disable: Approve opens confirm_modal; a wrong name is an inline error, the right one applies', async () => {
    desk.nextcloud.seedUser({ id: 'alice', email: 'alice@example.com', enabled: true });
    const id = requestIdIn(await desk.command(REQUESTER, 'disable cloud alice'));
    await desk.card(id);

    expect(await desk.click(APPROVER, 'request_approve', id)).toBeUndefined();
    const modal = await desk.waitForModal(APPROVER, 'confirm_modal');
    expect(modal.view.private_metadata).toBe(
      issuedMetadata(desk.slack.token, String(modal.view.callback_id), APPROVER, id),
    );
    const [intro, input] = modal.view.blocks as { type: string; block_id?: string; text?: { text: string } }[];
    expect(intro?.text?.text).toContain('This will *disable alice* on *cloud*');
    expect(input).toMatchObject({ type: 'input', block_id: 'confirm_username' });
    // Opening the modal is not a vote.
    expect((await desk.request(id)).approvals).toHaveLength(0);

    const wrong = (await desk.submitView(
      APPROVER,
      'confirm_modal',
      issuedMetadata(desk.slack.token, 'confirm_modal', APPROVER, id),
      {
        confirm_username: { value: 'alicia' },
      },
    )) as ErrorsAck;
    expect(wrong.response_action).toBe('errors');
    expect(wrong.errors).toEqual({ confirm_username: 'That is not the username. Type alice exactly.' });
    expect((await desk.request(id)).state).toBe('pending');
    expect(desk.nextcloud.users.get('alice')?.enabled).toBe(true);

    // Someone who is not an approver cannot get past the modal either.
    await desk.submitView(OUTSIDER, 'confirm_modal', issuedMetadata(desk.slack.token, 'confirm_modal', OUTSIDER, id), {
      confirm_username: { value: 'alice' },
    });
    const refusal = await desk.slack.waitFor(
      () => desk.dms(OUTSIDER).find((t) => t.includes('Only the approvers')),
      2_000,
    );
    expect(refusal).toBeTruthy();
    expect((await desk.request(id)).approvals).toHaveLength(0);

    const right = await desk.submitView(
      APPROVER,
      'confirm_modal',
      issuedMetadata(desk.slack.token, 'confirm_modal', APPROVER, id),
      { confirm_username: { value: 'alice' } },
    );
    expect(right).toBeUndefined();
    await desk.waitForState(id, 'applied');
    await desk.waitForOutboxDrained();
    expect(desk.nextcloud.users.get('alice')?.enabled).toBe(false);
    expect(desk.nextcloud.requests.filter((r) => r.route === 'disableUser')).toHaveLength(1);
    const card = await desk.cardParts(id);
    expect(card.status).toContain('Applied');
    expect(card.buttons).toEqual([]);
  });

  it('delete: the card button says Approve… and the user is deleted only after the typed name', async () => {
    desk.nextcloud.seedUser({ id: 'bob', email: 'bob@example.com', enabled: false });
    const id = requestIdIn(await desk.command(REQUESTER, 'delete cloud bob gone for good'));
    expect((await desk.cardParts(id)).buttons[0]).toEqual({ actionId: 'request_approve', label: 'Approve…' });
    await desk.click(APPROVER, 'request_approve', id);
    await desk.waitForModal(APPROVER, 'confirm_modal');
    expect(desk.nextcloud.users.has('bob')).toBe(true);
    await desk.submitView(APPROVER, 'confirm_modal', issuedMetadata(desk.slack.token, 'confirm_modal', APPROVER, id), {
      confirm_username: { value: ' bob ' },
    });
    await desk.waitForState(id, 'applied');
    expect(desk.nextcloud.users.has('bob')).toBe(false);
  });
});

describe('reject with a reason', () => {
  let desk: Desk;
  beforeEach(async () => {
    desk = await startDesk();
  });
  afterEach(async () => {
    await desk.stop();
  });

  it(
    'reject_modal needs a reason; the requester DM and the audit line carry it; ' + 'the card shows who rejected',
    async () => {
      const id = requestIdIn(await desk.command(REQUESTER, 'create cloud alice alice@example.com 10GB'));
      await desk.card(id);

      expect(await desk.click(APPROVER, 'request_reject', id)).toBeUndefined();
      const modal = await desk.waitForModal(APPROVER, 'reject_modal');
      expect(modal.view.private_metadata).toBe(
        issuedMetadata(desk.slack.token, String(modal.view.callback_id), APPROVER, id),
      );

      const empty = (await desk.submitView(
        APPROVER,
        'reject_modal',
        issuedMetadata(desk.slack.token, 'reject_modal', APPROVER, id),
        {
          reject_reason: { value: '   ' },
        },
      )) as ErrorsAck;
      expect(empty.response_action).toBe('errors');
      expect(Object.keys(empty.errors ?? {})).toEqual(['reject_reason']);
      expect(empty.errors?.reject_reason).toMatch(/why/i);
      expect((await desk.request(id)).state).toBe('pending');

      expect(
        await desk.submitView(
          APPROVER,
          'reject_modal',
          issuedMetadata(desk.slack.token, 'reject_modal', APPROVER, id),
          {
            reject_reason: { value: 'Use the shared account instead' },
          },
        ),
      ).toBeUndefined();
      await desk.waitForState(id, 'rejected');
      await desk.waitForOutboxDrained();

      const card = await desk.cardParts(id);
      expect(card.status).toContain('Rejected');
      expect(card.outcome).toMatch(new RegExp(`^Rejected by <@${APPROVER}> .*\n>Use the shared account instead$`));
      expect(card.buttons).toEqual([]);
      const dm = desk.dms(REQUESTER).join('\n');
      expect(dm).toContain(`was rejected by <@${APPROVER}>`);
      expect(dm).toContain('Use the shared account instead');
      const line = desk.slack
        .messagesIn(AUDIT)
        .map((m) => m.text)
        .find((t) => t.includes('*rejected*'));
      expect(line).toContain(`by <@${APPROVER}>`);
      expect(line).toContain('Use the shared account instead');
      expect(desk.nextcloud.requests.filter((r) => r.route === 'createUser')).toHaveLength(0);

      // A late approve is told who decided.
      expect(await desk.clickAnswer(APPROVER, 'request_approve', id)).toContain(`already rejected by <@${APPROVER}>`);
      expect(desk.nextcloud.requests.filter((r) => r.route === 'createUser')).toHaveLength(0);
    },
  );

  it(
    'when Slack will not list the approver group, ' + 'the reject modal shows what to fix inline and stays open',
    async () => {
      await desk.stop();
      // Failing from the start: the refresh at start-up (1), then the submission asks Slack itself (2).
      desk = await startDesk({ slackFaults: [['usergroups.users.list', { error: 'missing_scope', count: 2 }]] });
      await desk.slack.waitFor(() => desk.slack.calls('usergroups.users.list').length >= 1, 5_000);
      const id = requestIdIn(await desk.command(REQUESTER, 'disable cloud alice'));
      await desk.card(id);
      const ack = (await desk.submitView(
        GROUP_APPROVER,
        'reject_modal',
        issuedMetadata(desk.slack.token, 'reject_modal', GROUP_APPROVER, id),
        {
          reject_reason: { value: 'not needed' },
        },
      )) as ErrorsAck;
      expect(ack.response_action).toBe('errors');
      expect(ack.errors?.reject_reason).toContain('usergroups:read');
      expect((await desk.request(id)).state).toBe('pending');
      // Slack answers again: the same submission goes through.
      expect(
        await desk.submitView(
          GROUP_APPROVER,
          'reject_modal',
          issuedMetadata(desk.slack.token, 'reject_modal', GROUP_APPROVER, id),
          { reject_reason: { value: 'not needed' } },
        ),
      ).toBeUndefined();
      await desk.waitForState(id, 'rejected');
    },
  );

  it('a non-approver submitting reject_modal directly is refused', async () => {
    const id = requestIdIn(await desk.command(REQUESTER, 'disable cloud alice'));
    await desk.card(id);
    await desk.submitView(OUTSIDER, 'reject_modal', issuedMetadata(desk.slack.token, 'reject_modal', OUTSIDER, id), {
      reject_reason: { value: 'no' },
    });
    await desk.slack.waitFor(() => desk.dms(OUTSIDER).find((t) => t.includes('Only the approvers')), 2_000);
    expect((await desk.request(id)).state).toBe('pending');
  });
});
