/**
 * The batch CSV (src/requests/batch.ts): what a spreadsheet export looks like (BOM, CRLF, semicolons, quoted
 * commas) becomes rows with true line numbers, and each row is checked as a single request would be.
 */
import { describe, expect, it } from 'vitest';
import { nextcloudUsernameProblem } from '../../src/backends/nextcloud/usernames.js';
import type { BackendClient } from '../../src/backends/types.js';
import { checkBatchRows, parseCsvLines } from '../../src/requests/batch.js';

/** Only what checking rows reads of a backend: its name, capabilities and username rules. */
const cloud = {
  name: 'cloud',
  kind: 'nextcloud',
  capabilities: new Set(['groups']),
  passwordHandling: 'invitation',
  usernameProblem: nextcloudUsernameProblem,
  emailRequiredBecause: () => 'Nextcloud mails the invitation',
} as unknown as BackendClient;

describe('batch CSV', () => {
  it('keeps quoted commas and doubled quotes, reads a BOM, CRLF and semicolons, and keeps line numbers', () => {
    const rows = parseCsvLines('\uFEFFusername;name\r\nann;"Smith; Ann"\r\n\r\nbob;"say ""hi"""');
    expect(rows).toEqual([
      { line: 1, fields: ['username', 'name'] },
      { line: 2, fields: ['ann', 'Smith; Ann'] },
      { line: 3, fields: [''] },
      { line: 4, fields: ['bob', 'say "hi"'] },
    ]);
    expect(parseCsvLines('username\n"ann')).toEqual({ problem: 'Line 2: a quote is not closed.' });
  });

  it('checks each row as a request: username rules, the action fields, duplicates, extra fields', () => {
    const csv = [
      'User,E-Mail,Display Name,Groups,Quota',
      'ann,ann@example.com,Ann Smith,staff sales,10GB',
      'ann,ann@example.com,,,',
      ',x@example.com,,,',
      'cy,cy@example.com,,,1GB,extra',
      'dee,,,,',
    ].join('\n');
    const checked = checkBatchRows(csv, 'create', cloud);
    if ('problem' in checked) throw new Error(checked.problem);
    expect(checked.valid).toEqual([
      {
        backend: 'cloud',
        action: 'create',
        username: 'ann',
        line: 2,
        params: expect.objectContaining({
          email: 'ann@example.com',
          displayName: 'Ann Smith',
          groups: ['staff', 'sales'],
          quotaBytes: 10 * 1024 ** 3,
        }) as unknown,
      },
    ]);
    expect(checked.invalid.map((r) => r.line)).toEqual([3, 4, 5, 6]);
    expect(checked.invalid[0]?.reason).toBe('ann is already on line 2');
    expect(checked.invalid[1]?.reason).toBe('The username is empty.');
    expect(checked.invalid[2]?.reason).toBe('6 fields, but the header names 5');
    expect(checked.invalid[3]?.reason).toMatch(/email/i);
  });

  it('refuses a CSV as a whole when it cannot be read as rows', () => {
    expect(checkBatchRows('email\nann@example.com', 'disable', cloud)).toMatchObject({ problem: /username/ });
    expect(checkBatchRows('username,colour\nann,red', 'disable', cloud)).toMatchObject({
      problem: 'Line 1 names unknown columns: colour. Known: username, email, quota, displayname, groups, profile.',
    });
    expect(checkBatchRows('username,profile\nann,staff', 'disable', cloud)).toMatchObject({
      problem: /only an onboarding batch takes a profile/,
    });
    expect(checkBatchRows(`username\n${'u\n'.repeat(3)}`, 'disable', cloud, 2)).toMatchObject({
      problem: '3 rows is more than 2, the most one batch takes: split it.',
    });
  });
});
