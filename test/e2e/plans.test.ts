/**
 * Requests as plans (issue 7): onboard a person on every backend of a profile, offboard them everywhere, in one
 * approval each; a step that fails leaves the request partly applied and Retry runs only that step.
 * config/local-fakes.yaml's profile `staff`: cloud (Nextcloud) groups staff 10 GB, nas (DSM) groups users 50 GB,
 * sso (nmcuser_oidc) 5 GB.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { visibleText } from '../support/slack-fake.js';
import { APPROVALS, APPROVER, APPROVER2, REQUESTER, requestIdIn, startDesk, type Desk } from './harness.js';

describe('requests as plans', () => {
  let desk: Desk;
  afterEach(async () => {
    await desk.stop();
  });

  const creates = () => ({
    cloud: desk.nextcloud.requests.filter((r) => r.route === 'createUser').length,
    nas: desk.dsm.calls('SYNO.Core.User', 'create').length,
    sso: desk.nmc.requests.filter((r) => r.method === 'POST').length,
  });

  const onboardThreeKinds =
    'onboard on three backends of different kinds: one card, one approval, every account as the profile says';
  it(onboardThreeKinds, async () => {
    desk = await startDesk();
    desk.nextcloud.groups.add('staff');
    const receipt = await desk.command(REQUESTER, 'onboard dana dana@example.com profile:staff new designer');
    expect(receipt).toContain('onboard dana (profile staff)');
    const id = requestIdIn(receipt);

    // One card, one line per backend with its live state and the change.
    const card = await desk.card(id);
    expect(card).toContain('asks to *onboard dana (profile staff)*');
    expect(card).toMatch(/cloud\* \(nextcloud\): create dana \(dana@example.com, quota 10 GB, groups staff\)/);
    expect(card).toMatch(/nas\* \(synology\): create dana \(dana@example.com, quota 50 GB, groups users\)/);
    expect(card).toMatch(/sso\* \(nmcuser_oidc\): create dana \(dana@example.com, quota 5 GB\)/);
    expect(card.match(/now: user does not exist/g)).toHaveLength(3);
    expect(desk.slack.messagesIn(APPROVALS).filter((m) => m.text.startsWith(`${id}:`))).toHaveLength(1);

    // Onboarding is not destructive: one click approves. The vote is stored BEFORE the click is acknowledged, so the
    // moment Slack has its HTTP answer, the store has the vote.
    const cardTs = desk.cardMessage(id)!.ts;
    const acked = await desk.client.blockAction({
      userId: APPROVER,
      actionId: 'request_approve',
      value: id,
      message: { ts: cardTs, channel: APPROVALS },
      responseUrl: desk.slack.newResponseUrl({ userId: APPROVER, channelId: APPROVALS, messageTs: cardTs }),
    });
    expect(acked.status).toBe(200);
    expect((await desk.request(id)).approvals.map((v) => v.by)).toEqual([APPROVER]);
    await desk.waitForState(id, 'applied');
    await desk.waitForOutboxDrained();

    expect(desk.nextcloud.users.get('dana')).toMatchObject({ email: 'dana@example.com', groups: ['staff'] });
    expect(desk.dsm.users.get('dana')).toBeDefined();
    expect(desk.dsm.groups.get('users')?.has('dana')).toBe(true);
    expect(desk.nmc.users.size).toBeGreaterThan(0);
    expect(creates()).toEqual({ cloud: 1, nas: 1, sso: 1 });

    const done = await desk.card(id);
    expect(done).toContain('Applied');
    expect(done).toContain('3 of 3 applied');
    expect(done.match(/:white_check_mark: applied/g)).toHaveLength(3);
    const audit = desk.auditLines().join('\n');
    expect(audit).toMatch(/\*requested\* by .* onboard dana on cloud, nas, sso/);
    expect(audit.match(/\*step-applied\*/g)).toHaveLength(3);
    expect(audit).toMatch(/\*applied\* — onboard dana on cloud, nas, sso/);
    const dm = desk.dms(REQUESTER).join('\n');
    expect(dm).toMatch(/Done: .*onboard dana/);
    for (const where of ['cloud:', 'nas:', 'sso:']) expect(dm).toContain(where);
  });

  it('one step fails (DSM busy): partly applied, the card says where and why; Retry runs only that step', async () => {
    desk = await startDesk();
    desk.nextcloud.groups.add('staff');
    desk.dsm.failNext('SYNO.Core.User', 'create', 3112);
    const id = requestIdIn(await desk.command(REQUESTER, 'onboard erik erik@example.com profile:staff'));
    await desk.card(id);
    await desk.click(APPROVER, 'request_approve', id);
    const partly = await desk.waitForState(id, 'partly_applied');
    expect(partly.steps.map((s) => [s.backend, s.state])).toEqual([
      ['cloud', 'applied'],
      ['nas', 'failed'],
      ['sso', 'applied'],
    ]);
    const card = await desk.card(id);
    expect(card).toContain('Partly applied');
    expect(card).toMatch(/:x: failed \*nas\* .*another admin/i);
    expect(card).toContain('2 of 3 applied');
    expect(card).toContain('Retry');
    expect(desk.dms(REQUESTER).join('\n')).toMatch(/only partly applied/);

    await desk.click(APPROVER, 'request_retry', id);
    const applied = await desk.waitForState(id, 'applied');
    expect(applied.steps.every((s) => s.state === 'applied')).toBe(true);
    // The steps that had worked were never called again; the failed one twice in all.
    expect(creates()).toEqual({ cloud: 1, nas: 2, sso: 1 });
    await desk.waitForOutboxDrained();
    expect(desk.auditLines().join('\n')).toMatch(/\*retried\* by .*onboard erik/);
  });

  it('offboard: disabled where the person has an account, skipped (and shown) where not', async () => {
    desk = await startDesk();
    desk.nextcloud.seedUser({ id: 'fay', email: 'fay@example.com', enabled: true });
    desk.dsm.users.set('fay', {
      name: 'fay',
      uid: 2001,
      email: 'fay@example.com',
      description: '',
      expired: 'normal',
      cannotChangePassword: false,
      passwordNeverExpires: false,
    });
    const id = requestIdIn(await desk.command(REQUESTER, 'offboard fay left the company'));
    const card = await desk.card(id);
    expect(card).toContain('asks to *offboard fay*');
    expect(card).toContain('Approve…'); // typed confirmation, like disable
    expect(card).toMatch(/sso\* \(nmcuser_oidc\): disable fay\n.*no account on sso: skipped/);

    await desk.click(APPROVER, 'request_approve', id);
    const modal = await desk.waitForModal(APPROVER, 'confirm_modal');
    await desk.submitView(APPROVER, 'confirm_modal', String(modal.view.private_metadata), {
      confirm_username: { value: 'fay' },
    });
    const done = await desk.waitForState(id, 'applied');
    expect(done.steps.map((s) => [s.backend, s.state])).toEqual([
      ['cloud', 'applied'],
      ['nas', 'applied'],
      ['sso', 'skipped'],
    ]);
    expect(desk.nextcloud.users.get('fay')?.enabled).toBe(false);
    expect(desk.dsm.users.get('fay')?.expired).toBe('now');
    const final = await desk.card(id);
    expect(final).toContain('2 of 3 applied · 1 skipped');
    expect(final).toMatch(/skipped \*sso\*.*does not exist on sso/);
  });

  it('the form offers onboarding with the profiles spelled out, and a picked profile makes the same plan', async () => {
    desk = await startDesk();
    desk.nextcloud.groups.add('staff');
    const modal = await desk.openRequestModal(REQUESTER);
    const blocks = JSON.stringify(modal.view.blocks);
    expect(blocks).toContain('Onboard a person (accounts from a profile)');
    expect(blocks).toContain('Offboard a person (disable everywhere)');
    expect(blocks).toContain(
      'Onboarding creates: *staff*: cloud 10 GB, groups staff; nas 50 GB, groups users; sso 5 GB',
    );

    const values = {
      field_action: { value: { selectedOption: 'onboard' } },
      field_username: { value: 'jon' },
      field_email: { value: 'jon@example.com' },
    };
    // No profile picked: the error sits on the profile field and the form stays open.
    const refused = (await desk.submitView(
      REQUESTER,
      'request_modal',
      String(modal.view.private_metadata),
      values,
    )) as {
      errors?: Record<string, string>;
    };
    expect(refused.errors?.field_profile).toContain('Pick the profile the person gets: staff');
    const ack = await desk.submitView(REQUESTER, 'request_modal', String(modal.view.private_metadata), {
      ...values,
      field_profile: { value: { selectedOption: 'staff' } },
    });
    expect(ack).toBeUndefined();
    const receipt = await desk.slack.waitFor(
      () => desk.slack.ephemeralsFor(REQUESTER).find((e) => e.text.includes('is in')),
      5_000,
    );
    const request = await desk.request(requestIdIn(receipt.text));
    expect(request).toMatchObject({ plan: 'onboard', profile: 'staff', username: 'jon' });
    expect(request.steps.map((s) => s.backend)).toEqual(['cloud', 'nas', 'sso']);
  });

  it('offboard with delete is refused unless the policy enables delete', async () => {
    desk = await startDesk({ policy: { delete: { enabled: false } } });
    expect(await desk.command(REQUESTER, 'offboard gus delete')).toContain('Deleting accounts is turned off');
  });

  it('an unknown profile names the known ones; a plain request still makes a one-step plan', async () => {
    desk = await startDesk();
    expect(await desk.command(REQUESTER, 'onboard hal hal@example.com profile:exec')).toContain(
      'There is no profile named "exec". Known: staff.',
    );
    const id = requestIdIn(await desk.command(REQUESTER, 'quota cloud hal 20GB'));
    expect((await desk.request(id)).steps).toHaveLength(1);
  });
});

describe('a plan on two replicas', () => {
  let desk: Desk;
  afterEach(async () => {
    await desk.stop();
  });

  it('approved through both replicas at once: every step applied once', async () => {
    desk = await startDesk({
      env: { STORE_URL: inject('redisUrl'), STORE_NAMESPACE: `e2e-plans-${randomUUID()}` },
      policy: { onboard: { approvals: 1 } },
    });
    const second = await desk.startReplica();
    desk.nextcloud.groups.add('staff');
    const id = requestIdIn(await desk.command(REQUESTER, 'onboard ida ida@example.com profile:staff'));
    await desk.card(id);
    const card = desk.cardMessage(id)!;
    const click = (client: typeof desk.client, user: string) =>
      client.blockAction({
        userId: user,
        actionId: 'request_approve',
        value: id,
        message: { ts: card.ts, channel: APPROVALS },
        responseUrl: desk.slack.newResponseUrl({ userId: user, channelId: APPROVALS, messageTs: card.ts }),
      });
    await Promise.all([click(desk.client, APPROVER), click(second.client, APPROVER2)]);
    const applied = await desk.waitForState(id, 'applied');
    expect(applied.approvals).toHaveLength(1);
    await second.app.desk.engine.idle();
    expect(creates()).toEqual({ cloud: 1, nas: 1, sso: 1 });
    // Whichever replica holds the publisher's lease brings the card up to date.
    await desk.slack.waitFor(() => visibleText(desk.cardMessage(id)!).includes('3 of 3 applied') || undefined, 10_000);
  });

  function creates() {
    return {
      cloud: desk.nextcloud.requests.filter((r) => r.route === 'createUser').length,
      nas: desk.dsm.calls('SYNO.Core.User', 'create').length,
      sso: desk.nmc.requests.filter((r) => r.method === 'POST').length,
    };
  }
});
