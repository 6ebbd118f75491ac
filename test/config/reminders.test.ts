/** The reminder keys of the config file: defaults, per-action overrides, `none`, and readable errors. */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, type Config } from '../../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'accountdesk-reminders-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BASE = `
slack: { approvalsChannel: C0APPROVE1, auditChannel: C0AUDIT01 }
approvers: { users: [U0ADMIN01] }
backends:
  cloud: { kind: nextcloud, url: https://cloud.example.com, user: admin, secretEnv: NC_PASS }
`;
const HOUR = 3_600_000;

let fileNo = 0;
function load(policy: string): Config {
  const path = join(dir, `config-${++fileNo}.yaml`);
  writeFileSync(path, `${BASE}${policy}`);
  return loadConfig({ SLACK_BOT_TOKEN: 'xoxb-test', SLACK_APP_TOKEN: 'xapp-test', NC_PASS: 'pw', CONFIG_FILE: path });
}

function problemsOf(policy: string): string[] {
  try {
    load(policy);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('the config was accepted');
}

describe('reminders in the config', () => {
  it('reminds after 4 hours, with no escalation, when the config says nothing', () => {
    const { actions } = load('').policy;
    expect(actions.create.reminders).toEqual({ afterMs: 4 * HOUR });
    expect(actions.offboard.reminders).toEqual({ afterMs: 4 * HOUR });
  });

  it('takes the defaults for every entry; an entry overrides single keys, or switches them off with none', () => {
    const { actions } = load(`
policy:
  defaults:
    reminders:
      after: 2h
      escalateTo: { users: [U0BOSS01], channel: C0ESCAL1 }
      businessHours: { from: "08:30", to: "18:00", timeZone: Europe/Berlin }
  quota:
    reminders: { escalateAfter: 1d }
  delete:
    reminders: none
`).policy;
    const businessHours = {
      days: ['mon', 'tue', 'wed', 'thu', 'fri'],
      fromMinute: 510,
      toMinute: 1080,
      timeZone: 'Europe/Berlin',
    };
    expect(actions.create.reminders).toEqual({
      afterMs: 2 * HOUR,
      escalation: { afterMs: 2 * HOUR, to: { users: ['U0BOSS01'], channel: 'C0ESCAL1' } },
      businessHours,
    });
    expect(actions.quota.reminders?.escalation?.afterMs).toBe(24 * HOUR);
    expect(actions.delete.reminders).toBeUndefined();
  });

  it('none in the defaults switches reminders off except where an entry sets its own', () => {
    const { actions } = load(
      'policy:\n  defaults: { reminders: none }\n  offboard: { reminders: { after: 30m } }',
    ).policy;
    expect(actions.create.reminders).toBeUndefined();
    expect(actions.offboard.reminders).toEqual({ afterMs: 30 * 60_000 });
  });

  it('says what is wrong and how to fix it', () => {
    expect(problemsOf('policy:\n  defaults: { reminders: off }')).toEqual([
      expect.stringMatching(/policy\.defaults\.reminders: must be none, or settings such as \{ after: 4h \}/),
    ]);
    expect(problemsOf('policy:\n  create: { reminders: { escalateAfter: 2h } }')).toEqual([
      expect.stringMatching(/policy\.create\.reminders\.escalateAfter is set but there is nobody to escalate to/),
    ]);
    const hours = problemsOf(
      'policy:\n  defaults:\n    reminders: { businessHours: { from: "18:00", to: "9:00", timeZone: Paris } }',
    );
    expect(hours).toContainEqual(expect.stringMatching(/businessHours\.to: must be a time of day such as 09:00/));
    expect(hours).toContainEqual(expect.stringMatching(/businessHours\.timeZone: must be an IANA time zone/));
    expect(problemsOf('policy:\n  defaults: { reminders: { escalateTo: { users: [] } } }')).toEqual([
      expect.stringMatching(/reminders\.escalateTo: name users, a channel, or both/),
    ]);
  });
});
