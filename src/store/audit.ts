/**
 * The append-only, hash-chained audit log.
 *
 * Entry N is stored at `<ns>:audit:N`; `<ns>:audit:head` holds {seq, hash} of the last entry. An append reads
 * the head, builds entry head.seq+1 chained to head.hash, and commits "entry key absent AND head unchanged ->
 * write entry and head" as one atomic step. Two writers therefore can never take the same seq, and no seq is
 * skipped: the loser of a round re-reads the head and chains onto the winner. The hash needs sha256, which a
 * Redis script cannot compute, hence this optimistic shape instead of a server-side counter.
 * Appends from this process are queued one after another so they do not compete with each other; only other
 * processes cause retries.
 */
import { createHash } from 'node:crypto';
import { corrupt, decode, encode } from './codec.js';
import type { Engine } from './engine.js';
import type { KeyLayout } from './keys.js';
import { SerialQueue } from './queue.js';
import { MAX_ATTEMPTS, contention, pauseAfterLostRound } from './retry.js';
import type { AuditEntry, AuditEntryInput, AuditLog, AuditVerification } from './types.js';

interface Head {
  seq: number;
  hash: string;
}

const VERIFY_PAGE = 500;

/** JSON with object keys sorted at every depth: the same entry always hashes the same, whoever wrote it. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const fields = Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function entryHash(entry: Omit<AuditEntry, 'hash'>): string {
  const { seq, at, event, subject, actor, data, prevHash } = entry;
  return createHash('sha256').update(canonicalJson({ seq, at, event, subject, actor, data, prevHash })).digest('hex');
}

/**
 * What a record store needs to commit audit entries in the same atomic step as a record change: the head as it
 * stands, and the writes and expectations that chain new entries onto it. Used through `withJournal` so this
 * process's appends and audited record changes never compete with each other.
 */
export interface AuditJournal {
  /** Runs `work` in this process's append queue. */
  serially<T>(work: () => Promise<T>): Promise<T>;
  /** Reads the head and builds `inputs` as the next entries, with what the commit must expect and write. */
  prepare(inputs: AuditEntryInput[]): Promise<PreparedEntries>;
  /** After a lost commit: throws when the head did not move but an entry key is taken (written by hand). */
  assertHeadMoved(headRaw: string | undefined, seq: number): Promise<void>;
}

export interface PreparedEntries {
  entries: AuditEntry[];
  /** The head as read: a lost commit whose head did not move points at an entry written by hand. */
  headRaw: string | undefined;
  expect: { key: string; raw: string | null }[];
  set: { key: string; raw: string }[];
}

export interface AuditChain {
  log: AuditLog;
  journal: AuditJournal;
}

export function auditChain(engine: Engine, keys: KeyLayout, now: () => number = Date.now): AuditChain {
  const appends = new SerialQueue();
  const headKey = keys.auditHead();

  async function readHead(): Promise<{ raw: string | undefined; head: Head }> {
    const raw = await engine.getRaw(headKey);
    if (raw === undefined) return { raw, head: { seq: 0, hash: '' } };
    const head = decode<Head>(raw, headKey).value;
    if (!Number.isSafeInteger(head?.seq) || typeof head.hash !== 'string')
      throw corrupt(headKey, 'is not an audit head');
    return { raw, head };
  }

  async function prepare(inputs: AuditEntryInput[]): Promise<PreparedEntries> {
    const { raw, head } = await readHead();
    const at = new Date(now()).toISOString();
    const entries: AuditEntry[] = [];
    let previous = head;
    for (const input of inputs) {
      // A plain-JSON copy: what is hashed is exactly what is stored and read back (no Dates, no undefined).
      const data = JSON.parse(JSON.stringify(input.data ?? {})) as Record<string, unknown>;
      const unhashed = {
        seq: previous.seq + 1,
        at,
        event: input.event,
        subject: input.subject,
        actor: input.actor,
        data,
        prevHash: previous.hash,
      };
      const entry: AuditEntry = { ...unhashed, hash: entryHash(unhashed) };
      entries.push(entry);
      previous = { seq: entry.seq, hash: entry.hash };
    }
    return {
      entries,
      headRaw: raw,
      expect: [{ key: headKey, raw: raw ?? null }, ...entries.map((e) => ({ key: keys.auditEntry(e.seq), raw: null }))],
      set: [
        ...entries.map((e) => ({ key: keys.auditEntry(e.seq), raw: encode({ value: e }) })),
        { key: headKey, raw: encode({ value: previous }) },
      ],
    };
  }

  async function appendOnce(input: AuditEntryInput): Promise<AuditEntry> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const prepared = await prepare([input]);
      const entry = prepared.entries[0]!;
      const applied = await engine.commit({
        expect: prepared.expect,
        set: prepared.set,
        indexAdd: [],
        indexRemove: [],
      });
      if (applied) return entry;
      await assertHeadMoved(prepared.headRaw, entry.seq);
      await pauseAfterLostRound(attempt);
    }
    throw contention('The audit log head');
  }

  /**
   * After a lost commit: if the head did not move, the entry key was taken by something other than an append
   * (an edit by hand), and retrying would loop for ever.
   */
  async function assertHeadMoved(headRaw: string | undefined, seq: number): Promise<void> {
    if ((await engine.getRaw(headKey)) !== headRaw) return;
    if ((await engine.getRaw(keys.auditEntry(seq))) === undefined) return;
    throw corrupt(
      keys.auditEntry(seq),
      `exists beyond the audit log's last entry (${seq - 1}); it was written outside AccountDesk`,
    );
  }

  function readRaw(fromSeq: number, toSeq: number): Promise<(string | undefined)[]> {
    const entryKeys: string[] = [];
    for (let seq = fromSeq; seq <= toSeq; seq++) entryKeys.push(keys.auditEntry(seq));
    return engine.getManyRaw(entryKeys);
  }

  async function readEntries(fromSeq: number, toSeq: number): Promise<(AuditEntry | undefined)[]> {
    const raws = await readRaw(fromSeq, toSeq);
    return raws.map((raw, i) =>
      raw === undefined ? undefined : decode<AuditEntry>(raw, keys.auditEntry(fromSeq + i)).value,
    );
  }

  async function readAfter(afterSeq: number, limit: number): Promise<AuditEntry[]> {
    const { head } = await readHead();
    const from = Math.max(0, Math.floor(afterSeq)) + 1;
    const to = Math.min(head.seq, from + Math.floor(limit) - 1);
    if (to < from) return [];
    const entries = await readEntries(from, to);
    return entries.map((entry, i) => {
      // A hole would make every consumer silently skip an event; say so loudly instead.
      if (entry === undefined) throw corrupt(keys.auditEntry(from + i), 'is missing from the audit log (deleted)');
      return entry;
    });
  }

  async function verify(): Promise<AuditVerification> {
    const { head } = await readHead();
    let previousHash = '';
    for (let from = 1; from <= head.seq; from += VERIFY_PAGE) {
      const to = Math.min(head.seq, from + VERIFY_PAGE - 1);
      const raws = await readRaw(from, to);
      for (const [i, raw] of raws.entries()) {
        const seq = from + i;
        const broken = (problem: string): AuditVerification => ({
          ok: false,
          entries: head.seq,
          brokenAt: seq,
          problem,
        });
        if (raw === undefined) return broken(`entry ${seq} is missing: it was deleted`);
        let entry: AuditEntry;
        try {
          entry = decode<AuditEntry>(raw, keys.auditEntry(seq)).value;
        } catch {
          return broken(`entry ${seq} is no longer readable JSON: it was edited`);
        }
        if (entry.seq !== seq) {
          return broken(`entry ${seq} carries seq ${entry.seq}: entries were moved, inserted or deleted around it`);
        }
        if (entry.prevHash !== previousHash) {
          return broken(
            `entry ${seq} does not follow entry ${seq - 1} (its prevHash is not that entry's hash): ` +
              `entry ${seq - 1} was rewritten, or entry ${seq} was replaced or inserted`,
          );
        }
        const { hash, ...unhashed } = entry;
        if (entryHash(unhashed) !== hash) {
          return broken(`entry ${seq} was edited after it was written: its content no longer matches its hash`);
        }
        previousHash = hash;
      }
    }
    if (head.seq > 0 && head.hash !== previousHash) {
      return {
        ok: false,
        entries: head.seq,
        brokenAt: head.seq,
        problem: `the log's head does not match entry ${head.seq}: the head was rewritten`,
      };
    }
    const [beyond] = await readRaw(head.seq + 1, head.seq + 1);
    if (beyond !== undefined) {
      return {
        ok: false,
        entries: head.seq,
        brokenAt: head.seq + 1,
        problem:
          head.seq === 0
            ? `entry ${head.seq + 1} exists but the log's head is missing: the head was deleted`
            : `entry ${head.seq + 1} exists beyond the last appended entry: it was inserted outside AccountDesk`,
      };
    }
    return { ok: true, entries: head.seq };
  }

  return {
    log: {
      append: (input) => appends.run(() => appendOnce(input)),
      readAfter,
      verify,
      head: async () => (await readHead()).head,
    },
    journal: { serially: (work) => appends.run(work), prepare, assertHeadMoved },
  };
}
