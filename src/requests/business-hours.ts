/**
 * Business hours: how much working time lies between two instants, so that a reminder due "after 4 h" of a request
 * sent on Friday evening goes out on Monday, not on Saturday night. Calendar arithmetic in the configured time zone
 * uses only the built-in Intl API (IANA zone names, daylight saving time included).
 */

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface BusinessHours {
  days: Weekday[];
  /** Opening time, in minutes after local midnight (09:00 -> 540). */
  fromMinute: number;
  /** Closing time, in minutes after local midnight; 1440 is midnight at the end of the day. */
  toMinute: number;
  /** IANA time zone name, such as Europe/Paris. */
  timeZone: string;
}

/**
 * Milliseconds between `from` and `to` that fall inside business hours; without business hours, all of them.
 * Never negative.
 */
export function workingMsBetween(from: Date, to: Date, hours: BusinessHours | undefined): number {
  const start = from.getTime();
  const end = to.getTime();
  if (end <= start) return 0;
  if (!hours) return end - start;
  const open = new Set(hours.days);
  let total = 0;
  // One local calendar day at a time, from the day `from` falls on until a day that starts after `to`.
  let day = localDate(start, hours.timeZone);
  for (;;) {
    const dayStart = zonedTime(day, 0, hours.timeZone);
    if (dayStart > end) break;
    if (open.has(WEEKDAYS[new Date(Date.UTC(day.year, day.month - 1, day.day)).getUTCDay()] as Weekday)) {
      const opens = zonedTime(day, hours.fromMinute, hours.timeZone);
      const closes = zonedTime(day, hours.toMinute, hours.timeZone);
      total += Math.max(0, Math.min(closes, end) - Math.max(opens, start));
    }
    const next = new Date(Date.UTC(day.year, day.month - 1, day.day + 1));
    day = { year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate() };
  }
  return total;
}

/** Whether `timeZone` names a zone this runtime knows ("Europe/Paris", "UTC"). */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

interface LocalDate {
  year: number;
  /** 1-12. */
  month: number;
  day: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Throws a RangeError for a zone the runtime does not know. */
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The wall-clock reading of an instant in a zone, as if that reading were UTC (milliseconds). */
function wallClock(instant: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(instant))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const { year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0 } = parts;
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

function localDate(instant: number, timeZone: string): LocalDate {
  const wall = new Date(wallClock(instant, timeZone));
  return { year: wall.getUTCFullYear(), month: wall.getUTCMonth() + 1, day: wall.getUTCDate() };
}

/**
 * The instant at which the zone's clocks read `minute` minutes after midnight of `date`. The zone's offset is read
 * at a first guess and once more at the result, so a time on a daylight-saving-change day lands on the right side;
 * a reading the clocks skip (02:30 when they jump from 02:00 to 03:00) comes out an hour later, as they show it.
 */
function zonedTime(date: LocalDate, minute: number, timeZone: string): number {
  const asUtc = Date.UTC(date.year, date.month - 1, date.day, 0, minute);
  const firstOffset = wallClock(asUtc, timeZone) - asUtc;
  const guess = asUtc - firstOffset;
  const secondOffset = wallClock(guess, timeZone) - guess;
  return secondOffset === firstOffset ? guess : asUtc - secondOffset;
}
