/**
 * TLS to a backend: verified by default, a CA file for self-signed NAS/Nextcloud certificates, and an explicit
 * insecure opt-in that start-up warns about. A real HTTPS server on 127.0.0.1 with a certificate made for the test.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../../src/backends/http.js';
import { createBackend } from '../../src/backends/registry.js';
import { nextcloudConfigSchema } from '../../src/backends/nextcloud/config.js';
import { BackendError } from '../../src/backends/types.js';
import { createLogger } from '../../src/log.js';

let dir: string;
let server: Server;
let url: string;
let requests = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'accountdesk-tls-'));
  // A self-signed certificate for 127.0.0.1, as a NAS ships one (openssl is part of every Debian base system).
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  server = createServer(
    { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
    (req, res) => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

async function get(http: HttpClient) {
  try {
    return await http.request({ method: 'GET', path: '/status', idempotent: true });
  } finally {
    await http.close();
  }
}

describe('TLS to a backend', () => {
  it('refuses a self-signed certificate by default, says to set caFile, and does not retry', async () => {
    const before = requests;
    const failure = await get(new HttpClient({ baseUrl: url, backend: 'nas' }, () => Promise.resolve())).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(BackendError);
    expect(failure).toMatchObject({ code: 'tls', retryable: false });
    expect((failure as Error).message).toMatch(/nas's TLS certificate is not trusted .*set caFile for that backend/);
    expect(requests).toBe(before); // the handshake failed: nothing reached the server
  });

  it('trusts the certificate named by caFile', async () => {
    const res = await get(new HttpClient({ baseUrl: url, backend: 'nas', caFile: join(dir, 'cert.pem') }));
    expect(res.status).toBe(200);
  });

  it('skips verification only on explicit opt-in, and start-up warns about it', async () => {
    const res = await get(new HttpClient({ baseUrl: url, backend: 'nas', insecureTls: true }));
    expect(res.status).toBe(200);

    const lines: string[] = [];
    const logger = createLogger({
      destination: new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }),
    });
    const config = nextcloudConfigSchema.parse({
      kind: 'nextcloud',
      url,
      user: 'admin',
      secretEnv: 'NC_PASSWORD',
      insecureTls: true,
    });
    const backend = createBackend('cloud', config, 'app-password-0123', { logger, env: {} });
    await backend.close();
    await new Promise((r) => setImmediate(r));
    expect(lines.join('')).toMatch(/TLS certificate checks are OFF for backend \\"cloud\\"/);
  });

  it('a caFile that does not exist is a clear error at start-up', () => {
    const missing = join(dir, 'nope.pem');
    expect(() => new HttpClient({ baseUrl: url, backend: 'nas', caFile: missing })).toThrow(
      `caFile ${missing} of backend "nas" cannot be read (ENOENT): check the path in the config file`,
    );
  });
});
