/**
 * From what a person typed or picked to a plan of steps: one step for `/account create|disable|...`, one create
 * per backend of a profile for `onboard`, one disable (or delete) per backend for `offboard`. Everything is
 * checked here, before anything is stored, so an approver never approves a plan a backend will refuse for its
 * shape.
 */
import type { BackendClient } from '../backends/types.js';
import { ACTION_KINDS, type Draft } from './actions/index.js';
import {
  MAX_BATCH_ROWS,
  checkBatchRows,
  describeInvalidRows,
  readBatchTable,
  type BatchDraft,
  type InvalidRow,
} from './batch.js';
import { checkReason, checkUsername } from './fields.js';
import { invalid } from './outcomes.js';
import type { ApprovalPolicy } from './policy.js';
import { lastDayBefore, resolveTimeLimit } from './schedule.js';
import type { ActorId, BatchInfo, Outcome, PlanKind, PolicyName, RequestParams, StepTarget } from './types.js';

/** What one profile gives a person on one backend. */
export interface ProfileAccount {
  /** null = unlimited. */
  quotaBytes?: number | null;
  groups?: string[];
}

/** Profile name -> backend name -> the account a person of that kind gets there (config `profiles`). */
export type Profiles = Record<string, Record<string, ProfileAccount>>;

/** `/account onboard <username> <email> profile:<name> [reason]`. */
export interface OnboardDraft {
  action: 'onboard';
  username: string;
  email?: string;
  displayName?: string;
  profile: string;
  reason?: string;
  /** `until:<YYYY-MM-DD>`: the accounts are disabled on that day. */
  until?: string;
  /** `for:<duration>`: the accounts are disabled after that long. */
  duration?: string;
  /** The request whose time limit this one extends. */
  extends?: string;
}

/** `/account offboard <username> [delete] [reason]`. */
export interface OffboardDraft {
  action: 'offboard';
  username: string;
  /** Delete instead of disable, only where the policy enables delete. */
  delete?: boolean;
  reason?: string;
}

export type RequestDraft = Draft | OnboardDraft | OffboardDraft | BatchDraft;

/** A plan that passed every check: what `submit` stores. */
export interface ValidPlan {
  plan: PlanKind;
  /** The policy entry that governs it: the action for a one-step plan, else the plan kind. */
  policy: PolicyName;
  username: string;
  profile?: string;
  reason: string;
  steps: (PlannedStep & { line?: number })[];
  batch?: BatchInfo;
  /** Batches: the rows left out (line number and why), for the requester's receipt. */
  invalidRows?: InvalidRow[];
}

/** A step as planned: what it changes, and for a scheduled step when it runs and which step it undoes. */
export type PlannedStep = StepTarget & {
  skipIfMissing?: boolean;
  notBefore?: string;
  undoes?: number;
  noticeFrom?: string;
};

/**
 * The actions a time limit can end: an account (create, onboard; enable, for more time after a limit), or a quota
 * change (quota).
 */
const TIME_LIMITED: readonly PolicyName[] = ['create', 'onboard', 'enable', 'quota'];

type Checked = Outcome<{ valid: ValidPlan }, 'invalid' | 'not_allowed'>;

export class PlanBuilder {
  constructor(
    private readonly backends: ReadonlyMap<string, BackendClient>,
    readonly policy: ApprovalPolicy,
    readonly profiles: Profiles,
    private readonly clock: () => Date = () => new Date(),
    /** The most rows one batch takes (MAX_BATCH_ROWS; benchmarks raise it to measure beyond). */
    private readonly maxBatchRows = MAX_BATCH_ROWS,
  ) {}

  backend(name: string): BackendClient | undefined {
    return this.backends.get(name);
  }

  backendNames(): string[] {
    return [...this.backends.keys()];
  }

  /** The backends that can do `action` (its capability, if it needs one). */
  backendsAble(action: keyof typeof ACTION_KINDS): string[] {
    const capability = ACTION_KINDS[action].capability;
    return this.backendNames().filter((name) => !capability || this.backends.get(name)?.capabilities.has(capability));
  }

  /** Validates a draft without storing anything (a form checks this before it acknowledges). */
  async check(draft: RequestDraft, requester: ActorId): Promise<Checked> {
    if (!this.policy.isEnabled(draft.action)) {
      return invalid('action', `"${draft.action}" requests are turned off in the AccountDesk config.`);
    }
    if (!(await this.policy.mayRequest(requester))) {
      return {
        ok: false,
        code: 'not_allowed',
        message: 'You are not among the people allowed to request account changes. Ask an AccountDesk admin.',
      };
    }
    const reason = checkReason(draft.reason ?? '');
    if (!reason.ok) return invalid('reason', reason.message);
    let checked: Checked;
    switch (draft.action) {
      case 'onboard':
        checked = this.onboard(draft, reason.value);
        break;
      case 'offboard':
        checked = this.offboard(draft, reason.value);
        break;
      case 'batch':
        // A batch has no time limit: its rows are changed once, as the CSV says.
        return this.batch(draft, reason.value);
      default:
        checked = this.single(draft, reason.value);
    }
    if (!checked.ok || draft.action === 'offboard') return checked;
    return this.withTimeLimit(checked.valid, draft);
  }

  /**
   * `until:` / `for:` adds the scheduled steps that undo the plan's changes (docs/architecture.md#scheduled-steps):
   * a disable for every account a create makes (DSM also gets its own expiry day), a quota revert for a quota
   * change. They are part of the plan, so approving the request approves them.
   */
  private withTimeLimit(valid: ValidPlan, draft: Draft | OnboardDraft): Checked {
    const now = this.clock();
    const limit = resolveTimeLimit(draft, now, this.policy.maxAheadMs(valid.policy));
    if (!limit.ok) return invalid(limit.field, limit.message);
    if (!limit.at) return { ok: true, valid };
    if (!TIME_LIMITED.includes(valid.policy)) {
      return invalid('until', 'until:/for: work on create, onboard, enable and quota requests only.');
    }
    const notBefore = limit.at.toISOString();
    const noticeFrom = new Date(limit.at.getTime() - this.policy.noticeBeforeMs(valid.policy)).toISOString();
    const undo = valid.steps.map((step, index): PlannedStep => {
      const scheduled = { backend: step.backend, username: step.username, notBefore, undoes: index, noticeFrom };
      // A revert's quota is read from the backend when the change is applied (engine.ts), not guessed now.
      return step.action === 'quota'
        ? { ...scheduled, action: 'quota', params: {} }
        : { ...scheduled, action: 'disable', params: {}, skipIfMissing: true };
    });
    const expiresOn = lastDayBefore(limit.at);
    const steps = valid.steps.map((step) =>
      step.action === 'create' ? { ...step, params: { ...step.params, expiresOn } } : step,
    );
    return { ok: true, valid: { ...valid, steps: [...steps, ...undo] } };
  }

  private single(draft: Draft, reason: string): Checked {
    if (draft.backend.trim() === '') {
      return invalid('backend', `Say where: one of ${this.backendNames().join(', ')}.`);
    }
    const backend = this.backends.get(draft.backend);
    if (!backend) return this.unknownBackend(draft.backend);
    const kind = ACTION_KINDS[draft.action];
    if (kind.capability && !backend.capabilities.has(kind.capability)) {
      const able = this.backendsAble(draft.action);
      return invalid(
        'action',
        `${backend.name} (${backend.kind}) does not support "${draft.action}" requests.` +
          (able.length ? ` Backends that do: ${able.join(', ')}.` : ''),
      );
    }
    const username = checkUsername(backend, draft.username);
    if (!username.ok) return invalid('username', username.message);
    const params = kind.checkParams(draft, backend);
    if (!params.ok) return invalid(params.field, params.message);
    const step = { backend: backend.name, action: draft.action, username: username.value, params: params.params };
    return {
      ok: true,
      valid: { plan: 'single', policy: draft.action, username: username.value, reason, steps: [step] },
    };
  }

  private onboard(draft: OnboardDraft, reason: string): Checked {
    const accounts = Object.hasOwn(this.profiles, draft.profile) ? this.profiles[draft.profile] : undefined;
    if (draft.profile.trim() === '') {
      const known = Object.keys(this.profiles);
      return invalid('profile', `Pick the profile the person gets${known.length ? `: ${known.join(', ')}` : ''}.`);
    }
    if (!accounts) {
      const known = Object.keys(this.profiles);
      return invalid(
        'profile',
        known.length
          ? `There is no profile named "${draft.profile}". Known: ${known.join(', ')}.`
          : 'No profiles are configured: an admin adds them under profiles: in the AccountDesk config.',
      );
    }
    const steps: ValidPlan['steps'] = [];
    let username = draft.username.trim();
    for (const [name, account] of Object.entries(accounts)) {
      // Start-up checked that every profile names configured backends (config/load.ts).
      const backend = this.backends.get(name);
      if (!backend) return this.unknownBackend(name);
      const checked = checkUsername(backend, draft.username);
      if (!checked.ok) return invalid('username', `${checked.message} (${backend.name})`);
      username = checked.value;
      const params = ACTION_KINDS.create.checkParams(
        {
          action: 'create',
          backend: name,
          username: checked.value,
          email: draft.email,
          displayName: draft.displayName,
          groups: account.groups,
        },
        backend,
      );
      if (!params.ok) return invalid(params.field, params.message);
      const withQuota: RequestParams =
        account.quotaBytes === undefined ? params.params : { ...params.params, quotaBytes: account.quotaBytes };
      steps.push({ backend: name, action: 'create', username: checked.value, params: withQuota });
    }
    return {
      ok: true,
      valid: { plan: 'onboard', policy: 'onboard', username, profile: draft.profile, reason, steps },
    };
  }

  private offboard(draft: OffboardDraft, reason: string): Checked {
    const action = draft.delete ? 'delete' : 'disable';
    if (draft.delete && !this.policy.isEnabled('delete')) {
      return invalid('action', 'Deleting accounts is turned off in the AccountDesk config; offboard disables them.');
    }
    const steps: ValidPlan['steps'] = [];
    let username = draft.username.trim();
    const refusals: string[] = [];
    for (const backend of this.backends.values()) {
      const capability = ACTION_KINDS[action].capability;
      if (capability && !backend.capabilities.has(capability)) continue;
      // A name a backend cannot hold cannot exist there: nothing to offboard on that backend.
      const checked = checkUsername(backend, draft.username);
      if (!checked.ok) {
        refusals.push(`${backend.name}: ${checked.message}`);
        continue;
      }
      username = checked.value;
      steps.push({ backend: backend.name, action, username: checked.value, params: {}, skipIfMissing: true });
    }
    if (steps.length === 0) {
      return invalid(
        'username',
        `No backend can hold an account named "${draft.username}"` +
          (refusals.length ? ` (${refusals.join('; ')})` : '') +
          '.',
      );
    }
    return { ok: true, valid: { plan: 'offboard', policy: 'offboard', username, reason, steps } };
  }

  /** One step per valid CSV row; invalid rows are refused unless the requester chose to leave them out. */
  private batch(draft: BatchDraft, reason: string): Checked {
    if (draft.rowAction === 'onboard') return this.onboardBatch(draft, reason);
    const backend = this.backends.get(draft.backend);
    if (!backend)
      return draft.backend.trim() === '' ? invalid('backend', 'Pick a backend.') : this.unknownBackend(draft.backend);
    if (!this.policy.isEnabled(draft.rowAction)) {
      return invalid('action', `"${draft.rowAction}" requests are turned off in the AccountDesk config.`);
    }
    const checked = checkBatchRows(draft.csv, draft.rowAction, backend, this.maxBatchRows);
    if ('problem' in checked) return invalid('csv', checked.problem);
    const { valid, invalid: bad } = checked;
    return batchPlan({ count: valid.length, noun: 'accounts', steps: valid, batch: { action: draft.rowAction } }, bad, {
      reason,
      skipInvalid: draft.skipInvalid,
    });
  }

  /**
   * Onboarding many people: every row is checked as `/account onboard` would check it (profile, username on each
   * of the profile's backends, email), and becomes that profile's create steps, each carrying the row's line.
   */
  private onboardBatch(draft: BatchDraft, reason: string): Checked {
    if (!this.policy.isEnabled('onboard')) {
      return invalid('action', '"onboard" requests are turned off in the AccountDesk config.');
    }
    const table = readBatchTable(draft.csv, 'onboard', this.maxBatchRows);
    if ('problem' in table) return invalid('csv', table.problem);
    const steps: ValidPlan['steps'] = [];
    const bad: InvalidRow[] = [...table.invalid];
    const profiles = new Set<string>();
    const firstLineOf = new Map<string, number>();
    for (const { line, cell } of table.rows) {
      const profile = cell('profile') ?? draft.profile ?? '';
      const person = this.onboard(
        {
          action: 'onboard',
          username: cell('username') ?? '',
          email: cell('email'),
          displayName: cell('displayname'),
          profile,
        },
        reason,
      );
      if (!person.ok) {
        bad.push({ line, reason: person.message });
        continue;
      }
      const seen = firstLineOf.get(person.valid.username.toLowerCase());
      if (seen !== undefined) {
        bad.push({ line, reason: `${person.valid.username} is already on line ${seen}` });
        continue;
      }
      firstLineOf.set(person.valid.username.toLowerCase(), line);
      profiles.add(profile);
      steps.push(...person.valid.steps.map((step) => ({ ...step, line })));
    }
    bad.sort((a, b) => a.line - b.line);
    const batch: BatchInfo = { action: 'onboard', profiles: [...profiles].sort() };
    return batchPlan({ count: firstLineOf.size, noun: 'people', steps, batch }, bad, {
      reason,
      skipInvalid: draft.skipInvalid,
    });
  }

  private unknownBackend(name: string): Checked {
    return invalid('backend', `There is no backend named "${name}". Known: ${this.backendNames().join(', ')}.`);
  }
}

/**
 * A batch's plan from its checked rows. A batch with no valid row, or with invalid rows the requester did not
 * choose to leave out, is refused.
 */
function batchPlan(
  valid: { count: number; noun: 'accounts' | 'people'; steps: ValidPlan['steps']; batch: BatchInfo },
  bad: InvalidRow[],
  { reason, skipInvalid }: { reason: string; skipInvalid?: boolean },
): Checked {
  if (valid.count === 0) return invalid('csv', `No row is valid:\n${describeInvalidRows(bad)}`);
  if (bad.length > 0 && !skipInvalid) {
    return invalid(
      'csv',
      `${valid.count} rows are valid, ${bad.length} are not:\n${describeInvalidRows(bad)}\n` +
        'Fix them, or tick "Submit only the valid rows".',
    );
  }
  return {
    ok: true,
    valid: {
      plan: 'batch',
      policy: 'batch',
      username: `${valid.count} ${valid.noun}`,
      reason,
      steps: valid.steps,
      batch: { ...valid.batch, ...(bad.length > 0 ? { skippedRows: bad.length } : {}) },
      invalidRows: bad,
    },
  };
}

/**
 * Problems with the profiles that only the built backends can tell (start-up fails with them): a profile that
 * gives groups on a backend that does not manage groups.
 */
export function profileProblems(profiles: Profiles, backends: ReadonlyMap<string, BackendClient>): string[] {
  const problems: string[] = [];
  for (const [profile, accounts] of Object.entries(profiles)) {
    for (const [name, account] of Object.entries(accounts)) {
      const backend = backends.get(name);
      if (!backend) {
        problems.push(`profiles.${profile}.${name}: there is no backend named "${name}" under backends.`);
      } else if (account.groups?.length && !backend.capabilities.has('groups')) {
        problems.push(
          `profiles.${profile}.${name}.groups: ${name} (${backend.kind}) does not manage groups; remove groups there.`,
        );
      }
    }
  }
  return problems;
}
