import { expect } from 'vitest';
import { BackendError } from '../../src/backends/types.js';

/** The BackendError a call failed with; the test fails if it succeeded or threw anything else. */
export async function backendFailure(promise: Promise<unknown>): Promise<BackendError> {
  const outcome = await promise.then(
    () => ({ failed: false as const }),
    (error: unknown) => ({ failed: true as const, error }),
  );
  if (!outcome.failed) throw new Error('expected the call to fail with a BackendError, it succeeded');
  expect(outcome.error).toBeInstanceOf(BackendError);
  return outcome.error as BackendError;
}
