/**
 * The doctor: every check an operator would otherwise make by hand, one line each, with a fix for every failure.
 * `npm run doctor` (src/ops/doctor-cli.ts) and `/account doctor` (approvers, answered privately) both run it.
 * Nothing it does changes a backend, Slack or the audit log.
 *
 *   slack    bot token, scopes, channel membership, approvers, Socket Mode app token (src/slack/doctor.ts)
 *   <name>   each backend's diagnose() (src/backends/<kind>/diagnose.ts)
 *   store    writable, schema version, the audit chain verifies
 *   policy   somebody can approve; every enabled action has a backend able to do it
 */
import { randomUUID } from 'node:crypto';
import type { BackendClient, DiagnosisCheck } from '../backends/types.js';
import type { Config } from '../config/load.js';
import { ACTION_KINDS } from '../requests/actions/index.js';
import { REQUEST_ACTIONS } from '../requests/types.js';
import type { Store } from '../store/index.js';

export interface DoctorLine extends DiagnosisCheck {
  /** slack, store, policy, or a backend's name. */
  area: string;
}

export interface DoctorDeps {
  config: Config;
  backends: ReadonlyMap<string, BackendClient>;
  store: Store;
  /** The Slack checks (src/slack/doctor.ts), passed in so this module knows no Slack. */
  slack: () => Promise<DiagnosisCheck[]>;
}

/** The store layout this release reads and writes (SQLite records it as accountdesk:schema). */
const STORE_SCHEMA_VERSION = 1;

export async function runDoctor(deps: DoctorDeps): Promise<DoctorLine[]> {
  const lines: DoctorLine[] = [];
  const add = (area: string, checks: DiagnosisCheck[]) => lines.push(...checks.map((c) => ({ area, ...c })));
  add('slack', await deps.slack().catch((err: unknown) => [crashed('slack checks', err)]));
  // Backends one after another: a doctor run must stay gentle on servers that throttle logins.
  for (const [name, backend] of deps.backends) {
    if (!backend.diagnose) {
      add(name, [{ check: 'diagnose', status: 'warn', detail: `no checks exist for kind ${backend.kind}` }]);
      continue;
    }
    add(name, await backend.diagnose().catch((err: unknown) => [crashed('checks', err)]));
  }
  add('store', await storeChecks(deps.store));
  add('policy', policyChecks(deps.config, deps.backends));
  return lines;
}

/** True when no line failed (warnings do not fail a run). */
export function passed(lines: DoctorLine[]): boolean {
  return lines.every((line) => line.status !== 'fail');
}

/** One line per check, e.g. `FAIL  cloud  credentials: ... -> fix: ...`, then a summary line. */
export function formatReport(lines: DoctorLine[]): string {
  const label = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;
  const body = lines.map(
    (l) =>
      `${label[l.status]}  ${l.area}  ${l.check}: ${l.detail}${l.status !== 'ok' && l.fix ? ` -> fix: ${l.fix}` : ''}`,
  );
  const failures = lines.filter((l) => l.status === 'fail').length;
  const warnings = lines.filter((l) => l.status === 'warn').length;
  body.push(
    failures === 0
      ? `All ${lines.length} checks passed${warnings > 0 ? ` (${warnings} warning${warnings > 1 ? 's' : ''})` : ''}.`
      : `${failures} of ${lines.length} checks failed.`,
  );
  return body.join('\n');
}

async function storeChecks(store: Store): Promise<DiagnosisCheck[]> {
  const checks: DiagnosisCheck[] = [];
  try {
    // A key that expires by itself: proves a write without leaving anything behind.
    const wrote = await store.coordination.once(`doctor-probe-${randomUUID()}`, 60_000);
    checks.push(
      wrote
        ? { check: 'writable', status: 'ok', detail: `${store.engine} store accepted a write` }
        : { check: 'writable', status: 'fail', detail: 'a fresh key was reported as taken', fix: 'check the store' },
    );
  } catch (err) {
    return [
      {
        check: 'writable',
        status: 'fail',
        detail: err instanceof Error ? err.message : String(err),
        fix: 'check STORE_URL, that Redis is up, or that the SQLite file and its folder are writable by this user',
      },
    ];
  }
  const version = await store.schemaVersion();
  checks.push(
    version === undefined
      ? { check: 'schema', status: 'ok', detail: `no schema marker (${store.engine}); this release reads layout 1` }
      : version === STORE_SCHEMA_VERSION
        ? { check: 'schema', status: 'ok', detail: `schema version ${version}` }
        : {
            check: 'schema',
            status: 'fail',
            detail: `schema version ${version}, this release reads ${STORE_SCHEMA_VERSION}`,
            fix: 'run the AccountDesk release that wrote this store, or restore a backup made by this one',
          },
  );
  const chain = await store.audit.verify();
  checks.push(
    chain.ok
      ? { check: 'audit chain', status: 'ok', detail: `${chain.entries} entries, every link verified` }
      : {
          check: 'audit chain',
          status: 'fail',
          detail: `broken at entry ${chain.brokenAt}: ${chain.problem}`,
          fix: 'keep the store as it is for investigation and restore the last good backup (README "Backup")',
        },
  );
  return checks;
}

function policyChecks(config: Config, backends: ReadonlyMap<string, BackendClient>): DiagnosisCheck[] {
  const { approvers, actions } = config.policy;
  const checks: DiagnosisCheck[] = [
    approvers.users.length + approvers.groups.length > 0
      ? {
          check: 'approvers',
          status: 'ok',
          detail: `${approvers.users.length} user(s), ${approvers.groups.length} group(s)`,
        }
      : {
          check: 'approvers',
          status: 'fail',
          detail: 'nobody can approve: every request will wait until it expires',
          fix: 'name approvers.users (U...) or approvers.groups (S...) in the config file',
        },
  ];
  for (const action of REQUEST_ACTIONS) {
    if (!actions[action].enabled) continue;
    const capability = ACTION_KINDS[action].capability;
    const able = [...backends.values()].filter((b) => !capability || b.capabilities.has(capability)).map((b) => b.name);
    checks.push(
      able.length > 0
        ? { check: `action ${action}`, status: 'ok', detail: `enabled; ${able.join(', ')} can do it` }
        : {
            check: `action ${action}`,
            status: 'fail',
            detail: `enabled, but no configured backend can ${action} (it needs ${capability})`,
            fix: `set policy.${action}.enabled: false, or add a backend that supports it`,
          },
    );
  }
  return checks;
}

function crashed(what: string, err: unknown): DiagnosisCheck {
  return {
    check: what,
    status: 'fail',
    detail: `could not run: ${err instanceof Error ? err.message : String(err)}`,
    fix: 'see the detail',
  };
}
