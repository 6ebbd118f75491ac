import { describe, expect, it } from 'vitest';
import { MAX_QUOTA_BYTES, MIN_QUOTA_BYTES, formatBytes, parseQuota } from '../../src/requests/sizes.js';

const GiB = 1024 ** 3;
const TiB = 1024 ** 4;

function bytesOf(text: string): number | null {
  const parsed = parseQuota(text);
  if (!parsed.ok) throw new Error(`expected "${text}" to parse, got: ${parsed.message}`);
  return parsed.bytes;
}

function refusalOf(text: string): string {
  const parsed = parseQuota(text);
  if (parsed.ok) throw new Error(`expected "${text}" to be refused, got ${parsed.bytes}`);
  return parsed.message;
}

describe('parseQuota: sizes as people type them', () => {
  it.each([
    ['50GB', 50 * GiB],
    ['50 gb', 50 * GiB],
    ['1.5 TB', 1.5 * TiB],
    ['1,5 TB', 1.5 * TiB],
    ['500 MiB', 500 * 1024 ** 2],
    ['10G', 10 * GiB],
    ['10 GiB', 10 * GiB],
    ['  3GB  ', 3 * GiB],
    ['1 PB', 1024 ** 5],
    ['1024 KB', 1024 ** 2],
  ])('%s -> %d bytes (1024 multiples, as Nextcloud and DSM count)', (text, bytes) => {
    expect(bytesOf(text)).toBe(bytes);
  });

  it.each(['unlimited', 'none', 'Unlimited', 'NONE', 'no limit'])('"%s" means no limit (null)', (text) => {
    expect(bytesOf(text)).toBeNull();
  });

  it('refuses a negative size, saying so', () => {
    expect(refusalOf('-5GB')).toMatch(/cannot be negative/);
    expect(refusalOf('-1 TB')).toMatch(/negative/);
  });

  it.each(['NaN', '1e400', 'Infinity', '5 XB', 'fifty GB', '5 GB extra', '5..5GB'])(
    '"%s" is not a size and the message shows examples',
    (text) => {
      const message = refusalOf(text);
      expect(message).toContain(text);
      expect(message).toMatch(/50GB/);
      expect(message).toMatch(/unlimited/);
    },
  );

  it('says the quota is empty for ""', () => {
    expect(refusalOf('')).toMatch(/empty/);
    expect(refusalOf('   ')).toMatch(/empty/);
  });

  it('refuses a number without a unit instead of guessing bytes', () => {
    expect(refusalOf('50')).toMatch(/"50" has no unit/);
  });

  it('refuses 0 and tiny sizes: DSM reads 0 as unlimited, so unlimited must be said in words', () => {
    expect(refusalOf('0')).toMatch(/too small.*unlimited/);
    expect(refusalOf('0 GB')).toMatch(/too small/);
    expect(refusalOf('512 KB')).toMatch(/minimum is 1 MB/);
    expect(bytesOf('1 MB')).toBe(MIN_QUOTA_BYTES);
  });

  it('refuses an absurd size above 1 PB as a likely typo', () => {
    expect(refusalOf('2 PB')).toMatch(/larger than 1 PB/);
    expect(refusalOf('5000 TB')).toMatch(/typo/);
    expect(bytesOf('1024 TB')).toBe(MAX_QUOTA_BYTES);
  });

  it('refuses a comma that may be a thousands separator rather than silently dividing by 1000', () => {
    // "1,000 GB" must never become 1 GB.
    const parsed = parseQuota('1,000 GB');
    expect(parsed.ok && parsed.bytes === GiB).toBe(false);
    expect(parsed.ok).toBe(false);
    expect(refusalOf('1,500 GB')).toMatch(/ambiguous.*1000 GB.*1\.5 TB/);
    // A decimal comma with one or two digits stays a decimal.
    expect(bytesOf('2,25 GB')).toBe(2.25 * GiB);
  });
});

describe('formatBytes', () => {
  it.each([
    [53_687_091_200, '50 GB'],
    [1_610_612_736, '1.5 GB'],
    [1.5 * TiB, '1.5 TB'],
    [500 * 1024 ** 2, '500 MB'],
    [1024 ** 5, '1 PB'],
    [512, '512 B'],
    [0, '0 B'],
  ])('%d -> %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it('says unlimited for null and unknown for nonsense', () => {
    expect(formatBytes(null)).toBe('unlimited');
    expect(formatBytes(undefined)).toBe('unknown');
    expect(formatBytes(-1)).toBe('unknown');
    expect(formatBytes(Number.NaN)).toBe('unknown');
  });

  it.each(['50GB', '1.5 TB', '500 MiB', '10G', '3 TB', '1 PB', '2.5 GB', 'unlimited'])(
    'round trips: parse(format(parse("%s"))) is the same size',
    (text) => {
      const bytes = bytesOf(text);
      expect(bytesOf(formatBytes(bytes))).toBe(bytes);
    },
  );
});
