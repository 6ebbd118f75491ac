/**
 * Scheduled steps that undo an earlier step of the same plan (docs/architecture.md#scheduled-steps): what to read
 * before the change so it can be undone, and whether the undo still makes sense when its time comes.
 *
 * Only a quota change needs a value from before: the revert restores the quota read just before the change, and
 * only while the backend still shows the quota AccountDesk set (someone who changed it by hand in between meant
 * it). A scheduled disable needs neither: the account's time is up whatever happened to it meanwhile.
 */
import { BackendError, type BackendClient } from '../backends/types.js';
import { formatBytes } from './sizes.js';
import type { Step } from './types.js';

/** What a later revert needs from before the change: the quota to restore and the one this change sets. */
export interface Remembered {
  restore: number | null;
  expect: number | null;
}

/**
 * Reads what the undo of `step` will restore, just before `step` changes it. Throws the backend's error when it
 * cannot be read: a change that could not be undone later is not made.
 */
export async function rememberBeforeChange(backend: BackendClient, step: Step): Promise<Remembered | undefined> {
  if (step.action !== 'quota') return undefined;
  const current = await backend.getUser(step.username);
  if (!current.exists || !current.quota) {
    throw new BackendError(
      backend.name,
      current.exists ? 'unsupported' : 'not_found',
      `${backend.name} did not report the current quota of ${step.username}, so it could not be restored when the ` +
        'time limit ends. Nothing was changed.',
    );
  }
  return { restore: current.quota.limitBytes, expect: backend.storedQuota(step.params.quotaBytes ?? null) };
}

/** The undo step with what was remembered: it restores `restore` while the backend still shows `expect`. */
export function withRemembered(undo: Step, remembered: Remembered): Step {
  // An extension carries the quota to restore over from the request it extends (schedules.ts): keep that one.
  const restore = undo.params.quotaBytes !== undefined ? undo.params.quotaBytes : remembered.restore;
  return {
    ...undo,
    params: { ...undo.params, quotaBytes: restore },
    expect: { quotaBytes: remembered.expect },
  };
}

/**
 * Why a due undo step must not run (its words go into the audit log as the step's "skipped" summary), or undefined
 * when it should run. Reads the backend for a quota revert; a read that fails throws, and the step fails with it.
 */
export async function reasonToSkipUndo(
  backend: BackendClient,
  step: Step,
  undone: Step | undefined,
): Promise<string | undefined> {
  if (undone && undone.state !== 'applied') {
    return `the change it undoes (${undone.action} on ${undone.backend}) was never applied`;
  }
  if (step.action !== 'quota') return undefined;
  if (!step.expect) {
    return (
      `the quota of ${step.username} before the change was never recorded (AccountDesk stopped while applying it): ` +
      'set it back by hand'
    );
  }
  const current = await backend.getUser(step.username);
  if (!current.exists) return `${step.username} no longer exists on ${step.backend}`;
  const now = current.quota?.limitBytes;
  if (now !== step.expect.quotaBytes) {
    return (
      `the quota of ${step.username} was changed by hand since (it is ${now === undefined ? 'unknown' : formatBytes(now)}, ` +
      `not ${formatBytes(step.expect.quotaBytes)}): left alone instead of restoring ` +
      formatBytes(step.params.quotaBytes ?? null)
    );
  }
  return undefined;
}
