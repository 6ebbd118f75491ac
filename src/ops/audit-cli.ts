/**
 * `npm run audit -- <command>`: the audit log for auditors, read straight from the store the bot uses
 * (STORE_URL and STORE_NAMESPACE from the environment or .env, as `npm start` reads them). Read-only.
 *
 *   verify [--anchor SEQ:HASH]                 walk the hash chain; report the first broken link. With --anchor,
 *                                              also check that entry SEQ still has the hash a daily anchor posted.
 *   export --since DATE [--until DATE] [--format csv|jsonl]
 *                                              one row per event (seq, time, request id, actor, action, backend,
 *                                              username, outcome, reason) on standard output
 *
 * Exit codes: 0 fine, 1 the log is broken (verify), 2 a usage or store error.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { envSchema } from '../config/schema.js';
import { openStore, parseStoreUrl, type AuditLog } from '../store/index.js';
import { csvHeader, csvLine, exportRow, jsonLine } from './audit-export.js';

const USAGE = [
  'usage: npm run audit -- verify [--anchor SEQ:HASH]',
  '       npm run audit -- export --since 2026-01-01 [--until 2026-02-01] [--format csv|jsonl]',
].join('\n');

const PAGE = 500;

export interface AuditCliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

export class UsageError extends Error {}

/** Runs one audit command against `audit`; returns the exit code. */
export async function runAuditCommand(args: string[], audit: AuditLog, io: AuditCliIo): Promise<number> {
  const [command, ...rest] = args;
  if (command === 'verify') return verify(rest, audit, io);
  if (command === 'export') return exportLog(rest, audit, io);
  throw new UsageError(command ? `unknown command "${command}"` : 'name a command');
}

async function verify(args: string[], audit: AuditLog, io: AuditCliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { anchor: { type: 'string' } }, strict: true });
  const result = await audit.verify();
  if (!result.ok) {
    io.out(`BROKEN at entry ${result.brokenAt} of ${result.entries}: ${result.problem}\n`);
    return 1;
  }
  const head = await audit.head();
  io.out(
    `ok: ${result.entries} entries, the chain is intact; head #${head.seq} sha256 ${head.hash || '(empty log)'}\n`,
  );
  if (values.anchor === undefined) return 0;
  const match = /^(\d+):([0-9a-f]{64})$/.exec(values.anchor.trim());
  if (!match) throw new UsageError('--anchor takes SEQ:HASH as the daily anchor line shows it, e.g. 42:9f86d0...');
  const seq = Number(match[1]);
  const [entry] = seq >= 1 ? await audit.readAfter(seq - 1, 1) : [];
  if (!entry || entry.seq !== seq) {
    io.out(`BROKEN: the anchor names entry ${seq}, but the log ends at ${head.seq}: entries were deleted\n`);
    return 1;
  }
  if (entry.hash !== match[2]) {
    io.out(
      `BROKEN: entry ${seq} no longer has the anchored hash: the log was rewritten up to it ` +
        '(every hash after the edit recomputed)\n',
    );
    return 1;
  }
  io.out(`ok: entry ${seq} still has the anchored hash\n`);
  return 0;
}

async function exportLog(args: string[], audit: AuditLog, io: AuditCliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { since: { type: 'string' }, until: { type: 'string' }, format: { type: 'string', default: 'csv' } },
    strict: true,
  });
  if (values.since === undefined) throw new UsageError('export needs --since DATE, e.g. --since 2026-01-01');
  const since = parseDate(values.since, '--since');
  const until = values.until === undefined ? Number.POSITIVE_INFINITY : parseDate(values.until, '--until');
  if (values.format !== 'csv' && values.format !== 'jsonl') throw new UsageError('--format is csv or jsonl');
  const line = values.format === 'csv' ? csvLine : jsonLine;
  if (values.format === 'csv') io.out(csvHeader());
  for (let after = 0; ;) {
    const page = await audit.readAfter(after, PAGE);
    for (const entry of page) {
      const at = Date.parse(entry.at);
      if (at >= since && at < until) io.out(line(exportRow(entry)));
    }
    if (page.length < PAGE) return 0;
    after = page.at(-1)!.seq;
  }
}

/** A day (2026-01-01, midnight UTC) or an ISO time with its offset. */
function parseDate(text: string, flag: string): number {
  const value = /^\d{4}-\d{2}-\d{2}$/.test(text) ? Date.parse(`${text}T00:00:00Z`) : Date.parse(text);
  if (Number.isNaN(value) || !/^\d{4}-\d{2}-\d{2}/.test(text)) {
    throw new UsageError(`${flag} takes a date such as 2026-01-01 or 2026-01-01T08:00:00Z, not "${text}"`);
  }
  return value;
}

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const io: AuditCliIo = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };
  const env = envSchema.pick({ STORE_URL: true, STORE_NAMESPACE: true }).safeParse(process.env);
  if (!env.success) {
    io.err(`${env.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n')}\n`);
    process.exit(2);
  }
  const location = parseStoreUrl(env.data.STORE_URL);
  if (location.engine === 'sqlite' && !existsSync(location.file)) {
    // Opening would create an empty store and report an empty, intact log: say where we looked instead.
    io.err(
      `There is no SQLite store at ${location.file}. Run this where the bot runs, or set STORE_URL as it has it.\n`,
    );
    process.exit(2);
  }
  const store = await openStore(env.data.STORE_URL, { namespace: env.data.STORE_NAMESPACE });
  let code: number;
  try {
    code = await runAuditCommand(process.argv.slice(2), store.audit, io);
  } catch (err) {
    if (!(err instanceof UsageError) && !(err instanceof TypeError)) throw err;
    // parseArgs throws TypeErrors (ERR_PARSE_ARGS_*) for unknown or malformed flags.
    io.err(`${err.message}\n${USAGE}\n`);
    code = 2;
  } finally {
    await store.close();
  }
  process.exit(code);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    process.stderr.write(`audit failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  });
}
