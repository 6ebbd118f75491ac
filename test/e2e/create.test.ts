import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APPROVER, AUDIT, REQUESTER, requestIdIn, startDesk, type Desk } from './harness.js';

describe('create on Nextcloud, end to end', () => {
  let desk: Desk;
  beforeEach(async () => {
    desk = await startDesk();
  });
  afterEach(async () => {
    await desk.stop();
  });

  it('a slash command becomes a card, an approval creates the user, and every step is audited', async () => {
    const receipt = await desk.command(REQUESTER, 'create cloud alice alice@example.com 10GB onboarding Alice');
    expect(receipt).toContain('is in');
    const id = requestIdIn(receipt);

    const card = await desk.card(id);
    expect(card).toContain('asks to');
    expect(card).toContain('create alice (alice@example.com, quota 10 GB)');
    expect(card).toContain('user does not exist');
    expect(card).toContain('approvals 0 of 1');

    await desk.click(APPROVER, 'request_approve', id);
    // The apply runs after the click is acknowledged: wait for its outcome, then for Slack to catch up.
    await desk.waitForState(id, 'applied', 'failed');
    await desk.waitForOutboxDrained();
    const request = await desk.request(id);
    expect(request.state).toBe('applied');
    expect(desk.nextcloud.users.get('alice')).toMatchObject({ email: 'alice@example.com' });

    const finalCard = await desk.card(id);
    expect(finalCard).toContain('Applied');
    const audit = desk.auditLines().join('\n');
    expect(audit).toMatch(/requested/);
    expect(audit).toMatch(/approved/);
    expect(audit).toMatch(/applied/);
    expect(desk.dms(REQUESTER).join('\n')).toMatch(/Done/);
    for (const secret of desk.secrets) expect(desk.logs.join('')).not.toContain(secret);
    expect(AUDIT).toBeTruthy();
  });
});
