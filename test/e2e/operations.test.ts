/** What an operator relies on: the health check, the manifests, the start-up warnings. */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startDesk, type Desk } from './harness.js';

describe('GET /healthz (HTTP mode)', () => {
  let desk: Desk | undefined;
  afterEach(async () => {
    await desk?.stop().catch(() => undefined);
    desk = undefined;
  });

  it('answers 200 while the bot and its store work, 503 when the store is gone', async () => {
    desk = await startDesk();
    const ok = await fetch(`${desk.baseUrl}/healthz`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('ok\n');

    await desk.app.store.close();
    const down = await fetch(`${desk.baseUrl}/healthz`);
    expect(down.status).toBe(503);
    expect(await down.text()).toBe('store unavailable\n');
  });

  it('warns at start-up when nobody can approve (fail closed)', async () => {
    desk = await startDesk({ approvers: { users: [], groups: [] } });
    expect(desk.logs.join('')).toMatch(/No approvers are configured: every request will wait until it expires/);
  });
});

/** The parts of a Slack app manifest these tests read (https://api.slack.com/reference/manifests). */
interface SlackManifest {
  oauth_config: { scopes: { bot: string[] } };
  settings: {
    event_subscriptions: { bot_events: string[]; request_url?: string };
    interactivity: { is_enabled: boolean; request_url?: string };
    socket_mode_enabled: boolean;
  };
  features: {
    app_home: { home_tab_enabled: boolean };
    slash_commands: { command: string; url?: string; should_escape: boolean }[];
  };
}

describe('the Slack app manifests', () => {
  const load = (file: string) =>
    parse(readFileSync(new URL(`../../manifest/${file}`, import.meta.url), 'utf8')) as SlackManifest;
  const socket = load('socket-mode.yaml');
  const http = load('http.yaml');
  const example = parse(readFileSync(new URL('../../config/accountdesk.example.yaml', import.meta.url), 'utf8')) as {
    slack: { command: string };
  };

  it('ask for exactly the scopes the app uses', () => {
    // chat:write: cards, audit lines, DMs, ephemeral messages; im:write: conversations.open for DMs;
    // usergroups:read: usergroups.users.list for approver groups; commands: the slash command; users:read,
    // channels:read, groups:read: the doctor's users.info and conversations.info (approvers exist, bot in channels);
    // files:read, files:write: a batch's CSV file (files.info) and its CSV report (the external upload).
    for (const manifest of [socket, http]) {
      expect([...manifest.oauth_config.scopes.bot].sort()).toEqual([
        'channels:read',
        'chat:write',
        'commands',
        'files:read',
        'files:write',
        'groups:read',
        'im:write',
        'usergroups:read',
        'users:read',
      ]);
      expect(manifest.settings.event_subscriptions.bot_events).toEqual(['app_home_opened']);
      expect(manifest.settings.interactivity.is_enabled).toBe(true);
      expect(manifest.features.app_home.home_tab_enabled).toBe(true);
    }
  });

  it('name the same slash command as the example config, with Slack escaping on', () => {
    for (const manifest of [socket, http]) {
      const [command] = manifest.features.slash_commands;
      if (!command) throw new Error('the manifest declares no slash command');
      expect(command.command).toBe(example.slack.command);
      expect(command.command.length).toBeLessThanOrEqual(32);
      expect(command.should_escape).toBe(true);
    }
  });

  it('Socket Mode by default; HTTP mode points every URL at /slack/events', () => {
    expect(socket.settings.socket_mode_enabled).toBe(true);
    expect(http.settings.socket_mode_enabled).toBe(false);
    const urls = [
      http.features.slash_commands[0]?.url,
      http.settings.event_subscriptions.request_url,
      http.settings.interactivity.request_url,
    ];
    for (const url of urls) expect(url).toMatch(/^https:\/\/YOUR-HOST\/slack\/events$/);
  });
});
