/**
 * In-process notice that a request changed, so the parts that act on changes (the engine on an approval, the
 * Slack publisher on anything) start at once instead of at their next poll. A notice is only a hint: every
 * consumer also polls the store, so a notice lost with a crash, or one that happened in another replica, delays
 * work and never loses it.
 */
import { AsyncResource } from 'node:async_hooks';
import type { AccountRequest } from './types.js';

/** What happened, in the words of the audit log. */
export type RequestChange =
  | 'requested'
  | 'approved'
  | 'rejected'
  | 'cancelled'
  | 'expired'
  | 'retried'
  | 'previewed'
  | 'step-settled'
  /** A scheduled step's notice recorded, or its cancel: news for Slack, no change of the request's own state. */
  | 'schedule-changed'
  | 'reminded'
  | 'escalated'
  | 'paused'
  | 'resumed';

export type ChangeListener = (request: AccountRequest, change: RequestChange) => void;

export class RequestEvents {
  private readonly listeners: ChangeListener[] = [];
  /**
   * Listeners run in the async context this object was made in (start-up), not the emitter's: the work a notice
   * sets off (previews, cards, the engine) is background work, even when a person's Slack request emitted it, so
   * its store writes do not take that request's foreground lane (src/store/write-priority.ts).
   */
  private readonly home = new AsyncResource('RequestEvents');

  subscribe(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  emit(request: AccountRequest, change: RequestChange): void {
    for (const listener of this.listeners) {
      // A listener's failure is its own: it must not stop the others or the caller's transition.
      try {
        this.home.runInAsyncScope(listener, null, request, change);
      } catch {
        /* listeners log their own errors */
      }
    }
  }
}
