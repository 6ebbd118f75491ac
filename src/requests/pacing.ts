/**
 * Pacing of backend calls: at most `concurrency` calls to one backend at a time, and starts at least
 * `minIntervalMs` apart, first come first served. The engine runs every step through its backend's pacer, so a
 * plan (or a batch) never floods a server, and one slow backend never holds up another backend's steps.
 */
import type { BackendKind } from '../backends/types.js';

export interface PaceSettings {
  concurrency: number;
  minIntervalMs: number;
}

/**
 * Defaults per backend kind. Nextcloud and the OIDC apps take parallel calls, but each create hashes a password
 * and copies the skeleton (about 0.4-0.7 s on Nextcloud 32) and SQLite-backed servers fail writes under load
 * ("database is locked", docs/nextcloud-ocs.md), so two at a time. DSM serialises admin edits and answers
 * 3112/3113 "another admin is editing" to a second one (docs/synology-dsm.md), so one at a time.
 */
export const DEFAULT_PACE: Record<BackendKind, PaceSettings> = {
  nextcloud: { concurrency: 2, minIntervalMs: 0 },
  nmcuser_oidc: { concurrency: 2, minIntervalMs: 0 },
  user_oidc: { concurrency: 2, minIntervalMs: 0 },
  synology: { concurrency: 1, minIntervalMs: 0 },
};

export class Pacer {
  private running = 0;
  private lastStart = Number.NEGATIVE_INFINITY;
  private heldUntil = Number.NEGATIVE_INFINITY;
  private readonly waiting: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly settings: PaceSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** Calls waiting for their turn (a gauge for operators). */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Starts nothing before `until` (epoch ms): the backend said it refuses calls until then (a rate limit's window).
   * Calls already running finish; a later hold never shortens an earlier one.
   */
  holdUntil(until: number): void {
    if (until <= this.heldUntil) return;
    this.heldUntil = until;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.pump();
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    await new Promise<void>((resolve) => {
      this.waiting.push(resolve);
      this.pump();
    });
    try {
      return await task();
    } finally {
      this.running--;
      this.pump();
    }
  }

  private pump(): void {
    if (this.timer || this.waiting.length === 0 || this.running >= this.settings.concurrency) return;
    const wait = Math.max(this.lastStart + this.settings.minIntervalMs, this.heldUntil) - this.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wait);
      return;
    }
    this.running++;
    this.lastStart = this.now();
    this.waiting.shift()?.();
    this.pump();
  }
}
