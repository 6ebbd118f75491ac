/** Time limits in a person's words (src/requests/schedule.ts): strict dates and durations, and the bounds. */
import { describe, expect, it } from 'vitest';
import { lastDayBefore, parseDay, parseDuration, resolveTimeLimit } from '../../src/requests/schedule.js';

const DAY = 86_400_000;
const NOW = new Date('2026-12-01T04:00:00Z');

describe('time limits', () => {
  it('durations: a whole number and h, d or w; nothing else', () => {
    expect(parseDuration('12h')).toEqual({ ok: true, value: 12 * 3_600_000 });
    expect(parseDuration('30d')).toEqual({ ok: true, value: 30 * DAY });
    expect(parseDuration('2W')).toEqual({ ok: true, value: 14 * DAY });
    for (const bad of ['30', 'd', '1.5d', '30days', '-3d', '0d', '3m', '3 d', '']) {
      expect(parseDuration(bad)).toMatchObject({ ok: false, message: expect.stringContaining('h, d or w') as unknown });
    }
  });

  it('dates: YYYY-MM-DD that exist, as 00:00 UTC; other shapes and impossible days are refused', () => {
    expect(parseDay('2027-03-31')).toEqual({ ok: true, value: new Date('2027-03-31T00:00:00Z') });
    expect(parseDay('2028-02-29')).toMatchObject({ ok: true });
    expect(parseDay('2027-02-29')).toMatchObject({
      ok: false,
      message: expect.stringContaining('not a day') as unknown,
    });
    expect(parseDay('2027-13-01')).toMatchObject({ ok: false });
    for (const bad of ['31/03/2027', '2027-3-31', '2027-03-31T10:00', 'tomorrow']) {
      expect(parseDay(bad)).toMatchObject({ ok: false, message: expect.stringContaining('YYYY-MM-DD') as unknown });
    }
  });

  it('the end must be in the future and within the maximum; until and for together are refused', () => {
    const max = 90 * DAY;
    expect(resolveTimeLimit({}, NOW, max)).toEqual({ ok: true });
    expect(resolveTimeLimit({ duration: '30d' }, NOW, max)).toEqual({
      ok: true,
      at: new Date(NOW.getTime() + 30 * DAY),
    });
    expect(resolveTimeLimit({ until: '2027-01-15' }, NOW, max)).toEqual({ ok: true, at: new Date('2027-01-15Z') });
    // Today at 00:00 UTC has passed already.
    expect(resolveTimeLimit({ until: '2026-12-01' }, NOW, max)).toMatchObject({
      ok: false,
      field: 'until',
      message: 'until:2026-12-01 is not in the future (today is 2026-12-01 UTC): give a later date.',
    });
    expect(resolveTimeLimit({ duration: '91d' }, NOW, max)).toMatchObject({
      ok: false,
      message:
        'for:91d is more than 90 days ahead, the most the policy allows: give an earlier end (at the latest 2027-03-01).',
    });
    expect(resolveTimeLimit({ duration: '90d' }, NOW, max)).toMatchObject({ ok: true });
    expect(resolveTimeLimit({ until: '2027-01-01', duration: '3d' }, NOW, max)).toMatchObject({
      ok: false,
      message: 'Give either until:<date> or for:<duration>, not both.',
    });
  });

  it('a backend that keeps an account working through its expiry day gets the last full day before the end', () => {
    expect(lastDayBefore(new Date('2027-03-31T00:00:00Z'))).toBe('2027-03-30');
    expect(lastDayBefore(new Date('2027-03-31T14:00:00Z'))).toBe('2027-03-31');
  });
});
