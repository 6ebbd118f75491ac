/**
 * The doctor's Slack checks: the bot token (auth.test), the scopes it was granted against what the enabled
 * features need (Slack returns them in the x-oauth-scopes header, which @slack/web-api exposes as
 * response_metadata.scopes), the bot's membership of the approvals and audit channels (conversations.info,
 * is_member), each approver user (users.info) and user group (usergroups.users.list), and in Socket Mode the
 * app-level token (apps.connections.open: a URL is issued and never connected to). Reads only.
 */
import { webApi } from '@slack/bolt';
import type { DiagnosisCheck } from '../backends/types.js';
import type { SlackSettings } from '../config/load.js';
import { slackErrorCode } from './surface.js';

export interface SlackDoctorInput {
  settings: SlackSettings;
  approvers: { users: string[]; groups: string[] };
  requesters?: { users: string[]; groups: string[] };
}

/** Scopes every deployment needs (manifest/*.yaml says which call each is for). */
const NEEDED_SCOPES = ['commands', 'chat:write', 'im:write'];

export async function diagnoseSlack(input: SlackDoctorInput): Promise<DiagnosisCheck[]> {
  const { settings } = input;
  const options = {
    ...(settings.apiUrl
      ? { slackApiUrl: settings.apiUrl.endsWith('/') ? settings.apiUrl : `${settings.apiUrl}/` }
      : {}),
    timeout: 10_000,
    retryConfig: { retries: 0 },
  };
  const client = new webApi.WebClient(settings.botToken, options);
  const checks: DiagnosisCheck[] = [];

  let scopes: Set<string>;
  try {
    const auth = await client.auth.test();
    checks.push({
      check: 'bot token',
      status: 'ok',
      detail: `bot ${auth.user_id ?? '?'} in workspace ${auth.team ?? '?'}`,
    });
    scopes = new Set(auth.response_metadata?.scopes ?? []);
  } catch (err) {
    checks.push({
      check: 'bot token',
      status: 'fail',
      detail: `auth.test failed (${slackErrorCode(err) ?? String(err)})`,
      fix: 'copy the Bot User OAuth Token (xoxb-...) again from OAuth & Permissions into SLACK_BOT_TOKEN',
    });
    return checks;
  }

  const groups = [...input.approvers.groups, ...(input.requesters?.groups ?? [])];
  const needed = [...NEEDED_SCOPES, ...(groups.length > 0 ? ['usergroups:read'] : [])];
  const missing = needed.filter((scope) => !scopes.has(scope));
  checks.push(
    missing.length === 0
      ? { check: 'scopes', status: 'ok', detail: `granted: ${[...scopes].sort().join(', ')}` }
      : {
          check: 'scopes',
          status: 'fail',
          detail: `missing ${missing.join(', ')}`,
          fix: 'add them under OAuth & Permissions > Scopes (or paste manifest/*.yaml again), then reinstall the app',
        },
  );

  for (const [role, channel] of [
    ['approvals channel', settings.approvalsChannel],
    ['audit channel', settings.auditChannel],
  ] as const) {
    checks.push(await membership(client, role, channel));
  }
  for (const user of input.approvers.users) checks.push(await approverUser(client, user));
  for (const group of groups) checks.push(await userGroup(client, group));
  if (settings.mode === 'socket') checks.push(await appToken(settings, options));
  return checks;
}

async function membership(client: webApi.WebClient, role: string, channel: string): Promise<DiagnosisCheck> {
  const check = `${role} ${channel}`;
  try {
    const info = await client.conversations.info({ channel });
    if (info.channel?.is_member)
      return { check, status: 'ok', detail: `the bot is a member of #${info.channel.name ?? channel}` };
    return {
      check,
      status: 'fail',
      detail: 'the bot is not a member: cards and audit lines cannot be posted there',
      fix: `type /invite @AccountDesk in that channel`,
    };
  } catch (err) {
    return slackCallFailed(check, 'conversations.info', err, {
      missingScope: {
        detail: 'not checked: reading a channel needs channels:read (public) or groups:read (private)',
        fix: 'add channels:read and groups:read (in manifest/*.yaml) and reinstall the app',
      },
      fixFor: (code) =>
        code === 'channel_not_found'
          ? 'check the channel ID in the config (channel details > About); ' +
            'for a private channel, /invite @AccountDesk first'
          : undefined,
    });
  }
}

async function approverUser(client: webApi.WebClient, user: string): Promise<DiagnosisCheck> {
  const check = `approver ${user}`;
  try {
    const info = await client.users.info({ user });
    if (info.user?.deleted) {
      return { check, status: 'fail', detail: 'this account is deactivated', fix: 'remove it from approvers.users' };
    }
    return { check, status: 'ok', detail: `exists (${info.user?.name ?? user})` };
  } catch (err) {
    return slackCallFailed(check, 'users.info', err, {
      missingScope: { detail: 'not checked: users.info needs users:read', fix: 'add users:read and reinstall the app' },
      fixFor: (code) =>
        code === 'user_not_found' ? 'use the member ID from the profile (... > Copy member ID)' : undefined,
    });
  }
}

async function userGroup(client: webApi.WebClient, group: string): Promise<DiagnosisCheck> {
  const check = `user group ${group}`;
  try {
    const members = (await client.usergroups.users.list({ usergroup: group })).users ?? [];
    return members.length > 0
      ? { check, status: 'ok', detail: `${members.length} member(s)` }
      : { check, status: 'warn', detail: 'the group is empty: nobody in it can approve or ask' };
  } catch (err) {
    return slackCallFailed(check, 'usergroups.users.list', err, {
      fixFor: (code) => (code === 'no_such_subteam' ? 'check the user-group ID (S...) in the config' : undefined),
    });
  }
}

/**
 * A check whose Slack call failed: a missing scope only means "not checked" (a warning saying which scope to add);
 * any other error fails the check, naming the method and Slack's error code, with the fix for the codes we know.
 */
function slackCallFailed(
  check: string,
  method: string,
  err: unknown,
  options: { missingScope?: { detail: string; fix: string }; fixFor: (code: string | undefined) => string | undefined },
): DiagnosisCheck {
  const code = slackErrorCode(err);
  if (code === 'missing_scope' && options.missingScope) return { check, status: 'warn', ...options.missingScope };
  return {
    check,
    status: 'fail',
    detail: `${method} answered ${code ?? String(err)}`,
    fix: options.fixFor(code) ?? 'see the Slack error',
  };
}

async function appToken(settings: SlackSettings, options: webApi.WebClientOptions): Promise<DiagnosisCheck> {
  try {
    await new webApi.WebClient(settings.appToken, options).apps.connections.open();
    return { check: 'app token', status: 'ok', detail: 'Socket Mode can connect (apps.connections.open)' };
  } catch (err) {
    return {
      check: 'app token',
      status: 'fail',
      detail: `apps.connections.open answered ${slackErrorCode(err) ?? String(err)}`,
      fix:
        'create an app-level token with connections:write (Basic Information > App-Level Tokens) ' +
        'for SLACK_APP_TOKEN',
    };
  }
}
