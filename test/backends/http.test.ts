import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient, parseRetryAfter, pathSegment } from '../../src/backends/http.js';
import type { HttpOptions } from '../../src/backends/http.js';
import { backendFailure } from '../support/backend-error.js';

type Handler = (req: IncomingMessage, res: ServerResponse, attempt: number) => void;

interface TestServer {
  url: string;
  seen: { method: string; url: string }[];
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function serve(handler: Handler): Promise<TestServer> {
  const seen: { method: string; url: string }[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '' });
    req.resume();
    req.on('end', () => handler(req, res, seen.length));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const result = {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  cleanups.push(result.close);
  return result;
}

function client(url: string, options: Partial<HttpOptions> = {}) {
  const sleeps: number[] = [];
  const http = new HttpClient({ baseUrl: url, backend: 'cloud', headersTimeoutMs: 200, ...options }, (ms) => {
    sleeps.push(ms);
    return Promise.resolve();
  });
  cleanups.push(() => http.close());
  return { http, sleeps };
}

const rejection = backendFailure;

describe('HttpClient', () => {
  it('retries a read after the connection was reset', async () => {
    const server = await serve((req, res, attempt) => {
      if (attempt === 1) req.socket.destroy();
      else res.end('ok');
    });
    const { http, sleeps } = client(server.url);
    const response = await http.request({ method: 'GET', path: '/x', idempotent: true });
    expect(response.text).toBe('ok');
    expect(server.seen).toHaveLength(2);
    expect(sleeps).toEqual([250]);
  });

  it('does not resend a POST after a timeout: the write may have happened', async () => {
    const server = await serve(() => {
      /* never answers */
    });
    const { http } = client(server.url);
    const err = await rejection(http.request({ method: 'POST', path: '/users', body: { a: 1 } }));
    expect(err.code).toBe('timeout');
    expect(err.message).toBe('cloud did not answer in time');
    expect(server.seen).toHaveLength(1);
  });

  it('does not resend a POST after a connection reset either', async () => {
    const server = await serve((req) => req.socket.destroy());
    const { http } = client(server.url);
    expect((await rejection(http.request({ method: 'POST', path: '/users', body: {} }))).code).toBe('unavailable');
    expect(server.seen).toHaveLength(1);
  });

  it('honours Retry-After on 429 and 503, for writes too (the server did not process them)', async () => {
    const server = await serve((_req, res, attempt) => {
      if (attempt === 1) res.writeHead(429, { 'retry-after': '2' }).end();
      else if (attempt === 2) res.writeHead(503, { 'retry-after': '1' }).end();
      else res.end('done');
    });
    const { http, sleeps } = client(server.url);
    const response = await http.request({ method: 'POST', path: '/x', body: {} });
    expect(response.status).toBe(200);
    expect(sleeps).toEqual([2000, 1000]);
  });

  it('returns a Retry-After longer than maxRetryWaitMs to the caller instead of waiting', async () => {
    const server = await serve((_req, res) => res.writeHead(429, { 'retry-after': '3600' }).end());
    const { http, sleeps } = client(server.url);
    const response = await http.request({ method: 'GET', path: '/x', idempotent: true });
    expect(response.status).toBe(429);
    expect(sleeps).toEqual([]);
    expect(server.seen).toHaveLength(1);
  });

  it('does not retry a 429 without Retry-After (Nextcloud: a 10-minute window or a 30-minute lockout)', async () => {
    const server = await serve((_req, res) => res.writeHead(429).end());
    const { http } = client(server.url);
    expect((await http.request({ method: 'PUT', path: '/x', body: {} })).status).toBe(429);
    expect(server.seen).toHaveLength(1);
  });

  it('backs off and gives up on a 503 without Retry-After after maxAttempts', async () => {
    const server = await serve((_req, res) => res.writeHead(503).end('maintenance'));
    const { http, sleeps } = client(server.url);
    expect((await http.request({ method: 'GET', path: '/x', idempotent: true })).status).toBe(503);
    expect(server.seen).toHaveLength(3);
    expect(sleeps).toEqual([250, 500]);
  });

  it.each([401, 403])('never retries %i, even for a read', async (status) => {
    const server = await serve((_req, res) => res.writeHead(status).end());
    const { http } = client(server.url);
    expect((await http.request({ method: 'GET', path: '/x', idempotent: true })).status).toBe(status);
    expect(server.seen).toHaveLength(1);
  });

  it('stops reading a body over maxBodyBytes with a non-retryable protocol error', async () => {
    const server = await serve((_req, res) => res.end('x'.repeat(10_000)));
    const { http } = client(server.url, { maxBodyBytes: 1000 });
    const err = await rejection(http.request({ method: 'GET', path: '/x', idempotent: true }));
    expect(err.code).toBe('protocol');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/more than 1000 bytes/);
    expect(server.seen).toHaveLength(1);
  });

  it('keeps the base URL path prefix and sends the query', async () => {
    const server = await serve((_req, res) => res.end('ok'));
    const { http } = client(`${server.url}/nextcloud/`);
    await http.request({
      method: 'GET',
      path: `/ocs/v2.php/cloud/users/${pathSegment('a/b')}`,
      query: { format: 'json', skip: undefined },
    });
    expect(server.seen[0]?.url).toBe('/nextcloud/ocs/v2.php/cloud/users/a%2Fb?format=json');
  });

  it('reports a refused connection as unavailable', async () => {
    const server = await serve((_req, res) => res.end());
    const url = server.url;
    await server.close();
    cleanups.pop();
    const { http } = client(url, { maxAttempts: 1 });
    const err = await rejection(http.request({ method: 'GET', path: '/x', idempotent: true }));
    expect(err.code).toBe('unavailable');
    expect(err.message).toMatch(/^cloud could not be reached \(ECONNREFUSED\)/);
  });
});

describe('pathSegment', () => {
  it.each([
    ['../x', '..%2Fx'],
    ['a/b', 'a%2Fb'],
    ['..', '%2E%2E'],
    ['.', '%2E'],
    ['alice?admin=1#x', 'alice%3Fadmin%3D1%23x'],
    ['jörg smith', 'j%C3%B6rg%20smith'],
  ])('encodes %j as %j', (input, expected) => {
    expect(pathSegment(input)).toBe(expected);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
