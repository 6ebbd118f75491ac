/**
 * The audit entries the request modules write. Each is committed in the same atomic step as the change it
 * records (RecordStore.update's `audit`), and the Slack layer renders the audit channel, the cards and the DMs
 * from them, so their `data` says everything a reader needs (never a secret).
 */
import type { AuditEntryInput } from '../store/types.js';
import type { AccountRequest, Step } from './types.js';

/** The request as a whole: for a one-step plan its step's action, backend and username, as before plans. */
export function requestEntry(
  event: string,
  request: AccountRequest,
  actor: string,
  data: Record<string, unknown> = {},
): AuditEntryInput {
  // A one-action request with a time limit is still that action (its scheduled undo is part of it).
  const only = request.steps.length === 1 || request.plan === 'single' ? request.steps[0] : undefined;
  return {
    event,
    subject: request.id,
    actor,
    data: {
      plan: request.plan,
      action: only ? only.action : request.plan,
      backend: only ? only.backend : [...new Set(request.steps.map((s) => s.backend))].join(', '),
      username: request.username,
      ...(request.profile ? { profile: request.profile } : {}),
      state: request.state,
      ...data,
    },
  };
}

/** One step of a plan with several steps (a one-step plan records only the request's own entry). */
export function stepEntry(
  event: 'step-applied' | 'step-failed' | 'step-skipped' | 'step-waiting',
  request: AccountRequest,
  index: number,
  extra: Record<string, unknown> = {},
): AuditEntryInput {
  const step = request.steps[index] as Step;
  return {
    event,
    subject: request.id,
    actor: 'system',
    data: {
      plan: request.plan,
      step: index + 1,
      of: request.steps.length,
      action: step.action,
      backend: step.backend,
      username: step.username,
      ...(step.result ? { summary: step.result.summary } : {}),
      ...(step.error ? { error: step.error.message, code: step.error.code } : {}),
      ...(step.line !== undefined ? { line: step.line } : {}),
      ...(step.waitingUntil ? { waitingUntil: step.waitingUntil } : {}),
      ...extra,
    },
  };
}

/** "created alice on cloud; disabled alice on nas; skipped on dsm (does not exist)": the plan's outcome in a line. */
export function planSummary(request: AccountRequest): string {
  if (request.steps.length === 1) {
    const only = request.steps[0] as Step;
    return only.result?.summary ?? only.error?.message ?? '';
  }
  return request.steps
    .map((step) => {
      if (step.state === 'pending' && step.notBefore) {
        return `${step.backend}: ${step.action} ${step.username} scheduled for ${step.notBefore}`;
      }
      if (step.state === 'applied') return `${step.backend}: ${step.result?.summary ?? 'applied'}`;
      if (step.state === 'skipped') return `${step.backend}: skipped (${step.result?.summary ?? 'nothing to do'})`;
      if (step.state === 'failed') return `${step.backend}: FAILED (${step.error?.message ?? 'unknown error'})`;
      return `${step.backend}: ${step.state}`;
    })
    .join('; ');
}

/** A batch's rows by state: "480 applied, 3 failed, 17 skipped" (states with no row are left out). */
export function batchCounts(request: Pick<AccountRequest, 'steps'>): string {
  const counts = new Map<string, number>();
  for (const step of request.steps) counts.set(step.state, (counts.get(step.state) ?? 0) + 1);
  return ['applied', 'failed', 'skipped', 'applying', 'pending']
    .filter((state) => counts.has(state))
    .map((state) => `${counts.get(state)} ${state}`)
    .join(', ');
}
