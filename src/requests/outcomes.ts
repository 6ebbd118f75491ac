/**
 * Words and codes shared by the request modules: how a backend failure is stored and shown, and the refusals a
 * decision can meet. Expected failures are values with a code; only the unexpected is logged with its stack.
 */
import { BackendError } from '../backends/types.js';
import { refusalFor } from './lifecycle.js';
import type { AccountRequest, Failure } from './types.js';

export type DecisionCode =
  | 'not_found'
  | 'not_approver'
  | 'self_approval'
  | 'already_voted'
  | 'already_decided'
  | 'confirmation_mismatch'
  | 'not_requester'
  | 'reason_required';

/** Failure codes after which the change may have happened anyway (the answer was lost, not a refusal). */
export const OUTCOME_UNKNOWN: ReadonlySet<string> = new Set([
  'timeout',
  'unavailable',
  'ambiguous',
  'interrupted',
  'unexpected',
  'unknown',
  'protocol',
]);

/** What a failed backend call leaves on its step, in words approvers read on the card. */
export interface StepFailure {
  code: string;
  message: string;
  retryable: boolean;
}

/** Turns whatever a backend call threw into the code and words stored on the step. */
export function backendFailure(err: unknown): StepFailure {
  if (err instanceof BackendError) return { code: err.code, message: err.message, retryable: err.retryable };
  return {
    code: 'unexpected',
    message:
      `Unexpected error in AccountDesk (${err instanceof Error ? err.name : 'unknown'}); the logs have details. ` +
      'Check the account, then Retry.',
    retryable: true,
  };
}

/** Request ids are shown upper case; people type them in any case. The store refuses ids over 512 characters. */
export function normaliseId(id: string): string {
  return id.trim().toUpperCase();
}

/** Longer than any id AccountDesk issues: such an id is simply not found (the store's keys stop at 512). */
export const MAX_REQUEST_ID_LENGTH = 64;

export function invalid(field: string, message: string): Failure<'invalid'> {
  return { ok: false, code: 'invalid', field, message };
}

export function notFound(id: string): Failure<'not_found'> {
  const shown = id.length > 40 ? `${id.slice(0, 40)}…` : id;
  return { ok: false, code: 'not_found', message: `There is no request ${shown}. Check the id in your receipt.` };
}

export function alreadyDecided(request: AccountRequest): Failure<'already_decided'> {
  return { ok: false, code: 'already_decided', message: `${request.id}: ${refusalFor(request.state)}.`, request };
}
