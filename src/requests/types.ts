/**
 * The request record and its vocabulary. Plain data: it is stored as JSON and re-read on every click, so the
 * Slack layer never trusts what a button or private_metadata carries beyond the request id.
 *
 * A request is a plan of steps (one action on one backend for one username each), approved once as a whole and
 * applied step by step by the engine (engine.ts).
 */
import type { UserState } from '../backends/types.js';
import type { Assessment } from './actions/kind.js';

/** The verbs a request can carry (`/account <verb> ...`); what each one does is in ACTION_KINDS (actions/). */
export const REQUEST_ACTIONS = ['create', 'disable', 'enable', 'quota', 'delete', 'join', 'leave', 'reinvite'] as const;
export type ActionName = (typeof REQUEST_ACTIONS)[number];

export const STATES = [
  'pending',
  'approved',
  'applying',
  'applied',
  'scheduled',
  'partly_applied',
  'failed',
  'rejected',
  'expired',
  'cancelled',
] as const;
export type RequestState = (typeof STATES)[number];

/**
 * What a request asks for as a whole. `single` is one action on one backend (what `/account create ...` makes);
 * `onboard` creates a person's accounts from a profile; `offboard` disables (or deletes) them everywhere; `batch`
 * applies one action to many accounts on one backend, a step per row of a CSV (batch.ts).
 */
export const PLAN_KINDS = ['single', 'onboard', 'offboard', 'batch'] as const;
export type PlanKind = (typeof PLAN_KINDS)[number];

/** What the policy names: every action, and the plans that are more than one action. */
export const POLICY_NAMES = [...REQUEST_ACTIONS, 'onboard', 'offboard', 'batch'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

/** A step's own progress once the request is approved (docs/architecture.md#requests-as-plans). */
export const STEP_STATES = ['pending', 'applying', 'applied', 'failed', 'skipped'] as const;
export type StepState = (typeof STEP_STATES)[number];

/** Everything an action may carry besides the username; each action uses its own subset. */
export interface RequestParams {
  email?: string;
  displayName?: string;
  /** null = unlimited. */
  quotaBytes?: number | null;
  groups?: string[];
  /**
   * create with a time limit: the last day (YYYY-MM-DD) a backend that enforces an expiry itself (DSM) keeps the
   * account working. Backends without one ignore it; the plan's scheduled disable step does the job there.
   */
  expiresOn?: string;
}

/** What one step changes: the part of a step an action kind reads. */
export interface StepTarget {
  /** Backend instance name from the config ("cloud", "nas"). */
  backend: string;
  action: ActionName;
  username: string;
  params: RequestParams;
}

/** The live read of a step's backend taken for the approval card, stored with the request. */
export interface StepPreview {
  at: string;
  /** "exists, enabled, quota 10 GB (2.1 GB used)"; absent when the read failed. */
  current?: UserState;
  assessment?: Assessment;
  /** Why the current state could not be read. */
  error?: string;
}

export interface Step extends StepTarget {
  state: StepState;
  attempts: number;
  /** Set while applying, so recovery can tell a live apply from one a crash interrupted. */
  applyingSince?: string;
  /** Which process claimed it, while applying. */
  applyingBy?: string;
  /**
   * Offboarding: a backend where the user does not exist is skipped, not failed (the person simply has no
   * account there).
   */
  skipIfMissing?: boolean;
  /** A Retry after an answer was lost: read the backend before sending the call again. */
  checkFirst?: boolean;
  /** Batches: the row's line in the CSV the requester gave (1 = the header line). */
  line?: number;
  /**
   * Set when the backend's rate limit sent the step back to pending: not before this time (ISO). The card says
   * "waiting for <backend>'s rate limit until ..." meanwhile.
   */
  waitingUntil?: string;
  result?: { at: string; summary: string };
  error?: { at: string; code: string; message: string; retryable: boolean };
  preview?: StepPreview;
  /**
   * A scheduled step: not run before this moment (ISO). It is part of the approved plan and needs no approval of
   * its own (docs/architecture.md#scheduled-steps).
   */
  notBefore?: string;
  /** The index of the earlier step of the plan whose change this scheduled step undoes. */
  undoes?: number;
  /**
   * A quota revert: the quota the earlier step set, read back when it was applied. The revert runs only while the
   * backend still shows it; a quota changed by hand in between is left alone.
   */
  expect?: { quotaBytes: number | null };
  /** From when the requester is told that this scheduled step is coming (the policy's notice before it). */
  noticeFrom?: string;
  /** When that notice was committed (once). */
  noticedAt?: string;
}

export interface Vote {
  by: string;
  at: string;
}

export interface AccountRequest {
  id: string;
  version: number;
  plan: PlanKind;
  /** The person the request is about (every step's username today). */
  username: string;
  /** The profile an onboarding was built from. */
  profile?: string;
  steps: Step[];
  reason: string;
  requester: string;
  state: RequestState;
  createdAt: string;
  expiresAt: string;
  approvalsRequired: number;
  approvals: Vote[];
  /**
   * More time for an earlier request: once this one is approved, that request's scheduled steps are cancelled and
   * this one's run instead (src/requests/schedules.ts).
   */
  extends?: string;
  /** Who rejected / cancelled / expired it, when and why. */
  decision?: { by: string; at: string; reason?: string };
  /** When the approvers were reminded of it, and when it was escalated (requests/reminders.ts). */
  reminders?: { remindedAt?: string; escalatedAt?: string };
  /** Batches only: the action every row carries, and the approvers' Pause / Cancel (batch-controls.ts). */
  batch?: BatchInfo;
}

export interface BatchInfo {
  /** What every row does; `onboard`: each row is a person given a profile's accounts (one create per backend). */
  action: ActionName | 'onboard';
  /** Onboarding batches: the profiles the rows name, for the policy's rules per profile and for the card. */
  profiles?: string[];
  /** Rows the requester gave that failed validation and were left out, for the card ("3 rows left out"). */
  skippedRows?: number;
  /** While set, the engine claims no new row; rows already running finish. */
  paused?: { by: string; at: string };
  /** Set by Cancel: the rows still pending were skipped; the request ends `cancelled` once nothing runs. */
  cancelled?: { by: string; at: string };
}

/** Someone acting: a user id as the chat surface knows it. */
export type ActorId = string;

/** Expected failures are values with a code (docs/architecture.md#errors). */
export interface Failure<C extends string = string> {
  ok: false;
  code: C;
  /** Words for the person who acted: what is wrong and what to do. */
  message: string;
  /** The field at fault, for inline form errors. */
  field?: string;
  request?: AccountRequest;
}

export type Outcome<T, C extends string = string> = ({ ok: true } & T) | Failure<C>;
