/**
 * Vitest global setup: gives the Redis suites a real redis-server on loopback.
 * REDIS_URL set -> that server is used as it is. Otherwise a private redis-server is started on 127.0.0.1 on a
 * free port with persistence off, and stopped after the run. Tests read the URL with `inject('redisUrl')`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import type { TestProject } from 'vitest/node';
import { freePort } from '../support/net.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

let server: ChildProcess | undefined;

export default async function setup(project: TestProject): Promise<() => void> {
  if (process.env.REDIS_URL) {
    project.provide('redisUrl', process.env.REDIS_URL);
    return () => {};
  }
  const binary = process.env.REDIS_SERVER_BIN ?? 'redis-server';
  if (spawnSync(binary, ['--version']).error) {
    throw new Error(
      `redis-server was not found, and the store tests need a real one. Install it (Debian/Ubuntu: ` +
        `sudo apt-get install -y redis-server) or point REDIS_URL at a disposable Redis.`,
    );
  }
  const port = await freePort();
  server = spawn(binary, ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  await waitForPort(port, 10_000);
  project.provide('redisUrl', `redis://127.0.0.1:${port}`);
  return () => {
    server?.kill('SIGTERM');
  };
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
}
