/**
 * The everyday requests, end to end: a slash command in, a card, one approval, the change on the backend, and what
 * the requester and the audit channel are told.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APPROVALS, APPROVER, AUDIT, REQUESTER, requestIdIn, startDesk, type Desk } from './harness.js';

describe('happy paths', () => {
  let desk: Desk;
  beforeEach(async () => {
    desk = await startDesk();
  });
  afterEach(async () => {
    await desk.stop();
  });

  it(
    'disable on cloud: the card shows the live state, ' + 'the typed confirmation applies it, the user is disabled',
    async () => {
      desk.nextcloud.seedUser({ id: 'alice', email: 'alice@example.com', enabled: true });
      const id = requestIdIn(await desk.command(REQUESTER, 'disable cloud alice left the company'));

      const card = await desk.card(id);
      expect(card).toContain('asks to');
      expect(card).toContain('disable alice');
      expect(card).toContain('exists, enabled');
      expect(card).toContain('enabled → disabled');
      expect(card).toContain('left the company');
      expect(card).toContain('Approve…');

      await desk.click(APPROVER, 'request_approve', id);
      const modal = await desk.waitForModal(APPROVER, 'confirm_modal');
      await desk.submitView(APPROVER, 'confirm_modal', String(modal.view.private_metadata), {
        confirm_username: { value: 'alice' },
      });
      await desk.waitForState(id, 'applied');
      await desk.waitForOutboxDrained();

      expect(desk.nextcloud.users.get('alice')?.enabled).toBe(false);
      expect(await desk.card(id)).toContain('Applied');
      expect(desk.dms(REQUESTER).join('\n')).toMatch(/Done: .*disable alice/);
      const audit = desk.auditLines().join('\n');
      for (const event of ['requested', 'approved', 'applied']) expect(audit).toContain(`*${event}*`);
    },
  );

  it('enable on cloud: one click re-enables a disabled user', async () => {
    desk.nextcloud.seedUser({ id: 'bob', email: 'bob@example.com', enabled: false });
    const id = requestIdIn(await desk.command(REQUESTER, 'enable cloud bob back from leave'));
    const card = await desk.card(id);
    expect(card).toContain('enable bob');
    expect(card).toContain('exists, disabled');

    // enable is not destructive: no typed confirmation.
    expect(await desk.click(APPROVER, 'request_approve', id)).toBeUndefined();
    await desk.waitForState(id, 'applied');
    await desk.waitForOutboxDrained();
    expect(desk.nextcloud.users.get('bob')?.enabled).toBe(true);
    expect(desk.slack.viewsOpenedFor(APPROVER)).toHaveLength(0);
    expect(await desk.card(id)).toContain('Applied');
    expect(desk.dms(REQUESTER).join('\n')).toMatch(/Done: .*enable bob/);
  });

  it('quota on cloud: the card shows old -> new, the approval sets it', async () => {
    desk.nextcloud.seedUser({ id: 'carol', email: 'carol@example.com', quota: '10 GB', usedBytes: 1024 });
    const receipt = await desk.command(REQUESTER, 'quota cloud carol 50GB more photos');
    expect(receipt).toContain('waits for an approver');
    const id = requestIdIn(receipt);
    const card = await desk.card(id);
    expect(card).toMatch(/10 GB\s*→\s*50 GB/);
    expect(card).toContain('approvals 0 of 1');

    await desk.click(APPROVER, 'request_approve', id);
    await desk.waitForState(id, 'applied');
    await desk.waitForOutboxDrained();
    expect(desk.nextcloud.users.get('carol')?.quota).toBe('50 GB');
    expect(await desk.card(id)).toContain('Applied');
    expect(desk.auditLines().join('\n')).toMatch(/applied\*.*quota carol on cloud/);
  });

  it('create on nas: the generated password is shown once, only to the requester, and is kept nowhere', async () => {
    const id = requestIdIn(await desk.command(REQUESTER, 'create nas dave dave@example.com 20GB new hire'));
    const card = await desk.card(id);
    expect(card).toContain('create dave');
    expect(card).toContain('user does not exist');

    await desk.click(APPROVER, 'request_approve', id);
    await desk.waitForState(id, 'applied');
    await desk.waitForOutboxDrained();

    expect(desk.dsm.users.has('dave')).toBe(true);
    const password = desk.dsm.passwords.get('dave');
    expect(password).toBeTruthy();
    const secret = password!;

    // Shown exactly once, by chat.postEphemeral, to the requester, in their DM with the app.
    const shown = desk.slack.calls('chat.postEphemeral').filter((c) => JSON.stringify(c.args).includes(secret));
    expect(shown).toHaveLength(1);
    expect(shown[0]!.args).toMatchObject({ user: REQUESTER, channel: desk.slack.dmChannelFor(REQUESTER) });
    const ephemeral = desk.slack.ephemeralsFor(REQUESTER).filter((e) => e.text.includes(secret));
    expect(ephemeral).toHaveLength(1);
    expect(ephemeral[0]!.text).toContain('shown once');

    // Nowhere else: no other call (messages, DMs, cards, audit lines), no log line, not in the store.
    const otherCalls = desk.slack
      .calls()
      .filter((c) => c.method !== 'chat.postEphemeral' && JSON.stringify(c.args).includes(secret));
    expect(otherCalls).toHaveLength(0);
    for (const channel of [APPROVALS, AUDIT, desk.slack.dmChannelFor(REQUESTER)]) {
      for (const message of desk.slack.messagesIn(channel)) expect(JSON.stringify(message)).not.toContain(secret);
    }
    expect(desk.logs.join('')).not.toContain(secret);
    expect(JSON.stringify(await desk.request(id))).not.toContain(secret);
    expect(JSON.stringify(await desk.app.store.audit.readAfter(0, 1000))).not.toContain(secret);
    // The SQLite files themselves (main file, WAL, journal), byte for byte.
    const files = readdirSync(desk.dataDir).filter((f) => f.startsWith('store.sqlite'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(readFileSync(join(desk.dataDir, file)).includes(Buffer.from(secret))).toBe(false);

    expect(desk.dms(REQUESTER).join('\n')).toMatch(/Done: .*create dave/);
  });

  it('create on sso: the nmcuser_oidc user appears with its email', async () => {
    const id = requestIdIn(await desk.command(REQUESTER, 'create sso erin erin@example.com 5GB'));
    const card = await desk.card(id);
    expect(card).toContain('create erin');
    expect(card).toContain('on *sso*');

    await desk.click(APPROVER, 'request_approve', id);
    const done = await desk.waitForState(id, 'applied', 'failed');
    expect(done.steps[0]?.error?.message).toBeUndefined();
    expect(done.state).toBe('applied');
    await desk.waitForOutboxDrained();
    const user = [...desk.nmc.users.values()].find((u) => u.username === 'erin');
    expect(user).toMatchObject({ email: 'erin@example.com', enabled: true });
    expect(await desk.card(id)).toContain('Applied');
    expect(desk.dms(REQUESTER).join('\n')).toMatch(/Done: .*create erin/);
  });
});
