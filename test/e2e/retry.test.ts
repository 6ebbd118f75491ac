/** A failed apply: the card says why in words and offers Retry; only an approver's Retry applies it. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issuedMetadata } from '../support/issued-metadata.js';
import { APPROVER, APPROVER2, OUTSIDER, REQUESTER, requestIdIn, startDesk, type Desk } from './harness.js';

describe('failed apply, then Retry', () => {
  let desk: Desk;
  beforeEach(async () => {
    desk = await startDesk();
  });
  afterEach(async () => {
    await desk.stop();
  });

  it(
    'Nextcloud in maintenance: failed card with Retry, a DM to the ' +
      'requester; a non-approver Retry is refused; an approver Retry applies',
    async () => {
      desk.nextcloud.seedUser({ id: 'alice', email: 'alice@example.com', quota: '10 GB' });
      const id = requestIdIn(await desk.command(REQUESTER, 'quota cloud alice 50GB'));
      await desk.card(id);
      // Every attempt of the HTTP layer's bounded retries (3) meets the maintenance page.
      desk.nextcloud.failNext('editUser', 'maintenance', { times: 3 });

      await desk.click(APPROVER, 'request_approve', id);
      const failed = await desk.waitForState(id, 'failed');
      expect(failed.steps[0]?.error?.retryable).toBe(true);
      await desk.waitForOutboxDrained();

      const card = await desk.cardParts(id);
      expect(card.status).toContain('Failed');
      expect(card.outcome).toMatch(/cloud said:\* .*maintenance.*attempt 1\)/i);
      expect(card.buttons).toEqual([
        { actionId: 'request_retry', label: 'Retry' },
        { actionId: 'request_cancel', label: 'Give up' },
      ]);
      expect(desk.dms(REQUESTER).join('\n')).toMatch(
        new RegExp(`Your request ${id} .* failed: .*maintenance.*An approver can retry it`, 'is'),
      );
      expect(desk.auditLines().join('\n')).toMatch(/\*failed\*.*maintenance/i);
      expect(desk.nextcloud.users.get('alice')?.quota).toBe('10 GB');

      expect(await desk.clickAnswer(OUTSIDER, 'request_retry', id)).toContain('Only approvers can retry');
      expect((await desk.request(id)).state).toBe('failed');
      expect((await desk.request(id)).steps[0]?.attempts).toBe(1);

      // The fault has cleared (failNext was used up); an approver (not necessarily the first) retries.
      expect(await desk.click(APPROVER2, 'request_retry', id)).toBeUndefined();
      const applied = await desk.waitForState(id, 'applied');
      expect(applied.steps[0]?.attempts).toBe(2);
      await desk.waitForOutboxDrained();
      expect(desk.nextcloud.users.get('alice')?.quota).toBe('50 GB');
      const final = await desk.cardParts(id);
      expect(final.status).toContain('Applied');
      expect(final.outcome).toContain(':white_check_mark:');
      expect(final.buttons).toEqual([]);
      const audit = desk.auditLines().join('\n');
      expect(audit).toMatch(new RegExp(`\\*retried\\* by <@${APPROVER2}>.*\\(attempt 2\\)`));
      expect(audit.indexOf('*failed*')).toBeLessThan(audit.indexOf('*retried*'));
      expect(audit.indexOf('*retried*')).toBeLessThan(audit.indexOf('*applied*'));
      expect(desk.dms(REQUESTER).join('\n')).toMatch(/Done: .*quota of alice to 50 GB/);

      // A second Retry after it applied does nothing.
      expect(await desk.clickAnswer(APPROVER, 'request_retry', id)).toContain('already approved');
      expect(desk.nextcloud.requests.filter((r) => r.route === 'editUser' && r.status === 200)).toHaveLength(1);
    },
  );

  it('DSM busy (3112) on create: failed with the reason in words, then applied by Retry', async () => {
    const id = requestIdIn(await desk.command(REQUESTER, 'create nas gina gina@example.com'));
    await desk.card(id);
    desk.dsm.failNext('SYNO.Core.User', 'create', 3112, 1);

    await desk.click(APPROVER, 'request_approve', id);
    const failed = await desk.waitForState(id, 'failed');
    expect(failed.steps[0]?.error?.code).toBe('busy');
    await desk.waitForOutboxDrained();
    expect((await desk.cardParts(id)).outcome).toContain('another admin is editing this user');
    expect(desk.dms(REQUESTER).join('\n')).toContain('another admin is editing this user');
    expect(desk.dsm.users.has('gina')).toBe(false);
    // A failed create shows no password: none was set.
    expect(
      desk.slack.calls('chat.postEphemeral').filter((c) => String(c.args.text).includes('one-time password')),
    ).toHaveLength(0);

    await desk.click(APPROVER, 'request_retry', id);
    await desk.waitForState(id, 'applied');
    expect(desk.dsm.users.has('gina')).toBe(true);
    await desk.waitForOutboxDrained();
    expect(
      desk.slack.calls('chat.postEphemeral').filter((c) => String(c.args.text).includes('one-time password')),
    ).toHaveLength(1);
  });

  it(
    'Give up on a failed request: refused for an outsider; ' + 'an approver cancels it and the requester is told',
    async () => {
      const id = requestIdIn(await desk.command(REQUESTER, 'disable cloud ivan'));
      await desk.card(id);
      await desk.click(APPROVER, 'request_approve', id);
      await desk.waitForModal(APPROVER, 'confirm_modal');
      await desk.submitView(
        APPROVER,
        'confirm_modal',
        issuedMetadata(desk.slack.token, 'confirm_modal', APPROVER, id),
        { confirm_username: { value: 'ivan' } },
      );
      // ivan does not exist: the backend refuses, not retryable.
      const failed = await desk.waitForState(id, 'failed');
      expect(failed.steps[0]?.error?.retryable).toBe(false);
      await desk.waitForOutboxDrained();
      expect((await desk.cardParts(id)).outcome).toContain('Fix the cause first');

      expect(await desk.clickAnswer(OUTSIDER, 'request_cancel', id)).toContain('Only the person who asked');
      expect((await desk.request(id)).state).toBe('failed');
      expect(await desk.click(APPROVER2, 'request_cancel', id)).toBeUndefined();
      await desk.waitForState(id, 'cancelled');
      await desk.waitForOutboxDrained();
      const cancelled = await desk.cardParts(id);
      expect(cancelled.outcome).toContain(`Cancelled by <@${APPROVER2}>`);
      expect(cancelled.buttons).toEqual([]);
      expect(desk.dms(REQUESTER).join('\n')).toContain(`was given up by <@${APPROVER2}>`);
    },
  );
});
