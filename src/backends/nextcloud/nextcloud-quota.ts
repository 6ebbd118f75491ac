/**
 * Quota values as Nextcloud's provisioning API reads and writes them (docs/nextcloud-ocs.md#quota-values).
 */

/**
 * The value AccountDesk sends for a quota: bytes as plain digits, or `none` for unlimited. Never a human size: they
 * are parsed with 1024 multiples, and a binary unit silently becomes bytes ("5 GiB" is stored as 5 bytes and
 * answered 200, observed on Nextcloud 32.0.1).
 */
export function quotaParam(quotaBytes: number | null): string {
  if (quotaBytes === null) return 'none';
  if (!Number.isSafeInteger(quotaBytes) || quotaBytes < 0) {
    throw new RangeError(`a quota must be a whole number of bytes, got ${String(quotaBytes)}`);
  }
  return String(quotaBytes);
}

/**
 * The limit Nextcloud will report after storing `quotaBytes`: it keeps the quota as a human string with one decimal
 * (3042824 -> "2.9 MB", read back as 3040870), so a read-back only matches after the same rounding.
 */
export function storedQuotaBytes(quotaBytes: number | null): number | null {
  if (quotaBytes === null) return null;
  quotaParam(quotaBytes); // the same RangeError as for the value sent: nothing is stored for a non-size
  // A human string of whole or one-decimal numbers with a known unit always parses to a number.
  return parseStoredQuota(toHumanSize(quotaBytes)) as number;
}

/** Nextcloud's humanFileSize: KB rounded to whole units, MB and above to one decimal. */
function toHumanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  let value = Math.round(bytes / 1024);
  if (value < 1024) return `${value} KB`;
  for (const unit of ['MB', 'GB', 'TB', 'PB']) {
    value = roundHalfUp1(value / 1024);
    if (value < 1024 || unit === 'PB') return `${value} ${unit}`;
  }
  return `${value} PB`;
}

const UNIT_FACTORS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5 };
const HUMAN_SIZE = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)b?$/i;

/**
 * Reads a quota in the form IUser::getQuota() returns and setQuota() accepts (docs/nextcloud-ocs.md#quota-values:
 * `none`, `default`, digits = bytes, or a human size parsed case-insensitively in 1024 multiples, "5 GB", "1.3 TB").
 * `none` or a negative number -> unlimited (null); `default` or anything unreadable -> undefined, because the
 * effective limit then depends on a server setting the API does not return.
 */
export function parseStoredQuota(value: unknown): number | null | undefined {
  if (typeof value === 'number') return value < 0 ? null : value;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text.toLowerCase() === 'none') return null;
  const match = HUMAN_SIZE.exec(text);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * UNIT_FACTORS[(match[2] ?? '').toUpperCase()]!);
}

function roundHalfUp1(value: number): number {
  return Math.round(value * 10) / 10;
}

/**
 * Reads the `quota` object of GET /users/{id}: `quota` is bytes, or negative (-3 = unlimited, also what a user
 * without a quota reports), or on old servers the string 'none'. `used` counts the user's files: 0 until the home
 * is set up (Nextcloud 32.0.1), the skeleton files after (about 20 MB on a default install); older servers reported
 * a negative value before, read here as unknown.
 */
export function readQuota(raw: unknown): { limitBytes: number | null; usedBytes?: number } | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const { quota, used } = raw as { quota?: unknown; used?: unknown };
  let limitBytes: number | null;
  if (quota === 'none') limitBytes = null;
  else {
    const n =
      typeof quota === 'number'
        ? quota
        : typeof quota === 'string' && /^-?\d+(\.\d+)?$/.test(quota)
          ? Number(quota)
          : NaN;
    if (Number.isNaN(n)) return undefined;
    limitBytes = n < 0 ? null : n;
  }
  const usedN = typeof used === 'number' ? used : typeof used === 'string' ? Number(used) : NaN;
  return Number.isFinite(usedN) && usedN >= 0 ? { limitBytes, usedBytes: usedN } : { limitBytes };
}

/** A size in words for summaries: 10737418240 -> "10 GB", null -> "unlimited". */
export function formatQuota(quotaBytes: number | null): string {
  if (quotaBytes === null) return 'unlimited';
  return toHumanSize(quotaBytes);
}
