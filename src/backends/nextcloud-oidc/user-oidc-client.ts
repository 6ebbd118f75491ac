/**
 * Client for user_oidc pre-provisioning (nextcloud/user_oidc OcsApiController;
 * docs/nextcloud-oidc.md#user_oidc-routes). Only create and delete have their own routes; reading, disabling, enabling
 * and quotas go through the ordinary OCS provisioning API under the uid user_oidc derives from the login, so they are
 * delegated to a NextcloudClient instead of being written twice.
 *
 * Usernames in this client are what the person logs in with at the identity provider (the token's `sub`); the
 * Nextcloud account they map to is `UserState.userId`, shown to approvers so they see which account is touched.
 */
import { HttpClient, pathSegment } from '../http.js';
import { httpOptionsFor } from '../config.js';
import { BackendError } from '../types.js';
import type { ApplyResult, BackendClient, Capability, CreateUserInput, UserState } from '../types.js';
import { createNextcloudClient } from '../nextcloud/client.js';
import type { NextcloudClient } from '../nextcloud/client.js';
import type { NextcloudConfig } from '../nextcloud/config.js';
import { EDIT_WINDOW_MS, isLostAnswer, OcsFailure } from '../nextcloud/ocs.js';
import { formatQuota } from '../nextcloud/nextcloud-quota.js';
import type { UserOidcConfig } from './user-oidc-config.js';
import { assertAddressableId, deriveUserOidcUid } from './oidc-user-ids.js';
import { oidcQuotaParam } from './oidc-quota-param.js';
import { oidcSubjectProblem } from './usernames.js';

/** The provisioning routes exist under OCS v2 only (docs/nextcloud-oidc.md#user_oidc-routes). */
const USER_ROUTE = '/apps/user_oidc/api/v1/user';

export function createUserOidcClient(
  name: string,
  config: UserOidcConfig,
  secret: string,
  http: HttpClient = new HttpClient(httpOptionsFor(name, config)),
): BackendClient {
  return new UserOidcClient(name, config, createNextcloudClient(name, provisioningConfig(config), secret, http));
}

/** The OCS provisioning side of the same server, with the same account and transport settings. */
function provisioningConfig(config: UserOidcConfig): NextcloudConfig {
  return {
    kind: 'nextcloud',
    // The stock limit on user edits (docs/nextcloud-ocs.md#rate-limit-on-user-edits).
    editLimitWindowMs: EDIT_WINDOW_MS,
    url: config.url,
    user: config.user,
    secretEnv: config.secretEnv,
    insecureTls: config.insecureTls,
    ...(config.caFile === undefined ? {} : { caFile: config.caFile }),
    ...(config.timeouts === undefined ? {} : { timeouts: config.timeouts }),
    apiVersion: 'v2',
    defaultGroups: [],
  };
}

class UserOidcClient implements BackendClient {
  readonly kind = 'user_oidc' as const;
  readonly capabilities: ReadonlySet<Capability> = new Set<Capability>(['delete', 'groups']);
  /**
   * These users sign in through the OpenID Connect provider; user_oidc gives them no Nextcloud password and sends
   * no mail. 'invitation' would promise a mail that never comes, and the other values would make AccountDesk
   * generate a password nobody can use. Hence 'identity-provider'.
   */
  readonly passwordHandling = 'identity-provider' as const;
  readonly usernameProblem = oidcSubjectProblem;

  constructor(
    readonly name: string,
    private readonly config: UserOidcConfig,
    private readonly nextcloud: NextcloudClient,
  ) {}

  /** The Nextcloud uid user_oidc gives this login (exported behaviour for approval cards and tests). */
  uidFor(username: string): string {
    if (username.trim() === '' || username !== username.trim()) {
      throw new BackendError(
        this.name,
        'invalid_input',
        `the login '${username}' is empty or has spaces at its ends: fix the request`,
      );
    }
    const uid = deriveUserOidcUid(this.config, username);
    // With uidMode unique (or a hashed long id) the uid is hex and always addressable; with providerBased or raw
    // the login appears in OCS paths, where '/' or '..' would reach another route.
    assertAddressableId(this.name, uid, username);
    return uid;
  }

  async getUser(username: string): Promise<UserState> {
    const uid = this.uidFor(username);
    return { ...(await this.nextcloud.getUser(uid)), userId: uid };
  }

  async createUser(input: CreateUserInput): Promise<ApplyResult> {
    const { username } = input;
    const uid = this.uidFor(username);
    // The route creates OR UPDATES (UserMapper::getOrCreate): without this check a "create" would silently
    // rewrite the email and quota of an account that already exists.
    const before = await this.nextcloud.getUser(uid);
    if (before.exists) {
      throw new BackendError(
        this.name,
        'already_exists',
        `${username} already exists on ${this.name} (Nextcloud user ${uid}): nothing was changed`,
      );
    }
    const body: Record<string, unknown> = { providerId: this.config.providerId, userId: username };
    if (input.displayName) body.displayName = input.displayName;
    if (input.email) body.email = input.email;
    // Omitted = the server's default quota. Human sizes and digits both go to IUser::setQuota.
    if (input.quotaBytes !== undefined) body.quota = this.quotaValue(input.quotaBytes);

    let answeredUid: string;
    try {
      const data = await this.nextcloud.ocs<{ user_id?: unknown }>('POST', USER_ROUTE, { body, apiVersion: 'v2' });
      if (typeof data?.user_id !== 'string') {
        throw new BackendError(
          this.name,
          'protocol',
          `${this.name} answered the create of ${username} without the new user's id`,
        );
      }
      answeredUid = data.user_id;
    } catch (err) {
      answeredUid = await this.confirmCreateAfterFailure(err, username, uid);
    }
    if (answeredUid !== uid) {
      // The account exists now, under an id AccountDesk will not find again: every later change would miss it.
      throw new BackendError(
        this.name,
        'protocol',
        `${this.name} created ${username} as Nextcloud user '${answeredUid}', but uidMode '${this.config.uidMode}' ` +
          `in the config gives '${uid}': ` +
          `set uidMode to match the provider's "unique user id" / "provider based id" settings before making any ` +
          `other change`,
        { retryable: false },
      );
    }

    const notes: string[] = [];
    for (const group of input.groups ?? []) {
      try {
        await this.nextcloud.addToGroup(uid, group);
      } catch (err) {
        notes.push(`NOT added to group ${group} (${err instanceof Error ? err.message : 'failed'})`);
      }
    }
    // No read-back: nothing uses it (the card shows the summary), and it would cost another call.
    const parts = [`created ${username} on ${this.name} as Nextcloud user ${uid}, for OpenID Connect login`];
    if (input.quotaBytes !== undefined)
      parts.push(`quota ${formatQuota(this.nextcloud.storedQuota(input.quotaBytes))}`);
    if (input.email) parts.push(`email ${input.email}`);
    const added = (input.groups ?? []).filter((g) => !notes.some((n) => n.includes(`group ${g} `)));
    if (added.length > 0) parts.push(`groups ${added.join(', ')}`);
    parts.push(...notes);
    return { summary: parts.join('; ') };
  }

  async disableUser(username: string): Promise<ApplyResult> {
    const uid = this.uidFor(username);
    return this.relabel(username, uid, await this.nextcloud.disableUser(uid), `disabled ${username}`);
  }

  async enableUser(username: string): Promise<ApplyResult> {
    const uid = this.uidFor(username);
    return this.relabel(username, uid, await this.nextcloud.enableUser(uid), `enabled ${username}`);
  }

  async setQuota(username: string, quotaBytes: number | null): Promise<ApplyResult> {
    const uid = this.uidFor(username);
    const shown = formatQuota(this.nextcloud.storedQuota(quotaBytes));
    return this.relabel(
      username,
      uid,
      await this.nextcloud.setQuota(uid, quotaBytes),
      `set the quota of ${username} to ${shown}`,
    );
  }

  /** Quotas go through Nextcloud's own setQuota (on create and through OCS after), so they round as Nextcloud does. */
  storedQuota(quotaBytes: number | null): number | null {
    return this.nextcloud.storedQuota(quotaBytes);
  }

  async addToGroup(username: string, group: string): Promise<ApplyResult> {
    const uid = this.uidFor(username);
    return this.relabel(
      username,
      uid,
      await this.nextcloud.addToGroup(uid, group),
      `added ${username} to group ${group}`,
    );
  }

  async removeFromGroup(username: string, group: string): Promise<ApplyResult> {
    const uid = this.uidFor(username);
    return this.relabel(
      username,
      uid,
      await this.nextcloud.removeFromGroup(uid, group),
      `removed ${username} from group ${group}`,
    );
  }

  /**
   * DELETE .../user/{userId}: OcsApiController::deleteUser looks the id up with IUserManager::get, so it is the
   * Nextcloud uid, not the login. 404 = no such user OR a user that user_oidc does not manage.
   */
  async deleteUser(username: string): Promise<ApplyResult> {
    const uid = this.uidFor(username);
    const done: ApplyResult = {
      summary: `deleted ${username} (Nextcloud user ${uid}) from ${this.name} with all their files`,
      after: { userId: uid, exists: false },
    };
    try {
      await this.nextcloud.ocs('DELETE', `${USER_ROUTE}/${pathSegment(uid)}`, { apiVersion: 'v2' });
      return done;
    } catch (err) {
      if (err instanceof OcsFailure && err.code === 'not_found') {
        const state = await this.nextcloud.getUser(uid);
        if (!state.exists)
          throw new BackendError(
            this.name,
            'not_found',
            `${username} (Nextcloud user ${uid}) does not exist on ${this.name}`,
            { status: 404, cause: err },
          );
        throw new BackendError(
          this.name,
          'not_managed',
          `Nextcloud user ${uid} on ${this.name} exists but is not managed by user_oidc, so this backend will not ` +
            'delete it: delete it through a nextcloud backend if that is what you want',
          { status: 404, cause: err, retryable: false },
        );
      }
      if (isLostAnswer(err)) {
        // The delete may have happened before the answer was lost: read back instead of sending it again.
        const state = await this.nextcloud.getUser(uid).catch(() => undefined);
        if (state && !state.exists) return { ...done, summary: `${done.summary} (confirmed by reading back)` };
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.nextcloud.close();
  }

  /**
   * A create whose answer was lost may have happened: the user did not exist just before, so if it exists now it
   * is ours. Returns the uid found; rethrows when nothing was created. A 404 means the route itself is missing.
   */
  private async confirmCreateAfterFailure(err: unknown, username: string, uid: string): Promise<string> {
    if (err instanceof OcsFailure && err.code === 'not_found') {
      throw new BackendError(
        this.name,
        'unsupported',
        `${this.name} has no user_oidc provisioning API (HTTP 404 on ${USER_ROUTE}): install or update the ` +
          `user_oidc app on the server`,
        { status: 404, cause: err, retryable: false },
      );
    }
    if (!isLostAnswer(err)) throw err;
    const state = await this.nextcloud.getUser(uid).catch(() => undefined);
    if (state === undefined) {
      throw new BackendError(
        this.name,
        'ambiguous',
        `creating ${username} on ${this.name} got no usable answer and reading it back failed too: check whether ` +
          `Nextcloud user ${uid} exists before retrying`,
        { cause: err },
      );
    }
    if (!state.exists) throw err;
    return uid;
  }

  private quotaValue(quotaBytes: number | null): string {
    this.nextcloud.storedQuota(quotaBytes); // refuses a non-size with the OCS client's words, before any call
    return oidcQuotaParam(quotaBytes);
  }

  private async readBack(username: string): Promise<UserState | undefined> {
    return this.getUser(username).catch(() => undefined);
  }

  /** Puts the login and the uid in the summary, and the uid in the state, whatever the OCS client wrote. */
  private relabel(username: string, uid: string, result: ApplyResult, what: string): ApplyResult {
    return {
      summary: `${what} (Nextcloud user ${uid}) on ${this.name}`,
      ...(result.after ? { after: { ...result.after, userId: uid } } : {}),
    };
  }
}
