/**
 * The doctor as an operator meets it: `/account doctor` in Slack (approvers only, answered privately) and
 * `npm run doctor` (doctorCommand, the CLI's body, with the same environment `npm start` would get), against the
 * fake Slack and the fake backends. Every check is made to fail once and must say what to fix; a wrong password
 * must cost exactly one login on each backend.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { doctorCommand } from '../../src/ops/doctor-cli.js';
import { APPROVER, APPROVER2, AUDIT, OUTSIDER, SECRETS, SIGNING_SECRET, startDesk, type Desk } from './harness.js';

/** Nextcloud's unauthenticated status.php (the fake Nextcloud serves only OCS), as `status` says at each request. */
function serveStatus(desk: Desk, status: { maintenance?: boolean; date?: string } = {}) {
  desk.nextcloud.addRoute((req: IncomingMessage, res: ServerResponse) => {
    if (!req.url?.startsWith('/status.php')) return false;
    res.writeHead(200, { 'content-type': 'application/json', ...(status.date ? { date: status.date } : {}) });
    res.end(JSON.stringify({ installed: true, maintenance: status.maintenance ?? false, versionstring: '32.0.1' }));
    return true;
  });
}

/** The parts of config/local-fakes.yaml the tests change. */
interface EditableConfig {
  approvers: { users: string[]; groups: string[] };
  backends: Record<string, { url: string }>;
  policy: Record<string, unknown>;
  profiles?: Record<string, unknown>;
}

describe('/account doctor in Slack', () => {
  let desk: Desk;
  beforeEach(async () => {
    desk = await startDesk();
    serveStatus(desk);
    desk.slack.seedUser({ id: APPROVER, name: 'ann' });
    desk.slack.seedUser({ id: APPROVER2, name: 'bert' });
  });
  afterEach(async () => {
    await desk.stop();
  });

  it('answers an approver privately with one line per check, all passing on a sound setup', async () => {
    const answer = await desk.command(APPROVER, 'doctor');
    expect(answer).toContain('ok    slack  bot token: bot U0FAKEBOT1 in workspace Fake Team');
    expect(answer).toContain(`ok    slack  audit channel ${AUDIT}: the bot is a member`);
    expect(answer).toContain('ok    cloud  nextcloud: Nextcloud 32.0.1');
    expect(answer).toContain('ok    cloud  admin: admin is in the admin group');
    expect(answer).toContain('ok    nas  credentials: logged in as accountdesk with one login');
    expect(answer).toContain('ok    sso  credentials:');
    expect(answer).toContain('ok    store  audit chain:');
    expect(answer).toContain('ok    policy  approvers: 2 user(s), 1 group(s)');
    expect(answer).toMatch(/All \d+ checks passed \(\d+ warnings\)\./);
    // Plain http fakes and a test password that is not shaped like an app password: warnings with their fix.
    expect(answer).toContain('WARN  cloud  tls: plain http');
    expect(answer).toContain('WARN  cloud  app password: NEXTCLOUD_APP_PASSWORD does not look like an app password');
    // Only as a reply to the person who asked: nothing in any channel.
    expect(desk.slack.messagesIn(AUDIT).some((m) => m.text.includes('checks passed'))).toBe(false);
  });

  it('refuses anyone who is not an approver', async () => {
    expect(await desk.command(OUTSIDER, 'doctor')).toContain('Only approvers can run the doctor.');
  });
});

describe('npm run doctor', () => {
  let desk: Desk;
  let dir: string;
  let configFile: string;
  let config: EditableConfig;
  let status: { maintenance?: boolean; date?: string };

  beforeEach(async () => {
    desk = await startDesk();
    status = {};
    serveStatus(desk, status);
    desk.slack.seedUser({ id: APPROVER, name: 'ann' });
    desk.slack.seedUser({ id: APPROVER2, name: 'bert' });
    dir = mkdtempSync(join(tmpdir(), 'accountdesk-doctor-'));
    configFile = join(dir, 'accountdesk.yaml');
    config = parse(readFileSync(join(desk.dataDir, 'accountdesk.yaml'), 'utf8')) as EditableConfig;
  });
  afterEach(async () => {
    await desk.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the doctor with the deployment's environment, changed by `env`, and the config changed by `edit`. */
  async function doctor(env: Record<string, string | undefined> = {}, edit: (c: EditableConfig) => void = () => {}) {
    const copy = structuredClone(config);
    edit(copy);
    writeFileSync(configFile, stringify(copy));
    const result = await doctorCommand({
      SLACK_BOT_TOKEN: desk.slack.token,
      SLACK_MODE: 'http',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: desk.slack.apiUrl,
      CONFIG_FILE: configFile,
      STORE_URL: `sqlite://${join(desk.dataDir, 'store.sqlite')}`,
      ...SECRETS,
      ...env,
    });
    return { ...result, lines: result.report.split('\n') };
  }
  const line = (lines: string[], start: string) => lines.find((l) => l.startsWith(start)) ?? `(no line ${start})`;

  it('exits 0 when every check passes', async () => {
    const { code, report } = await doctor();
    expect(report).not.toContain('FAIL');
    expect(code).toBe(0);
  });

  it('a config error is reported as such, and nothing else is tried', async () => {
    const { code, lines } = await doctor({ NEXTCLOUD_APP_PASSWORD: undefined });
    expect(code).toBe(1);
    expect(lines[0]).toMatch(/^FAIL {2}config {2}NEXTCLOUD_APP_PASSWORD is not set/);
  });

  it('Slack: a refused bot token', async () => {
    const { code, lines } = await doctor({ SLACK_BOT_TOKEN: 'xoxb-not-the-token' });
    expect(code).toBe(1);
    expect(line(lines, 'FAIL  slack  bot token')).toBe(
      'FAIL  slack  bot token: auth.test failed (invalid_auth) -> fix: copy the Bot User OAuth Token (xoxb-...) ' +
        'again from OAuth & Permissions into SLACK_BOT_TOKEN',
    );
  });

  it('Slack: a scope the features need was not granted', async () => {
    desk.slack.setScopes(['commands', 'chat:write', 'usergroups:read', 'users:read', 'channels:read', 'groups:read']);
    const { code, lines } = await doctor();
    expect(code).toBe(1);
    expect(line(lines, 'FAIL  slack  scopes')).toContain('missing im:write -> fix: add them under OAuth & Permissions');
  });

  it('Slack: the bot is not in the audit channel', async () => {
    desk.slack.removeBotFrom(AUDIT);
    const { code, lines } = await doctor();
    expect(code).toBe(1);
    expect(line(lines, `FAIL  slack  audit channel ${AUDIT}`)).toContain('fix: type /invite @AccountDesk');
  });

  it('Slack: an approver and an approver group that do not exist', async () => {
    const { code, lines } = await doctor({}, (c) => {
      c.approvers = { users: [APPROVER, 'U0NOBODY99'], groups: ['S0NOSUCH'] };
    });
    expect(code).toBe(1);
    expect(line(lines, 'FAIL  slack  approver U0NOBODY99')).toContain('user_not_found -> fix: use the member ID');
    expect(line(lines, 'FAIL  slack  user group S0NOSUCH')).toContain(
      'no_such_subteam -> fix: check the user-group ID',
    );
  });

  it('Slack: the Socket Mode app token is refused', async () => {
    const { code, lines } = await doctor({
      SLACK_MODE: 'socket',
      SLACK_SIGNING_SECRET: undefined,
      SLACK_APP_TOKEN: 'xapp-1-not-the-app-token',
    });
    expect(code).toBe(1);
    expect(line(lines, 'FAIL  slack  app token')).toContain('apps.connections.open answered invalid_auth');
  });

  it('Nextcloud: a wrong app password costs exactly one request, and says how to fix it', async () => {
    const before = desk.nextcloud.requests.length;
    const { code, lines } = await doctor({ NEXTCLOUD_APP_PASSWORD: 'wrong-password' });
    expect(code).toBe(1);
    expect(line(lines, 'FAIL  cloud  credentials')).toContain('one attempt made, none repeated');
    expect(line(lines, 'FAIL  cloud  credentials')).toContain('fix: create an app password for admin');
    const withCredentials = desk.nextcloud.requests.slice(before).filter((r) => r.path.startsWith('/ocs/'));
    expect(withCredentials.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(['GET /ocs/v2.php/cloud/user 401']);
  });

  it('Nextcloud: an account outside the admin group', async () => {
    desk.nextcloud.users.get('admin')!.groups = ['staff'];
    const { code, lines } = await doctor();
    expect(code).toBe(1);
    expect(line(lines, 'FAIL  cloud  admin')).toContain('admin is not in the admin group (groups: staff)');
  });

  it('Nextcloud: maintenance mode, and a clock five minutes off', async () => {
    status.maintenance = true;
    status.date = new Date(Date.now() - 300_000).toUTCString();
    const { code, lines } = await doctor();
    expect(code).toBe(1);
    expect(line(lines, 'FAIL  cloud  nextcloud')).toContain('in maintenance mode');
    expect(line(lines, 'WARN  cloud  clock')).toMatch(/the server's clock is (299|300|301) s behind this host's/);
  });

  it('a backend that cannot be reached', async () => {
    const { code, lines } = await doctor({}, (c) => {
      c.backends.cloud = { ...c.backends.cloud, url: 'http://127.0.0.1:9' };
    });
    expect(code).toBe(1);
    expect(line(lines, 'FAIL  cloud  reachable')).toContain('could not be reached');
  });

  it('DSM: a wrong password costs exactly one login', async () => {
    const before = desk.dsm.calls('SYNO.API.Auth', 'login').length;
    const { code, lines } = await doctor({ DSM_PASSWORD: 'wrong' });
    expect(code).toBe(1);
    expect(line(lines, 'FAIL  nas  credentials')).toContain('code 400: wrong account or password (one attempt made');
    expect(desk.dsm.calls('SYNO.API.Auth', 'login').length - before).toBe(1);
  });

  it('DSM: 2-step verification without a device token', async () => {
    desk.dsm.options.otpRequired = true;
    const { code, lines } = await doctor();
    expect(code).toBe(1);
    expect(line(lines, 'FAIL  nas  credentials')).toContain('fix: run npm run synology:enroll');
  });

  it('DSM: an account outside administrators; sessions are logged out', async () => {
    desk.dsm.groups.get('administrators')!.delete('accountdesk');
    const sessions = desk.dsm.activeSessions();
    const { code, lines } = await doctor();
    expect(code).toBe(1);
    expect(line(lines, 'FAIL  nas  admin')).toContain('accountdesk is not in administrators');
    expect(desk.dsm.activeSessions()).toBe(sessions);
  });

  it('nmcuser_oidc: refused credentials', async () => {
    const { code, lines } = await doctor({ NMC_PASSWORD: 'wrong' });
    expect(code).toBe(1);
    expect(line(lines, 'FAIL  sso  credentials')).toContain('fix: put the right (app) password');
  });

  it('the store: an audit chain edited by hand', async () => {
    const [first] = await desk.app.store.audit.readAfter(0, 1).then(async (entries) => {
      if (entries.length > 0) return entries;
      await desk.app.store.audit.append({ event: 'requested', subject: 'AD-TEST01', actor: 'U1', data: {} });
      return desk.app.store.audit.readAfter(0, 1);
    });
    const KeyvSqlite = (await import('@keyv/sqlite')).default;
    const adapter = new KeyvSqlite({ uri: `sqlite://${join(desk.dataDir, 'store.sqlite')}` });
    await adapter.set('accountdesk:audit:1', JSON.stringify({ value: { ...first, actor: 'U0FORGED' } }));
    await adapter.disconnect();
    const { code, lines } = await doctor();
    expect(code).toBe(1);
    expect(line(lines, 'FAIL  store  audit chain')).toContain('broken at entry 1: entry 1 was edited');
  });

  it('the policy: nobody can approve; an action enabled that no backend can do', async () => {
    const { code, lines } = await doctor({}, (c) => {
      c.approvers = { users: [], groups: [] };
      delete c.backends.cloud;
      c.profiles = {}; // the example profile names cloud
      c.policy.reinvite = { enabled: true };
    });
    expect(code).toBe(1);
    expect(line(lines, 'FAIL  policy  approvers')).toContain('nobody can approve');
    expect(line(lines, 'FAIL  policy  action reinvite')).toContain('no configured backend can reinvite');
  });
});
