/**
 * What the doctor checks the same way on every backend: the server answers an unauthenticated request, its TLS
 * certificate (and what caFile or insecureTls would change), and the clock skew read from its HTTP Date header.
 * Each backend folder's diagnose.ts adds its one authenticated call.
 *
 * Every probe uses its own HttpClient with maxAttempts 1: a doctor run never sends a request twice, so a wrong
 * password costs exactly one failed login (Nextcloud locks an IP out after about 11, DSM blocks it after a few).
 */
import { HttpClient, type HttpOptions, type HttpRequest, type HttpResponse } from './http.js';
import { BackendError, type DiagnosisCheck } from './types.js';

/** Beyond this the backend's and AccountDesk's times disagree enough to confuse an audit trail or a 2FA code. */
const CLOCK_SKEW_WARN_MS = 30_000;

export interface ProbeTarget {
  name: string;
  http: HttpOptions;
  now?: () => number;
}

/** A single-attempt HTTP client for the doctor (the caller closes it). */
export function probeClient(target: ProbeTarget, override: Partial<HttpOptions> = {}): HttpClient {
  return new HttpClient({ ...target.http, ...override, maxAttempts: 1, connectTimeoutMs: 5_000 });
}

/**
 * Sends `request` (unauthenticated) and reports reachability, TLS and clock skew. Returns the response when the
 * server answered, so the caller can read what it needs from it.
 */
export async function probeServer(
  target: ProbeTarget,
  request: HttpRequest,
): Promise<{ checks: DiagnosisCheck[]; response?: HttpResponse }> {
  const now = target.now ?? Date.now;
  const checks: DiagnosisCheck[] = [];
  const client = probeClient(target);
  const sentAt = now();
  try {
    const response = await client.request(request);
    const receivedAt = now();
    checks.push({
      check: 'reachable',
      status: 'ok',
      detail: `${target.http.baseUrl} answered HTTP ${response.status}`,
    });
    checks.push(tlsCheck(target));
    checks.push(clockCheck(response, (sentAt + receivedAt) / 2));
    return { checks, response };
  } catch (err) {
    if (err instanceof BackendError && err.code === 'tls') {
      checks.push(await untrustedCertificate(target, request, err));
      return { checks };
    }
    const words = err instanceof Error ? err.message : String(err);
    checks.push({
      check: 'reachable',
      status: 'fail',
      detail: words,
      fix:
        `check the url (${target.http.baseUrl}), that the server is up, ` +
        'and that this host may reach it (firewall, proxy, DNS)',
    });
    return { checks };
  } finally {
    await client.close();
  }
}

function tlsCheck(target: ProbeTarget): DiagnosisCheck {
  const url = new URL(target.http.baseUrl);
  if (url.protocol === 'http:') {
    return {
      check: 'tls',
      status: 'warn',
      detail: 'plain http: the admin password crosses the network readable by anyone on the path',
      fix: `use the server's https:// address (with caFile for a self-signed certificate)`,
    };
  }
  if (target.http.insecureTls) {
    return {
      check: 'tls',
      status: 'warn',
      detail: 'insecureTls: true: the certificate is not checked, so anyone on the path can pose as the server',
      fix: 'set caFile to the PEM of the CA that signed the certificate, and remove insecureTls',
    };
  }
  return {
    check: 'tls',
    status: 'ok',
    detail: `certificate verified${target.http.caFile ? ` against caFile ${target.http.caFile}` : ''}`,
  };
}

/** The certificate is not trusted: would the server answer if it were? One more unauthenticated request. */
async function untrustedCertificate(
  target: ProbeTarget,
  request: HttpRequest,
  err: BackendError,
): Promise<DiagnosisCheck> {
  const insecure = probeClient(target, { insecureTls: true, caFile: undefined });
  try {
    await insecure.request(request);
    return {
      check: 'tls',
      status: 'fail',
      detail: `${err.message}; with certificate checks off the server answers, so the certificate is the only problem`,
      fix:
        'set caFile to the PEM of the CA that signed the certificate (for a NAS: Control Panel > Security > ' +
        'Certificate > Export). insecureTls: true would also connect, but accepts any certificate',
    };
  } catch {
    return {
      check: 'tls',
      status: 'fail',
      detail: `${err.message}; even without certificate checks the server did not answer`,
      fix: 'check the url and port first; a caFile alone will not fix this',
    };
  } finally {
    await insecure.close();
  }
}

function clockCheck(response: HttpResponse, localMs: number): DiagnosisCheck {
  const header = response.headers['date'];
  const serverMs = Date.parse(Array.isArray(header) ? (header[0] ?? '') : (header ?? ''));
  if (Number.isNaN(serverMs)) {
    return { check: 'clock', status: 'warn', detail: 'the server sent no Date header: clock skew unknown' };
  }
  // The Date header has whole seconds: a skew under a second is not measurable this way.
  const skewS = Math.round((serverMs - localMs) / 1000);
  const detail = `the server's clock is ${Math.abs(skewS)} s ${skewS >= 0 ? 'ahead of' : 'behind'} this host's`;
  if (Math.abs(skewS) * 1000 <= CLOCK_SKEW_WARN_MS) return { check: 'clock', status: 'ok', detail };
  return {
    check: 'clock',
    status: 'warn',
    detail,
    fix: 'synchronise both clocks with NTP (e.g. timedatectl set-ntp true): audit times and DSM 2FA codes depend on it',
  };
}

/** "Authorization: Basic ..." for one request. */
export function basicAuth(user: string, secret: string): string {
  return `Basic ${Buffer.from(`${user}:${secret}`, 'utf8').toString('base64')}`;
}

/**
 * Credentials checked by one read through the backend's own client (for APIs the doctor has no cheaper
 * authenticated probe of). The clients never repeat a refused login (src/backends/http.ts never retries 401/403).
 */
export async function credentialsByRead(who: string, read: () => Promise<unknown>): Promise<DiagnosisCheck> {
  try {
    await read();
    return { check: 'credentials', status: 'ok', detail: `${who} accepted with one request` };
  } catch (err) {
    const code = err instanceof BackendError ? err.code : 'unexpected';
    const fixes: Partial<Record<string, string>> = {
      auth_failed: 'put the right (app) password of that account in the env var; one attempt was made, none repeated',
      forbidden: 'use an account with admin rights on the server',
      locked_out: 'fix the password, then lift the lockout on the server (Nextcloud: occ security:bruteforce:reset)',
    };
    return {
      check: 'credentials',
      status: 'fail',
      detail: err instanceof Error ? err.message : String(err),
      fix: fixes[code] ?? 'see the detail; fix reachability first',
    };
  }
}
