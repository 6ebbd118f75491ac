/**
 * Quota values in the form Nextcloud's `IUser::setQuota()` accepts and `getQuota()` returns. Both OIDC
 * provisioning APIs (nmcuser_oidc's `quota` field, user_oidc's `quota` parameter) hand the string straight to
 * setQuota, so they share Nextcloud's rules (reference/nextcloud.md "editUser"): `none` = unlimited, `default`,
 * digits = bytes, or a human size parsed case-insensitively in 1024 multiples (`5GB`, `5 GB`, `1.5 MB`); `GiB` is
 * NOT accepted. The server stores a rounded human string (3042824 -> "2.9 MB").
 */

const UNITS = [
  { suffix: 'PB', factor: 1024 ** 5 },
  { suffix: 'TB', factor: 1024 ** 4 },
  { suffix: 'GB', factor: 1024 ** 3 },
  { suffix: 'MB', factor: 1024 ** 2 },
  { suffix: 'KB', factor: 1024 },
] as const;

/**
 * Formats a byte count the way the README example writes it ("25GB"). Uses the largest unit that divides the
 * value exactly, else plain digits (also accepted), so the server computes exactly the bytes asked for.
 */
export function formatNextcloudQuota(quotaBytes: number | null): string {
  if (quotaBytes === null) return 'none';
  if (!Number.isSafeInteger(quotaBytes) || quotaBytes < 0) {
    throw new RangeError(`quota must be a whole number of bytes, got ${quotaBytes}`);
  }
  // Not '0': user_oidc applies the quota only `if ($quota)`, and PHP treats the string "0" as false.
  if (quotaBytes === 0) return '0 B';
  for (const unit of UNITS) {
    if (quotaBytes % unit.factor === 0) return `${quotaBytes / unit.factor}${unit.suffix}`;
  }
  return String(quotaBytes);
}

const HUMAN_SIZE = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)b?$/i;

/**
 * Reads a quota as Nextcloud reports it. `none` -> unlimited (null); `default` or anything unreadable ->
 * undefined, because the effective limit then depends on a server setting this API does not return.
 */
export function parseNextcloudQuota(value: unknown): number | null | undefined {
  if (typeof value === 'number') return value < 0 ? null : value;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text.toLowerCase() === 'none') return null;
  const match = HUMAN_SIZE.exec(text);
  if (!match) return undefined;
  const amount = Number(match[1]);
  const letter = (match[2] ?? '').toUpperCase();
  const factor = letter === '' ? 1 : (UNITS.find((u) => u.suffix[0] === letter)?.factor ?? 1);
  return Math.round(amount * factor);
}
