/** Group membership and re-sent invitations: action kinds added after the first slice, through the same loop. */
import { afterEach, describe, expect, it } from 'vitest';
import { APPROVER, REQUESTER, requestIdIn, startDesk, type Desk } from './harness.js';

describe('join, leave and reinvite', () => {
  let desk: Desk;
  afterEach(async () => {
    await desk.stop();
  });

  it('join and leave are refused until the policy enables them, and the help lists only what is on', async () => {
    desk = await startDesk();
    expect(await desk.command(REQUESTER, 'join cloud alice staff')).toContain(
      '"join" requests are turned off in the AccountDesk config.',
    );
    const help = await desk.command(REQUESTER, 'help');
    expect(help).not.toContain('join <backend>');
    expect(help).toContain('reinvite <backend> <username> [reason]` (cloud)'); // only Nextcloud resends invitations
  });

  it('join on cloud: the card shows the membership change, one approval adds the user to the group', async () => {
    desk = await startDesk({ policy: { join: { enabled: true }, leave: { enabled: true } } });
    desk.nextcloud.seedUser({ id: 'alice', email: 'alice@example.com', groups: ['sales'] });
    desk.nextcloud.groups.add('staff');
    const id = requestIdIn(await desk.command(REQUESTER, 'join cloud alice staff new team'));
    const card = await desk.card(id);
    expect(card).toContain('add alice to group staff');
    expect(card).toContain('not in staff → in staff');

    await desk.click(APPROVER, 'request_approve', id);
    await desk.waitForState(id, 'applied');
    expect(desk.nextcloud.users.get('alice')?.groups).toEqual(expect.arrayContaining(['sales', 'staff']));

    const leave = requestIdIn(await desk.command(REQUESTER, 'leave cloud alice sales'));
    expect(await desk.card(leave)).toContain('in sales → not in sales');
    await desk.click(APPROVER, 'request_approve', leave);
    await desk.waitForState(leave, 'applied');
    expect(desk.nextcloud.users.get('alice')?.groups).toEqual(['staff']);
    await desk.waitForOutboxDrained();
    expect(desk.auditLines().join('\n')).toMatch(/applied.*leave alice on cloud/);
  });

  it('join on a backend without groups is refused with the reason; a missing group fails in words', async () => {
    desk = await startDesk({ policy: { join: { enabled: true } } });
    expect(await desk.command(REQUESTER, 'join sso alice staff')).toContain(
      'sso (nmcuser_oidc) does not support "join" requests. Backends that do: cloud, nas.',
    );
    desk.nextcloud.seedUser({ id: 'alice', email: 'alice@example.com' });
    const id = requestIdIn(await desk.command(REQUESTER, 'join cloud alice no-such-group'));
    await desk.card(id);
    await desk.click(APPROVER, 'request_approve', id);
    const failed = await desk.waitForState(id, 'failed');
    expect(failed.steps[0]?.error?.message).toMatch(
      /group 'no-such-group' does not exist on cloud: create it in Nextcloud first/,
    );
  });

  it('reinvite on cloud sends the invitation mail again after approval', async () => {
    desk = await startDesk();
    desk.nextcloud.seedUser({ id: 'bob', email: 'bob@example.com' });
    const id = requestIdIn(await desk.command(REQUESTER, 'reinvite cloud bob lost the first mail'));
    expect(await desk.card(id)).toContain('invitation mail to bob@example.com');
    expect(desk.nextcloud.mails).toEqual([]);
    await desk.click(APPROVER, 'request_approve', id);
    await desk.waitForState(id, 'applied');
    expect(desk.nextcloud.mails).toEqual([{ to: 'bob@example.com', userId: 'bob' }]);
  });
});
