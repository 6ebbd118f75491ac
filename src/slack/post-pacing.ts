/**
 * Pacing of chat.postMessage per channel. Slack allows about one message per second per channel, with short bursts
 * and no guarantee beyond that, and answers 429 with Retry-After when an app goes over
 * (docs/slack.md#posting-messages). A token bucket per channel keeps the outbox under that limit instead of
 * hammering into 429s: `burst` posts may go at once, then one every 1/`perSecond` s. A 429 Slack still sends pauses
 * that channel until its Retry-After has passed.
 */

export interface PostPaceSettings {
  /** Sustained posts per second to one channel. */
  perSecond: number;
  /** Posts that may go at once to a channel that has been quiet. */
  burst: number;
}

/** Slack's documented pace for chat.postMessage, with a small burst (docs/slack.md#posting-messages). */
const DEFAULT_POST_PACE: PostPaceSettings = { perSecond: 1, burst: 3 };

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
  /** No post before this time (ms): a 429's Retry-After. */
  pausedUntil: number;
  /** The turns waiting for this channel, so they are served in order. */
  queue: Promise<void>;
}

export class PostPacer {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly settings: PostPaceSettings = DEFAULT_POST_PACE,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** Waits until a post to `channel` may go, and takes its token. Turns for one channel are served in order. */
  turn(channel: string): Promise<void> {
    const bucket = this.bucketOf(channel);
    const mine = bucket.queue.then(() => this.take(bucket));
    bucket.queue = mine.catch(() => undefined);
    return mine;
  }

  /** Slack answered 429 for `channel`: no post there before Retry-After has passed. */
  pause(channel: string, retryAfterMs: number): void {
    const bucket = this.bucketOf(channel);
    bucket.pausedUntil = Math.max(bucket.pausedUntil, this.now() + retryAfterMs);
    // One post when the pause ends, then the sustained pace: no burst straight after a 429.
    bucket.tokens = 1;
    bucket.at = bucket.pausedUntil;
  }

  private async take(bucket: Bucket): Promise<void> {
    for (;;) {
      const now = this.now();
      const refill = (Math.max(0, now - bucket.at) / 1000) * this.settings.perSecond;
      bucket.tokens = Math.min(this.settings.burst, bucket.tokens + refill);
      bucket.at = Math.max(bucket.at, now);
      const wait =
        now < bucket.pausedUntil
          ? bucket.pausedUntil - now
          : bucket.tokens >= 1
            ? 0
            : Math.ceil(((1 - bucket.tokens) / this.settings.perSecond) * 1000);
      if (wait === 0) {
        bucket.tokens -= 1;
        return;
      }
      await this.sleep(wait);
    }
  }

  private bucketOf(channel: string): Bucket {
    let bucket = this.buckets.get(channel);
    if (!bucket) {
      bucket = { tokens: this.settings.burst, at: this.now(), pausedUntil: 0, queue: Promise.resolve() };
      this.buckets.set(channel, bucket);
    }
    return bucket;
  }
}
