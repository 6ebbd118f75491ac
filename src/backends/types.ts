/**
 * The one interface every storage backend implements. The domain (src/requests) and the Slack layer see only
 * this file; each backend's quirks (OCS envelopes, DSM SynoTokens, nmcuser_oidc's `enabled` default) stay inside
 * its own folder.
 */

/** The kinds of backend a config file may name. */
export const BACKEND_KINDS = ['nextcloud', 'nmcuser_oidc', 'user_oidc', 'synology'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

/** Optional operations. A backend declares the ones it supports so the Slack app offers only those. */
export type Capability = 'delete' | 'groups' | 'resendInvite';

/** A user's current state as the backend reports it: what an approval card shows beside the proposed change. */
export interface UserState {
  /** The id the backend knows the user by (may differ from the username, e.g. user_oidc's hashed uid). */
  userId: string;
  exists: boolean;
  enabled?: boolean;
  email?: string | null;
  displayName?: string | null;
  /** limitBytes null = unlimited; undefined fields = the backend did not say. */
  quota?: { limitBytes: number | null; usedBytes?: number };
  groups?: string[];
  /**
   * Set when the account exists but this backend cannot change it, in words for the approval card and the
   * requester, e.g. "exists, but was not provisioned by nmcuser_oidc: manage it with a nextcloud backend". Every
   * change to such a user fails with code 'not_managed'.
   */
  unmanaged?: string;
}

export interface CreateUserInput {
  username: string;
  email?: string;
  displayName?: string;
  /** null = unlimited, undefined = the backend's default. */
  quotaBytes?: number | null;
  groups?: string[];
  /**
   * Set when passwordHandling is 'mailed-by-backend' or 'show-to-requester': a password AccountDesk generated.
   * Never logged, never stored; Nextcloud users are created without one so the server mails an invitation.
   */
  password?: string;
  /**
   * The last day (YYYY-MM-DD) the account may be used, for a backend that enforces an expiry itself (DSM's
   * `expired`). Other backends ignore it: AccountDesk's scheduled disable step ends the account there.
   */
  expiresOn?: string;
}

export interface ApplyResult {
  /** One line an admin understands, e.g. "created alice; invitation mail sent to alice@example.com". */
  summary: string;
  /** The user's state read back after the change, when the backend offers it. */
  after?: UserState;
}

export interface BackendClient {
  readonly name: string;
  readonly kind: BackendKind;
  readonly capabilities: ReadonlySet<Capability>;
  /**
   * How a new user gets a first password:
   * - 'invitation': the backend mails a set-password link itself; AccountDesk sends no password (Nextcloud with
   *   an email, docs/nextcloud-ocs.md#creating-a-user).
   * - 'mailed-by-backend': AccountDesk generates a password and the backend mails it (DSM notify_by_email +
   *   send_password, when the config chooses it).
   * - 'show-to-requester': AccountDesk generates a password, passes it to createUser, and shows it once, only
   *   to the requester, never storing or logging it.
   * - 'identity-provider': the user never gets a local password; they sign in through the organisation's
   *   identity provider (OpenID Connect: nmcuser_oidc, user_oidc). AccountDesk generates none and no mail is sent.
   */
  readonly passwordHandling: 'invitation' | 'mailed-by-backend' | 'show-to-requester' | 'identity-provider';

  /**
   * A first password that passes this backend's password rules. Present when passwordHandling is
   * 'mailed-by-backend' or 'show-to-requester': the password policy is the backend's to know.
   */
  generatePassword?(): string;

  /**
   * Why `username` cannot name an account on this backend (its own rules: characters, length, reserved names),
   * or undefined when it can. The domain asks before storing a request, so an approver never approves a name the
   * backend will refuse.
   */
  usernameProblem(username: string): string | undefined;

  /** Set when a new user needs an email address here, with why (Nextcloud mails the invitation to it). */
  readonly emailRequiredBecause?: string;

  /** Reads a user. A missing user is `{ exists: false }`, never an error. */
  getUser(username: string): Promise<UserState>;
  createUser(input: CreateUserInput): Promise<ApplyResult>;
  disableUser(username: string): Promise<ApplyResult>;
  enableUser(username: string): Promise<ApplyResult>;
  /** null = unlimited. */
  setQuota(username: string, quotaBytes: number | null): Promise<ApplyResult>;
  /**
   * The quota the backend will actually store when asked for `quotaBytes` (null = unlimited). Backends round:
   * Nextcloud keeps a human string with one decimal ("1.25 TB" is stored as "1.3 TB"), DSM whole MB. The domain
   * compares current and requested quotas through this, so a change already in place is recognised as such.
   */
  storedQuota(quotaBytes: number | null): number | null;

  deleteUser?(username: string): Promise<ApplyResult>;
  addToGroup?(username: string, group: string): Promise<ApplyResult>;
  removeFromGroup?(username: string, group: string): Promise<ApplyResult>;
  resendInvite?(username: string): Promise<ApplyResult>;

  /** Releases pooled connections and sessions (DSM logout). */
  close(): Promise<void>;

  /**
   * The doctor's checks of this backend (reachable, TLS, credentials with exactly one login attempt, admin rights,
   * clock skew). Never changes anything on the server.
   */
  diagnose?(): Promise<DiagnosisCheck[]>;
}

/** One line of the doctor's report: what was checked, what it found, and for a failure how to fix it. */
export interface DiagnosisCheck {
  check: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

/**
 * What went wrong, in categories an approver can act on. The message is the words shown in Slack; it never
 * contains a secret.
 */
export type BackendErrorCode =
  | 'not_found' // the user (or group) does not exist
  | 'already_exists'
  | 'invalid_input' // the backend refused a value (quota format, email, name)
  | 'password_policy'
  | 'auth_failed' // the configured credentials were refused: fix the config, nothing was retried
  | 'forbidden' // the credentials work but lack the right
  | 'not_managed' // the account exists but belongs to another user backend or app: use the backend the message names
  | 'locked_out' // the backend blocks our address after bad logins (Nextcloud brute force, DSM 407)
  | 'rate_limited' // try again later; retryAfterMs says when if known
  | 'busy' // another admin is editing, the server is busy: try again
  | 'unavailable' // maintenance, 5xx, connection refused
  | 'timeout'
  | 'tls' // certificate not trusted
  | 'unsupported'
  | 'ambiguous' // the call failed in a way that leaves the outcome unknown and reading back failed too
  | 'protocol' // the answer was not what the API documents
  | 'unknown';

export class BackendError extends Error {
  override readonly name = 'BackendError';
  readonly code: BackendErrorCode;
  readonly backend: string;
  /** True when trying the same call later may succeed (rate limits, busy, unavailable, timeout). */
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;
  /** The backend's own code (OCS statuscode, DSM error code), for logs and the audit trail. */
  readonly remoteCode: string | number | undefined;

  constructor(
    backend: string,
    code: BackendErrorCode,
    message: string,
    opts: {
      retryable?: boolean;
      retryAfterMs?: number;
      status?: number;
      remoteCode?: string | number;
      cause?: unknown;
    } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.backend = backend;
    this.code = code;
    this.retryable = opts.retryable ?? RETRYABLE_BY_DEFAULT.has(code);
    this.retryAfterMs = opts.retryAfterMs;
    this.status = opts.status;
    this.remoteCode = opts.remoteCode;
  }
}

const RETRYABLE_BY_DEFAULT = new Set<BackendErrorCode>(['rate_limited', 'busy', 'unavailable', 'timeout']);
