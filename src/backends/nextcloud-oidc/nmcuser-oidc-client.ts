/**
 * Client for nmcuser_oidc (nextmcloud/nmcuser_oidc; docs/nextcloud-oidc.md#nmcuser_oidc): Nextcloud
 * users created before their first OpenID Connect login, through a plain JSON API with Basic auth.
 *
 * The trap this client exists to avoid: `PUT nmcusers/{provider}/{id}` sets `enabled` to TRUE unless the body says
 * otherwise, so a quota change on a disabled user would silently re-enable it. Every PUT here states `enabled`.
 */
import { oidcSubjectProblem } from './usernames.js';
import { HttpClient, pathSegment } from '../http.js';
import type { HttpRequest, HttpResponse } from '../http.js';
import { httpOptionsFor } from '../config.js';
import { BackendError } from '../types.js';
import type { ApplyResult, BackendClient, Capability, CreateUserInput, UserState } from '../types.js';
import type { NmcuserOidcConfig } from './nmcuser-oidc-config.js';
import { assertAddressableId, nmcuserIdFor } from './ids.js';
import { formatQuota, storedQuotaBytes } from '../nextcloud/quota.js';
import { oidcQuotaParam } from './quota.js';
import {
  describeFailure,
  isAppAnswered404,
  isUnknownProvider,
  parseJsonBody,
  userStateFrom,
  type FailureContext,
} from './nmcuser-oidc-responses.js';

/** Routes of API version 1.1 (docs/nextcloud-oidc.md#nmcuser_oidc-routes), below Nextcloud's front controller. */
const API_ROOT = '/index.php/apps/nmcuser_oidc/api/1.1';

export function createNmcuserOidcClient(
  name: string,
  config: NmcuserOidcConfig,
  secret: string,
  http: HttpClient = new HttpClient(httpOptionsFor(name, config)),
): BackendClient {
  return new NmcuserOidcClient(name, config, secret, http);
}

export class NmcuserOidcClient implements BackendClient {
  readonly kind = 'nmcuser_oidc' as const;
  readonly capabilities: ReadonlySet<Capability> = new Set<Capability>(['delete']);
  /**
   * These users sign in through the OpenID Connect provider and never have a Nextcloud password: the API takes
   * none and sends no mail. 'invitation' would tell the requester a mail went out; the two other values would
   * make AccountDesk generate a password nobody can use. Hence 'identity-provider'.
   */
  readonly passwordHandling = 'identity-provider' as const;
  readonly usernameProblem = oidcSubjectProblem;
  private readonly authorization: string;

  constructor(
    readonly name: string,
    private readonly config: NmcuserOidcConfig,
    secret: string,
    private readonly http: HttpClient,
  ) {
    this.authorization = `Basic ${Buffer.from(`${config.user}:${secret}`, 'utf8').toString('base64')}`;
  }

  async getUser(username: string): Promise<UserState> {
    const id = this.idFor(username);
    const res = await this.send({ method: 'GET', path: this.userPath(id), idempotent: true });
    if (res.status === 200) return userStateFrom(this.name, parseJsonBody(res.text));
    if (isUnknownProvider(res)) throw this.unknownProvider(res.status);
    if (isAppAnswered404(res)) return { userId: id, exists: false };
    throw describeFailure(res, this.context(`read ${username}`));
  }

  async createUser(input: CreateUserInput): Promise<ApplyResult> {
    const { username } = input;
    const id = this.idFor(username);
    if (input.groups && input.groups.length > 0) {
      throw new BackendError(
        this.name,
        'unsupported',
        `${this.name} (nmcuser_oidc) cannot put users into groups; create ${username} without groups`,
      );
    }
    const quota = input.quotaBytes === undefined ? this.config.defaultQuota : this.quotaValue(input.quotaBytes);
    const body = {
      username,
      // The controller requires a display name; the username is what Nextcloud would show anyway.
      displayname: input.displayName ?? username,
      ...(input.email ? { email: input.email } : {}),
      // Omitted = the API's 3GB default (docs/nextcloud-oidc.md#nmcuser_oidc-user-ids); sent when one is named.
      ...(quota === undefined ? {} : { quota }),
      enabled: true,
    };
    const action = `create ${username}`;
    let res: HttpResponse;
    try {
      res = await this.send({ method: 'POST', path: this.providerPath(), body });
    } catch (err) {
      return this.confirmCreateAfterLostAnswer(err, input, id);
    }
    // 201 is what the controller returns (handleAlreadyExists); the README says 200: accept both.
    if (res.status === 201 || res.status === 200) {
      const answered = parseJsonBody(res.text) as { id?: unknown } | undefined;
      const userId = typeof answered?.id === 'string' ? answered.id : id;
      const after = await this.readBack(username);
      return { summary: this.createdSummary(username, userId, input, quota), ...(after ? { after } : {}) };
    }
    if (res.status === 409) {
      throw new BackendError(this.name, 'already_exists', `${username} already exists on ${this.name}`, {
        status: 409,
      });
    }
    if (res.status === 403) throw await this.explainCreate403(username);
    if (res.status === 500) throw await this.explainCreate500(username);
    throw describeFailure(res, this.context(action));
  }

  async disableUser(username: string): Promise<ApplyResult> {
    await this.update(username, { enabled: false }, `disable ${username}`);
    const after = await this.readBack(username);
    return { summary: `disabled ${username} on ${this.name}`, ...(after ? { after } : {}) };
  }

  async enableUser(username: string): Promise<ApplyResult> {
    await this.update(username, { enabled: true }, `enable ${username}`);
    const after = await this.readBack(username);
    return { summary: `enabled ${username} on ${this.name}`, ...(after ? { after } : {}) };
  }

  async setQuota(username: string, quotaBytes: number | null): Promise<ApplyResult> {
    const action = `change the quota of ${username}`;
    // Read first: the PUT below must repeat the user's current `enabled`, or the server re-enables a disabled
    // user (docs/nextcloud-oidc.md#the-enabled-trap: the README says to set 'enabled': false again to keep a user
    // disabled). A change made by someone else between this read and the PUT cannot be seen; the API has no partial
    // update that leaves `enabled` alone.
    const before = await this.getUser(username);
    if (!before.exists) throw this.notFound(username);
    if (before.enabled === undefined) {
      throw new BackendError(
        this.name,
        'protocol',
        `${this.name} did not say whether ${username} is enabled, and a quota change without that would re-enable a disabled user: nothing was changed`,
      );
    }
    const quota = this.quotaValue(quotaBytes);
    await this.update(username, { quota, enabled: before.enabled }, action);
    const after = await this.readBack(username);
    const shown = formatQuota(storedQuotaBytes(quotaBytes));
    return {
      summary: `set the quota of ${username} on ${this.name} to ${shown}${before.enabled ? '' : ' (user stays disabled)'}`,
      ...(after ? { after } : {}),
    };
  }

  /** nmcuser_oidc hands the quota to Nextcloud's IUser::setQuota, which stores a one-decimal human size. */
  storedQuota(quotaBytes: number | null): number | null {
    this.quotaValue(quotaBytes); // refuses what setQuota refuses, with the same words
    return storedQuotaBytes(quotaBytes);
  }

  async deleteUser(username: string): Promise<ApplyResult> {
    const id = this.idFor(username);
    let res: HttpResponse;
    try {
      res = await this.send({ method: 'DELETE', path: this.userPath(id) });
    } catch (err) {
      // The delete may have happened before the answer was lost: read back instead of sending it again.
      const now = await this.getUser(username).catch(() => undefined);
      if (now && !now.exists)
        return { summary: `deleted ${username} from ${this.name} (confirmed by reading back)`, after: now };
      throw err;
    }
    if (res.status === 200 || res.status === 204) {
      return { summary: `deleted ${username} from ${this.name}`, after: { userId: id, exists: false } };
    }
    if (isUnknownProvider(res)) throw this.unknownProvider(res.status);
    if (isAppAnswered404(res)) throw this.notFound(username);
    throw describeFailure(res, this.context(`delete ${username}`));
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  /** PUT nmcusers/{provider}/{id}; callers always include `enabled` (see the file comment). */
  private async update(username: string, fields: { enabled: boolean; quota?: string }, action: string): Promise<void> {
    const id = this.idFor(username);
    // Safe to resend after a lost answer: every field is an absolute value, and `enabled` is always stated.
    const res = await this.send({ method: 'PUT', path: this.userPath(id), body: fields, idempotent: true });
    if (res.status === 200 || res.status === 204) return;
    if (isUnknownProvider(res)) throw this.unknownProvider(res.status);
    if (isAppAnswered404(res)) throw this.notFound(username);
    throw describeFailure(res, this.context(action));
  }

  /**
   * A create whose answer was lost (timeout, reset) may have happened. Reading back decides: the user exists with
   * what was asked -> created; missing -> the original error (nothing happened, safe to retry later).
   */
  private async confirmCreateAfterLostAnswer(err: unknown, input: CreateUserInput, id: string): Promise<ApplyResult> {
    if (!(err instanceof BackendError) || !['timeout', 'unavailable'].includes(err.code)) throw err;
    let now: UserState;
    try {
      now = await this.getUser(input.username);
    } catch (readErr) {
      throw new BackendError(
        this.name,
        'ambiguous',
        `creating ${input.username} on ${this.name} got no answer and reading it back failed too: check on the server whether it exists before retrying`,
        { cause: readErr },
      );
    }
    if (!now.exists) throw err;
    if (input.email && now.email && now.email.toLowerCase() !== input.email.toLowerCase()) {
      throw new BackendError(
        this.name,
        'ambiguous',
        `creating ${input.username} on ${this.name} got no answer, and a user with that name now exists with another email: check it on the server`,
      );
    }
    return {
      summary: `created ${input.username} (Nextcloud user id ${now.userId || id}) on ${this.name}; confirmed by reading back after the answer was lost`,
      after: now,
    };
  }

  /**
   * 403 on create: home folder initialisation failed (docs/nextcloud-oidc.md#nmcuser_oidc-routes), or the account is
   * not an admin.
   */
  private async explainCreate403(username: string): Promise<BackendError> {
    const now: UserState | unknown = await this.getUser(username).catch((err: unknown) => err);
    if (now instanceof BackendError && now.code === 'forbidden') return now;
    if (isUserState(now) && now.exists) {
      return new BackendError(
        this.name,
        'unknown',
        `${username} was created on ${this.name}, but Nextcloud could not set up the home folder (HTTP 403): check the data directory (permissions, free space) on the server, then delete and re-create ${username}`,
        { status: 403, retryable: false },
      );
    }
    return new BackendError(
      this.name,
      'forbidden',
      `${this.name} refused to create ${username} (HTTP 403) and the user does not exist: check that '${this.config.user}' is a Nextcloud admin and that new home folders can be created`,
      { status: 403 },
    );
  }

  /**
   * 500 on create: the documented cause is an unknown provider (docs/nextcloud-oidc.md#nmcuser_oidc-routes). The
   * read-back tells it apart when the server answers it with "No oidc provider", and shows whether the user was created
   * before the failure.
   */
  private async explainCreate500(username: string): Promise<BackendError> {
    const now: UserState | unknown = await this.getUser(username).catch((err: unknown) => err);
    if (now instanceof BackendError && now.code === 'invalid_input') return now;
    if (isUserState(now) && now.exists) {
      return new BackendError(
        this.name,
        'unknown',
        `${this.name} failed (HTTP 500) after creating ${username}: check its email and quota on the server`,
        { status: 500, retryable: false },
      );
    }
    return new BackendError(
      this.name,
      'invalid_input',
      `${this.name} failed to create ${username} (HTTP 500). The usual cause is an unknown provider: check that provider '${this.config.provider}' in the config matches an OpenID Connect provider identifier in Nextcloud's settings`,
      { status: 500, retryable: false },
    );
  }

  private unknownProvider(status: number): BackendError {
    return new BackendError(
      this.name,
      'invalid_input',
      `${this.name} does not know the OpenID Connect provider '${this.config.provider}': check provider in the config against the identifiers in Nextcloud > Settings > OpenID Connect`,
      { status, retryable: false },
    );
  }

  private notFound(username: string): BackendError {
    return new BackendError(this.name, 'not_found', `${username} does not exist on ${this.name}`, { status: 404 });
  }

  /** The state after a change, for the approval card; a failed read does not undo a change that succeeded. */
  private async readBack(username: string): Promise<UserState | undefined> {
    return this.getUser(username).catch(() => undefined);
  }

  private createdSummary(username: string, userId: string, input: CreateUserInput, quota: string | undefined): string {
    const parts = [`created ${username} on ${this.name} for OpenID Connect login via ${this.config.provider}`];
    if (userId !== username) parts.push(`Nextcloud user id ${userId}`);
    parts.push(`quota ${quota === undefined ? '3GB (server default)' : quota === 'none' ? 'unlimited' : quota}`);
    if (input.email) parts.push(`email ${input.email}`);
    return parts.join('; ');
  }

  private quotaValue(quotaBytes: number | null): string {
    try {
      return oidcQuotaParam(quotaBytes);
    } catch {
      throw new BackendError(
        this.name,
        'invalid_input',
        `the quota ${String(quotaBytes)} is not a whole number of bytes: fix the request`,
        {
          retryable: false,
        },
      );
    }
  }

  private idFor(username: string): string {
    const id = nmcuserIdFor(username);
    assertAddressableId(this.name, id, username);
    return id;
  }

  private providerPath(): string {
    return `${API_ROOT}/nmcusers/${pathSegment(this.config.provider)}`;
  }

  private userPath(id: string): string {
    // {id} is user input: encoded so '/', '?', '#' or '%' stay inside the segment
    // (docs/nextcloud-oidc.md#nmcuser_oidc-routes).
    return `${this.providerPath()}/${pathSegment(id)}`;
  }

  private context(action: string): FailureContext {
    return { backend: this.name, account: this.config.user, secretEnv: this.config.secretEnv, action };
  }

  private send(req: HttpRequest): Promise<HttpResponse> {
    return this.http.request({
      ...req,
      headers: { ...req.headers, authorization: this.authorization, accept: 'application/json' },
    });
  }
}

function isUserState(value: unknown): value is UserState {
  return typeof value === 'object' && value !== null && !(value instanceof Error) && 'exists' in value;
}
