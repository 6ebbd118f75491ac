/**
 * `npm run audit -- verify|export` as an auditor runs it: the CLI as a child process (tsx, as the npm script runs
 * it) against an SQLite store the bot wrote, plus the commands in-process for the rewritten-log cases.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runAuditCommand } from '../../src/ops/audit-cli.js';
import { csvCell } from '../../src/ops/audit-export.js';
import { entryHash } from '../../src/store/audit.js';
import type { AuditEntry, AuditEntryInput, Store } from '../../src/store/index.js';
import { ENGINES, type Location } from '../store/engines.js';

const sqlite = ENGINES.find((engine) => engine.name === 'sqlite')!;

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      `${ROOT}node_modules/.bin/tsx`,
      ['src/ops/audit-cli.ts', ...args],
      { cwd: ROOT, env: { ...process.env, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function storeWithRequests(): Promise<{ store: Store; url: string; namespace: string; raw: Location['raw'] }> {
  const at = await sqlite.fresh();
  let now = 0;
  const store = await at.open({ now: () => now });
  // Entry n is appended at 2026-01-01T0(n-1):00Z.
  let appended = 0;
  const append = (input: AuditEntryInput) => {
    now = Date.parse('2026-01-01T00:00:00.000Z') + 3_600_000 * appended++;
    return store.audit.append(input);
  };
  const request = { action: 'create', backend: 'cloud', username: 'alice', state: 'pending' };
  await append({ event: 'requested', subject: 'AD-AAAAAA', actor: 'U0REQ', data: { ...request, reason: 'x' } });
  await append({
    event: 'requested',
    subject: 'AD-BBBBBB',
    actor: 'U0REQ',
    data: { ...request, username: 'bob', reason: '=HYPERLINK("http://evil.example","click"), and "more"\nline two' },
  });
  await append({
    event: 'failed',
    subject: 'AD-BBBBBB',
    actor: 'system',
    data: {
      ...request,
      username: 'bob',
      state: 'failed',
      code: 'auth_failed',
      error: '@cloud refused the app password',
    },
  });
  await append({
    event: 'rejected',
    subject: 'AD-AAAAAA',
    actor: 'U0APPROVER',
    data: { ...request, state: 'rejected', reason: '-1 not needed' },
  });
  return { store, url: at.url, namespace: at.namespace, raw: (key, text) => at.raw(key, text) };
}

/** Minimal RFC 4180 reader: enough to prove the export parses back into the same cells. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted && c === '"' && text[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (quoted && c === '"') {
      quoted = false;
    } else if (quoted) {
      cell += c;
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else {
      cell += c;
    }
  }
  return rows;
}

describe('npm run audit -- export', () => {
  it('writes one quoted, formula-safe CSV row per event since the given day', async () => {
    const { url, namespace } = await storeWithRequests();
    const { code, stdout, stderr } = await runCli(['export', '--since', '2026-01-01', '--format', 'csv'], {
      STORE_URL: url,
      STORE_NAMESPACE: namespace,
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const rows = parseCsv(stdout);
    expect(rows[0]).toEqual([
      'seq',
      'time',
      'request_id',
      'actor',
      'action',
      'backend',
      'username',
      'outcome',
      'reason',
    ]);
    // Entry 1 was appended at 2026-01-01T00:00Z, the first instant of --since; all four are in.
    expect(rows.slice(1).map((r) => r[0])).toEqual(['1', '2', '3', '4']);
    expect(rows[2]).toEqual([
      '2',
      '2026-01-01T01:00:00.000Z',
      'AD-BBBBBB',
      'U0REQ',
      'create',
      'cloud',
      'bob',
      'requested',
      `'=HYPERLINK("http://evil.example","click"), and "more"\nline two`,
    ]);
    expect(rows[3]!.slice(7)).toEqual(['failed (auth_failed)', "'@cloud refused the app password"]);
    expect(rows[4]!.slice(7)).toEqual(['rejected', "'-1 not needed"]);
  });

  it('JSON Lines with --since and --until bounds', async () => {
    const { store } = await storeWithRequests();
    const out: string[] = [];
    const code = await runAuditCommand(
      ['export', '--since', '2026-01-01T01:00:00Z', '--until', '2026-01-01T03:00:00Z', '--format', 'jsonl'],
      store.audit,
      { out: (t) => out.push(t), err: () => undefined },
    );
    expect(code).toBe(0);
    const rows = out
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((r) => r.seq)).toEqual([2, 3]);
    expect(rows[1]).toMatchObject({ request_id: 'AD-BBBBBB', outcome: 'failed (auth_failed)', username: 'bob' });
  });

  it('refuses a date it cannot read, with the expected form', async () => {
    const { url, namespace } = await storeWithRequests();
    const { code, stderr } = await runCli(['export', '--since', 'yesterday'], {
      STORE_URL: url,
      STORE_NAMESPACE: namespace,
    });
    expect(code).toBe(2);
    expect(stderr).toContain('--since takes a date such as 2026-01-01');
  });

  it('disarms every formula prefix and quotes only what needs it', () => {
    expect(['=1+1', '+1', '-1', '@SUM(A1)', '\tx', 'plain', 'a,b'].map(csvCell)).toEqual([
      "'=1+1",
      "'+1",
      "'-1",
      "'@SUM(A1)",
      "'\tx",
      'plain',
      '"a,b"',
    ]);
    expect(csvCell(42)).toBe('42');
  });
});

describe('npm run audit -- verify', () => {
  it('exits 0 on an intact chain and 1 naming the first broken link after an edit', async () => {
    const { url, namespace, raw, store } = await storeWithRequests();
    const env = { STORE_URL: url, STORE_NAMESPACE: namespace };
    const intact = await runCli(['verify'], env);
    expect(intact.code).toBe(0);
    expect(intact.stdout).toMatch(/^ok: 4 entries, the chain is intact; head #4 sha256 [0-9a-f]{64}/);

    const [second] = await store.audit.readAfter(1, 1);
    await raw(`${namespace}:audit:2`, JSON.stringify({ value: { ...second, actor: 'U0SOMEONEELSE' } }));
    const broken = await runCli(['verify'], env);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain('BROKEN at entry 2 of 4: entry 2 was edited after it was written');
  });

  it('with the daily anchor, detects a log rewritten with every later hash recomputed', async () => {
    const { namespace, raw, store } = await storeWithRequests();
    const head = await store.audit.head();
    const io = { out: (t: string) => void out.push(t), err: () => undefined };
    let out: string[] = [];
    expect(await runAuditCommand(['verify', '--anchor', `${head.seq}:${head.hash}`], store.audit, io)).toBe(0);
    expect(out.join('')).toContain('ok: entry 4 still has the anchored hash');

    // Someone with write access edits entry 2 and recomputes the chain after it: verify alone cannot tell.
    const entries = await store.audit.readAfter(0, 10);
    let prevHash = entries[0]!.hash;
    const rewritten: AuditEntry[] = [];
    for (const entry of entries.slice(1)) {
      const data = entry.seq === 2 ? { ...entry.data, username: 'mallory' } : entry.data;
      const { seq, at, event, subject, actor } = entry;
      const unhashed = { seq, at, event, subject, actor, data, prevHash };
      const next = { ...unhashed, hash: entryHash(unhashed) };
      rewritten.push(next);
      prevHash = next.hash;
    }
    for (const entry of rewritten) await raw(`${namespace}:audit:${entry.seq}`, JSON.stringify({ value: entry }));
    await raw(`${namespace}:audit:head`, JSON.stringify({ value: { seq: 4, hash: prevHash } }));

    out = [];
    expect(await runAuditCommand(['verify'], store.audit, io)).toBe(0);
    out = [];
    expect(await runAuditCommand(['verify', '--anchor', `${head.seq}:${head.hash}`], store.audit, io)).toBe(1);
    expect(out.join('')).toContain('BROKEN: entry 4 no longer has the anchored hash');
  });
});
