/** How a step looks from its backend: the values the backend will really keep, and what it cannot show. */
import type { BackendClient } from '../backends/types.js';
import type { StepTarget } from './types.js';

/** The step with its quota as the backend will store it, so comparisons with the backend's state hold. */
export function asStored<T extends Pick<StepTarget, 'params'>>(step: T, backend: BackendClient): T {
  const quota = step.params.quotaBytes;
  if (quota === undefined) return step;
  return { ...step, params: { ...step.params, quotaBytes: backend.storedQuota(quota) } };
}

/** Backends for which AccountDesk makes a first password (shown once to the requester, or mailed by DSM). */
export function makesPassword(backend: BackendClient | undefined): boolean {
  return backend?.passwordHandling === 'show-to-requester' || backend?.passwordHandling === 'mailed-by-backend';
}

/**
 * A create found done after an interruption: the one-time password lived only in the attempt that was cut off,
 * so nobody has seen it.
 */
export function unseenPasswordNote(step: StepTarget, backend: BackendClient): string {
  return step.action === 'create' && backend.passwordHandling === 'show-to-requester'
    ? `. The generated password was never shown: reset it on ${step.backend}`
    : '';
}
