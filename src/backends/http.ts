/**
 * The HTTP layer every backend client shares: one undici Pool per backend (keep-alive), timeouts from config,
 * and a deliberately small retry policy.
 *
 * Retry rules (docs/nextcloud-ocs.md#login-throttling, docs/synology-dsm.md#session-expiry-and-refused-logins):
 * - 401 and 403 are NEVER retried: Nextcloud locks the whole IP out after about 11 bad logins, so a wrong app
 *   password in the config must cost exactly one attempt.
 * - 429 and 503 are retried for any method, honouring Retry-After when it is short enough: the server did not
 *   process the request.
 * - Network errors and timeouts are retried only for reads (`idempotent: true`): a write that timed out may have
 *   happened, and the client must read the user back instead of sending it again.
 */
import { readFileSync } from 'node:fs';
import { Pool, errors as undiciErrors } from 'undici';
import type { Dispatcher } from 'undici';
import { BackendError } from './types.js';

export interface HttpOptions {
  /** Base URL, may carry a path prefix (https://example.com/nextcloud). */
  baseUrl: string;
  /** Backend instance name, used in error messages. */
  backend: string;
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /** Total attempts for a retryable failure, the first one included. */
  maxAttempts?: number;
  /** First backoff; doubles each attempt. */
  backoffMs?: number;
  /** A Retry-After longer than this is not waited for: the call fails with rate_limited and says when. */
  maxRetryWaitMs?: number;
  /** PEM file of a CA to trust (self-signed NAS certificates). */
  caFile?: string;
  /** Skip certificate verification. Only by explicit opt-in in the config; registry.ts warns at start-up. */
  insecureTls?: boolean;
  /** Largest response body read, in bytes. */
  maxBodyBytes?: number;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path below the base URL; every user-supplied segment must already be encoded (see `pathSegment`). */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  /** A string body is sent as is; an object is sent as JSON. */
  body?: string | object;
  /** Safe to send again after a network error or timeout (reads). */
  idempotent?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

const DEFAULTS = {
  connectTimeoutMs: 5_000,
  headersTimeoutMs: 15_000,
  bodyTimeoutMs: 15_000,
  maxAttempts: 3,
  backoffMs: 250,
  maxRetryWaitMs: 10_000,
  maxBodyBytes: 5 * 1024 * 1024,
};

/** Encodes one user-supplied path segment: a `/`, `..` or `?` in a username must never reach another route. */
export function pathSegment(value: string): string {
  const encoded = encodeURIComponent(value);
  // encodeURIComponent leaves '.' alone; a segment of only dots would still walk up the path.
  return /^\.+$/.test(value) ? encoded.replace(/\./g, '%2E') : encoded;
}

export class HttpClient {
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly opts: Required<Omit<HttpOptions, 'caFile' | 'insecureTls'>>;

  constructor(
    options: HttpOptions,
    private readonly sleep = defaultSleep,
  ) {
    const url = new URL(options.baseUrl);
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.opts = {
      ...DEFAULTS,
      ...withoutUndefined(options),
    } as Required<Omit<HttpOptions, 'caFile' | 'insecureTls'>>;
    this.pool = new Pool(url.origin, {
      connect: {
        timeout: this.opts.connectTimeoutMs,
        rejectUnauthorized: options.insecureTls !== true,
        ...(options.caFile ? { ca: readCaFile(options.caFile, options.backend) } : {}),
      },
      headersTimeout: this.opts.headersTimeoutMs,
      bodyTimeout: this.opts.bodyTimeoutMs,
      keepAliveTimeout: 10_000,
    });
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const { maxAttempts, backoffMs, maxRetryWaitMs } = this.opts;
    for (let attempt = 1; ; attempt++) {
      let response: HttpResponse;
      try {
        response = await this.send(req);
      } catch (err) {
        const failure = this.describeNetworkError(err);
        if (req.idempotent && failure.retryable && attempt < maxAttempts) {
          await this.sleep(backoffMs * 2 ** (attempt - 1));
          continue;
        }
        throw failure;
      }
      if (response.status !== 429 && response.status !== 503) return response;
      const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
      // A 429 without Retry-After gives no hint when the window ends; quick retries only spend calls. Nextcloud's
      // editUser limit answers exactly so for its 10-minute window, and its brute-force lockout 429 lasts up to
      // 30 minutes (docs/nextcloud-ocs.md#rate-limit-on-user-edits, #login-throttling): the caller reports it instead.
      if (response.status === 429 && retryAfterMs === undefined) return response;
      const waitMs = retryAfterMs ?? backoffMs * 2 ** (attempt - 1);
      if (attempt >= maxAttempts || waitMs > maxRetryWaitMs) return response;
      await this.sleep(waitMs);
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async send(req: HttpRequest): Promise<HttpResponse> {
    const headers: Record<string, string> = { ...req.headers };
    let body: string | undefined;
    if (typeof req.body === 'string') body = req.body;
    else if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] ??= 'application/json';
    }
    const query = Object.fromEntries(
      Object.entries(req.query ?? {}).filter(
        (entry): entry is [string, string | number | boolean] => entry[1] !== undefined,
      ),
    );
    const res = await this.pool.request({
      method: req.method,
      path: this.basePath + req.path,
      query,
      headers,
      body,
    });
    const text = await readBounded(res.body, this.opts.maxBodyBytes, this.opts.backend);
    return { status: res.statusCode, headers: res.headers, text };
  }

  private describeNetworkError(err: unknown): BackendError {
    const backend = this.opts.backend;
    if (err instanceof BackendError) return err;
    if (
      err instanceof undiciErrors.ConnectTimeoutError ||
      err instanceof undiciErrors.HeadersTimeoutError ||
      err instanceof undiciErrors.BodyTimeoutError
    ) {
      return new BackendError(backend, 'timeout', `${backend} did not answer in time`, { cause: err });
    }
    const code = (err as { code?: string } | undefined)?.code ?? '';
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
      return new BackendError(
        backend,
        'tls',
        `${backend}'s TLS certificate is not trusted (${code}): set caFile for that backend in the config`,
        { cause: err, retryable: false },
      );
    }
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      return new BackendError(
        backend,
        'unavailable',
        `${backend}'s host name does not resolve (${code}): check its url`,
        {
          cause: err,
        },
      );
    }
    return new BackendError(
      backend,
      'unavailable',
      `${backend} could not be reached (${code || 'connection failed'})`,
      {
        cause: err,
      },
    );
  }
}

/** Read once at start-up: a wrong path must stop the start with words, not fail every later request. */
function readCaFile(path: string, backend: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new Error(
      `caFile ${path} of backend "${backend}" cannot be read (${code}): check the path in the config file`,
      { cause: err },
    );
  }
}

/** Retry-After as delay-seconds or an HTTP date (RFC 9110 10.2.3). */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim()) * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

async function readBounded(body: Dispatcher.ResponseData['body'], maxBytes: number, backend: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      body.destroy();
      // A coded, non-retryable error: sending the same request again would fetch the same oversized answer.
      throw new BackendError(
        backend,
        'protocol',
        `${backend} answered with more than ${maxBytes} bytes, far more than its API returns: check that its url ` +
          `points at the right server`,
        { retryable: false },
      );
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function withoutUndefined<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
