/** Requests nobody decides in time expire: the card says so and the requester is told. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APPROVER, REQUESTER, requestIdIn, startDesk, type Desk } from './harness.js';

describe('expiry', () => {
  let desk: Desk;
  beforeEach(async () => {
    desk = await startDesk({ policy: { defaults: { approvals: 1, expiresAfter: '1m' } } });
  });
  afterEach(async () => {
    await desk.stop();
  });

  it('a pending request past its expiry is expired by the sweep; one not yet due stays pending', async () => {
    const due = requestIdIn(await desk.command(REQUESTER, 'create cloud alice alice@example.com'));
    desk.advanceClock(30_000);
    const notDue = requestIdIn(await desk.command(REQUESTER, 'create cloud bob bob@example.com'));
    await desk.card(due);
    await desk.card(notDue);

    // 70 s after the first request, 40 s after the second: only the first is past its 1-minute expiry.
    desk.advanceClock(40_000);
    await desk.app.sweep();
    await desk.waitForOutboxDrained();

    expect((await desk.request(due)).state).toBe('expired');
    expect((await desk.request(notDue)).state).toBe('pending');

    const card = await desk.card(due);
    expect(card).toContain('Expired');
    expect(card).not.toContain('Approve');
    expect(await desk.card(notDue)).toContain('Waiting for approval');

    const dms = desk.dms(REQUESTER).join('\n');
    expect(dms).toMatch(new RegExp(`Your request ${due} .* expired: nobody decided in time`));
    expect(dms).not.toContain(notDue);
    expect(desk.auditLines().join('\n')).toMatch(new RegExp(`${due}\` \\*expired\\*`));

    // A click on the expired card is told so, and nothing reaches the backend.
    expect(await desk.clickAnswer(APPROVER, 'request_approve', due)).toContain(`${due} expired`);
    expect(desk.nextcloud.requests.filter((r) => r.route === 'createUser')).toHaveLength(0);

    // A second sweep changes nothing more.
    await desk.app.sweep();
    await desk.waitForOutboxDrained();
    expect(desk.auditLines().filter((l) => l.includes('*expired*'))).toHaveLength(1);
  });
});
