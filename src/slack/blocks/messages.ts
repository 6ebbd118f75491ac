/** Short texts: help, receipts, lists, audit-channel lines and DMs to requesters. Pure builders. */
import type { UserState } from '../../backends/types.js';
import { ACTION_KINDS } from '../../requests/actions/index.js';
import type { AuditEntry } from '../../store/types.js';
import type { AccountRequest, ActionName, Step } from '../../requests/types.js';
import { OFFBOARD_USAGE, ONBOARD_USAGE } from '../parse.js';
import { esc, mention, truncate, when, LIMITS } from '../text.js';
import { backendsOf, describeRequest, describeState } from './card.js';
import { timeLimitNote } from './schedule.js';

/** Usage of every offered action, each with the backends that can do it. */
export function helpText(
  command: string,
  offered: { action: ActionName; backends: string[] }[],
  plans: ('onboard' | 'offboard')[] = [],
  profiles: string[] = [],
): string {
  const usage = offered.map(
    ({ action, backends }) => `• \`${command} ${ACTION_KINDS[action].usage}\` (${backends.map(esc).join(', ')})`,
  );
  if (plans.includes('onboard')) {
    usage.push(`• \`${command} ${ONBOARD_USAGE}\` (profiles: ${profiles.map(esc).join(', ')})`);
  }
  if (plans.includes('offboard')) usage.push(`• \`${command} ${OFFBOARD_USAGE}\` (every backend)`);
  const lines = [
    '*AccountDesk* asks an approver before changing an account.',
    ...usage,
    `• \`${command} cancel <request id>\` withdraw your request`,
    `• \`${command} status <request id>\` where a request stands`,
    `• \`${command} pending\` your open requests, or (approvers) everything waiting`,
    `• \`${command} scheduled\` time limits still to run (approvers: all of them, with Cancel)`,
    `• \`${command} info <backend> <username>\` (approvers) an account's current state`,
    `• \`${command}\` alone opens a form.`,
    'Sizes: 50GB, 1.5 TB, 500 MiB or unlimited (1 GB = 1024 MB, as Nextcloud and DSM count). ' +
      'Groups: groups:staff,sales. Quote values with spaces: name:"Alice Smith". ' +
      'Time limits (create, onboard, quota): until:2027-03-31 or for:30d (h, d, w).',
  ];
  // Backend names come from the config; a very long list still fits one message (docs/slack.md#limits).
  return truncate(lines.join('\n'), LIMITS.fallbackText);
}

export function receiptText(request: AccountRequest): string {
  const approvals = request.approvalsRequired === 1 ? 'an approver' : `${request.approvalsRequired} approvers`;
  // A message's text stays within LIMITS.fallbackText (docs/slack.md#limits), whatever was typed.
  const what = truncate(`${esc(describeRequest(request))} on *${esc(backendsOf(request))}*`, LIMITS.sectionText);
  return (
    `:inbox_tray: Request *${request.id}* is in: ${what}. It waits for ${approvals}; ` +
    `you will get a DM when it is decided and when it is done. Cancel it with \`cancel ${request.id}\`.` +
    timeLimitNote(request)
  );
}

export function requestLine(request: AccountRequest): string {
  return truncate(
    `*${request.id}* ${esc(describeRequest(request))} on ` +
      `*${esc(backendsOf(request))}* · ${request.state} · asked by ` +
      `${mention(request.requester)} ${when(request.createdAt)}` +
      (request.state === 'pending' ? ` · ${request.approvals.length}/${request.approvalsRequired} approvals` : ''),
    LIMITS.sectionText,
  );
}

/**
 * A titled list of request lines. When `requests` is one page of a longer listing, `total` is how many the listing
 * holds from this page on (the "…and N more" count then covers the requests not read too) and `more` says how to
 * see them.
 */
export function listText(title: string, requests: AccountRequest[], total = requests.length, more = ''): string {
  if (requests.length === 0) return `${title}: none.`;
  // Whole lines only, at most 20, within one section's 3000 characters (docs/slack.md#limits). Cutting the joined
  // text instead split a line inside its <!date^...> token and dropped the "…and N more" count.
  const andMore = (hidden: number): string => `\n…and ${hidden} more${more ? `: ${more}` : '.'}`;
  const shown: string[] = [];
  let length = title.length + 2;
  for (const request of requests.slice(0, 20)) {
    const line = requestLine(request);
    if (length + 1 + line.length + andMore(Math.max(total, requests.length)).length > LIMITS.sectionText) break;
    shown.push(line);
    length += 1 + line.length;
  }
  const hidden = Math.max(total, requests.length) - shown.length;
  return truncate(`*${title}*\n${shown.join('\n')}${hidden > 0 ? andMore(hidden) : ''}`, LIMITS.sectionText);
}

export function infoText(backend: string, kind: string, username: string, state: UserState): string {
  return truncate(
    `*${esc(username)}* on *${esc(backend)}* (${esc(kind)}): ${esc(describeState(state))}`,
    LIMITS.fallbackText,
  );
}

const AUDIT_ICON: Record<string, string> = {
  requested: ':inbox_tray:',
  approved: ':ballot_box_with_check:',
  applied: ':white_check_mark:',
  failed: ':x:',
  rejected: ':no_entry:',
  expired: ':alarm_clock:',
  cancelled: ':heavy_multiplication_x:',
  retried: ':repeat:',
  partly_applied: ':warning:',
  'step-applied': ':heavy_check_mark:',
  'step-failed': ':x:',
  'step-skipped': ':heavy_minus_sign:',
  scheduled: ':calendar:',
  'schedule-notice': ':calendar:',
  'schedule-cancelled': ':heavy_multiplication_x:',
  reminded: ':hourglass:',
  escalated: ':rotating_light:',
  paused: ':double_vertical_bar:',
  resumed: ':arrow_forward:',
  stopped: ':heavy_multiplication_x:',
};

/** Entries that are bookkeeping, not news: they update the card but get no audit-channel line or DM. */
const QUIET_EVENTS = new Set(['previewed']);

/**
 * One audit-channel line per audit-log entry (none for bookkeeping such as a stored preview). Only data the domain
 * recorded (never a secret) is shown.
 */
export function auditLine(entry: AuditEntry): string | undefined {
  if (QUIET_EVENTS.has(entry.event)) return undefined;
  const d = entry.data;
  // A batch's rows stay in the log, but the channel gets the batch's own lines: thousands of rows would drown it.
  if (d.plan === 'batch' && entry.event.startsWith('step-')) return undefined;
  const what = `${esc(shown(d.action))} ${esc(shown(d.username))} on ${esc(shown(d.backend))}`;
  const actor = entry.actor === 'system' ? 'AccountDesk' : mention(entry.actor);
  let detail = '';
  if (entry.event === 'approved') detail = ` (${shown(d.approvals)}/${shown(d.required)})`;
  if (
    ['applied', 'step-applied', 'step-skipped', 'paused', 'resumed', 'stopped'].includes(entry.event) ||
    (entry.event === 'cancelled' && d.plan === 'batch')
  )
    detail = `: ${esc(shown(d.summary))}`;
  if (entry.event === 'failed' || entry.event === 'partly_applied' || entry.event === 'step-failed')
    detail = `: ${esc(shown(d.error))}`;
  if (entry.event.startsWith('step-')) detail = ` (step ${shown(d.step)} of ${shown(d.of)})${detail}`;
  if ((entry.event === 'rejected' || entry.event === 'requested' || entry.event === 'cancelled') && d.reason)
    detail = `: “${esc(shown(d.reason))}”`;
  if (entry.event === 'retried') detail = ` (attempt ${shown(d.attempt)})`;
  detail += scheduleDetail(entry);
  const by = entry.actor === 'system' && entry.event !== 'requested' ? '' : ` by ${actor}`;
  return truncate(
    `${AUDIT_ICON[entry.event] ?? '•'} \`${entry.subject}\` ` +
      `*${entry.event}*${by} — ${what}${detail} · #${entry.seq}`,
    LIMITS.sectionText,
  );
}

/**
 * What an audit line adds for scheduled steps: when the rest runs, when a scheduled step was due and how late it ran
 * (after downtime it runs at once and says so), what a notice or a cancel was about.
 */
function scheduleDetail(entry: AuditEntry): string {
  const d = entry.data;
  const at = typeof d.notBefore === 'string' ? when(d.notBefore) : 'later';
  if (entry.event === 'scheduled') return `: ${esc(shown(d.summary))}; the rest runs ${at}`;
  if (entry.event === 'schedule-notice') return `: the requester was told it runs ${at}`;
  if (entry.event === 'schedule-cancelled') {
    return `: ${shown(d.steps)} scheduled step(s) due ${at} will not run${d.reason ? ` (${esc(shown(d.reason))})` : ''}`;
  }
  if (!entry.event.startsWith('step-') || d.scheduled !== true) return '';
  const late = typeof d.lateMs === 'number' ? d.lateMs : 0;
  // The sweep finds a due step within seconds; a minute or more late means AccountDesk was not running.
  return late >= 60_000 ? ` · scheduled for ${at}, ran ${describeLate(late)} late` : ` · scheduled for ${at}`;
}

/** "3 h 20 min", "2 days 4 h": how late a scheduled step ran. */
function describeLate(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const parts = [days ? `${days} day${days === 1 ? '' : 's'}` : '', hours ? `${hours} h` : ''].filter(Boolean);
  if (minutes % 60 || parts.length === 0) parts.push(`${minutes % 60} min`);
  return parts.slice(0, 2).join(' ');
}

/** An audit-data value as text: the domain records strings and numbers; anything else is not shown. */
function shown(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
}

/** What the requester is told in a DM, per event; undefined = no DM for that event. */
export function requesterDm(entry: AuditEntry, request: AccountRequest): string | undefined {
  const text = requesterDmText(entry, request);
  return text === undefined ? undefined : truncate(text, LIMITS.fallbackText);
}

function requesterDmText(entry: AuditEntry, request: AccountRequest): string | undefined {
  const described = truncate(`${esc(describeRequest(request))} on ${esc(backendsOf(request))}`, LIMITS.sectionText);
  const what = `${request.id} (${described})`;
  switch (entry.event) {
    case 'approved':
      return (entry.data as { complete?: boolean }).complete
        ? `:ballot_box_with_check: Your request ${what} was approved by ${mention(entry.actor)}; applying it now.`
        : undefined;
    case 'applied':
      return `:white_check_mark: Done: ${what}. ${esc(shown(entry.data.summary))}`;
    case 'scheduled':
      return (
        `:white_check_mark: Done: ${what}. ${esc(shown(entry.data.summary))}` +
        `\nAs approved, the rest runs ${typeof entry.data.notBefore === 'string' ? when(entry.data.notBefore) : 'later'}.`
      );
    case 'schedule-cancelled':
      return entry.data.reason
        ? `:calendar: What was scheduled on ${what} will not run: ${esc(shown(entry.data.reason))}.`
        : `:heavy_multiplication_x: ${mention(entry.actor)} cancelled what was scheduled on ${what}.`;
    case 'failed':
      return `:x: Your request ${what} failed: ${esc(shown(entry.data.error))} An approver can retry it.`;
    case 'partly_applied':
      return (
        `:warning: Your request ${what} was only partly applied: ${esc(shown(entry.data.error))}. ` +
        'An approver can retry the failed steps.'
      );
    case 'rejected':
      return (
        `:no_entry: Your request ${what} was rejected by ${mention(entry.actor)}: ` +
        `“${esc(shown(entry.data.reason))}”`
      );
    case 'expired':
      return `:alarm_clock: Your request ${what} expired: nobody decided in time. Ask again if it is still needed.`;
    case 'stopped':
      return (
        `:heavy_multiplication_x: Your batch ${what} was cancelled by an approver: ` +
        `${esc(shown(entry.data.summary))}.`
      );
    case 'cancelled':
      return entry.actor === request.requester
        ? undefined
        : `:heavy_multiplication_x: Your request ${what} was given up by ${mention(entry.actor)}.`;
    default:
      return undefined;
  }
}

export function passwordText(request: AccountRequest, step: Step, password: string): string {
  // The names are capped so the message stays within LIMITS.fallbackText; the password itself is never cut.
  const account = truncate(`*${esc(request.username)}* on *${esc(backendsOf(request))}*`, LIMITS.sectionText);
  return (
    `:key: The account ${account} (${request.id}) was created with this one-time password:\n` +
    `\`${esc(password)}\`\n` +
    'This message is shown once, only to you, and is stored nowhere. ' +
    'Pass it on privately and ask the person to change it at first login.'
  );
}
