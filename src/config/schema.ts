/**
 * The config file's shape (YAML or JSON; config/accountdesk.example.yaml documents every key). Every object is
 * strict: an unknown key is an error, because a typo such as `aprovals:` must not silently drop a rule.
 */
import { z } from 'zod';
import { backendConfigSchema } from '../backends/registry.js';
import { parseDuration } from '../requests/schedule.js';
import { isKnownTimeZone, WEEKDAYS } from '../requests/business-hours.js';
import { parseQuota } from '../requests/sizes.js';
import { POLICY_NAMES } from '../requests/types.js';

const slackUserId = z
  .string()
  .regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user ID such as U0123ABCD (profile > ... > Copy member ID)');
const slackGroupId = z.string().regex(/^S[A-Z0-9]{2,}$/, 'must be a Slack user-group ID such as S0123ABCD');
const slackChannelId = z
  .string()
  .regex(/^[CG][A-Z0-9]{2,}$/, 'must be a channel ID such as C0123ABCD (channel details > About), not a #name');

const people = z.strictObject({
  users: z.array(slackUserId).default([]),
  groups: z.array(slackGroupId).default([]),
});

/** "72h", "3d", "30m" -> milliseconds. */
const duration = z
  .string()
  .regex(/^\d+\s*[mhd]$/, 'must be a duration such as 30m, 72h or 7d')
  .transform(
    (text) =>
      Number.parseInt(text, 10) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[text.trim().slice(-1) as 'm' | 'h' | 'd'],
  )
  .refine((ms) => ms >= 60_000 && ms <= 90 * 86_400_000, 'must be between 1 minute and 90 days');

/** Time limits (`until:` / `for:`): "2w", "30d", "12h" -> milliseconds, parsed as requests parse them. */
const timeLimit = z.string().transform((text, ctx) => {
  const parsed = parseDuration(text);
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: parsed.message });
    return z.NEVER;
  }
  return parsed.value;
});

const size = z.string().transform((text, ctx) => {
  const parsed = parseQuota(text);
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: parsed.message });
    return z.NEVER;
  }
  return parsed.bytes;
});

const approvals = z.number().int('must be a whole number').min(1, 'must be at least 1').max(10, 'must be at most 10');

const rule = z.strictObject({
  /** The rule applies when the requested quota is above this size (or unlimited). */
  quotaAbove: size.optional(),
  /** The rule applies to these backends only. */
  backends: z.array(z.string()).optional(),
  /** The rule applies to onboardings with these profiles only (policy.onboard). */
  profiles: z.array(z.string()).optional(),
  /** The rule applies to batches of more than this many rows (policy.batch). */
  rowsAbove: z.number().int('must be a whole number').min(1).optional(),
  approvals,
});

/** What one profile gives a person on one backend: `cloud: { groups: [staff], quota: 10GB }`. */
const profileAccount = z.strictObject({
  quota: size.optional(),
  groups: z.array(z.string().min(1)).optional(),
});

/** How fast the engine may call one backend (defaults per kind: src/requests/pacing.ts). */
const pace = z.strictObject({
  concurrency: z.number().int('must be a whole number').min(1).max(16),
  minIntervalMs: z.number().int('must be a whole number').min(0).max(600_000).default(0),
});

/** "09:00" -> 540 (minutes after midnight); "24:00" is the end of the day. */
const timeOfDay = z
  .string()
  .regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'must be a time of day such as 09:00 or 17:30 (24-hour clock)')
  .transform((text) => Number.parseInt(text.slice(0, 2), 10) * 60 + Number.parseInt(text.slice(3), 10));

/** Only the time inside these hours counts towards a reminder (requests/business-hours.ts). */
const businessHours = z
  .strictObject({
    days: z.array(z.enum(WEEKDAYS)).min(1, 'name at least one day').default(['mon', 'tue', 'wed', 'thu', 'fri']),
    from: timeOfDay,
    to: timeOfDay,
    timeZone: z.string().refine(isKnownTimeZone, 'must be an IANA time zone such as Europe/Paris or UTC'),
  })
  .refine((hours) => hours.from < hours.to, { message: 'must be later than from', path: ['to'] });

/** `none`, or when to remind the approvers of an undecided request and whom to escalate it to after that. */
const reminders = z.union([
  z.literal('none'),
  z.strictObject({
    after: duration.optional(),
    escalateAfter: duration.optional(),
    escalateTo: z
      .strictObject({ users: z.array(slackUserId).default([]), channel: slackChannelId.optional() })
      .refine((to) => to.users.length > 0 || to.channel !== undefined, 'name users, a channel, or both')
      .optional(),
    businessHours: businessHours.optional(),
  }),
]);

const actionPolicy = z.strictObject({
  enabled: z.boolean().optional(),
  approvals: approvals.optional(),
  expiresAfter: duration.optional(),
  rules: z.array(rule).default([]),
  maxAhead: timeLimit.optional(),
  noticeBefore: timeLimit.optional(),
  reminders: reminders.optional(),
});

export const configFileSchema = z.strictObject({
  slack: z.strictObject({
    /** The slash command, as in the manifest (at most 32 characters, docs/slack.md#limits). */
    command: z
      .string()
      .regex(/^\/[a-z0-9_-]{1,31}$/, 'must be a slash command such as /account (lower case, at most 32 characters)')
      .default('/account'),
    approvalsChannel: slackChannelId,
    auditChannel: slackChannelId,
    /** chat.postMessage per channel: Slack allows about 1 per second with short bursts (docs/slack.md). */
    postsPerSecond: z.number().positive('must be above 0').max(1000).default(1),
    postBurst: z.number().int('must be a whole number').min(1).max(1000).default(3),
  }),
  approvers: people,
  /** Who may ask for changes. Leave out to let everyone in the workspace ask. */
  requesters: people.optional(),
  policy: z
    .strictObject({
      defaults: z
        .strictObject({
          approvals: approvals.default(1),
          expiresAfter: duration.default(72 * 3_600_000),
          maxAhead: timeLimit.optional(),
          noticeBefore: timeLimit.optional(),
          reminders: reminders.default({}),
        })
        .default({ approvals: 1, expiresAfter: 72 * 3_600_000, reminders: {} }),
      ...Object.fromEntries(POLICY_NAMES.map((name) => [name, actionPolicy.optional()])),
    })
    .default({ defaults: { approvals: 1, expiresAfter: 72 * 3_600_000, reminders: {} } }),
  backends: z
    .record(
      z
        .string()
        .regex(
          /^[a-z][a-z0-9_-]{0,31}$/,
          'backend names are lower case letters, digits, - and _ (at most 32), e.g. cloud or nas',
        ),
      backendConfigSchema,
    )
    .refine((backends) => Object.keys(backends).length > 0, 'name at least one backend'),
  /**
   * Profiles for `/account onboard`: profile name -> backend name -> the account a person of that kind gets,
   * e.g. staff: { cloud: { groups: [staff], quota: 10GB }, nas: { groups: [users], quota: 50GB } }.
   */
  profiles: z
    .record(
      z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'profile names are lower case letters, digits, - and _'),
      z.record(z.string(), profileAccount),
    )
    .default({}),
  /** Per backend name: how many calls at once and how far apart (the engine's pacing). */
  pacing: z.record(z.string(), pace).default({}),
});

export type ActionPolicyInput = z.infer<typeof actionPolicy>;
export type RemindersInput = z.infer<typeof reminders>;

/** The environment: only names and shapes; values of secrets are never echoed in an error. */
export const envSchema = z.object({
  SLACK_BOT_TOKEN: z
    .string()
    .regex(/^xoxb-/, 'must be a bot token starting with xoxb- (OAuth & Permissions page)')
    .optional(),
  SLACK_APP_TOKEN: z
    .string()
    .regex(
      /^xapp-/,
      'must be an app-level token starting with xapp- (Basic Information > App-Level Tokens, scope connections:write)',
    )
    .optional(),
  SLACK_SIGNING_SECRET: z
    .string()
    .min(16, 'looks too short for a signing secret (Basic Information > App Credentials)')
    .optional(),
  SLACK_MODE: z.enum(['socket', 'http']).optional(),
  SLACK_API_URL: z.url({ protocol: /^https?$/ }).optional(),
  PORT: z.coerce.number().int().min(1).max(65_535).default(3000),
  HEALTH_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  CONFIG_FILE: z.string().default('config/accountdesk.yaml'),
  STORE_URL: z.string().optional(),
  STORE_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only (at most 64)')
    .default('accountdesk'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: z.string().optional(),
});
