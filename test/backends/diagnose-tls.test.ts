/**
 * The doctor's TLS line against a real HTTPS server on 127.0.0.1 with a self-signed certificate: untrusted (and
 * what caFile or insecureTls would change), verified with caFile, and the warning insecureTls earns.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeServer } from '../../src/backends/diagnose.js';

let dir: string;
let server: Server;
let url: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'accountdesk-diagnose-tls-'));
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1'].concat([
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ]),
    { stdio: 'ignore' },
  );
  server = createServer(
    { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
    (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

const request = { method: 'GET' as const, path: '/status.php' };

describe('the doctor on a self-signed certificate', () => {
  it('fails, and says that caFile would fix it (the server answers without checks)', async () => {
    const { checks, response } = await probeServer(
      { name: 'cloud', http: { baseUrl: url, backend: 'cloud' } },
      request,
    );
    expect(response).toBeUndefined();
    const tls = checks.find((c) => c.check === 'tls')!;
    expect(tls.status).toBe('fail');
    expect(tls.detail).toContain(
      'with certificate checks off the server answers, so the certificate is the only problem',
    );
    expect(tls.fix).toContain('set caFile to the PEM of the CA');
    expect(tls.fix).toContain('insecureTls: true would also connect, but accepts any certificate');
  });

  it('passes with caFile', async () => {
    const caFile = join(dir, 'cert.pem');
    const { checks } = await probeServer({ name: 'cloud', http: { baseUrl: url, backend: 'cloud', caFile } }, request);
    expect(checks.find((c) => c.check === 'tls')).toEqual({
      check: 'tls',
      status: 'ok',
      detail: `certificate verified against caFile ${caFile}`,
    });
  });

  it('connects with insecureTls, with a warning to use caFile instead', async () => {
    const { checks } = await probeServer(
      { name: 'cloud', http: { baseUrl: url, backend: 'cloud', insecureTls: true } },
      request,
    );
    expect(checks.find((c) => c.check === 'reachable')?.status).toBe('ok');
    const tls = checks.find((c) => c.check === 'tls');
    expect(tls?.status).toBe('warn');
    expect(tls?.fix).toContain('set caFile');
  });
});
