/**
 * How the bench's processes talk: the load generator forks each child (child_process.fork, Node's IPC channel),
 * the child announces itself with one `ready` message (its port, its urls), then answers questions by name. Every
 * measured thing lives in a child, so nothing measured shares the load generator's event loop.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

interface Question {
  id: number;
  ask: string;
  args?: unknown;
}

type Answer = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

type ChildMessage = { ready: unknown } | Answer;

/** The questions a child answers, by name (`stop` is answered by answerParent itself). */
export type Handlers = Record<string, (args: never) => unknown>;

/** In a child: announce `ready` and answer the parent's questions until it asks `stop` or goes away. */
export function answerParent(ready: unknown, handlers: Handlers, stop: () => Promise<void>): void {
  const send = (message: ChildMessage) => process.send?.(message);
  process.on('message', (question: Question) => {
    if (question.ask === 'stop') {
      void stop()
        .catch((err: unknown) => console.error('stopping failed:', err))
        // Exit only once the answer is written to the channel.
        .then(() => process.send?.({ id: question.id, ok: true, value: null } satisfies Answer, () => process.exit(0)));
      return;
    }
    const handler = handlers[question.ask] as ((args: unknown) => unknown) | undefined;
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`this process answers no "${question.ask}"`);
        return handler(question.args);
      })
      .then(
        (value) => send({ id: question.id, ok: true, value: value ?? null }),
        (err: unknown) => send({ id: question.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
      );
  });
  // The load generator died or was stopped: nothing will ask again.
  process.on('disconnect', () => process.exit(0));
  send({ ready });
}

/** A forked bench process, seen from the load generator. */
export class BenchChild<Ready> {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly ready: Ready,
  ) {
    child.on('message', (message: ChildMessage) => {
      if (!('id' in message)) return;
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (message.ok) waiter?.resolve(message.value);
      else waiter?.reject(new Error(message.error));
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      for (const waiter of this.waiting.values()) waiter.reject(new Error(`the process ended (${code ?? signal})`));
      this.waiting.clear();
    });
  }

  /** Forks bench/processes/<script> with tsx and waits (up to 60 s) for its `ready` message. */
  static start<Ready>(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<BenchChild<Ready>> {
    const child = fork(fileURLToPath(new URL(script, import.meta.url)), args, {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ...env },
      // The app's log lines go where a production stdout would go when nobody reads it; errors stay visible.
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${script} did not start within 60 s`));
      }, 60_000);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${script} ${args.join(' ')} ended before it was ready (${code ?? signal})`));
      });
      child.once('message', (message: ChildMessage) => {
        clearTimeout(timer);
        if ('ready' in message) resolve(new BenchChild(child, message.ready as Ready));
        else reject(new Error(`${script} spoke before it was ready`));
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  ask<T>(ask: string, args?: unknown): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`process ${this.pid} has ended`));
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ id, ask, args } satisfies Question);
    });
  }

  /** Asks the child to stop cleanly (15 s at most, then SIGKILL) and waits for the process to end. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const ended = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.ask('stop').catch(() => undefined);
    await ended;
    clearTimeout(kill);
  }
}
