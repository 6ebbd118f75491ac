/** The reminder and escalation texts: mentions only from configured ids, typed text disarmed, within Slack's limits. */
import { describe, expect, it } from 'vitest';
import { escalationText, reminderText } from '../../src/slack/blocks/reminders.js';
import { LIMITS } from '../../src/slack/text.js';
import type { AccountRequest } from '../../src/requests/types.js';

const EVIL = '<!channel>';

function request(username: string): AccountRequest {
  return {
    id: 'AD-7K2M9Q',
    version: 1,
    plan: 'single',
    username,
    steps: [{ backend: 'cloud', action: 'disable', username, params: {}, state: 'pending', attempts: 0 }],
    reason: 'left',
    requester: 'U0REQUEST1',
    state: 'pending',
    createdAt: '2030-03-01T09:00:00.000Z',
    expiresAt: '2030-03-04T09:00:00.000Z',
    approvalsRequired: 2,
    approvals: [{ by: 'U0APPROVER1', at: '2030-03-01T10:00:00.000Z' }],
  };
}

describe('reminder texts', () => {
  it('mention the user groups and approvers by id, and say how far the approvals are', () => {
    const text = reminderText(request('alice'), { users: ['U0APPROVER2'], groups: ['S0ITADMINS'] });
    expect(text).toMatch(
      /^:hourglass: <!subteam\^S0ITADMINS> <@U0APPROVER2>: \*AD-7K2M9Q\* \(disable alice on cloud\)/,
    );
    expect(text).toContain('from <@U0REQUEST1>');
    expect(text).toContain('<!date^1898586000^');
    expect(text).toContain('(1 of 2 approvals)');
  });

  it('never turn typed text or a malformed id into a mention', () => {
    const reminder = reminderText(request(`${EVIL}x`), { users: ['not-an-id'], groups: [`${EVIL}`] });
    const escalation = escalationText(request(`${EVIL}x`), undefined);
    for (const text of [reminder, escalation]) {
      expect(text).not.toContain(EVIL);
      expect(text).toContain('&lt;!channel&gt;');
    }
    expect(reminder).not.toContain('<@not-an-id>');
  });

  it('link the card when Slack gave a link, and stay within a message', () => {
    expect(escalationText(request('alice'), 'https://team.slack.test/archives/C0APPROVALS/p1')).toContain(
      '<https://team.slack.test/archives/C0APPROVALS/p1|Open the card>.',
    );
    const long = reminderText(request('a'.repeat(10_000)), { users: [], groups: [] });
    expect(long.length).toBeLessThanOrEqual(LIMITS.fallbackText);
    expect(long.startsWith(':hourglass: *AD-7K2M9Q*')).toBe(true);
  });
});
