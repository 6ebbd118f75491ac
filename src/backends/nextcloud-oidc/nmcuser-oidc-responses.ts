/**
 * Turns nmcuser_oidc HTTP answers into values and BackendErrors. The app is not OCS: success and failure are
 * plain HTTP statuses with a JSON body (`{id, ...}` or `{message}`), docs/nextcloud-oidc.md#nmcuser_oidc-routes.
 */
import type { HttpResponse } from '../http.js';
import { parseRetryAfter } from '../http.js';
import { BackendError } from '../types.js';
import type { UserState } from '../types.js';
import { parseStoredQuota } from '../nextcloud/nextcloud-quota.js';

export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The `message` an app controller returns with an error status, trimmed to what fits in a Slack line. */
export function serverMessage(res: HttpResponse): string | undefined {
  const body = parseJsonBody(res.text);
  if (body && typeof body === 'object' && 'message' in body && typeof body.message === 'string') {
    return body.message.slice(0, 200);
  }
  return undefined;
}

/**
 * True when a 404 comes from the nmcuser_oidc controller (JSON `{message}`) rather than from Nextcloud's router
 * (an HTML page: the app is not installed, not enabled, or the URL is wrong).
 */
export function isAppAnswered404(res: HttpResponse): boolean {
  return res.status === 404 && serverMessage(res) !== undefined;
}

/** NmcUserService::findProviderByIdentifier throws NotFoundException("No oidc provider ..."), answered as 404. */
export function isUnknownProvider(res: HttpResponse): boolean {
  return res.status === 404 && /no oidc provider/i.test(serverMessage(res) ?? '');
}

/** True when a GET nmcusers answer says `"migrated": true`, which only the app's create and update set. */
export function markedMigrated(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { migrated?: unknown }).migrated === true;
}

/** GET nmcusers/{provider}/{id} -> `{id, displayname, email, altemail, quota, enabled, migrated}`. */
export function userStateFrom(backend: string, body: unknown): UserState {
  if (!body || typeof body !== 'object' || typeof (body as { id?: unknown }).id !== 'string') {
    throw new BackendError(backend, 'protocol', `${backend} answered a user read without the user's id`);
  }
  const data = body as Record<string, unknown>;
  const state: UserState = { userId: data.id as string, exists: true };
  if (typeof data.enabled === 'boolean') state.enabled = data.enabled;
  if (typeof data.email === 'string' || data.email === null) state.email = data.email || null;
  if (typeof data.displayname === 'string' || data.displayname === null) state.displayName = data.displayname;
  const limitBytes = parseStoredQuota(data.quota);
  if (limitBytes !== undefined) state.quota = { limitBytes };
  return state;
}

export interface FailureContext {
  backend: string;
  /** The admin account the config names, shown (never its password) so the admin knows which one to fix. */
  account: string;
  secretEnv: string;
  /** What was being done, e.g. "disable alice". */
  action: string;
}

/** Maps a status no operation handled itself. */
export function describeFailure(res: HttpResponse, ctx: FailureContext): BackendError {
  const { backend, account, secretEnv, action } = ctx;
  const said = serverMessage(res);
  const saidText = said ? ` (server said: ${said})` : '';
  const opts = { status: res.status };
  const status = res.status;
  if (status === 401) {
    // Never retried (docs/nextcloud-ocs.md#login-throttling): about 11 bad logins lock our whole address out.
    return new BackendError(
      backend,
      'auth_failed',
      `${backend} refused the login of '${account}' while trying to ${action}: check the app password in ` +
        `${secretEnv}. Not retried, so the address is not locked out.`,
      opts,
    );
  }
  if (status === 403) {
    return new BackendError(
      backend,
      'forbidden',
      `${backend} refused to ${action}: '${account}' must be a Nextcloud admin to use nmcuser_oidc${saidText}`,
      opts,
    );
  }
  if (status === 429) {
    if (/maximum delay/i.test(res.text)) {
      // docs/nextcloud-ocs.md#login-throttling: after repeated bad logins every request from the address gets this 429.
      return new BackendError(
        backend,
        'locked_out',
        `${backend} is blocking AccountDesk's address after too many failed logins (up to 30 minutes). Fix ` +
          `${secretEnv}, then wait or reset the brute-force entry on the server.`,
        { ...opts, retryable: true },
      );
    }
    const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
    return new BackendError(
      backend,
      'rate_limited',
      `${backend} is limiting requests: could not ${action} now, try again later`,
      {
        ...opts,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      },
    );
  }
  if (status === 404 && !isAppAnswered404(res)) {
    return new BackendError(
      backend,
      'unsupported',
      `${backend} has no nmcuser_oidc API 1.1 at the configured url: check that the nmcuser_oidc app is installed ` +
        `and enabled, and that url is the Nextcloud base address`,
      opts,
    );
  }
  if (status === 400 || status === 422) {
    return new BackendError(
      backend,
      'invalid_input',
      `${backend} refused to ${action}${saidText || ': a value was not accepted'}`,
      opts,
    );
  }
  if (status >= 300 && status < 400) {
    return new BackendError(
      backend,
      'protocol',
      `${backend} redirected the request to ${action} (HTTP ${status}): set url to the address the redirect points to`,
      opts,
    );
  }
  if (status === 503) {
    return new BackendError(
      backend,
      'unavailable',
      `${backend} is unavailable (maintenance mode?): could not ${action}, try again later`,
      opts,
    );
  }
  if (status >= 500) {
    return new BackendError(
      backend,
      'unavailable',
      `${backend} failed with HTTP ${status} while trying to ${action}${saidText}`,
      opts,
    );
  }
  return new BackendError(
    backend,
    'protocol',
    `${backend} answered HTTP ${status} to ${action}, which nmcuser_oidc does not document${saidText}`,
    opts,
  );
}
