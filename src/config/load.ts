/**
 * loadConfig: reads the environment and the config file once, at start-up, and fails fast with every problem
 * listed: which variable or field, what is wrong, how to fix it. A secret's value is never part of a message.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import type { BackendConfig } from '../backends/registry.js';
import type { ActionPolicy, PolicySettings } from '../requests/policy.js';
import { POLICY_NAMES, type PolicyName } from '../requests/types.js';
import { ACTION_KINDS } from '../requests/actions/index.js';
import type { PaceSettings } from '../requests/pacing.js';
import type { Profiles } from '../requests/plans.js';
import type { ReminderPolicy } from '../requests/reminders.js';
import { configFileSchema, envSchema, type ActionPolicyInput, type RemindersInput } from './schema.js';

export interface SlackSettings {
  mode: 'socket' | 'http';
  botToken: string;
  appToken?: string;
  signingSecret?: string;
  port: number;
  apiUrl?: string;
  command: string;
  approvalsChannel: string;
  auditChannel: string;
  /** The outbox's pace of chat.postMessage per channel (src/slack/post-pacing.ts). */
  postPace?: { perSecond: number; burst: number };
}

export interface Config {
  slack: SlackSettings;
  storeUrl?: string;
  /** Socket Mode: the port of /healthz, /readyz and /metrics (HTTP mode serves them on PORT). Unset: none. */
  healthPort?: number;
  /** Key prefix in the store, so several deployments can share one Redis. */
  storeNamespace: string;
  log: { level: string; pretty: boolean };
  policy: PolicySettings;
  /** Onboarding profiles, checked against the backends named in the config. */
  profiles: Profiles;
  /** The engine's pacing per backend name (unset: per backend kind). */
  pacing: Record<string, PaceSettings>;
  /** Each backend's config with the secret read from the env var it names. */
  backends: Record<string, { config: BackendConfig; secret: string }>;
  /** Every secret value, so the logger can scrub it wherever it appears. */
  secrets: string[];
  configFile: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`AccountDesk cannot start:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const WHERE_SLACK = 'see manifest/ to create the Slack app and .env.example for every variable';

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const envResult = envSchema.safeParse(env);
  if (!envResult.success) throw new ConfigError(describeIssues(envResult.error, 'environment variable ', true));
  const e = envResult.data;

  const problems: string[] = [];
  if (!e.SLACK_BOT_TOKEN)
    problems.push(
      `SLACK_BOT_TOKEN is not set: the bot token (xoxb-...) from the Slack ` +
        `app's OAuth & Permissions page; ${WHERE_SLACK}`,
    );
  const mode = e.SLACK_MODE ?? (e.SLACK_APP_TOKEN || !e.SLACK_SIGNING_SECRET ? 'socket' : 'http');
  if (mode === 'socket' && !e.SLACK_APP_TOKEN) {
    problems.push(
      `SLACK_APP_TOKEN is not set: Socket Mode (the default) needs an ` +
        `app-level token (xapp-...) with connections:write from Basic ` +
        `Information > App-Level Tokens. For HTTP mode set SLACK_SIGNING_SECRET ` +
        `instead; ${WHERE_SLACK}`,
    );
  }
  if (mode === 'http' && !e.SLACK_SIGNING_SECRET) {
    problems.push(
      `SLACK_SIGNING_SECRET is not set: HTTP mode needs the signing secret ` +
        `from Basic Information > App Credentials; ${WHERE_SLACK}`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const configFile = resolve(e.CONFIG_FILE);
  const file = readConfigFile(configFile);
  const parsed = configFileSchema.safeParse(file);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error, `${e.CONFIG_FILE}: `, false));
  const config = parsed.data;

  const backends: Config['backends'] = {};
  for (const [name, backend] of Object.entries(config.backends)) {
    const secret = env[backend.secretEnv];
    if (!secret) {
      problems.push(
        `${backend.secretEnv} is not set: ${e.CONFIG_FILE} says it holds the ` +
          `password of "${backend.user}" on backend "${name}". Put it in .env.`,
      );
      continue;
    }
    backends[name] = { config: backend, secret };
  }
  for (const [action, policy] of Object.entries(config.policy)) {
    if (action === 'defaults' || !policy || !('rules' in policy)) continue;
    for (const [i, rule] of (policy as ActionPolicyInput).rules.entries()) {
      for (const name of rule.backends ?? []) {
        if (!(name in config.backends))
          problems.push(
            `${e.CONFIG_FILE}: policy.${action}.rules.${i}.backends names "${name}", which is not under backends.`,
          );
      }
      for (const name of rule.profiles ?? []) {
        if (!(name in config.profiles))
          problems.push(
            `${e.CONFIG_FILE}: policy.${action}.rules.${i}.profiles names "${name}", which is not under profiles.`,
          );
      }
    }
  }
  const policyInput = config.policy as {
    defaults: {
      approvals: number;
      expiresAfter: number;
      maxAhead?: number;
      noticeBefore?: number;
      reminders: RemindersInput;
    };
  } & Partial<Record<PolicyName, ActionPolicyInput>>;
  // Each entry that sets reminders of its own is checked with the defaults it inherits, and the defaults once.
  for (const name of ['defaults', ...POLICY_NAMES.filter((n) => policyInput[n]?.reminders !== undefined)] as const) {
    const merged =
      name === 'defaults'
        ? mergedReminders(undefined, policyInput.defaults.reminders)
        : mergedReminders(policyInput[name]?.reminders, policyInput.defaults.reminders);
    if (merged?.escalateAfter !== undefined && !merged.escalateTo) {
      problems.push(
        `${e.CONFIG_FILE}: policy.${name}.reminders.escalateAfter is set but there is nobody to escalate to: ` +
          'add escalateTo (users, a channel, or both).',
      );
    }
  }
  for (const [profile, accounts] of Object.entries(config.profiles)) {
    if (Object.keys(accounts).length === 0)
      problems.push(`${e.CONFIG_FILE}: profiles.${profile} names no backend; give it at least one account.`);
    for (const name of Object.keys(accounts)) {
      if (!(name in config.backends))
        problems.push(
          `${e.CONFIG_FILE}: profiles.${profile}.${name}: there is no backend named "${name}" under backends.`,
        );
    }
  }
  for (const name of Object.keys(config.pacing)) {
    if (!(name in config.backends))
      problems.push(`${e.CONFIG_FILE}: pacing.${name}: there is no backend named "${name}" under backends.`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const actions = Object.fromEntries(
    POLICY_NAMES.map((name): [PolicyName, ActionPolicy] => {
      const own = policyInput[name];
      // Onboarding is offered once profiles exist; offboarding disables, which every backend can do.
      const enabledByDefault =
        name === 'onboard' || name === 'offboard' || name === 'batch' ? true : ACTION_KINDS[name].enabledByDefault;
      return [
        name,
        {
          enabled: own?.enabled ?? enabledByDefault,
          approvals: own?.approvals ?? policyInput.defaults.approvals,
          expiresAfterMs: own?.expiresAfter ?? policyInput.defaults.expiresAfter,
          maxAheadMs: own?.maxAhead ?? policyInput.defaults.maxAhead,
          noticeBeforeMs: own?.noticeBefore ?? policyInput.defaults.noticeBefore,
          rules: (own?.rules ?? []).map((r) => ({
            approvals: r.approvals,
            quotaAboveBytes: r.quotaAbove ?? undefined,
            backends: r.backends,
            profiles: r.profiles,
            rowsAbove: r.rowsAbove,
          })),
          ...reminderPolicy(mergedReminders(own?.reminders, policyInput.defaults.reminders)),
        },
      ];
    }),
  ) as Record<PolicyName, ActionPolicy>;
  const profiles: Profiles = Object.fromEntries(
    Object.entries(config.profiles).map(([profile, accounts]) => [
      profile,
      Object.fromEntries(
        Object.entries(accounts).map(([backend, account]) => [
          backend,
          {
            ...(account.quota !== undefined ? { quotaBytes: account.quota } : {}),
            ...(account.groups ? { groups: account.groups } : {}),
          },
        ]),
      ),
    ]),
  );

  const secrets = [
    e.SLACK_BOT_TOKEN,
    e.SLACK_APP_TOKEN,
    e.SLACK_SIGNING_SECRET,
    ...Object.values(backends).map((b) => b.secret),
    // A DSM 2FA device token logs in without the one-time code: as secret as the password.
    ...Object.values(backends).map((b) =>
      'deviceIdEnv' in b.config && b.config.deviceIdEnv ? env[b.config.deviceIdEnv] : undefined,
    ),
    passwordIn(e.STORE_URL),
  ].filter((s): s is string => Boolean(s));

  return {
    slack: {
      mode,
      botToken: e.SLACK_BOT_TOKEN!,
      appToken: e.SLACK_APP_TOKEN,
      signingSecret: e.SLACK_SIGNING_SECRET,
      port: e.PORT,
      apiUrl: e.SLACK_API_URL,
      command: config.slack.command,
      approvalsChannel: config.slack.approvalsChannel,
      auditChannel: config.slack.auditChannel,
      postPace: { perSecond: config.slack.postsPerSecond, burst: config.slack.postBurst },
    },
    storeUrl: e.STORE_URL,
    healthPort: e.HEALTH_PORT,
    storeNamespace: e.STORE_NAMESPACE,
    log: { level: e.LOG_LEVEL, pretty: e.LOG_PRETTY === '1' || e.LOG_PRETTY === 'true' },
    policy: { approvers: config.approvers, requesters: config.requesters, actions },
    profiles,
    pacing: config.pacing,
    backends,
    secrets,
    configFile,
  };
}

/** Reminders when the policy entry gives none: 4 hours after the request, no escalation. */
const DEFAULT_REMIND_AFTER_MS = 4 * 3_600_000;

type RemindersObject = Exclude<RemindersInput, 'none'>;

/** An action's own reminder keys over the defaults' (`none` in either switches them off); undefined = off. */
function mergedReminders(own: RemindersInput | undefined, defaults: RemindersInput): RemindersObject | undefined {
  if (own === 'none' || (own === undefined && defaults === 'none')) return undefined;
  return { ...(defaults === 'none' ? {} : defaults), ...own };
}

function reminderPolicy(input: RemindersObject | undefined): { reminders?: ReminderPolicy } {
  if (!input) return {};
  const afterMs = input.after ?? DEFAULT_REMIND_AFTER_MS;
  return {
    reminders: {
      afterMs,
      ...(input.escalateTo ? { escalation: { afterMs: input.escalateAfter ?? afterMs, to: input.escalateTo } } : {}),
      ...(input.businessHours
        ? {
            businessHours: {
              days: input.businessHours.days,
              fromMinute: input.businessHours.from,
              toMinute: input.businessHours.to,
              timeZone: input.businessHours.timeZone,
            },
          }
        : {}),
    },
  };
}

function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError([
      code === 'ENOENT'
        ? `The config file ${path} does not exist. Copy config/accountdesk.example.yaml ` +
          `there (or set CONFIG_FILE) and fill it in.`
        : `The config file ${path} cannot be read (${code}).`,
    ]);
  }
  try {
    // YAML is a superset of JSON: one parser reads both.
    return parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new ConfigError([`${path} is not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`]);
  }
}

/** One readable line per problem: where, what is wrong. Secrets (env values) are never quoted. */
function describeIssues(error: z.ZodError, prefix: string, isEnv: boolean): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      message =
        `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}: check the ` +
        `spelling against config/accountdesk.example.yaml`;
    } else if (issue.code === 'invalid_union' && path.startsWith('backends.')) {
      message = 'kind must be one of nextcloud, nmcuser_oidc, user_oidc, synology (and the fields must fit that kind)';
    } else if (issue.code === 'invalid_union' && path.endsWith('.reminders')) {
      message = 'must be none, or settings such as { after: 4h } (see config/accountdesk.example.yaml)';
    } else if (issue.code === 'invalid_key') {
      // A record key that fails its rule (a profile named "Bad Name"): zod 4 nests the rule's own words inside.
      message = issue.issues.map((inner) => inner.message).join('; ');
    } else if (issue.code === 'invalid_type') {
      // zod 4 leaves `input` out of issues (good: no value, secret or not, is echoed), so `input === undefined`
      // held for EVERY type error and `quotaAbove: 100` was reported as "is missing". Its default message says
      // "received undefined" only when the field is absent.
      const missing = issue.input !== undefined ? false : /received undefined$/.test(issue.message);
      message = missing ? 'is missing' : `has the wrong type: ${issue.message.replace(/^Invalid input: /, '')}`;
    }
    return isEnv ? `${prefix}${path} ${message}` : `${prefix}${path || '(top level)'}: ${message}`;
  });
}

/** The password inside a URL such as redis://:secret@host:6379 (decoded), if any. */
function passwordIn(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const password = new URL(url).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}
