/**
 * The request record and its vocabulary. Plain data: it is stored as JSON and re-read on every click, so the
 * Slack layer never trusts what a button or private_metadata carries beyond the request id.
 */

/** The verbs a request can carry (`/account <verb> ...`); what each one does is in ACTION_KINDS (actions/). */
export const REQUEST_ACTIONS = ['create', 'disable', 'enable', 'quota', 'delete', 'join', 'leave', 'reinvite'] as const;
export type ActionName = (typeof REQUEST_ACTIONS)[number];

export const STATES = [
  'pending',
  'approved',
  'applying',
  'applied',
  'failed',
  'rejected',
  'expired',
  'cancelled',
] as const;
export type RequestState = (typeof STATES)[number];

/** Everything an action may carry besides the username; each action uses its own subset. */
export interface RequestParams {
  email?: string;
  displayName?: string;
  /** null = unlimited. */
  quotaBytes?: number | null;
  groups?: string[];
}

export interface Vote {
  by: string;
  at: string;
}

export interface AccountRequest {
  id: string;
  version: number;
  action: ActionName;
  /** Backend instance name from the config ("cloud", "nas"). */
  backend: string;
  username: string;
  params: RequestParams;
  reason: string;
  requester: string;
  state: RequestState;
  createdAt: string;
  expiresAt: string;
  approvalsRequired: number;
  approvals: Vote[];
  /** Who rejected / cancelled / expired it, when and why. */
  decision?: { by: string; at: string; reason?: string };
  /** Set while applying, so recovery can tell a live apply from one a crash interrupted. */
  applyingSince?: string;
  /** Which process claimed it (RequestServiceDeps.instance.id), while applying. */
  applyingBy?: string;
  attempts: number;
  result?: { at: string; summary: string };
  error?: { at: string; code: string; message: string; retryable: boolean };
  /**
   * Where the approval card lives, opaque to the domain (the Slack layer stores "channel/ts" here as soon as it is
   * known, so a restart never posts a second card).
   */
  cardRef?: string;
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
