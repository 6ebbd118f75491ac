/**
 * Quota units. DSM's SYNO.Core.Quota speaks MB with 0 = unlimited (docs/synology-dsm.md#quota). DSM's
 * UI converts 1 GB to 1024 MB, so a DSM "MB" is taken as 2^20 bytes.
 */
const DSM_MB = 1024 * 1024;

/**
 * Bytes approved -> DSM MB, rounding UP so nobody gets less than approved. null (unlimited) -> 0. A limit of
 * zero bytes cannot be expressed: DSM would read 0 as unlimited, the opposite of what was approved.
 */
export function bytesToDsmMb(bytes: number | null): number {
  if (bytes === null) return 0;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new RangeError(
      'a DSM quota must be a positive whole number of bytes, or unlimited (0 would mean unlimited on DSM)',
    );
  }
  return Math.ceil(bytes / DSM_MB);
}

/** DSM MB -> bytes; 0 -> null (unlimited). */
export function dsmMbToBytes(mb: number): number | null {
  return mb === 0 ? null : mb * DSM_MB;
}
