/** Working time between two instants, in a time zone, across weekends and daylight saving time. */
import { describe, expect, it } from 'vitest';
import { isKnownTimeZone, workingMsBetween, type BusinessHours } from '../../src/requests/business-hours.js';

const HOUR = 3_600_000;
const at = (iso: string) => new Date(iso);
const PARIS_OFFICE: BusinessHours = {
  days: ['mon', 'tue', 'wed', 'thu', 'fri'],
  fromMinute: 9 * 60,
  toMinute: 17 * 60,
  timeZone: 'Europe/Paris',
};

describe('workingMsBetween', () => {
  it('counts every hour without business hours, and nothing backwards', () => {
    expect(workingMsBetween(at('2026-12-04T17:30:00Z'), at('2026-12-07T12:00:00Z'), undefined)).toBe(66.5 * HOUR);
    expect(workingMsBetween(at('2026-12-07T12:00:00Z'), at('2026-12-04T17:30:00Z'), undefined)).toBe(0);
  });

  it('skips the evening and the weekend: Friday 16:00 to Monday 10:00 in Paris is 2 working hours', () => {
    // Paris is UTC+1 in December.
    expect(workingMsBetween(at('2026-12-04T15:00:00Z'), at('2026-12-07T09:00:00Z'), PARIS_OFFICE)).toBe(2 * HOUR);
  });

  it('counts a whole working week as 5 x 8 hours', () => {
    expect(workingMsBetween(at('2026-12-06T00:00:00Z'), at('2026-12-13T00:00:00Z'), PARIS_OFFICE)).toBe(40 * HOUR);
  });

  it('reads the opening hours in the zone on both sides of a daylight saving change', () => {
    const everyDay: BusinessHours = { ...PARIS_OFFICE, days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] };
    // Saturday 28 March 2026: 09:00-17:00 CET is 08:00-16:00 UTC. Sunday 29 March (CEST from 02:00): 07:00-15:00 UTC.
    expect(workingMsBetween(at('2026-03-28T15:00:00Z'), at('2026-03-29T08:00:00Z'), everyDay)).toBe(2 * HOUR);
    // Sunday 25 October 2026, back to CET: 09:00 is 08:00 UTC again.
    expect(workingMsBetween(at('2026-10-25T00:00:00Z'), at('2026-10-25T09:00:00Z'), everyDay)).toBe(1 * HOUR);
  });

  it('uses the zone it is given: New York opens five hours after UTC in December', () => {
    const newYork: BusinessHours = { ...PARIS_OFFICE, timeZone: 'America/New_York' };
    expect(workingMsBetween(at('2026-12-07T13:00:00Z'), at('2026-12-07T15:00:00Z'), newYork)).toBe(1 * HOUR);
  });

  it('counts until midnight when the day closes at 24:00', () => {
    const lateShift: BusinessHours = { ...PARIS_OFFICE, fromMinute: 22 * 60, toMinute: 24 * 60 };
    expect(workingMsBetween(at('2026-12-07T00:00:00Z'), at('2026-12-08T00:00:00Z'), lateShift)).toBe(2 * HOUR);
  });
});

describe('isKnownTimeZone', () => {
  it('knows IANA names and refuses anything else', () => {
    expect(isKnownTimeZone('Europe/Paris')).toBe(true);
    expect(isKnownTimeZone('UTC')).toBe(true);
    expect(isKnownTimeZone('Mars/Olympus_Mons')).toBe(false);
  });
});
