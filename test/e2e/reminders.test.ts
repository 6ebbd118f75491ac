/**
 * Reminders and escalation, as approvers see them: a pending request nobody decided gets a reply in its card's
 * thread mentioning the approvers after the policy's interval, then an escalation to the listed people and channel;
 * nothing once it is decided, nothing when reminders are off; business hours count only working time; two
 * replicas send each reminder once. Time moves with the app's clock, never by waiting.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { visibleText } from '../support/slack-fake.js';
import { APPROVALS, APPROVER, APPROVER2, AUDIT, REQUESTER, requestIdIn, startDesk, type Desk } from './harness.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const BOSS = 'U0BOSS0001';
const ESCALATIONS = 'C0ESCALATE';

describe('reminders', () => {
  let desk: Desk | undefined;
  afterEach(async () => {
    await desk?.stop();
    desk = undefined;
  });

  async function start(policy: Record<string, unknown>, clock?: () => Date): Promise<Desk> {
    desk = await startDesk({ policy, ...(clock ? { appOptions: { clock } } : {}) });
    return desk;
  }

  async function newCreate(d: Desk, username = 'alice'): Promise<string> {
    const id = requestIdIn(await d.command(REQUESTER, `create cloud ${username} ${username}@example.com 10GB`));
    await d.card(id);
    return id;
  }

  /** One reminder pass, then everything it recorded delivered to Slack. */
  async function tick(d: Desk): Promise<void> {
    await d.app.remind();
    await d.waitForOutboxDrained();
  }

  /** The replies in the thread under the request's card, as the approvers read them. */
  function threadOf(d: Desk, id: string): string[] {
    const card = d.cardMessage(id);
    if (!card) throw new Error(`no card for ${id}`);
    return d.slack
      .messagesIn(APPROVALS)
      .filter((m) => m.threadTs === card.ts)
      .map((m) => visibleText(m));
  }

  const escalationsTo = (d: Desk) => ({
    dms: d.dms(BOSS),
    channel: d.slack.messagesIn(ESCALATIONS).map((m) => visibleText(m)),
  });

  it('reminds in the card thread at 4 h (the default) mentioning the approvers who have not voted', async () => {
    const d = await start({});
    const id = await newCreate(d);

    d.advanceClock(4 * HOUR - MINUTE);
    await tick(d);
    expect(threadOf(d, id)).toEqual([]);

    d.advanceClock(2 * MINUTE);
    await tick(d);
    const thread = threadOf(d, id);
    expect(thread).toHaveLength(1);
    // The approvers of config/local-fakes.yaml: the user group and both users.
    expect(thread[0]).toContain('<!subteam^S0ITADMINS>');
    expect(thread[0]).toContain(`<@${APPROVER}>`);
    expect(thread[0]).toContain(`<@${APPROVER2}>`);
    expect(thread[0]).toContain(id);
    expect(thread[0]).toContain('0 of 1 approval');
    expect(d.auditLines().some((line) => line.includes(id) && line.includes('*reminded*'))).toBe(true);

    // Once only: later passes do not remind again, and without escalateTo nothing escalates.
    d.advanceClock(20 * HOUR);
    await tick(d);
    expect(threadOf(d, id)).toHaveLength(1);
    expect((await d.request(id)).reminders?.escalatedAt).toBeUndefined();
  });

  it('escalates after the second interval to the listed people and channel, with a link to the card', async () => {
    const d = await start({
      defaults: {
        approvals: 1,
        expiresAfter: '72h',
        reminders: { after: '4h', escalateAfter: '2h', escalateTo: { users: [BOSS], channel: ESCALATIONS } },
      },
    });
    const id = await newCreate(d);
    d.advanceClock(4 * HOUR + MINUTE);
    await tick(d);
    expect(threadOf(d, id)).toHaveLength(1);
    expect(escalationsTo(d)).toEqual({ dms: [], channel: [] });

    d.advanceClock(2 * HOUR - 2 * MINUTE);
    await tick(d);
    expect(escalationsTo(d)).toEqual({ dms: [], channel: [] });

    d.advanceClock(2 * MINUTE);
    await tick(d);
    const { dms, channel } = escalationsTo(d);
    expect(dms).toHaveLength(1);
    expect(channel).toHaveLength(1);
    for (const text of [...dms, ...channel]) {
      expect(text).toContain(id);
      expect(text).toContain('still has no decision');
      expect(text).toMatch(/<https:\/\/fake-team\.slack\.test\/archives\/C0APPROVALS\/p\d+\|Open the card>/);
    }
    expect(d.auditLines().some((line) => line.includes(id) && line.includes('*escalated*'))).toBe(true);

    d.advanceClock(10 * HOUR);
    await tick(d);
    expect(escalationsTo(d).dms).toHaveLength(1);
    expect(threadOf(d, id)).toHaveLength(1);
  });

  it('stops once the request is decided: no reminder after a cancel, no escalation after an approval', async () => {
    const d = await start({
      defaults: {
        approvals: 1,
        expiresAfter: '72h',
        reminders: { after: '4h', escalateAfter: '2h', escalateTo: { users: [BOSS] } },
      },
    });
    const cancelled = await newCreate(d, 'alice');
    const approved = await newCreate(d, 'bob');
    expect(await d.command(REQUESTER, `cancel ${cancelled}`)).toContain(cancelled);
    await d.waitForState(cancelled, 'cancelled');

    d.advanceClock(4 * HOUR + MINUTE);
    await tick(d);
    expect(threadOf(d, cancelled)).toEqual([]);
    expect(threadOf(d, approved)).toHaveLength(1);

    await d.click(APPROVER, 'request_approve', approved);
    await d.waitForState(approved, 'applied');
    d.advanceClock(10 * HOUR);
    await tick(d);
    expect(escalationsTo(d).dms).toEqual([]);
    expect(threadOf(d, approved)).toHaveLength(1);
    expect((await d.request(approved)).reminders?.escalatedAt).toBeUndefined();
  });

  it('sends nothing for a policy entry set to none, while the others still remind', async () => {
    const d = await start({ create: { reminders: 'none' } });
    const create = await newCreate(d);
    const quota = requestIdIn(await d.command(REQUESTER, 'quota cloud carol 20GB'));
    await d.card(quota);

    d.advanceClock(30 * HOUR);
    await tick(d);
    expect(threadOf(d, create)).toEqual([]);
    expect(threadOf(d, quota)).toHaveLength(1);
    expect((await d.request(create)).reminders).toBeUndefined();
  });

  it('counts business hours only: a request on Friday evening is reminded on Monday afternoon', async () => {
    // Friday 4 December 2026, 18:30 in Paris (17:30 UTC), after closing time.
    let now = Date.parse('2026-12-04T17:30:00Z');
    const d = await start(
      {
        defaults: {
          approvals: 1,
          expiresAfter: '7d',
          reminders: {
            after: '4h',
            businessHours: {
              days: ['mon', 'tue', 'wed', 'thu', 'fri'],
              from: '09:00',
              to: '17:00',
              timeZone: 'Europe/Paris',
            },
          },
        },
      },
      () => new Date(now),
    );
    const id = await newCreate(d);

    now = Date.parse('2026-12-06T12:00:00Z'); // Sunday noon: 42 hours later, no working time yet
    await tick(d);
    expect(threadOf(d, id)).toEqual([]);

    now = Date.parse('2026-12-07T11:59:00Z'); // Monday 12:59 in Paris: 3 h 59 of working time
    await tick(d);
    expect(threadOf(d, id)).toEqual([]);

    now = Date.parse('2026-12-07T12:00:00Z'); // Monday 13:00 in Paris: 4 working hours since Monday 09:00
    await tick(d);
    expect(threadOf(d, id)).toHaveLength(1);
  });

  it('two replicas sharing the store send each reminder once, and a restart does not send it again', async () => {
    let offset = 0;
    const d = await start({}, () => new Date(Date.now() + offset));
    const replica = await d.startReplica();
    const id = await newCreate(d);

    offset = 4 * HOUR + MINUTE;
    await Promise.all([d.app.remind(), replica.app.remind(), d.app.remind(), replica.app.remind()]);
    await d.waitForOutboxDrained();
    await replica.app.publisher.idle();
    expect(threadOf(d, id)).toHaveLength(1);
    const entries = await d.app.store.audit.readAfter(0, 1_000);
    expect(entries.filter((e) => e.subject === id && e.event === 'reminded')).toHaveLength(1);

    // The replica stops and a new process of the same deployment starts: it does not remind again.
    await replica.app.stop();
    const successor = await d.startReplica();
    await successor.app.remind();
    await d.waitForOutboxDrained();
    expect(threadOf(d, id)).toHaveLength(1);
    expect(d.slack.messagesIn(AUDIT).filter((m) => m.text.includes('*reminded*'))).toHaveLength(1);
  });
});
