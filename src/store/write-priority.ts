/**
 * Which writes go first when several wait for the one SQLite writer connection.
 *
 * A person waiting on Slack (a slash command's receipt, a click stored before its ack, the replay guard's once-key
 * in front of both) must not queue behind the background work a burst sets off: previews, cards, cursor moves,
 * each a commit of its own. Measured before this lane existed: in a burst of 1,000 creates the requesters' receipts
 * waited 8 s (p50) behind that queue (`bench/hot-path.ts`, README "Benchmarks").
 *
 * The Slack layer runs each incoming request inside `asForeground`; every store write made in that async context
 * (AsyncLocalStorage follows awaits, timers and callbacks) takes the foreground lane. Everything else is
 * background. Work a request only sets off (an in-process event's listener) does not inherit it: RequestEvents runs
 * its listeners outside the emitter's context (src/requests/events.ts).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const foreground = new AsyncLocalStorage<true>();

/** Runs `work` with its store writes ahead of background writes. */
export function asForeground<T>(work: () => Promise<T>): Promise<T> {
  return foreground.run(true, work);
}

/**
 * A queue that runs one task at a time (an SQLite connection must not interleave transactions): foreground tasks
 * first, each lane first-in first-out. A background task waits only while foreground tasks are queued; a burst of
 * people ends, so nothing waits for ever.
 */
export class WriterQueue {
  private readonly lanes = { foreground: [] as (() => void)[], background: [] as (() => void)[] };
  private running = false;

  run<T>(task: () => Promise<T>): Promise<T> {
    const lane = foreground.getStore() ? this.lanes.foreground : this.lanes.background;
    return new Promise<T>((resolve, reject) => {
      lane.push(() => {
        task()
          .then(resolve, reject)
          .finally(() => {
            this.running = false;
            this.next();
          });
      });
      this.next();
    });
  }

  private next(): void {
    if (this.running) return;
    const start = this.lanes.foreground.shift() ?? this.lanes.background.shift();
    if (!start) return;
    this.running = true;
    start();
  }
}
