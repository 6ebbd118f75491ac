/**
 * Client for nmcuser_oidc (nextmcloud/nmcuser_oidc; docs/nextcloud-oidc.md#nmcuser_oidc): Nextcloud
 * users created before their first OpenID Connect login, through a plain JSON API with Basic auth.
 *
 * The trap this client exists to avoid: `PUT nmcusers/{provider}/{id}` sets `enabled` to TRUE unless the body says
 * otherwise, so a quota change on a disabled user would silently re-enable it. Every PUT here states `enabled`.
 *
 * The app SHOWS every Nextcloud account (the admin too), but updates and deletes only those user_oidc knows: for
 * any other one, PUT answers 500 and DELETE 404 with the user kept (observed with nmcuser_oidc 1.0.8 in Nextcloud
 * 32.0.1; NmcUserService::update / ::delete look the user up in user_oidc's table). Such a user is reported as
 * existing but `unmanaged`, and every change to it fails with 'not_managed', never as retryable.
 */
import { oidcSubjectProblem } from './usernames.js';
import { HttpClient, pathSegment } from '../http.js';
import type { HttpRequest, HttpResponse } from '../http.js';
import { httpOptionsFor } from '../config.js';
import { BackendError } from '../types.js';
import type { ApplyResult, BackendClient, Capability, CreateUserInput, UserState } from '../types.js';
import type { NmcuserOidcConfig } from './nmcuser-oidc-config.js';
import { assertAddressableId, nmcuserIdFor } from './oidc-user-ids.js';
import { formatQuota, storedQuotaBytes } from '../nextcloud/nextcloud-quota.js';
import { OcsFailure, OcsTransport } from '../nextcloud/ocs.js';
import { oidcQuotaParam } from './oidc-quota-param.js';
import {
  describeFailure,
  isAppAnswered404,
  isUnknownProvider,
  markedMigrated,
  parseJsonBody,
  serverMessage,
  userStateFrom,
  type FailureContext,
} from './nmcuser-oidc-responses.js';

/** Routes of API version 1.1 (docs/nextcloud-oidc.md#nmcuser_oidc-routes), below Nextcloud's front controller. */
const API_ROOT = '/index.php/apps/nmcuser_oidc/api/1.1';

/** The user backend of the accounts nmcuser_oidc creates and can change (OCS GET /cloud/users/{id} "backend"). */
const PROVISIONED_BACKEND = 'user_oidc';

export function createNmcuserOidcClient(
  name: string,
  config: NmcuserOidcConfig,
  secret: string,
  http: HttpClient = new HttpClient(httpOptionsFor(name, config)),
): BackendClient {
  return new NmcuserOidcClient(name, config, secret, http);
}

class NmcuserOidcClient implements BackendClient {
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
  /** The same server's OCS API, same account: it tells which user backend owns an account. */
  private readonly ocs: OcsTransport;

  constructor(
    readonly name: string,
    private readonly config: NmcuserOidcConfig,
    secret: string,
    private readonly http: HttpClient,
  ) {
    this.authorization = `Basic ${Buffer.from(`${config.user}:${secret}`, 'utf8').toString('base64')}`;
    this.ocs = new OcsTransport(http, {
      backend: name,
      user: config.user,
      secret,
      secretEnv: config.secretEnv,
      apiVersion: 'v2',
    });
  }

  async getUser(username: string): Promise<UserState> {
    const id = this.idFor(username);
    const res = await this.send({ method: 'GET', path: this.userPath(id), idempotent: true });
    if (res.status === 200) {
      const body = parseJsonBody(res.text);
      const state = userStateFrom(this.name, body);
      // "migrated": true is only ever set through the app, on users in user_oidc's table; false also covers users
      // user_oidc created at a login, which the app CAN change. The owning user backend tells them apart.
      if (!markedMigrated(body)) {
        const backend = await this.userBackendOf(state.userId);
        if (backend !== undefined && backend !== PROVISIONED_BACKEND) {
          state.unmanaged =
            `exists, but was not provisioned by nmcuser_oidc (its Nextcloud user backend is ${backend}): ` +
            'manage it with a nextcloud backend';
        }
      }
      return state;
    }
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
      // No read-back: nothing uses it (the card shows the summary), and it would cost a second call.
      return { summary: this.createdSummary(username, userId, input, quota) };
    }
    if (res.status === 409) {
      throw new BackendError(this.name, 'already_exists', `${username} already exists on ${this.name}`, {
        status: 409,
      });
    }
    if (res.status === 403) throw await this.explainCreate403(username, res);
    if (res.status === 500) throw await this.explainCreate500(username);
    throw describeFailure(res, this.context(action));
  }

  async disableUser(username: string): Promise<ApplyResult> {
    await this.requireManaged(username, 'disable');
    await this.update(username, { enabled: false }, `disable ${username}`);
    return { summary: `disabled ${username} on ${this.name}` };
  }

  async enableUser(username: string): Promise<ApplyResult> {
    await this.requireManaged(username, 'enable');
    await this.update(username, { enabled: true }, `enable ${username}`);
    return { summary: `enabled ${username} on ${this.name}` };
  }

  async setQuota(username: string, quotaBytes: number | null): Promise<ApplyResult> {
    const action = `change the quota of ${username}`;
    // Read first: the PUT below must repeat the user's current `enabled`, or the server re-enables a disabled
    // user (docs/nextcloud-oidc.md#the-enabled-trap: a disabled user stays disabled only if `enabled: false` is
    // sent again). A change made by someone else between this read and the PUT cannot be seen; the API has no
    // partial update that leaves `enabled` alone.
    const before = await this.requireManaged(username, 'change the quota of');
    if (before.enabled === undefined) {
      throw new BackendError(
        this.name,
        'protocol',
        `${this.name} did not say whether ${username} is enabled, and a quota change without that would re-enable a ` +
          `disabled user: nothing was changed`,
      );
    }
    const quota = this.quotaValue(quotaBytes);
    await this.update(username, { quota, enabled: before.enabled }, action);
    const shown = formatQuota(storedQuotaBytes(quotaBytes));
    return {
      summary:
        `set the quota of ${username} on ${this.name} to ` +
        `${shown}${before.enabled ? '' : ' (user stays disabled)'}`,
    };
  }

  /** nmcuser_oidc hands the quota to Nextcloud's IUser::setQuota, which stores a one-decimal human size. */
  storedQuota(quotaBytes: number | null): number | null {
    this.quotaValue(quotaBytes); // refuses what setQuota refuses, with the same words
    return storedQuotaBytes(quotaBytes);
  }

  async deleteUser(username: string): Promise<ApplyResult> {
    const id = this.idFor(username);
    await this.requireManaged(username, 'delete');
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
    if (isAppAnswered404(res)) {
      // The user was there a moment ago: a 404 now is either a concurrent delete or a user the app cannot delete.
      const now = await this.getUser(username).catch(() => undefined);
      if (now?.exists && now.unmanaged) throw this.notManaged(username, 'delete', now.unmanaged);
      if (now?.exists) {
        throw new BackendError(
          this.name,
          'unknown',
          `${this.name} refused to delete ${username} (HTTP 404: ${serverMessage(res) ?? 'no message'}) and it ` +
            `still exists`,
          { status: 404, retryable: false },
        );
      }
      throw this.notFound(username);
    }
    throw describeFailure(res, this.context(`delete ${username}`));
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  /**
   * Reads the user before a change: a missing user is 'not_found', one the app did not provision 'not_managed'
   * (its PUT would answer 500 and its DELETE 404: neither is worth a retry).
   */
  private async requireManaged(username: string, verb: string): Promise<UserState> {
    const state = await this.getUser(username);
    if (!state.exists) throw this.notFound(username);
    if (state.unmanaged) throw this.notManaged(username, verb, state.unmanaged);
    return state;
  }

  /** GET /ocs/v2.php/cloud/users/{id} "backend"; undefined when the server does not say. */
  private async userBackendOf(userId: string): Promise<string | undefined> {
    try {
      const data = await this.ocs.request<{ backend?: unknown } | null>('GET', `/cloud/users/${pathSegment(userId)}`);
      return typeof data?.backend === 'string' ? data.backend : undefined;
    } catch (err) {
      if (err instanceof OcsFailure && err.code === 'not_found') return undefined;
      throw err;
    }
  }

  private notManaged(username: string, verb: string, why: string): BackendError {
    return new BackendError(
      this.name,
      'not_managed',
      `AccountDesk cannot ${verb} ${username} through ${this.name}: the user ${why}`,
      { retryable: false },
    );
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
        `creating ${input.username} on ${this.name} got no answer and reading it back failed too: check on the ` +
          `server whether it exists before retrying`,
        { cause: readErr },
      );
    }
    if (!now.exists) throw err;
    if (input.email && now.email && now.email.toLowerCase() !== input.email.toLowerCase()) {
      throw new BackendError(
        this.name,
        'ambiguous',
        `creating ${input.username} on ${this.name} got no answer, and a user with that name now exists with ` +
          `another email: check it on the server`,
      );
    }
    return {
      summary:
        `created ${input.username} (Nextcloud user id ${now.userId || id}) on ${this.name}; confirmed by ` +
        `reading back after the answer was lost`,
      after: now,
    };
  }

  /**
   * 403 on create: the account is not an admin, or "Newly created user cannot init home folder. Reason: ..." with
   * the user CREATED (observed on Nextcloud 32.0.1 for a quota smaller than the skeleton files copied into every
   * new home: "Could not create path "/alice/files/Photos/Library.jpg""). The server's reason is shown as it is,
   * beside what a read-back finds.
   */
  private async explainCreate403(username: string, res: HttpResponse): Promise<BackendError> {
    const said = serverMessage(res)?.replace(/\s+/g, ' ').trim();
    const now: unknown = await this.getUser(username).catch((err: unknown) => err);
    if (now instanceof BackendError && now.code === 'forbidden') return now;
    if (isUserState(now) && now.exists) {
      const quota = now.quota ? `quota ${formatQuota(now.quota.limitBytes)}` : 'quota unknown';
      return new BackendError(
        this.name,
        'unknown',
        `${username} now EXISTS on ${this.name} (${quota}, read back), but Nextcloud could not set up its home ` +
          `folder: "${said ?? 'no reason given'}". Nextcloud copies its skeleton files (about 20 MB on a default ` +
          `install) into every new home, so a smaller quota, a full disk or an unwritable data directory cause ` +
          `this: fix the cause (e.g. raise the quota of ${username}), or delete ${username} and ask again`,
        { status: 403, retryable: false },
      );
    }
    return new BackendError(
      this.name,
      'forbidden',
      `${this.name} refused to create ${username} (HTTP 403${said ? `: ${said}` : ''}) and the user does not exist: ` +
        `check that '${this.config.user}' is a Nextcloud admin`,
      { status: 403 },
    );
  }

  /**
   * 500 on create: the documented cause is an unknown provider (docs/nextcloud-oidc.md#nmcuser_oidc-routes). The
   * read-back tells it apart when the server answers it with "No oidc provider", and shows whether the user was created
   * before the failure.
   */
  private async explainCreate500(username: string): Promise<BackendError> {
    const now: unknown = await this.getUser(username).catch((err: unknown) => err);
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
      `${this.name} failed to create ${username} (HTTP 500). The usual cause is an unknown provider: check that ` +
        `provider '${this.config.provider}' in the config matches an OpenID Connect provider identifier in ` +
        `Nextcloud's settings`,
      { status: 500, retryable: false },
    );
  }

  private unknownProvider(status: number): BackendError {
    return new BackendError(
      this.name,
      'invalid_input',
      `${this.name} does not know the OpenID Connect provider '${this.config.provider}': check provider in the ` +
        `config against the identifiers in Nextcloud > Settings > OpenID Connect`,
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
