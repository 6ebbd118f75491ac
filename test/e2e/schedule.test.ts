/**
 * Time limits (issue 8): `until:` / `for:` on create, onboard and quota become scheduled steps of the approved plan.
 * The clock is moved (harness advanceClock), never waited for: a contract ends, a temporary quota goes back, a
 * quota changed by hand is left alone, downtime across the due time, two replicas, an approver's cancel, and the
 * words a bad date gets. config/local-fakes.yaml's profile `staff`: cloud (Nextcloud), nas (DSM), sso (nmcuser_oidc);
 * the user_oidc kind is the harness's `oidc` backend (startDesk({ userOidc: true })).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { visibleText } from '../support/slack-fake.js';
import { APPROVER, APPROVER2, OUTSIDER, REQUESTER, poll, requestIdIn, startDesk, type Desk } from './harness.js';

const DAY = 86_400_000;

describe('time limits', () => {
  let desk: Desk;
  afterEach(async () => {
    await desk.stop();
  });

  /** The desk's day `days` from now, as YYYY-MM-DD (the desk's clock starts at real time). */
  const dayAhead = (days: number) => new Date(Date.now() + days * DAY).toISOString().slice(0, 10);

  /** Approves `id` from its card and waits until the approved part is done and Slack has heard of it. */
  async function approve(id: string, state: 'scheduled' | 'applied' = 'scheduled') {
    await desk.card(id);
    await desk.click(APPROVER, 'request_approve', id);
    await desk.waitForState(id, state);
    await desk.waitForOutboxDrained();
  }

  /** Moves the clock to `ms` past the request's scheduled time and runs the sweeps, as the timers would. */
  async function passDueTime(id: string, ms = 60_000) {
    const due = Date.parse((await desk.request(id)).steps.find((s) => s.notBefore)?.notBefore ?? '');
    desk.advanceClock(due - desk.now().getTime() + ms);
    await desk.app.sweep();
  }

  const quotaEdits = (user: string) =>
    desk.nextcloud.requests.filter((r) => r.route === 'editUser' && r.path.endsWith(`/users/${user}`)).length;

  it('a contract ends: every account of the onboarding (Nextcloud, DSM, nmcuser_oidc) is disabled on its day, audited, the requester told before', async () => {
    desk = await startDesk();
    desk.nextcloud.groups.add('staff');
    const until = dayAhead(20);
    const receipt = await desk.command(
      REQUESTER,
      `onboard dana dana@example.com profile:staff until:${until} contractor`,
    );
    expect(receipt).toContain('onboard dana (profile staff)');
    expect(receipt).toMatch(/Time limit: disable dana on cloud <!date\^\d+\^/);
    const id = requestIdIn(receipt);

    const card = await desk.card(id);
    expect(card).toContain('Time limit');
    for (const where of ['cloud', 'nas', 'sso']) expect(card).toContain(`disable dana on ${where} <!date^`);

    // Onboarding with a time limit is not destructive: one click approves the creates AND the disables.
    await approve(id);
    expect(desk.nextcloud.users.get('dana')?.enabled).toBe(true);
    // DSM enforces its own expiry too: the last day before the contract's end (DSM keeps the account working
    // through its expiry day, docs/synology-dsm.md#disable-and-enable).
    const lastDay = new Date(Date.parse(`${until}T00:00:00Z`) - 1);
    expect(desk.dsm.users.get('dana')?.expired).toBe(
      `${lastDay.getUTCFullYear()}/${lastDay.getUTCMonth() + 1}/${lastDay.getUTCDate()}`,
    );
    const afterApply = await desk.cardParts(id);
    expect(afterApply.status).toContain('Applied, with a scheduled step to come');
    expect(afterApply.buttons.map((b) => b.label)).toEqual(['Cancel scheduled step']);
    expect(desk.dms(REQUESTER).join('\n')).toMatch(/As approved, the rest runs <!date\^\d+\^/);

    // Sweeps before the notice time change nothing and send nothing.
    desk.advanceClock(10 * DAY);
    await desk.app.sweep();
    await desk.waitForOutboxDrained();
    expect(desk.dms(REQUESTER).join('\n')).not.toContain('Coming up');

    // Three days before (the default notice): the DM with the button to ask for more time, once.
    desk.advanceClock(7.5 * DAY);
    await desk.app.sweep();
    await desk.app.sweep();
    await desk.waitForOutboxDrained();
    const notices = desk.slack.dmsTo(REQUESTER).filter((m) => visibleText(m).includes('Coming up'));
    expect(notices).toHaveLength(1);
    expect(visibleText(notices[0]!)).toMatch(/will disable dana on cloud; disable dana on nas; disable dana on sso/);
    expect(JSON.stringify(notices[0]!.blocks)).toContain('"action_id":"schedule_extend"');
    expect((await desk.request(id)).state).toBe('scheduled');
    expect(desk.nextcloud.users.get('dana')?.enabled).toBe(true);

    await passDueTime(id);
    await desk.waitForState(id, 'applied');
    await desk.waitForOutboxDrained();
    expect(desk.nextcloud.users.get('dana')?.enabled).toBe(false);
    expect(desk.dsm.users.get('dana')?.expired).toBe('now');
    expect([...desk.nmc.users.values()].find((u) => u.username === 'dana')?.enabled).toBe(false);

    const audit = desk.auditLines().join('\n');
    expect(audit).toMatch(/\*scheduled\* — onboard dana on cloud, nas, sso: .*the rest runs <!date/);
    for (const where of ['cloud', 'nas', 'sso']) {
      expect(audit).toMatch(new RegExp(`\\*step-applied\\* — disable dana on ${where} .*· scheduled for <!date`));
    }
    expect(audit).toMatch(/\*applied\* — onboard dana/);
    // The notice came before the disables.
    const lines = desk.auditLines();
    expect(lines.findIndex((l) => l.includes('*schedule-notice*'))).toBeLessThan(
      lines.findIndex((l) => l.includes('*step-applied* — disable')),
    );
    expect(desk.dms(REQUESTER).at(-1)).toMatch(/Done: .*onboard dana/);
    const done = await desk.card(id);
    expect(done).toMatch(/disable dana on cloud \(due <!date[^)]*\): applied/);
  });

  it('a single create with until: the account is created now and disabled on its day (Nextcloud)', async () => {
    desk = await startDesk();
    const id = requestIdIn(
      await desk.command(REQUESTER, `create cloud carl carl@example.com 5GB until:${dayAhead(30)} intern`),
    );
    // The card reads only what runs now: the scheduled disable of a user not yet created is no blocker.
    const pending = await desk.cardParts(id);
    expect(pending.preview).toContain('user does not exist');
    expect(pending.preview).not.toContain('Cannot apply');
    expect(pending.buttons.map((b) => b.label)).toEqual(['Approve', 'Reject…']);
    await approve(id);
    expect(desk.nextcloud.users.get('carl')?.enabled).toBe(true);
    // A late click on the old Approve button says where the request stands.
    expect(await desk.clickAnswer(APPROVER2, 'request_approve', id)).toContain(
      'and is applied, with a scheduled step still to come',
    );
    expect((await desk.cardParts(id)).outcome).toMatch(/created carl/);
    await passDueTime(id);
    await desk.waitForState(id, 'applied');
    expect(desk.nextcloud.users.get('carl')?.enabled).toBe(false);
    await desk.waitForOutboxDrained();
    expect(desk.auditLines().join('\n')).toMatch(/\*step-applied\* — disable carl on cloud .*scheduled for/);
  });

  it('user_oidc create with until: its Nextcloud user disabled on its day, audited, DM sent before', async () => {
    desk = await startDesk({ userOidc: true });
    const until = dayAhead(20);
    const receipt = await desk.command(REQUESTER, `create oidc erin erin@example.com 5GB until:${until} contractor`);
    expect(receipt).toMatch(/Time limit: disable erin on oidc <!date\^\d+\^/);
    const id = requestIdIn(receipt);
    expect(await desk.card(id)).toContain('disable erin on oidc <!date^');
    await approve(id);

    // user_oidc derives the Nextcloud uid from the login (uidMode unique): the account AccountDesk must disable.
    const uid = desk.userOidc.uidFor(1, 'erin');
    expect(desk.userOidc.oidcUsers.get(uid)).toMatchObject({ providerId: 1, sub: 'erin' });
    expect(desk.nextcloud.users.get(uid)).toMatchObject({ enabled: true, email: 'erin@example.com' });

    // Three days before (the default notice): the DM naming the disable, before anything is disabled.
    desk.advanceClock(17.5 * DAY);
    await desk.app.sweep();
    await desk.waitForOutboxDrained();
    const notices = desk.dms(REQUESTER).filter((text) => text.includes('Coming up'));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain('will disable erin on oidc');
    expect(desk.nextcloud.users.get(uid)?.enabled).toBe(true);

    await passDueTime(id);
    await desk.waitForState(id, 'applied');
    await desk.waitForOutboxDrained();
    expect(desk.nextcloud.users.get(uid)?.enabled).toBe(false);
    // Disabled, not deleted: the user_oidc mapping and the account stay, so an extension can enable it again.
    expect(desk.userOidc.oidcUsers.has(uid)).toBe(true);
    const lines = desk.auditLines();
    const disabled = lines.findIndex((l) =>
      new RegExp(
        `\\*step-applied\\* — disable erin on oidc .*\\(Nextcloud user ${uid}\\).*· scheduled for <!date`,
      ).test(l),
    );
    expect(disabled).toBeGreaterThanOrEqual(0);
    expect(lines.findIndex((l) => l.includes('*schedule-notice*'))).toBeLessThan(disabled);
    expect(desk.dms(REQUESTER).at(-1)).toMatch(/Done: .*create erin/);
  });

  it('a temporary quota goes back to the value read when it was applied', async () => {
    desk = await startDesk();
    desk.nextcloud.seedUser({ id: 'bob', quota: '10 GB' });
    const id = requestIdIn(await desk.command(REQUESTER, 'quota cloud bob 20GB for:30d project month'));
    expect(await desk.card(id)).toContain('set the quota of bob back to what it was before on cloud');
    await approve(id);
    expect(desk.nextcloud.users.get('bob')?.quota).toBe('20 GB');
    const revert = (await desk.request(id)).steps[1]!;
    expect(revert).toMatchObject({ params: { quotaBytes: 10 * 1024 ** 3 }, expect: { quotaBytes: 20 * 1024 ** 3 } });
    expect(await desk.card(id)).toContain('set the quota of bob back to 10 GB on cloud');

    await passDueTime(id);
    await desk.waitForState(id, 'applied');
    expect(desk.nextcloud.users.get('bob')?.quota).toBe('10 GB');
    await desk.waitForOutboxDrained();
    expect(desk.auditLines().join('\n')).toMatch(/\*step-applied\* — quota bob on cloud .*quota.*· scheduled for/);
  });

  it('a temporary quota whose current value cannot be read is not changed: nothing could restore it', async () => {
    desk = await startDesk();
    desk.nextcloud.seedUser({ id: 'bob', quota: '10 GB' });
    const id = requestIdIn(await desk.command(REQUESTER, 'quota cloud bob 20GB for:30d'));
    await desk.card(id);
    const edits = quotaEdits('bob');
    desk.nextcloud.failNext('getUser', 'maintenance', { times: 3 });
    await desk.click(APPROVER, 'request_approve', id);
    const failed = await desk.waitForState(id, 'failed');
    expect(failed.steps[0]?.state).toBe('failed');
    expect(failed.steps[1]?.state).toBe('pending');
    expect(quotaEdits('bob')).toBe(edits);
    expect(desk.nextcloud.users.get('bob')?.quota).toBe('10 GB');
    // Retry once the server answers again: read, change, and the revert is scheduled as before.
    await desk.click(APPROVER, 'request_retry', id);
    const retried = await desk.waitForState(id, 'scheduled');
    expect(desk.nextcloud.users.get('bob')?.quota).toBe('20 GB');
    expect(retried.steps[1]).toMatchObject({
      params: { quotaBytes: 10 * 1024 ** 3 },
      expect: { quotaBytes: 20 * 1024 ** 3 },
    });
  });

  it('a quota changed by hand in between is left alone, and the audit says why', async () => {
    desk = await startDesk();
    desk.nextcloud.seedUser({ id: 'bob', quota: '10 GB' });
    const id = requestIdIn(await desk.command(REQUESTER, 'quota cloud bob 20GB for:2w'));
    await approve(id);
    desk.nextcloud.users.get('bob')!.quota = '50 GB'; // an admin raised it in the Nextcloud UI
    const edits = quotaEdits('bob');

    await passDueTime(id);
    const done = await desk.waitForState(id, 'applied');
    expect(done.steps[1]?.state).toBe('skipped');
    expect(desk.nextcloud.users.get('bob')?.quota).toBe('50 GB');
    expect(quotaEdits('bob')).toBe(edits);
    await desk.waitForOutboxDrained();
    expect(desk.auditLines().join('\n')).toMatch(
      /\*step-skipped\* — quota bob on cloud .*changed by hand since \(it is 50 GB, not 20 GB\): left alone instead of restoring 10 GB/,
    );
  });

  it('downtime across the due time: the step runs once at start-up and the audit says how late', async () => {
    desk = await startDesk();
    desk.nextcloud.seedUser({ id: 'bob', quota: '10 GB' });
    const id = requestIdIn(await desk.command(REQUESTER, 'quota cloud bob 20GB for:1d'));
    await approve(id);
    const edits = quotaEdits('bob');

    // Down for three days: the step fell due two days ago. Start-up runs the sweep at once.
    await desk.restart(3 * DAY);
    await desk.waitForState(id, 'applied');
    await desk.waitForOutboxDrained();
    expect(desk.nextcloud.users.get('bob')?.quota).toBe('10 GB');
    expect(quotaEdits('bob')).toBe(edits + 1);
    await desk.app.sweep();
    expect(quotaEdits('bob')).toBe(edits + 1);
    const ran = desk.auditLines().filter((l) => l.includes('*step-applied*'));
    expect(ran).toHaveLength(1);
    expect(ran[0]).toMatch(/ran 2 days late/);
  });

  it('two replicas sweeping at the due time: the step runs once', async () => {
    desk = await startDesk();
    desk.nextcloud.seedUser({ id: 'bob', quota: '10 GB' });
    const id = requestIdIn(await desk.command(REQUESTER, 'quota cloud bob 20GB for:12h'));
    await approve(id);
    const replica = await desk.startReplica();
    const edits = quotaEdits('bob');

    desk.advanceClock(13 * 3_600_000);
    await Promise.all([desk.app.sweep(), replica.app.sweep(), desk.app.desk.engine.sweep()]);
    await desk.waitForState(id, 'applied');
    await replica.app.desk.engine.idle();
    await desk.waitForOutboxDrained();
    expect(quotaEdits('bob')).toBe(edits + 1);
    expect(desk.auditLines().filter((l) => l.includes('*step-applied*'))).toHaveLength(1);
    expect((await desk.request(id)).steps[1]?.attempts).toBe(1);
  });

  it('"Ask for more time" in the notice opens a prefilled form; once approved, the new end replaces the old one', async () => {
    desk = await startDesk();
    desk.nextcloud.seedUser({ id: 'bob', quota: '10 GB' });
    const id = requestIdIn(await desk.command(REQUESTER, 'quota cloud bob 20GB for:30d project'));
    await approve(id);
    desk.advanceClock(28 * DAY);
    await desk.app.sweep();
    await desk.waitForOutboxDrained();
    const notice = desk.slack.dmsTo(REQUESTER).find((m) => visibleText(m).includes('Coming up'))!;

    // Only the requester may ask; the button opens the form with what to extend filled in.
    const click = (user: string) =>
      desk.client.blockAction({
        userId: user,
        actionId: 'schedule_extend',
        value: id,
        message: { ts: notice.ts, channel: notice.channel },
        triggerId: desk.slack.issueTriggerId(user),
        responseUrl: desk.slack.newResponseUrl({ userId: user, channelId: notice.channel, messageTs: notice.ts }),
      });
    await click(OUTSIDER);
    expect(desk.slack.viewsOpenedFor(OUTSIDER)).toHaveLength(0);
    await click(REQUESTER);
    const form = await desk.waitForModal(REQUESTER, 'request_modal');
    const fields = JSON.stringify(form.view.blocks);
    expect(fields).toContain('"initial_option":{"text":{"type":"plain_text","text":"Change a storage quota"}');
    expect(fields).toContain('"initial_value":"bob"');
    expect(fields).toContain('"initial_value":"20 GB"');
    expect(fields).toContain(`"initial_date":"${(await desk.request(id)).steps[1]!.notBefore!.slice(0, 10)}"`);

    const later = new Date(desk.now().getTime() + 30 * DAY).toISOString().slice(0, 10);
    await desk.submitView(REQUESTER, 'request_modal', String(form.view.private_metadata), {
      field_action: { value: { selectedOption: 'quota' } },
      field_backend: { value: { selectedOption: 'cloud' } },
      field_username: { value: 'bob' },
      field_quota: { value: '20 GB' },
      field_until: { value: { raw: { type: 'datepicker', selected_date: later } } },
      field_reason: { value: `More time than ${id} gave` },
    });
    const extension = await poll(
      async () => (await desk.app.desk.queries.listPending())[0],
      () => 'the form made no request',
    );
    expect(extension.extends).toBe(id);
    // The revert restores the quota from before the FIRST change, not the temporary one in place now.
    expect(extension.steps[1]).toMatchObject({ action: 'quota', params: { quotaBytes: 10 * 1024 ** 3 } });
    expect(await desk.card(extension.id)).toContain(`More time for *${id}*: approving this replaces its time limit`);

    await approve(extension.id);
    await desk.app.sweep();
    // The original is done: its revert will not run (no 'applied' entry of its own: the cancel's entry says why).
    const original = await desk.request(id);
    expect(original.state).toBe('applied');
    expect(original.steps[1]?.state).toBe('skipped');
    await desk.waitForOutboxDrained();
    expect(desk.auditLines().join('\n')).toMatch(
      new RegExp(`\`${id}\` \\*schedule-cancelled\\* — .*will not run \\(extended by ${extension.id}\\)`),
    );

    await passDueTime(id, 3 * DAY);
    expect(desk.nextcloud.users.get('bob')?.quota).toBe('20 GB');
    await passDueTime(extension.id);
    await desk.waitForState(extension.id, 'applied');
    expect(desk.nextcloud.users.get('bob')?.quota).toBe('10 GB');
  });

  it('/account scheduled: approvers see all with Cancel; a cancel by an approver is audited, others are refused', async () => {
    desk = await startDesk();
    desk.nextcloud.seedUser({ id: 'bob', quota: '10 GB' });
    const id = requestIdIn(await desk.command(REQUESTER, 'quota cloud bob 20GB for:30d'));
    await approve(id);

    const own = await desk.command(REQUESTER, 'scheduled');
    expect(own).toContain('Your scheduled steps');
    expect(own).toContain(id);
    const all = await desk.command(APPROVER, 'scheduled');
    expect(all).toContain('Scheduled steps');
    expect(all).toMatch(new RegExp(`${id}.*set the quota of bob back to 10 GB on cloud <!date`));

    // App Home lists them too: the approver with Cancel, the requester their own without.
    const home = async (user: string) => {
      const published = desk.slack.calls('views.publish').length;
      await desk.client.appHomeOpened(user);
      await desk.slack.waitFor(() => desk.slack.calls('views.publish').length > published, 5_000);
      return JSON.stringify(desk.slack.homeViewFor(user)?.blocks ?? []);
    };
    const approverHome = await home(APPROVER);
    expect(approverHome).toContain('set the quota of bob back to 10 GB on cloud');
    expect(approverHome).toContain('"action_id":"schedule_cancel"');
    const requesterHome = await home(REQUESTER);
    expect(requesterHome).toContain('Your scheduled steps');
    expect(requesterHome).not.toContain('"action_id":"schedule_cancel"');

    const refused = await desk.clickAnswer(REQUESTER, 'schedule_cancel', id);
    expect(refused).toContain('Only approvers can cancel a scheduled step');
    expect((await desk.request(id)).state).toBe('scheduled');

    // The ephemeral `/account scheduled` list has no stored message to match a click against: the approver check
    // alone guards it, so a requester clicking there is refused the same way.
    const fromList = async (user: string) => {
      const responseUrl = desk.slack.newResponseUrl({ userId: user, channelId: 'C0GENERAL' });
      await desk.client.blockAction({
        userId: user,
        actionId: 'schedule_cancel',
        value: id,
        message: { ts: '1700000000.000100', channel: 'C0GENERAL' },
        ephemeral: true,
        responseUrl,
      });
      const answer = await desk.slack.waitFor(() => desk.slack.responsesAt(responseUrl)[0], 5_000);
      return visibleText(answer.body);
    };
    expect(await fromList(REQUESTER)).toContain('Only approvers can cancel a scheduled step');
    expect((await desk.request(id)).state).toBe('scheduled');

    const cancelled = await desk.clickAnswer(APPROVER, 'schedule_cancel', id);
    expect(cancelled).toContain(`Cancelled what was scheduled on ${id}`);
    const request = await desk.request(id);
    expect(request.state).toBe('applied');
    expect(request.steps[1]?.state).toBe('skipped');
    await desk.waitForOutboxDrained();
    expect(desk.auditLines().join('\n')).toMatch(
      new RegExp(`\`${id}\` \\*schedule-cancelled\\* by <@${APPROVER}> .*1 scheduled step\\(s\\) due <!date`),
    );
    expect(desk.dms(REQUESTER).at(-1)).toContain('cancelled what was scheduled');

    await passDueTime(id);
    expect(desk.nextcloud.users.get('bob')?.quota).toBe('20 GB');
    expect(await desk.command(APPROVER, 'scheduled')).toContain('Scheduled steps: none.');
  });

  it('bad dates and durations are refused with the line to write instead; nothing is stored', async () => {
    desk = await startDesk();
    const refused = async (text: string) => {
      const answer = await desk.command(REQUESTER, text);
      expect(answer).not.toMatch(/AD-[2-9A-Z]{6}/);
      return answer;
    };
    expect(await refused('create cloud x x@example.com until:2027-02-30')).toContain(
      '2027-02-30 is not a day of the calendar',
    );
    expect(await refused('create cloud x x@example.com until:31/03/2027')).toContain('write it as YYYY-MM-DD');
    expect(await refused('quota cloud x 20GB for:30days')).toContain('write a whole number and h, d or w');
    expect(await refused('quota cloud x 20GB for:0d')).toContain('is not a duration');
    expect(await refused('create cloud x x@example.com until:2020-01-01')).toMatch(
      /until:2020-01-01 is not in the future \(today is \d{4}-\d{2}-\d{2} UTC\): give a later date/,
    );
    expect(await refused(`create cloud x x@example.com until:${dayAhead(400)}`)).toMatch(
      /is more than 365 days ahead, the most the policy allows: give an earlier end \(at the latest \d{4}-\d{2}-\d{2}\)/,
    );
    expect(await refused(`quota cloud x 20GB for:2w until:${dayAhead(5)}`)).toContain(
      'Give either until:&lt;date&gt; or for:&lt;duration&gt;, not both.',
    );
    expect(await refused(`disable cloud x until:${dayAhead(5)}`)).toContain(
      'until:/for: work on create, onboard, enable and quota requests only.',
    );
    expect(await desk.app.desk.queries.listPending()).toEqual([]);
  });

  it('the form has a date picker: a day picked there is the time limit', async () => {
    desk = await startDesk();
    const modal = await desk.openRequestModal(REQUESTER);
    expect(JSON.stringify(modal.view.blocks)).toContain('"type":"datepicker"');
    const until = dayAhead(40);
    const answer = await desk.submitView(REQUESTER, 'request_modal', String(modal.view.private_metadata), {
      field_action: { value: { selectedOption: 'create' } },
      field_backend: { value: { selectedOption: 'cloud' } },
      field_username: { value: 'erin' },
      field_email: { value: 'erin@example.com' },
      field_until: { value: { raw: { type: 'datepicker', selected_date: until } } },
    });
    expect(answer).toBeUndefined(); // no inline errors: the form was accepted
    // The form is stored after its ack.
    const request = await poll(
      async () => (await desk.app.desk.queries.listPending())[0],
      () => 'the form made no request',
    );
    expect(request.steps.map((s) => [s.action, s.notBefore])).toEqual([
      ['create', undefined],
      ['disable', `${until}T00:00:00.000Z`],
    ]);
  });
});
