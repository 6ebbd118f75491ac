/** App Home: a person's own requests, and for approvers what waits for them; its buttons work like the card's. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issuedMetadata } from '../support/issued-metadata.js';
import { visibleText } from '../support/slack-fake.js';
import { APPROVER, APPROVER2, OUTSIDER, REQUESTER, requestIdIn, startDesk, type Desk } from './harness.js';

describe('App Home', () => {
  let desk: Desk;
  beforeEach(async () => {
    desk = await startDesk();
  });
  afterEach(async () => {
    await desk.stop();
  });

  async function openHome(user: string): Promise<string> {
    const published = desk.slack.calls('views.publish').length;
    const result = await desk.client.appHomeOpened(user);
    expect(result.status).toBe(200);
    await desk.slack.waitFor(() => desk.slack.calls('views.publish').length > published, 5_000);
    const view = desk.slack.homeViewFor(user);
    return visibleText(view?.blocks ?? []);
  }

  it('shows a requester their own requests and no approver section', async () => {
    const mine = requestIdIn(await desk.command(REQUESTER, 'disable cloud alice'));
    const theirs = requestIdIn(await desk.command(OUTSIDER, 'disable cloud bob'));
    const home = await openHome(REQUESTER);
    expect(home).toContain('Your requests');
    expect(home).toContain(mine);
    expect(home).toContain('disable alice');
    expect(home).not.toContain(theirs);
    expect(home).not.toContain('Waiting for your decision');
    expect(home).toContain('Cancel'); // its own pending request can be withdrawn here
  });

  it('shows the newest 15 of a long history and says how many there are in all', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 22; i++) ids.push(requestIdIn(await desk.command(REQUESTER, `disable cloud user${i}`)));
    const home = await openHome(REQUESTER);
    expect(home).toContain(ids[21]);
    expect(home).toContain(ids[7]);
    expect(home).not.toContain(ids[6]);
    expect(home).toContain('The newest 15 of your 22 requests; `/account pending` lists the open ones');
    // An approver's Home lists the oldest 20 waiting and says how many are pending in all.
    const approverHome = await openHome(APPROVER);
    expect(approverHome).toContain(ids[19]);
    expect(approverHome).not.toContain(ids[20]);
    expect(approverHome).toContain('22 requests are pending in all; `/account pending` lists them.');
  });

  it('shows an approver what waits for them, minus their own requests and what they already approved', async () => {
    desk.nextcloud.seedUser({ id: 'carol', email: 'carol@example.com', quota: '10 GB' });
    const waiting = requestIdIn(await desk.command(REQUESTER, 'disable cloud alice'));
    const own = requestIdIn(await desk.command(APPROVER, 'disable cloud bob'));
    const voted = requestIdIn(await desk.command(REQUESTER, 'quota cloud carol 200GB'));
    await desk.card(voted);
    await desk.click(APPROVER, 'request_approve', voted);
    await desk.waitForOutboxDrained();
    expect((await desk.request(voted)).approvals).toHaveLength(1);

    const home = await openHome(APPROVER);
    expect(home).toMatch(/Waiting for your decision \(1\)/);
    const waitingSection = home.slice(home.indexOf('Waiting for your decision'), home.indexOf('Your requests'));
    expect(waitingSection).toContain(waiting);
    expect(waitingSection).not.toContain(own);
    expect(waitingSection).not.toContain(voted);
    expect(waitingSection).toContain('Approve');
    expect(home.slice(home.indexOf('Your requests'))).toContain(own);

    // The other approver still sees the half-approved one.
    expect(await openHome(APPROVER2)).toContain(voted);
  });

  it('Cancel on the Home tab withdraws the request and answers by DM (a Home click has no response_url)', async () => {
    const id = requestIdIn(await desk.command(REQUESTER, 'disable cloud alice'));
    await desk.card(id);
    const result = await desk.client.blockAction({
      userId: REQUESTER,
      actionId: 'request_cancel',
      value: id,
      view: {
        id: 'VHOME00001',
        type: 'home',
        privateMetadata: issuedMetadata(desk.slack.token, 'home', REQUESTER, id),
      },
    });
    expect(result.status).toBe(200);
    await desk.waitForState(id, 'cancelled');
    await desk.slack.waitFor(() => desk.dms(REQUESTER).find((t) => t === `Cancelled ${id}.`), 5_000);
    await desk.waitForOutboxDrained();
    expect(await desk.card(id)).toContain(`Cancelled by <@${REQUESTER}>`);
    // The Home tab is refreshed after the click: the request shows as cancelled, without its Cancel button.
    await desk.slack.waitFor(
      () =>
        visibleText((desk.slack.homeViewFor(REQUESTER)?.blocks ?? []) as unknown[]).includes(
          `${id}* disable alice on *cloud* · cancelled`,
        ),
      5_000,
    );

    // A refused Home click is explained by DM too.
    const other = requestIdIn(await desk.command(REQUESTER, 'disable cloud bob'));
    await desk.client.blockAction({
      userId: OUTSIDER,
      actionId: 'request_approve',
      value: other,
      view: {
        id: 'VHOME00002',
        type: 'home',
        privateMetadata: issuedMetadata(desk.slack.token, 'home', OUTSIDER, other),
      },
    });
    await desk.slack.waitFor(() => desk.dms(OUTSIDER).find((t) => t.includes('Only the approvers')), 5_000);
    expect((await desk.request(other)).approvals).toHaveLength(0);
  });

  it('Approve on the Home tab for a destructive request opens the typed confirmation', async () => {
    desk.nextcloud.seedUser({ id: 'alice', email: 'alice@example.com', enabled: true });
    const id = requestIdIn(await desk.command(REQUESTER, 'disable cloud alice'));
    await desk.client.blockAction({
      userId: APPROVER,
      actionId: 'request_approve',
      value: id,
      view: { id: 'VHOME00003', type: 'home', privateMetadata: issuedMetadata(desk.slack.token, 'home', APPROVER, id) },
      triggerId: desk.slack.issueTriggerId(APPROVER),
    });
    const modal = await desk.waitForModal(APPROVER, 'confirm_modal');
    expect(modal.view.private_metadata).toBe(issuedMetadata(desk.slack.token, 'confirm_modal', APPROVER, id));
    await desk.submitView(APPROVER, 'confirm_modal', issuedMetadata(desk.slack.token, 'confirm_modal', APPROVER, id), {
      confirm_username: { value: 'alice' },
    });
    await desk.waitForState(id, 'applied');
    expect(desk.nextcloud.users.get('alice')?.enabled).toBe(false);
  });
});
