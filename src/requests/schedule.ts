/**
 * Time limits in a person's words: `until:2027-03-31` and `for:30d`, parsed strictly into the moment a scheduled
 * step becomes due (docs/architecture.md#scheduled-steps). Pure: the caller passes "now".
 *
 * - A date is an ISO calendar day, YYYY-MM-DD, and means the START of that day in UTC: `until:2027-03-31` disables
 *   the account at 2027-03-31 00:00 UTC (the contract's end date is its first day without access).
 * - A duration is a whole number and one unit: h (hours), d (days), w (weeks): `12h`, `30d`, `2w`. It counts from
 *   the moment the request is made, so the approver approves a fixed date, shown on the card.
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const UNIT_MS = { h: HOUR, d: DAY, w: 7 * DAY } as const;

/** What applies when the policy names no maximum: a year ahead. */
export const DEFAULT_MAX_AHEAD_MS = 365 * DAY;
/** What applies when the policy names no notice: the DM before a scheduled step comes 3 days ahead. */
export const DEFAULT_NOTICE_BEFORE_MS = 3 * DAY;

/** "30d" -> 30 days in ms. Whole numbers with h, d or w only; anything else is refused with the accepted forms. */
export function parseDuration(text: string): Parsed<number> {
  const match = /^(\d{1,5})([hdw])$/.exec(text.trim().toLowerCase());
  const amount = match ? Number(match[1]) : 0;
  if (!match || amount === 0) {
    return {
      ok: false,
      message: `"${text}" is not a duration: write a whole number and h, d or w, e.g. 12h, 30d or 2w.`,
    };
  }
  return { ok: true, value: amount * UNIT_MS[match[2] as keyof typeof UNIT_MS] };
}

/** "2027-03-31" -> 2027-03-31T00:00:00Z. Refuses other shapes and days that do not exist (2027-02-30). */
export function parseDay(text: string): Parsed<Date> {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  const refused = {
    ok: false as const,
    message: `"${text}" is not a date: write it as YYYY-MM-DD, e.g. 2027-03-31.`,
  };
  if (!match) return refused;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  // Date.UTC rolls 2027-02-30 over to March 2: a day that does not exist reads back differently.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return { ok: false, message: `${text.trim()} is not a day of the calendar: check the month and the day.` };
  }
  return { ok: true, value: date };
}

/** What a person typed: `until:<date>` or `for:<duration>` (at most one of them). */
export interface TimeLimitInput {
  until?: string;
  duration?: string;
}

/**
 * The moment the undo runs, or undefined when no limit was given. Refuses both at once, a moment that is not in
 * the future, and one further ahead than `maxAheadMs` (the policy's maximum), each with what to write instead.
 */
export function resolveTimeLimit(
  input: TimeLimitInput,
  now: Date,
  maxAheadMs: number,
): { ok: true; at?: Date } | { ok: false; field: 'until'; message: string } {
  const until = input.until?.trim();
  const duration = input.duration?.trim();
  if (!until && !duration) return { ok: true };
  if (until && duration) {
    return { ok: false, field: 'until', message: 'Give either until:<date> or for:<duration>, not both.' };
  }
  const parsed = until ? parseDay(until) : parseDuration(duration ?? '');
  if (!parsed.ok) return { ok: false, field: 'until', message: parsed.message };
  const at = typeof parsed.value === 'number' ? new Date(now.getTime() + parsed.value) : parsed.value;
  const typed = until ? `until:${until}` : `for:${duration}`;
  if (at.getTime() <= now.getTime()) {
    return {
      ok: false,
      field: 'until',
      message: `${typed} is not in the future (today is ${isoDay(now)} UTC): give a later date.`,
    };
  }
  if (at.getTime() - now.getTime() > maxAheadMs) {
    return {
      ok: false,
      field: 'until',
      message:
        `${typed} is more than ${describeDuration(maxAheadMs)} ahead, the most the policy allows: ` +
        `give an earlier end (at the latest ${isoDay(new Date(now.getTime() + maxAheadMs))}).`,
    };
  }
  return { ok: true, at };
}

/**
 * The last full day before `at`, as YYYY-MM-DD in UTC: the expiry day a backend that enforces one itself (DSM keeps
 * an account working through its expiry day) gets, so it never locks the person out earlier than promised.
 */
export function lastDayBefore(at: Date): string {
  return isoDay(new Date(at.getTime() - 1));
}

/** "30 days", "12 hours", "2 weeks": a duration in words for messages. */
function describeDuration(ms: number): string {
  const [unit, size] = ms % UNIT_MS.w === 0 ? ['week', UNIT_MS.w] : ms % DAY === 0 ? ['day', DAY] : ['hour', HOUR];
  const count = Math.round(ms / size);
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}
