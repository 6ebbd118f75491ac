/**
 * A batch's card is updated at most once per interval while its rows run, whatever the row rate: Slack allows
 * about one chat.update per second per channel (docs/slack.md#limits), and approvers read progress, not each row.
 * An update that comes too soon is skipped and one later render is scheduled, so the card never stays behind for
 * longer than the interval; the batch's final state is always rendered at once.
 */
import type { AccountRequest } from '../requests/types.js';

export class CardThrottle {
  private readonly lastRender = new Map<string, number>();
  private readonly scheduled = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * True when the card of `request` must not be updated now; `renderLater` then runs once the interval has passed
   * (at most one is scheduled per card).
   */
  defer(request: AccountRequest, renderLater: () => void): boolean {
    const id = request.id;
    const now = this.now();
    const running = request.plan === 'batch' && (request.state === 'approved' || request.state === 'applying');
    const since = now - (this.lastRender.get(id) ?? Number.NEGATIVE_INFINITY);
    if (!running || since >= this.intervalMs) {
      this.lastRender.set(id, now);
      if (!running) this.lastRender.delete(id);
      return false;
    }
    if (!this.scheduled.has(id)) {
      const timer = setTimeout(() => {
        this.scheduled.delete(id);
        renderLater();
      }, this.intervalMs - since);
      timer.unref();
      this.scheduled.set(id, timer);
    }
    return true;
  }

  stop(): void {
    for (const timer of this.scheduled.values()) clearTimeout(timer);
    this.scheduled.clear();
  }
}
