/**
 * Batches: one action on one backend for many accounts, given as CSV rows (a header line names the columns). Each
 * row is checked on its own, exactly as a single request would be (the action's checkParams, the backend's
 * username rules), so the requester learns every bad line with its number and why, and can submit the rest.
 * Nothing is stored here; a valid batch becomes a plan with one step per row (plans.ts). An onboarding batch
 * (`onboard`) is checked by plans.ts row by row as single onboardings, over the table read here.
 */
import type { BackendClient } from '../backends/types.js';
import { ACTION_KINDS, type Draft } from './actions/index.js';
import { checkUsername } from './fields.js';
import type { ActionName, StepTarget } from './types.js';

/** The actions a batch can carry: the ones people do in bulk (migrations, a class, a team's quota). */
export const BATCH_ACTIONS = ['create', 'disable', 'enable', 'quota'] as const satisfies readonly ActionName[];
export type BatchAction = (typeof BATCH_ACTIONS)[number];

/** What the batch form offers: the actions above on one backend, or onboarding people with a profile. */
export const BATCH_ROW_ACTIONS = [...BATCH_ACTIONS, 'onboard'] as const;
export type BatchRowAction = (typeof BATCH_ROW_ACTIONS)[number];

/** Columns a header may name (case-insensitive; "display name", "displayname" and "name" are the same column). */
export const BATCH_COLUMNS = ['username', 'email', 'quota', 'displayname', 'groups', 'profile'] as const;
export type BatchColumn = (typeof BATCH_COLUMNS)[number];
type Column = BatchColumn;

/** Columns only one kind of batch takes: a profile names quota and groups itself; only onboarding has profiles. */
const NOT_FOR: Record<'onboard' | 'single', readonly Column[]> = {
  onboard: ['quota', 'groups'],
  single: ['profile'],
};

const COLUMN_ALIASES: Record<string, Column> = {
  username: 'username',
  user: 'username',
  uid: 'username',
  email: 'email',
  mail: 'email',
  quota: 'quota',
  displayname: 'displayname',
  name: 'displayname',
  groups: 'groups',
  group: 'groups',
  profile: 'profile',
};

/**
 * A batch is stored as one record whose steps are its rows, rewritten on every claim and settle: the cost of one
 * row grows with the batch, so the size is capped (measured in bench/batch.ts; docs/architecture.md#batches).
 */
export const MAX_BATCH_ROWS = 2_000;

/** `/account batch`: what the modal gives. */
export interface BatchDraft {
  action: 'batch';
  backend: string;
  rowAction: BatchRowAction;
  /** Onboarding: the profile for every row that has no profile column of its own. */
  profile?: string;
  csv: string;
  reason?: string;
  /** Submit the valid rows even when some are invalid (the requester saw the invalid ones and said so). */
  skipInvalid?: boolean;
}

export interface InvalidRow {
  /** Line number in the CSV as given (1 = the header). */
  line: number;
  reason: string;
}

export interface CheckedRows {
  valid: (StepTarget & { line: number })[];
  invalid: InvalidRow[];
}

/** A problem with the CSV as a whole (no header, no username column, too many rows): nothing can be submitted. */
export interface CsvProblem {
  problem: string;
}

/**
 * Splits CSV text into lines of fields (RFC 4180: "quoted" fields may hold commas and doubled quotes; a quoted
 * field may not span lines here, since a row is one account). Semicolons separate when the header has no comma
 * (spreadsheets in many locales export so). Blank lines are kept as empty rows so line numbers stay true.
 */
export function parseCsvLines(text: string): { line: number; fields: string[] }[] | CsvProblem {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  const header = lines[0] ?? '';
  const separator = !header.includes(',') && header.includes(';') ? ';' : ',';
  const rows: { line: number; fields: string[] }[] = [];
  for (const [index, raw] of lines.entries()) {
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    for (let i = 0; i < raw.length; i++) {
      const ch = raw[i];
      if (quoted) {
        if (ch === '"' && raw[i + 1] === '"') {
          field += '"';
          i++;
        } else if (ch === '"') quoted = false;
        else field += ch;
      } else if (ch === '"' && field.trim() === '') {
        quoted = true;
        field = '';
      } else if (ch === separator) {
        fields.push(field.trim());
        field = '';
      } else field += ch;
    }
    if (quoted) return { problem: `Line ${index + 1}: a quote is not closed.` };
    fields.push(field.trim());
    rows.push({ line: index + 1, fields });
  }
  return rows;
}

/** One row of a batch's CSV under its header: its line number and its cells by column. */
export interface BatchRow {
  line: number;
  /** The cell in `column`, undefined when the header has no such column or the cell is empty. */
  cell: (column: Column) => string | undefined;
}

/**
 * Reads the header and the non-blank rows of `csv` for a batch of `action`: a problem with the table as a whole
 * (no username column, a column this kind of batch does not take, no rows, too many), or its rows; a row with more
 * fields than the header names is returned among the invalid rows.
 */
export function readBatchTable(
  csv: string,
  action: BatchRowAction,
  maxRows = MAX_BATCH_ROWS,
): { rows: BatchRow[]; invalid: InvalidRow[] } | CsvProblem {
  const parsed = parseCsvLines(csv);
  if ('problem' in parsed) return parsed;
  const [header, ...body] = parsed;
  const columns = (header?.fields ?? []).map((name) => COLUMN_ALIASES[name.toLowerCase().replace(/[\s_-]/g, '')]);
  const unknown = (header?.fields ?? []).filter((_, i) => columns[i] === undefined);
  if (!columns.includes('username')) {
    return {
      problem:
        'The first line must name the columns, with at least "username": e.g. ' +
        (action === 'onboard' ? '`username,email,profile`.' : '`username,email,quota,display name,groups`.'),
    };
  }
  if (unknown.length > 0) {
    return { problem: `Line 1 names unknown columns: ${unknown.join(', ')}. Known: ${BATCH_COLUMNS.join(', ')}.` };
  }
  const refused = NOT_FOR[action === 'onboard' ? 'onboard' : 'single'].filter((column) => columns.includes(column));
  if (refused.length > 0) {
    return {
      problem:
        action === 'onboard'
          ? `Line 1 names ${refused.join(', ')}: an onboarding takes them from the profile. Remove the column.`
          : `Line 1 names ${refused.join(', ')}: only an onboarding batch takes a profile. Remove the column.`,
    };
  }
  const nonBlank = body.filter((row) => row.fields.some((f) => f !== ''));
  if (nonBlank.length === 0) return { problem: 'There are no rows under the header line.' };
  if (nonBlank.length > maxRows) {
    return { problem: `${nonBlank.length} rows is more than ${maxRows}, the most one batch takes: split it.` };
  }
  const rows: BatchRow[] = [];
  const invalid: InvalidRow[] = [];
  for (const row of nonBlank) {
    if (row.fields.length > columns.length) {
      invalid.push({ line: row.line, reason: `${row.fields.length} fields, but the header names ${columns.length}` });
      continue;
    }
    rows.push({
      line: row.line,
      cell: (column) => {
        const value = row.fields[columns.indexOf(column)];
        return value === undefined || value === '' ? undefined : value;
      },
    });
  }
  return { rows, invalid };
}

/**
 * Checks every row of `csv` for `action` on `backend`. Rows that cannot become a step are returned with their line
 * number and why; a duplicate username keeps its first row (one account cannot be changed twice in one batch).
 */
export function checkBatchRows(
  csv: string,
  action: BatchAction,
  backend: BackendClient,
  maxRows = MAX_BATCH_ROWS,
): CheckedRows | CsvProblem {
  const table = readBatchTable(csv, action, maxRows);
  if ('problem' in table) return table;
  const kind = ACTION_KINDS[action];
  const valid: CheckedRows['valid'] = [];
  const invalid: InvalidRow[] = [...table.invalid];
  const firstLineOf = new Map<string, number>();
  for (const { line, cell } of table.rows) {
    const username = checkUsername(backend, cell('username') ?? '');
    if (!username.ok) {
      invalid.push({ line, reason: username.message });
      continue;
    }
    const seen = firstLineOf.get(username.value.toLowerCase());
    if (seen !== undefined) {
      invalid.push({ line, reason: `${username.value} is already on line ${seen}` });
      continue;
    }
    const groups = cell('groups')
      ?.split(/[\s|]+/)
      .filter((g) => g !== '');
    const draft: Draft = {
      action,
      backend: backend.name,
      username: username.value,
      email: cell('email'),
      displayName: cell('displayname'),
      quota: cell('quota'),
      ...(groups ? { groups } : {}),
    };
    const params = kind.checkParams(draft, backend);
    if (!params.ok) {
      invalid.push({ line, reason: params.message });
      continue;
    }
    firstLineOf.set(username.value.toLowerCase(), line);
    valid.push({ backend: backend.name, action, username: username.value, params: params.params, line });
  }
  // Rows too long for the header were found first; the requester reads them in line order.
  invalid.sort((a, b) => a.line - b.line);
  return { valid, invalid };
}

/** "line 3: The username is empty.; line 7: ..." for a form error or a receipt, at most `max` lines. */
export function describeInvalidRows(invalid: readonly InvalidRow[], max = 10): string {
  const shown = invalid.slice(0, max).map((row) => `line ${row.line}: ${row.reason}`);
  const more = invalid.length > max ? [`and ${invalid.length - max} more`] : [];
  return [...shown, ...more].join('\n');
}
