/**
 * The OCS transport: headers, auth, both envelope versions and every failure that is not specific to one operation.
 * Operation-specific meanings of OCS status codes (101 means five different things) live in errors.ts.
 *
 * Facts enforced here: docs/nextcloud-ocs.md#transport, #envelope-and-status-codes and #login-throttling.
 */
import { parseRetryAfter } from '../http.js';
import type { HttpClient, HttpResponse } from '../http.js';
import { BackendError } from '../types.js';

export type OcsApiVersion = 'v1' | 'v2';
export type OcsMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface OcsRequestOptions {
  /** Sent as JSON (the server also accepts form bodies; JSON keeps arrays and types intact). */
  body?: object;
  query?: Record<string, string | number | undefined>;
  /** Overrides the backend's apiVersion, e.g. for an app that only documents its v2 route. */
  apiVersion?: OcsApiVersion;
  /** Safe to send again after a network error (reads). Default: true for GET only. */
  idempotent?: boolean;
}

/**
 * An answer with a well-formed OCS envelope that reports a failure. `remoteCode` is the OCS statuscode as the server
 * sent it (v2 keeps 998 and 997 in meta beside HTTP 404 and 401, observed on Nextcloud 32.0.1); `ocsMessage` is the
 * server's own text.
 */
export class OcsFailure extends BackendError {
  readonly ocsMessage: string;
  constructor(
    backend: string,
    code: ConstructorParameters<typeof BackendError>[1],
    message: string,
    opts: {
      status: number;
      statuscode: number;
      ocsMessage: string;
    },
  ) {
    super(backend, code, message, {
      status: opts.status,
      remoteCode: opts.statuscode,
      retryable: code === 'unavailable',
    });
    this.ocsMessage = opts.ocsMessage;
  }
  get statuscode(): number {
    return this.remoteCode as number;
  }
}

/**
 * True when a failure leaves unknown whether the server did the work (network error, timeout, 5xx, an answer that
 * is not OCS), so the caller must read back before concluding or trying again. A failure the server stated in an
 * OCS envelope, or explained from one, is an answer, not a lost one, unless it says the server was unavailable.
 */
export function isLostAnswer(err: unknown): boolean {
  if (!(err instanceof BackendError)) return true;
  if (err instanceof OcsFailure) return err.code === 'unavailable';
  if (err.cause instanceof OcsFailure) return err.cause.code === 'unavailable';
  // Refused before any work was done: bad login, forbidden, CSRF check (docs/nextcloud-ocs.md#transport), rate limit.
  if (err.status === 401 || err.status === 403 || err.status === 412 || err.status === 429) return false;
  return err.code === 'timeout' || err.code === 'unavailable' || err.code === 'protocol' || err.code === 'unknown';
}

/**
 * Editing users is limited to 50 calls per 600 s per admin account (docs/nextcloud-ocs.md#rate-limit-on-user-edits).
 */
export const EDIT_WINDOW_MS = 600_000;
/**
 * Nextcloud blocks an address for up to 30 minutes after about 11 bad logins (docs/nextcloud-ocs.md#login-throttling).
 */
const LOCKOUT_MS = 30 * 60_000;

export interface OcsTransportOptions {
  backend: string;
  user: string;
  secret: string;
  /** The env var holding the secret: error messages name it, never the value. */
  secretEnv: string;
  apiVersion: OcsApiVersion;
  /**
   * How long a 429 without Retry-After lasts: editUser's limit window (600 s on a stock server; an admin can change
   * it, and tests shorten it). Default EDIT_WINDOW_MS.
   */
  editLimitWindowMs?: number;
}

export class OcsTransport {
  private readonly authorization: string;

  constructor(
    private readonly http: HttpClient,
    private readonly opts: OcsTransportOptions,
  ) {
    // Built once; the value is never logged nor put into an error (BackendError messages name only secretEnv).
    this.authorization = 'Basic ' + Buffer.from(`${opts.user}:${opts.secret}`, 'utf8').toString('base64');
  }

  get apiVersion(): OcsApiVersion {
    return this.opts.apiVersion;
  }

  /** Calls `/ocs/{v1|v2}.php{path}` and returns the envelope's `data`, or throws a BackendError / OcsFailure. */
  async request<T = unknown>(method: OcsMethod, path: string, options: OcsRequestOptions = {}): Promise<T> {
    const version = options.apiVersion ?? this.opts.apiVersion;
    const response = await this.http.request({
      method,
      path: `/ocs/${version}.php${path}`,
      // format=json wins over Accept; both are sent because a proxy may drop one (docs/nextcloud-ocs.md#transport).
      query: { ...options.query, format: 'json' },
      headers: {
        'OCS-APIRequest': 'true',
        Accept: 'application/json',
        Authorization: this.authorization,
      },
      ...(options.body === undefined ? {} : { body: options.body }),
      idempotent: options.idempotent ?? method === 'GET',
    });
    return this.read<T>(response);
  }

  private read<T>(response: HttpResponse): T {
    const { backend } = this.opts;
    const { status, text } = response;
    const envelope = parseEnvelope(text);

    // 401 (statuscode 997) in both versions. Never retried (http.ts): one wrong password must cost one attempt.
    if (status === 401) {
      throw new BackendError(
        backend,
        'auth_failed',
        `${backend} refused the login of '${this.opts.user}' (HTTP 401): check the app password in ` +
          `${this.opts.secretEnv}. ` +
          'AccountDesk did not try again, because Nextcloud blocks the address after about 10 failed logins.',
        { status, remoteCode: envelope?.statuscode ?? 997, retryable: false },
      );
    }
    if (status === 429) throw this.tooManyRequests(response, envelope?.message);
    if (status === 412) {
      // Without OCS-APIRequest the server answers 412 {"message":"CSRF check failed"} and no envelope.
      throw new BackendError(
        backend,
        'protocol',
        `${backend} rejected the call as a CSRF check failure (HTTP 412): a proxy in front of Nextcloud probably ` +
          `strips the OCS-APIRequest header; let it through`,
        { status, retryable: false },
      );
    }
    if (!envelope) {
      if (status === 503) {
        const maintenance = /maintenance/i.test(text);
        throw new BackendError(
          backend,
          'unavailable',
          maintenance
            ? `${backend} is in maintenance mode (HTTP 503): try again once its admin has finished (occ ` +
                `maintenance:mode --off)`
            : `${backend} is unavailable (HTTP 503): try again later`,
          { status },
        );
      }
      if (status >= 500) {
        throw new BackendError(
          backend,
          'unavailable',
          `${backend} had an internal error (HTTP ${status}): ${quote(text)}`,
          { status },
        );
      }
      throw new BackendError(
        backend,
        'protocol',
        `${backend} did not answer with an OCS JSON document (HTTP ${status}): ${quote(text)}. Check that its url ` +
          `is the Nextcloud base URL`,
        { status, retryable: false },
      );
    }

    const { statuscode, message } = envelope;
    // v1 success: 100 with HTTP 200; v2 success: 200. Anything else is a failure, whatever the HTTP status says.
    if ((statuscode === 100 || statuscode === 200) && status >= 200 && status < 300) return envelope.data as T;
    const serverText = message || '(no message)';
    if (statuscode === 997) {
      throw new BackendError(
        backend,
        'auth_failed',
        `${backend} refused the login of '${this.opts.user}': check the app password in ${this.opts.secretEnv}`,
        {
          status,
          remoteCode: statuscode,
          retryable: false,
        },
      );
    }
    if (statuscode === 998 || statuscode === 404) {
      throw new OcsFailure(backend, 'not_found', `${backend}: ${serverText}`, {
        status,
        statuscode,
        ocsMessage: message,
      });
    }
    if (statuscode === 403) {
      throw new OcsFailure(
        backend,
        'forbidden',
        `${backend} refused: '${this.opts.user}' lacks the right for this (${serverText}). It must be a Nextcloud ` +
          `admin, or sub-admin of the user's groups`,
        { status, statuscode, ocsMessage: message },
      );
    }
    if (statuscode === 503 || (status === 503 && statuscode !== 429)) {
      throw new OcsFailure(
        backend,
        'unavailable',
        `${backend} is unavailable or in maintenance mode (${serverText}): try again later`,
        {
          status,
          statuscode,
          ocsMessage: message,
        },
      );
    }
    if (statuscode === 996 || statuscode === 999 || statuscode >= 500) {
      throw new OcsFailure(backend, 'unavailable', `${backend} had an internal error (${serverText})`, {
        status,
        statuscode,
        ocsMessage: message,
      });
    }
    if (statuscode === 429) throw this.tooManyRequests(response, message);
    return this.throwGeneric(status, statuscode, message);
  }

  private throwGeneric(status: number, statuscode: number, message: string): never {
    throw new OcsFailure(
      this.opts.backend,
      'invalid_input',
      `${this.opts.backend} refused the request: ${message || `OCS status ${statuscode}`}`,
      {
        status,
        statuscode,
        ocsMessage: message,
      },
    );
  }

  private tooManyRequests(response: HttpResponse, ocsMessage: string | undefined): BackendError {
    const { backend, secretEnv, user } = this.opts;
    const text = ocsMessage ?? response.text;
    if (/Reached maximum delay/i.test(text)) {
      return new BackendError(
        backend,
        'locked_out',
        `${backend} is blocking AccountDesk's address after too many failed logins (brute-force protection), for up ` +
          `to 30 minutes. ` +
          `Check the app password in ${secretEnv}; a Nextcloud admin can lift the block at once with occ ` +
          `security:bruteforce:reset <address>.`,
        { status: response.status, remoteCode: 429, retryAfterMs: LOCKOUT_MS, retryable: false },
      );
    }
    const retryAfterHeader = response.headers['retry-after'];
    const hinted = parseRetryAfter(retryAfterHeader);
    // No Retry-After and an empty body is editUser's limit: 50 edits per 600 s per admin account
    // (docs/nextcloud-ocs.md#rate-limit-on-user-edits). retryAfterMs tells the caller when a retry can succeed; this
    // client does not retry by itself.
    return new BackendError(
      backend,
      'rate_limited',
      hinted === undefined
        ? `${backend} allows admin account '${user}' 50 user edits per 10 minutes and refused this one. Nothing ` +
            `retries it ` +
            `automatically: an approver can press Retry once 10 minutes have passed. A Nextcloud admin can lift the ` +
            `limit ` +
            `with 'ratelimit.protection.enabled' => false in config.php.`
        : `${backend} is rate limiting AccountDesk: try again in ${Math.ceil(hinted / 1000)} s`,
      {
        status: response.status,
        remoteCode: 429,
        retryAfterMs: hinted ?? this.opts.editLimitWindowMs ?? EDIT_WINDOW_MS,
      },
    );
  }
}

interface Envelope {
  statuscode: number;
  message: string;
  data: unknown;
}

function parseEnvelope(text: string): Envelope | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const ocs = (parsed as { ocs?: { meta?: { statuscode?: unknown; message?: unknown }; data?: unknown } } | null)?.ocs;
  const code = ocs?.meta?.statuscode;
  const statuscode =
    typeof code === 'number' ? code : typeof code === 'string' && /^\d+$/.test(code) ? Number(code) : NaN;
  if (!ocs || Number.isNaN(statuscode)) return undefined;
  const message = typeof ocs.meta?.message === 'string' ? ocs.meta.message : '';
  return { statuscode, message, data: ocs.data };
}

/** At most ~200 characters of a body, tags and runs of whitespace collapsed, for error messages. */
function quote(text: string): string {
  const plain = text
    .replace(/<script[\s\S]*?<\/script>|<style[\s\S]*?<\/style>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (plain === '') return '(empty body)';
  return plain.length > 200 ? `"${plain.slice(0, 200)}…"` : `"${plain}"`;
}
