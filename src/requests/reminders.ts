/**
 * Reminders: WHEN a pending request nobody decided gets a reminder to its approvers, and when, after a second
 * interval, it is escalated. The Slack layer decides HOW (src/slack/reminders.ts), from the audit entry.
 *
 * Each reminder or escalation is ONE compare-and-swap on the request (`reminders.remindedAt` / `escalatedAt`) with
 * its audit entry in the same commit (docs/architecture.md#rules-the-request-modules-keep). So two replicas ticking
 * at once write it once (the loser sees it already set), a restart never writes it again, and the outbox delivers
 * the entry once, after the commit (docs/architecture.md#the-outbox).
 */
import type { Logger } from 'pino';
import type { RecordStore } from '../store/types.js';
import { requestEntry } from './audit-entries.js';
import { workingMsBetween, type BusinessHours } from './business-hours.js';
import type { RequestEvents } from './events.js';
import type { ApprovalPolicy } from './policy.js';
import type { AccountRequest, ActorId, PolicyName, Step } from './types.js';

/** One policy entry's reminders (config: `policy.<action>.reminders`, or `none` for no reminders at all). */
export interface ReminderPolicy {
  /** Working time after the request was made before the approvers are reminded. */
  afterMs: number;
  /** Unset: a reminder, never an escalation. */
  escalation?: {
    /** Working time after the reminder before the request is escalated. */
    afterMs: number;
    to: EscalationTarget;
  };
  /** Unset: every hour counts. */
  businessHours?: BusinessHours;
}

/** Whom an escalation goes to: people (each gets a DM), a channel, or both. */
export interface EscalationTarget {
  users: ActorId[];
  channel?: string;
}

export type ReminderKind = 'reminded' | 'escalated';

export interface RemindersDeps {
  requests: RecordStore<AccountRequest>;
  policy: ApprovalPolicy;
  events: RequestEvents;
  logger: Logger;
  clock: () => Date;
}

export class Reminders {
  constructor(private readonly deps: RemindersDeps) {}

  /**
   * Records every reminder and escalation that is due now; returns how many of each THIS call recorded (one
   * another replica recorded first is not counted).
   */
  async sendDue(): Promise<{ reminded: number; escalated: number }> {
    const now = this.deps.clock();
    const sent = { reminded: 0, escalated: 0 };
    for (const request of await this.deps.requests.listByIndex('state:pending')) {
      const kind = this.dueNow(request, now);
      if (kind && (await this.record(request.id, kind, now))) sent[kind] += 1;
    }
    return sent;
  }

  /** What `request` is due at `now`: a reminder, an escalation, or nothing. */
  dueNow(request: AccountRequest, now: Date): ReminderKind | undefined {
    // An overdue request is the expiry sweep's to close, not the approvers' to be reminded of.
    if (request.state !== 'pending' || new Date(request.expiresAt) <= now) return undefined;
    const policy = this.policyOf(request);
    if (!policy) return undefined;
    const { remindedAt, escalatedAt } = request.reminders ?? {};
    if (!remindedAt)
      return hasWorked(request.createdAt, now, policy.afterMs, policy.businessHours) ? 'reminded' : undefined;
    if (escalatedAt || !policy.escalation) return undefined;
    return hasWorked(remindedAt, now, policy.escalation.afterMs, policy.businessHours) ? 'escalated' : undefined;
  }

  private policyOf(request: AccountRequest): ReminderPolicy | undefined {
    return this.deps.policy.settings.actions[policyNameOf(request)].reminders;
  }

  /** The one commit: the time on the request and the audit entry the Slack layer delivers. False if already done. */
  private async record(id: string, kind: ReminderKind, now: Date): Promise<boolean> {
    const at = now.toISOString();
    const result = await this.deps.requests.update<'not_due'>(
      id,
      (current) => {
        // Re-checked on the current record: a vote, a decision or another replica's reminder may have come first.
        if (this.dueNow(current, now) !== kind) return { refuse: 'not_due' };
        const field = kind === 'reminded' ? 'remindedAt' : 'escalatedAt';
        return { ...current, reminders: { ...current.reminders, [field]: at } };
      },
      (next) => [requestEntry(kind, next, 'system', this.entryData(next, kind))],
    );
    if (!result.ok) return false;
    this.deps.logger.info({ request: id, kind }, kind === 'reminded' ? 'reminded the approvers' : 'escalated');
    this.deps.events.emit(result.record, kind);
    return true;
  }

  /**
   * What the Slack layer needs to deliver it, recorded with the event so the audit log says whom it went to:
   * a reminder names the approvers who have not voted yet (user groups whole: their members are not listed here);
   * an escalation names its target.
   */
  private entryData(request: AccountRequest, kind: ReminderKind): Record<string, unknown> {
    const progress = { approvals: request.approvals.length, required: request.approvalsRequired };
    if (kind === 'escalated') {
      const to = this.policyOf(request)?.escalation?.to ?? { users: [] };
      return { ...progress, escalateTo: { users: to.users, ...(to.channel ? { channel: to.channel } : {}) } };
    }
    const { users, groups } = this.deps.policy.settings.approvers;
    const voted = new Set(request.approvals.map((vote) => vote.by));
    return {
      ...progress,
      mention: { users: users.filter((u) => u !== request.requester && !voted.has(u)), groups },
    };
  }
}

/**
 * Whether `ms` of working time have passed since `since`. Working time never exceeds the time elapsed, so the
 * cheap comparison comes first: counting business hours formats a few dates with Intl for every day in between
 * (milliseconds for a request weeks old), and the tick asks about every pending request each minute.
 */
function hasWorked(since: string, now: Date, ms: number, hours: BusinessHours | undefined): boolean {
  const start = new Date(since);
  return now.getTime() - start.getTime() >= ms && workingMsBetween(start, now, hours) >= ms;
}

/** The policy entry a request was submitted under: its plan's for onboard and offboard, else its action's. */
function policyNameOf(request: Pick<AccountRequest, 'plan' | 'steps'>): PolicyName {
  if (request.plan === 'onboard' || request.plan === 'offboard') return request.plan;
  return (request.steps[0] as Step).action;
}
