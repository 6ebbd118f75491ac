/**
 * A first-in first-out async queue: runs one task at a time. The store uses it where one connection must not
 * interleave work (an SQLite transaction on the adapter's single connection) and to keep this process's own
 * audit appends from competing with each other, so cross-process retries stay rare.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    // The next task waits for this one to settle, whether it fulfilled or failed.
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
