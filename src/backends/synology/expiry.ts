/**
 * DSM's `expired` field (docs/synology-dsm.md#disable-and-enable): "now", "normal" or a day as "YYYY/M/D".
 */

/** True when the account cannot log in: "now", or an expiry day that is already in the past. */
export function isExpired(expired: unknown, now: Date): boolean {
  if (expired === 'now') return true;
  if (typeof expired !== 'string') return false;
  const match = /^(\d{4})\/(\d{1,2})\/(\d{1,2})$/.exec(expired);
  if (!match) return false; // "normal" and anything unknown: DSM lets the user in
  const [, y, m, d] = match;
  // The account still works on its expiry day; from the next day on it is disabled. Compared as local calendar
  // days because DSM shows and stores the day in the NAS's local time.
  const expiryDay = new Date(Number(y), Number(m) - 1, Number(d)).getTime();
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
  return expiryDay < today;
}

/** "2027-03-30" -> "2027/3/30": DSM wants the day without leading zeros and refuses ISO dates with 3103. */
export function dsmExpiryDay(isoDay: string): string {
  const [year, month, day] = isoDay.split('-').map(Number);
  return `${year}/${month}/${day}`;
}
