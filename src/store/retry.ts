/**
 * Bounded retries for optimistic (compare-and-swap) steps. Each lost round means another writer succeeded, so
 * progress is guaranteed overall; the bound only stops a pathological loop (a value rewritten by hand on every
 * read). The short random pause after the first lost rounds spreads two replicas that keep colliding.
 */
import { StoreError } from './types.js';

export const MAX_ATTEMPTS = 50;

export async function pauseAfterLostRound(attempt: number): Promise<void> {
  if (attempt < 2) return;
  const ceilingMs = Math.min(2 ** attempt, 50);
  await new Promise((resolve) => setTimeout(resolve, Math.random() * ceilingMs));
}

export function contention(what: string): StoreError {
  return new StoreError(
    'contention',
    `${what} kept changing under us (${MAX_ATTEMPTS} attempts). Another process is writing it in a loop; ` +
      `try again, and if it persists check for a runaway replica.`,
  );
}
