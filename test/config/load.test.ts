import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig, type Config } from '../../src/config/load.js';

const GiB = 1024 ** 3;
const dir = mkdtempSync(join(tmpdir(), 'accountdesk-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Distinctive values, searched for in every error message below.
const BOT_TOKEN = 'xoxb-BOT-7f3a9c1e5d-DISTINCTIVE';
const APP_TOKEN = 'xapp-APP-2b8d4f6a0c-DISTINCTIVE';
const SIGNING_SECRET = 'sign-9e1c3a5b7d-DISTINCTIVE';
const NC_SECRET = 'nc-app-pw-4d6f8a0b2c-DISTINCTIVE';
const SECRETS = [BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, NC_SECRET];

let fileNo = 0;
function writeConfig(text: string, ext = 'yaml'): string {
  const path = join(dir, `config-${++fileNo}.${ext}`);
  writeFileSync(path, text);
  return path;
}

const MINIMAL_YAML = `
slack:
  approvalsChannel: C0APPROVE1
  auditChannel: C0AUDIT01
approvers:
  users: [U0ADMIN01]
backends:
  cloud:
    kind: nextcloud
    url: https://cloud.example.com
    user: admin
    secretEnv: NC_PASS
`;

function env(configFile: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_APP_TOKEN: APP_TOKEN,
    NC_PASS: NC_SECRET,
    CONFIG_FILE: configFile,
    ...extra,
  };
}

function problemsOf(e: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(e);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const error = err as ConfigError;
    for (const secret of SECRETS) {
      expect(error.message).not.toContain(secret);
      expect(error.problems.join('\n')).not.toContain(secret);
    }
    return error.problems;
  }
  throw new Error('expected loadConfig to fail');
}

describe('loadConfig: a valid file', () => {
  it('loads a minimal YAML file with defaults resolved', () => {
    const config = loadConfig(env(writeConfig(MINIMAL_YAML)));
    expect(config.slack).toMatchObject({
      mode: 'socket',
      botToken: BOT_TOKEN,
      appToken: APP_TOKEN,
      command: '/account',
      approvalsChannel: 'C0APPROVE1',
      auditChannel: 'C0AUDIT01',
      port: 3000,
    });
    expect(config.backends.cloud).toMatchObject({
      secret: NC_SECRET,
      config: { kind: 'nextcloud', apiVersion: 'v2', insecureTls: false, defaultGroups: [] },
    });
    expect(config.secrets.sort()).toEqual([APP_TOKEN, BOT_TOKEN, NC_SECRET].sort());
    expect(config.policy.approvers).toEqual({ users: ['U0ADMIN01'], groups: [] });
    expect(config.policy.requesters).toBeUndefined();
    expect(config.policy.actions.create).toEqual({
      enabled: true,
      approvals: 1,
      expiresAfterMs: 72 * 3_600_000,
      rules: [],
      // Approvers are reminded of an undecided request after 4 hours unless the config says otherwise.
      reminders: { afterMs: 4 * 3_600_000 },
    });
    // Deleting removes files: off unless the file turns it on.
    expect(config.policy.actions.delete.enabled).toBe(false);
    expect(config.log).toEqual({ level: 'info', pretty: false });
  });

  it('loads the same config written as JSON', () => {
    const json = {
      slack: { approvalsChannel: 'C0APPROVE1', auditChannel: 'G0PRIVATE1', command: '/acct' },
      approvers: { users: [], groups: ['S0ADMINS1'] },
      backends: { nas: { kind: 'synology', url: 'https://nas.lan:5001', user: 'accountdesk', secretEnv: 'NC_PASS' } },
    };
    const config = loadConfig(env(writeConfig(JSON.stringify(json), 'json')));
    expect(config.slack.command).toBe('/acct');
    expect(config.backends.nas?.config).toMatchObject({
      kind: 'synology',
      volume: '/volume1',
      sessionName: 'AccountDesk',
      mailPassword: false,
    });
    expect(config.policy.approvers.groups).toEqual(['S0ADMINS1']);
  });

  it('resolves policy defaults, per-action overrides and rules (quotaAbove in bytes)', () => {
    const yaml = `${MINIMAL_YAML}
policy:
  defaults: { approvals: 2, expiresAfter: 7d }
  disable: { approvals: 3, expiresAfter: 30m }
  delete: { enabled: true }
  quota:
    rules:
      - quotaAbove: 100GB
        approvals: 3
      - quotaAbove: 1.5 TB
        backends: [cloud]
        approvals: 4
`;
    const { actions } = loadConfig(env(writeConfig(yaml))).policy;
    expect(actions.create).toMatchObject({ approvals: 2, expiresAfterMs: 7 * 86_400_000 });
    expect(actions.disable).toMatchObject({ approvals: 3, expiresAfterMs: 30 * 60_000 });
    expect(actions.delete).toMatchObject({ enabled: true, approvals: 2 });
    expect(actions.quota.rules).toEqual([
      { approvals: 3, quotaAboveBytes: 100 * GiB, backends: undefined },
      { approvals: 4, quotaAboveBytes: 1.5 * 1024 ** 4, backends: ['cloud'] },
    ]);
  });

  it('chooses HTTP mode when only a signing secret is given', () => {
    const config = loadConfig({
      ...env(writeConfig(MINIMAL_YAML), { SLACK_SIGNING_SECRET: SIGNING_SECRET, PORT: '8080' }),
      SLACK_APP_TOKEN: undefined,
    });
    expect(config.slack).toMatchObject({ mode: 'http', signingSecret: SIGNING_SECRET, port: 8080 });
    expect(config.secrets).toContain(SIGNING_SECRET);
  });

  it('loads config/accountdesk.example.yaml as shipped', () => {
    const config: Config = loadConfig(
      env(resolve('config/accountdesk.example.yaml'), {
        NEXTCLOUD_APP_PASSWORD: NC_SECRET,
        DSM_PASSWORD: 'dsm-pw-example',
      }),
    );
    expect(Object.keys(config.backends).sort()).toEqual(['cloud', 'nas']);
    expect(config.policy.actions.quota.rules).toEqual([
      { approvals: 2, quotaAboveBytes: 100 * GiB, backends: undefined },
    ]);
    expect(config.policy.actions.delete).toMatchObject({ enabled: false, approvals: 2 });
  });
});

describe('loadConfig: missing Slack credentials', () => {
  it('names SLACK_BOT_TOKEN and SLACK_APP_TOKEN and points at manifest/ and .env.example', () => {
    const problems = problemsOf({ CONFIG_FILE: writeConfig(MINIMAL_YAML), NC_PASS: NC_SECRET });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^SLACK_BOT_TOKEN is not set/);
    expect(problems[1]).toMatch(/^SLACK_APP_TOKEN is not set/);
    for (const problem of problems) {
      expect(problem).toContain('manifest/');
      expect(problem).toContain('.env.example');
    }
  });

  it('names SLACK_SIGNING_SECRET in HTTP mode', () => {
    const problems = problemsOf({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_MODE: 'http',
      CONFIG_FILE: writeConfig(MINIMAL_YAML),
    });
    expect(problems).toEqual([expect.stringMatching(/^SLACK_SIGNING_SECRET is not set.*manifest\/.*\.env\.example/)]);
  });

  it('explains a token of the wrong kind without echoing it', () => {
    const wrong = 'xoxp-USER-TOKEN-5c7e9a1b3d-DISTINCTIVE';
    const problems = problemsOf(env(writeConfig(MINIMAL_YAML), { SLACK_BOT_TOKEN: wrong }));
    expect(problems).toEqual([expect.stringMatching(/SLACK_BOT_TOKEN must be a bot token starting with xoxb-/)]);
    expect(problems.join('\n')).not.toContain(wrong);
    expect(
      problemsOf(env(writeConfig(MINIMAL_YAML), { SLACK_SIGNING_SECRET: 'shortsecret' })).join('\n'),
    ).not.toContain('shortsecret');
  });
});

describe('loadConfig: mistakes in the file', () => {
  it('rejects an unknown key such as "aprovals", naming its path', () => {
    const yaml = `${MINIMAL_YAML}
policy:
  quota:
    aprovals: 2
`;
    const problems = problemsOf(env(writeConfig(yaml)));
    expect(problems).toEqual([expect.stringMatching(/policy\.quota: unknown key\(s\) "aprovals": check the spelling/)]);
  });

  it('rejects a #channel name where a channel id belongs', () => {
    const problems = problemsOf(env(writeConfig(MINIMAL_YAML.replace('C0APPROVE1', '"#approvals"'))));
    expect(problems).toEqual([
      expect.stringMatching(/slack\.approvalsChannel: must be a channel ID such as C0123ABCD/),
    ]);
  });

  it('names a backend secret variable that is not set, and the backend and account it is for', () => {
    const problems = problemsOf({ ...env(writeConfig(MINIMAL_YAML)), NC_PASS: undefined });
    expect(problems).toEqual([
      expect.stringMatching(/^NC_PASS is not set: .* "admin" on backend "cloud". Put it in \.env\./),
    ]);
  });

  it('refuses a secret pasted where the variable NAME belongs, without repeating it', () => {
    const problems = problemsOf(
      env(writeConfig(MINIMAL_YAML.replace('secretEnv: NC_PASS', `secretEnv: ${NC_SECRET}`))),
    );
    expect(problems.join('\n')).toMatch(/backends\.cloud\.secretEnv: must be the NAME of an environment variable/);
  });

  it('lists every problem at once, with the file name', () => {
    const yaml = `
slack:
  approvalsChannel: nope
  auditChannel: C0AUDIT01
approvers:
  users: [alice]
policy:
  defaults: { expiresAfter: 5y }
backends:
  cloud:
    kind: owncloud
    url: https://cloud.example.com
    user: admin
    secretEnv: NC_PASS
`;
    const path = writeConfig(yaml);
    const problems = problemsOf(env(path));
    expect(problems.every((p) => p.startsWith(`${path}: `))).toBe(true);
    const text = problems.join('\n');
    expect(text).toMatch(/slack\.approvalsChannel: must be a channel ID/);
    expect(text).toMatch(/approvers\.users\.0: must be a Slack user ID/);
    expect(text).toMatch(/policy\.defaults\.expiresAfter: must be a duration/);
    expect(text).toMatch(/backends\.cloud/);
  });

  it('refuses a bad quotaAbove with the quota message, and a rule naming an unknown backend', () => {
    expect(
      problemsOf(
        env(writeConfig(`${MINIMAL_YAML}\npolicy:\n  quota:\n    rules: [{ quotaAbove: "100", approvals: 2 }]\n`)),
      ).join('\n'),
    ).toMatch(/policy\.quota\.rules\.0\.quotaAbove: "100" has no unit/);
    expect(
      problemsOf(
        env(writeConfig(`${MINIMAL_YAML}\npolicy:\n  quota:\n    rules: [{ backends: [nass], approvals: 2 }]\n`)),
      ),
    ).toEqual([expect.stringMatching(/policy\.quota\.rules\.0\.backends names "nass", which is not under backends/)]);
  });

  it('tells a value of the wrong type from a missing one', () => {
    // YAML reads `quotaAbove: 100` as a number and `users: U0ADMIN01` as a string.
    const text = problemsOf(
      env(
        writeConfig(
          `${MINIMAL_YAML.replace('users: [U0ADMIN01]', 'users: U0ADMIN01')}\npolicy:\n ` +
            ` quota:\n    rules: [{ quotaAbove: 100, approvals: 2 }]\n`,
        ),
      ),
    ).join('\n');
    expect(text).toMatch(/approvers\.users: has the wrong type: expected array, received string/);
    expect(text).toMatch(/policy\.quota\.rules\.0\.quotaAbove: has the wrong type: expected string, received number/);
    expect(text).not.toMatch(/is missing/);
    expect(problemsOf(env(writeConfig(MINIMAL_YAML.replace('  auditChannel: C0AUDIT01\n', ''))))).toEqual([
      expect.stringMatching(/slack\.auditChannel: is missing$/),
    ]);
  });

  it('says when the file is missing or not YAML', () => {
    expect(problemsOf(env(join(dir, 'absent.yaml')))).toEqual([
      expect.stringMatching(/does not exist\. Copy config\/accountdesk\.example\.yaml/),
    ]);
    expect(problemsOf(env(writeConfig('slack: [unclosed')))).toEqual([
      expect.stringMatching(/is not valid YAML\/JSON/),
    ]);
  });

  it('never puts a secret value in any error, whatever is wrong', () => {
    // problemsOf checks every message for every distinctive secret; this walks through the failure paths.
    const everySecretSet = { SLACK_SIGNING_SECRET: SIGNING_SECRET };
    problemsOf(env(writeConfig(`${MINIMAL_YAML}\nextra: ${NC_SECRET}\n`), everySecretSet));
    problemsOf(
      env(
        writeConfig(MINIMAL_YAML.replace('https://cloud.example.com', `https://admin:${NC_SECRET}@`)),
        everySecretSet,
      ),
    );
    problemsOf(
      env(
        writeConfig(MINIMAL_YAML.replace('user: admin', `user: ${NC_SECRET}\n    password: ${NC_SECRET}`)),
        everySecretSet,
      ),
    );
    problemsOf(env(writeConfig(MINIMAL_YAML), { ...everySecretSet, LOG_LEVEL: NC_SECRET }));
  });
});

const WITH_NAS = `${MINIMAL_YAML}
  nas:
    kind: synology
    url: https://nas.example.com:5001
    user: admin
    secretEnv: NC_PASS
`;

describe('loadConfig: profiles and pacing', () => {
  it('loads profiles with quotas in bytes, and pacing per backend', () => {
    const yaml = `${WITH_NAS}
profiles:
  staff:
    cloud: { groups: [staff], quota: 10GB }
    nas: { groups: [users], quota: 50GB }
  guest:
    cloud: {}
pacing:
  nas: { concurrency: 1, minIntervalMs: 500 }
  cloud: { concurrency: 3 }
policy:
  onboard:
    rules: [{ profiles: [staff], approvals: 2 }]
  offboard:
    approvals: 2
`;
    const config = loadConfig(env(writeConfig(yaml)));
    expect(config.profiles).toEqual({
      staff: { cloud: { groups: ['staff'], quotaBytes: 10 * GiB }, nas: { groups: ['users'], quotaBytes: 50 * GiB } },
      guest: { cloud: {} },
    });
    expect(config.pacing).toEqual({
      nas: { concurrency: 1, minIntervalMs: 500 },
      cloud: { concurrency: 3, minIntervalMs: 0 },
    });
    expect(config.policy.actions.onboard).toMatchObject({
      enabled: true,
      approvals: 1,
      rules: [{ profiles: ['staff'], approvals: 2 }],
    });
    expect(config.policy.actions.offboard).toMatchObject({ enabled: true, approvals: 2 });
  });

  it('defaults to no profiles and no pacing overrides', () => {
    const config = loadConfig(env(writeConfig(MINIMAL_YAML)));
    expect(config.profiles).toEqual({});
    expect(config.pacing).toEqual({});
  });

  it('names the profile and field when a profile names an unknown backend', () => {
    const path = writeConfig(`${MINIMAL_YAML}\nprofiles:\n  staff:\n    clod: { groups: [staff] }\n`);
    expect(problemsOf(env(path))).toEqual([
      `${path}: profiles.staff.clod: there is no backend named "clod" under backends.`,
    ]);
  });

  it('names the profile and field of a bad quota and an unknown key', () => {
    const yaml = `${MINIMAL_YAML}
profiles:
  staff:
    cloud: { quota: "10", grups: [staff] }
`;
    const text = problemsOf(env(writeConfig(yaml))).join('\n');
    expect(text).toMatch(/profiles\.staff\.cloud\.quota: "10" has no unit/);
    expect(text).toMatch(/profiles\.staff\.cloud: unknown key\(s\) "grups"/);
  });

  it('refuses a profile that names no backend', () => {
    const path = writeConfig(`${MINIMAL_YAML}\nprofiles:\n  empty: {}\n`);
    expect(problemsOf(env(path))).toEqual([`${path}: profiles.empty names no backend; give it at least one account.`]);
  });

  it('says what a profile name may be made of', () => {
    // The schema's rule for the key (src/config/schema.ts, profiles) must reach the operator, not a bare
    // "Invalid key in record".
    const path = writeConfig(`${MINIMAL_YAML}\nprofiles:\n  Bad Name:\n    cloud: {}\n`);
    expect(problemsOf(env(path))).toEqual([
      `${path}: profiles.Bad Name: profile names are lower case letters, digits, - and _`,
    ]);
  });

  it('refuses a policy rule naming an unknown profile', () => {
    const path = writeConfig(`${MINIMAL_YAML}\npolicy:\n  onboard:\n    rules: [{ profiles: [staf], approvals: 2 }]\n`);
    expect(problemsOf(env(path))).toEqual([
      `${path}: policy.onboard.rules.0.profiles names "staf", which is not under profiles.`,
    ]);
  });

  it('refuses pacing for an unknown backend and out-of-range values, naming the field', () => {
    const yaml = `${MINIMAL_YAML}
pacing:
  nass: { concurrency: 1 }
  cloud: { concurrency: 0, minIntervalMs: 1.5 }
`;
    const text = problemsOf(env(writeConfig(yaml))).join('\n');
    expect(text).toMatch(/pacing\.cloud\.concurrency: .*1/);
    expect(text).toMatch(/pacing\.cloud\.minIntervalMs: .*must be a whole number/);
    const path = writeConfig(`${MINIMAL_YAML}\npacing:\n  nass: { concurrency: 1 }\n`);
    expect(problemsOf(env(path))).toEqual([`${path}: pacing.nass: there is no backend named "nass" under backends.`]);
  });
});
