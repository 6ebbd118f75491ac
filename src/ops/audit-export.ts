/**
 * The audit log as an auditor reads it: one row per event, as CSV (RFC 4180) or JSON Lines. A spreadsheet runs a
 * cell that starts with = + - @ (or a tab or carriage return) as a formula, and the request reason and backend
 * answers are text people typed or servers wrote: such cells get a leading apostrophe, as OWASP's "CSV Injection"
 * page recommends (https://owasp.org/www-community/attacks/CSV_Injection).
 */
import type { AuditEntry } from '../store/types.js';

const EXPORT_COLUMNS = [
  'seq',
  'time',
  'request_id',
  'actor',
  'action',
  'backend',
  'username',
  'outcome',
  'reason',
] as const;

export type ExportRow = Record<(typeof EXPORT_COLUMNS)[number], string | number>;

export function exportRow(entry: AuditEntry): ExportRow {
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  const { data } = entry;
  const code = text(data.code);
  return {
    seq: entry.seq,
    time: entry.at,
    request_id: entry.subject,
    actor: entry.actor,
    action: text(data.action),
    backend: text(data.backend),
    username: text(data.username),
    outcome: code ? `${entry.event} (${code})` : entry.event,
    // Why it happened (a request's or a rejection's reason, a failure's words) or what the backend answered.
    reason: text(data.reason) || text(data.error) || text(data.summary),
  };
}

/** One CSV cell: formula-looking text disarmed, quoted when it holds a comma, quote or line break. */
export function csvCell(value: string | number): string {
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvHeader(): string {
  return `${EXPORT_COLUMNS.join(',')}\r\n`;
}

export function csvLine(row: ExportRow): string {
  return `${EXPORT_COLUMNS.map((column) => csvCell(row[column])).join(',')}\r\n`;
}

export function jsonLine(row: ExportRow): string {
  return `${JSON.stringify(row)}\n`;
}
