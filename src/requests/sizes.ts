/**
 * Storage sizes as people type them ("50GB", "1.5 TB", "500 MiB", "unlimited") <-> bytes.
 *
 * Units are multiples of 1024 whether written GB or GiB, because that is what the backends do: Nextcloud parses
 * "5 GB" as 5 * 1024^3 (docs/nextcloud-ocs.md#quota-values) and DSM counts quota in MB of 1024 KB. So "50GB" asked in
 * Slack is exactly the "50 GB" the Nextcloud admin page then shows.
 */

const UNIT_EXPONENT: Record<string, number> = { b: 0, k: 1, m: 2, g: 3, t: 4, p: 5 };

/** The smallest quota accepted: a smaller one is almost certainly a typo, and DSM reads 0 MB as "unlimited". */
export const MIN_QUOTA_BYTES = 1024 ** 2;
/** The largest: 1 PiB. Larger values are typos (an extra zero), not real per-user quotas. */
export const MAX_QUOTA_BYTES = 1024 ** 5;

const UNLIMITED_WORDS = new Set(['unlimited', 'none', 'infinite', 'no limit']);

export type QuotaParse = { ok: true; bytes: number | null } | { ok: false; message: string };

const EXAMPLES = 'write it like 50GB, 1.5 TB, 500 MiB or unlimited';

export function parseQuota(input: string): QuotaParse {
  const text = input.trim().toLowerCase();
  if (text === '') return { ok: false, message: `The quota is empty: ${EXAMPLES}.` };
  if (UNLIMITED_WORDS.has(text)) return { ok: true, bytes: null };
  const match = /^([+-]?\d+(?:[.,]\d+)?)\s*([bkmgtp])?(?:i?b)?$/.exec(text);
  if (!match) return { ok: false, message: `"${input.trim()}" is not a size: ${EXAMPLES}.` };
  // "1,5 TB" is a decimal comma, but "1,000 GB" is a thousands separator: read as a decimal it would silently
  // become 1 GB. A comma followed by exactly three digits is ambiguous, so it is refused rather than guessed.
  if (/,\d{3}$/.test(match[1]!)) {
    return {
      ok: false,
      message:
        `"${input.trim()}" is ambiguous: write whole numbers without separators ` +
        `(1000 GB) and decimals with a dot (1.5 TB).`,
    };
  }
  const value = Number(match[1]!.replace(',', '.'));
  if (!Number.isFinite(value)) return { ok: false, message: `"${input.trim()}" is not a finite size: ${EXAMPLES}.` };
  if (value < 0) return { ok: false, message: `A quota cannot be negative ("${input.trim()}"): ${EXAMPLES}.` };
  const unit = match[2];
  if (unit === undefined && value !== 0) {
    return { ok: false, message: `"${input.trim()}" has no unit: ${EXAMPLES}.` };
  }
  const bytes = Math.round(value * 1024 ** UNIT_EXPONENT[unit ?? 'b']!);
  if (bytes < MIN_QUOTA_BYTES) {
    return {
      ok: false,
      message: `A quota of "${input.trim()}" is too small: the minimum is 1 MB (or write unlimited).`,
    };
  }
  if (bytes > MAX_QUOTA_BYTES) {
    return { ok: false, message: `A quota of "${input.trim()}" is larger than 1 PB, which looks like a typo.` };
  }
  return { ok: true, bytes };
}

/** 53687091200 -> "50 GB", 1610612736 -> "1.5 GB", 1.25 TiB -> "1.25 TB", null -> "unlimited". */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null) return 'unlimited';
  if (bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return 'unknown';
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let exponent = 0;
  while (exponent < units.length - 1 && bytes >= 1024 ** (exponent + 1)) exponent++;
  const value = bytes / 1024 ** exponent;
  // Two decimals at most: enough to tell "1.25 TB" asked from "1.3 TB" stored, without printing byte noise.
  const rounded = value >= 100 || Number.isInteger(value) ? Math.round(value) : Math.round(value * 100) / 100;
  return `${rounded} ${units[exponent]}`;
}
