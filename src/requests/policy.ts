/**
 * Who may ask, who may approve, how many approvals each request needs and when it expires.
 *
 * Fails closed: an empty approver list means nobody can approve
 * (docs/architecture.md#rules-the-request-modules-keep), and start-up warns about it.
 */
import { DEFAULT_MAX_AHEAD_MS, DEFAULT_NOTICE_BEFORE_MS } from './schedule.js';
import type { ReminderPolicy } from './reminders.js';
import type { AccountRequest, ActorId, PolicyName, RequestParams, StepTarget } from './types.js';

export interface PeopleSelector {
  users: string[];
  /** User-group ids; their members count as listed. */
  groups: string[];
}

export interface ContentRule {
  /** Applies when the requested quota is above this many bytes (or unlimited). */
  quotaAboveBytes?: number;
  /** Applies to these backend names only. */
  backends?: string[];
  /** Applies to onboardings with these profiles only. */
  profiles?: string[];
  /** Applies to batches of more than this many rows (policy.batch). */
  rowsAbove?: number;
  approvals: number;
}

export interface ActionPolicy {
  enabled: boolean;
  approvals: number;
  expiresAfterMs: number;
  rules: ContentRule[];
  /** How far ahead an `until:` / `for:` may reach (default DEFAULT_MAX_AHEAD_MS, src/requests/schedule.ts). */
  maxAheadMs?: number;
  /** How long before a scheduled step the requester gets a DM (default DEFAULT_NOTICE_BEFORE_MS). */
  noticeBeforeMs?: number;
  /** When and whom to remind of a request nobody decided (reminders.ts); unset: no reminders. */
  reminders?: ReminderPolicy;
}

export interface PolicySettings {
  approvers: PeopleSelector;
  /** undefined = everyone in the workspace may ask. */
  requesters?: PeopleSelector;
  /** Per action, and for the onboard and offboard plans. */
  actions: Record<PolicyName, ActionPolicy>;
}

/** Resolves user-group membership (the Slack layer implements it with usergroups.users.list). */
export interface Directory {
  membersOf(groupId: string): Promise<string[]>;
}

export type VoteCheck =
  { ok: true } | { ok: false; code: 'not_approver' | 'self_approval' | 'already_voted'; message: string };

export class ApprovalPolicy {
  constructor(
    readonly settings: PolicySettings,
    private readonly directory: Directory,
  ) {}

  isEnabled(name: PolicyName): boolean {
    return this.settings.actions[name].enabled;
  }

  /** The highest count among the action's base and every content rule that matches. */
  approvalsRequired(
    name: PolicyName,
    backend: string | undefined,
    params: RequestParams,
    profile?: string,
    rows?: number,
  ): number {
    const policy = this.settings.actions[name];
    let required = policy.approvals;
    for (const rule of policy.rules) {
      if (rule.rowsAbove !== undefined && (rows === undefined || rows <= rule.rowsAbove)) continue;
      if (rule.backends && (backend === undefined || !rule.backends.includes(backend))) continue;
      if (rule.profiles && (profile === undefined || !rule.profiles.includes(profile))) continue;
      if (rule.quotaAboveBytes !== undefined) {
        const quota = params.quotaBytes;
        if (quota === undefined) continue;
        if (quota !== null && quota <= rule.quotaAboveBytes) continue;
      }
      required = Math.max(required, rule.approvals);
    }
    return required;
  }

  /**
   * A plan needs what its most demanding step needs (an onboarding with a 200 GB quota needs what a 200 GB quota
   * needs), and at least what the policy names for the plan itself (onboard, offboard; rules per profile).
   */
  planApprovals(plan: {
    policy: PolicyName;
    profile?: string;
    steps: readonly (StepTarget & { undoes?: number; line?: number })[];
    batch?: { action: string; profiles?: string[] };
  }): number {
    // A create that sets a quota also needs what that quota would need as a quota change (the quota rules). A
    // scheduled step that undoes another is approved with it: it asks for nothing of its own.
    const perStep = plan.steps
      .filter((s) => s.undoes === undefined)
      .map((s) =>
        Math.max(
          this.approvalsRequired(s.action, s.backend, s.params),
          s.action === 'create' && s.params.quotaBytes !== undefined
            ? this.approvalsRequired('quota', s.backend, s.params)
            : 1,
        ),
      );
    // A plan's own rules match on its profile; rules naming backends or quotas belong to the actions' policies.
    // A batch's own rules match on its size (rowsAbove) and its backend.
    const own =
      plan.policy === 'onboard' || plan.policy === 'offboard'
        ? this.approvalsRequired(plan.policy, undefined, {}, plan.profile)
        : plan.policy === 'batch'
          ? this.approvalsRequired('batch', plan.steps[0]?.backend, {}, undefined, batchRows(plan.steps))
          : 1;
    // A batch of onboardings needs at least what one onboarding with each of its profiles needs (policy.onboard).
    const onboardings = plan.batch?.action === 'onboard' ? (plan.batch.profiles ?? []) : [];
    const perProfile = onboardings.map((profile) => this.approvalsRequired('onboard', undefined, {}, profile));
    return Math.max(own, ...perStep, ...perProfile);
  }

  /** How far ahead a time limit on a `name` request may reach. */
  maxAheadMs(name: PolicyName): number {
    return this.settings.actions[name].maxAheadMs ?? DEFAULT_MAX_AHEAD_MS;
  }

  /** How long before a scheduled step of a `name` request the requester is told. */
  noticeBeforeMs(name: PolicyName): number {
    return this.settings.actions[name].noticeBeforeMs ?? DEFAULT_NOTICE_BEFORE_MS;
  }

  expiresAt(name: PolicyName, now: Date): Date {
    return new Date(now.getTime() + this.settings.actions[name].expiresAfterMs);
  }

  async isApprover(user: ActorId): Promise<boolean> {
    return this.includes(this.settings.approvers, user);
  }

  async mayRequest(user: ActorId): Promise<boolean> {
    return this.settings.requesters === undefined || this.includes(this.settings.requesters, user);
  }

  async checkVote(request: AccountRequest, user: ActorId): Promise<VoteCheck> {
    if (user === request.requester) {
      return {
        ok: false,
        code: 'self_approval',
        message: 'You asked for this change, so someone else has to approve it.',
      };
    }
    if (request.approvals.some((vote) => vote.by === user)) {
      return {
        ok: false,
        code: 'already_voted',
        message: 'You have already approved this request; it needs another approver.',
      };
    }
    if (!(await this.isApprover(user))) {
      return {
        ok: false,
        code: 'not_approver',
        message: 'Only the approvers named in the AccountDesk config can approve or reject requests.',
      };
    }
    return { ok: true };
  }

  /** Problems an operator should see at start-up. */
  warnings(): string[] {
    const warnings: string[] = [];
    const { users, groups } = this.settings.approvers;
    if (users.length === 0 && groups.length === 0) {
      warnings.push(
        'No approvers are configured: every request will wait until it expires. ' +
          'Add approvers.users or approvers.groups to the config.',
      );
    }
    for (const [action, policy] of Object.entries(this.settings.actions)) {
      const most = Math.max(policy.approvals, ...policy.rules.map((r) => r.approvals));
      if (policy.enabled && groups.length === 0 && most > users.length) {
        warnings.push(
          `"${action}" can need ${most} approvals but only ${users.length} ` +
            `approver(s) are listed: such requests can never be approved.`,
        );
      }
    }
    return warnings;
  }

  private async includes(selector: PeopleSelector, user: ActorId): Promise<boolean> {
    if (selector.users.includes(user)) return true;
    for (const group of selector.groups) {
      if ((await this.directory.membersOf(group)).includes(user)) return true;
    }
    return false;
  }
}

/** A batch's rows: an onboarding row gives one step per backend of its profile, all with the row's line. */
function batchRows(steps: readonly { line?: number }[]): number {
  return new Set(steps.map((step, index) => step.line ?? `step ${index}`)).size;
}
