import { describe, expect, it } from 'vitest';
import { asForeground, WriterQueue } from '../../src/store/write-priority.js';
import { RequestEvents } from '../../src/requests/events.js';

/** A task that records when it ran and takes a macrotask turn, like a statement on the SQLite writer. */
function recorder(order: string[]) {
  return (name: string) => () =>
    new Promise<string>((resolve) =>
      setImmediate(() => {
        order.push(name);
        resolve(name);
      }),
    );
}

describe('the SQLite writer queue', () => {
  it('runs one task at a time, a person-facing write ahead of background writes queued before it', async () => {
    const queue = new WriterQueue();
    const order: string[] = [];
    const task = recorder(order);
    let running = 0;
    let most = 0;
    const counted = (inner: () => Promise<string>) => async () => {
      most = Math.max(most, ++running);
      try {
        return await inner();
      } finally {
        running--;
      }
    };
    const work = [
      queue.run(counted(task('background 1'))),
      queue.run(counted(task('background 2'))),
      queue.run(counted(task('background 3'))),
      asForeground(() => queue.run(counted(task('vote')))),
      asForeground(() => queue.run(counted(task('receipt')))),
    ];
    expect(await Promise.all(work)).toHaveLength(5);
    // background 1 was already running when the person's writes arrived; they overtake 2 and 3, in their order.
    expect(order).toEqual(['background 1', 'vote', 'receipt', 'background 2', 'background 3']);
    expect(most).toBe(1);
  });

  it('keeps going after a task fails', async () => {
    const queue = new WriterQueue();
    await expect(queue.run(() => Promise.reject(new Error('disk full')))).rejects.toThrow('disk full');
    await expect(queue.run(() => Promise.resolve('next'))).resolves.toBe('next');
  });

  it('work a person sets off through a request event is background, not foreground', async () => {
    const queue = new WriterQueue();
    const order: string[] = [];
    const task = recorder(order);
    const events = new RequestEvents();
    const background: Promise<string>[] = [];
    events.subscribe(() => void background.push(queue.run(task('preview'))));
    await asForeground(async () => {
      const blocker = queue.run(task('receipt 1'));
      events.emit({} as never, 'requested');
      await Promise.all([blocker, queue.run(task('receipt 2'))]);
    });
    await Promise.all(background);
    expect(order).toEqual(['receipt 1', 'receipt 2', 'preview']);
  });
});
