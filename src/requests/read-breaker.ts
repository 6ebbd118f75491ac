/**
 * A circuit breaker for the live reads of one backend (the approval card's preview, `/account info`). A backend
 * that is down or hangs would make every read wait for its retries or the preview's time limit; after a few failed
 * reads in a short window the breaker answers at once instead, and lets a single probe through now and then to
 * notice that the backend is back.
 *
 *   closed     reads go through; each failure is remembered for `windowMs`
 *   open       `failures` failures within `windowMs`: reads are refused at once for `cooldownMs`
 *   half-open  after the cooldown one read (the probe) goes through; the others are still refused. The probe's
 *              success closes the breaker, its failure opens it for another cooldown.
 */

export interface BreakerSettings {
  /** Failed reads within `windowMs` that open the breaker. */
  failures: number;
  windowMs: number;
  /** How long an open breaker refuses reads before it lets one probe through. */
  cooldownMs: number;
}

export const DEFAULT_BREAKER: BreakerSettings = { failures: 3, windowMs: 60_000, cooldownMs: 30_000 };

export class ReadBreaker {
  /** Times of the failures inside the window, oldest first. */
  private failedAt: number[] = [];
  private openUntil = 0;
  private probing = false;

  constructor(
    private readonly settings: BreakerSettings = DEFAULT_BREAKER,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Why a read may not go through now (the words the card shows), or undefined when it may. A read let through
   * must report its outcome with succeeded() or failed().
   */
  refusal(): string | undefined {
    const now = this.now();
    if (this.openUntil === 0) return undefined;
    if (now < this.openUntil || this.probing) return this.reason();
    this.probing = true; // half-open: this read is the probe
    return undefined;
  }

  /** Like refusal(), without taking the probe's turn: for a read about to queue for a slot. */
  wouldRefuse(): string | undefined {
    if (this.openUntil === 0) return undefined;
    return this.now() < this.openUntil || this.probing ? this.reason() : undefined;
  }

  succeeded(): void {
    this.failedAt = [];
    this.openUntil = 0;
    this.probing = false;
  }

  failed(): void {
    const now = this.now();
    this.failedAt = [...this.failedAt.filter((t) => now - t < this.settings.windowMs), now];
    if (this.probing || this.failedAt.length >= this.settings.failures) {
      this.openUntil = now + this.settings.cooldownMs;
      this.probing = false;
    }
  }

  private reason(): string {
    const { failures, windowMs } = this.settings;
    const window = windowMs === 60_000 ? 'minute' : `${Math.round(windowMs / 1000)} s`;
    return `state unavailable, read failed ${failures} times in the last ${window}`;
  }
}
