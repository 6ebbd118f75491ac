/**
 * Nextcloud user provisioning over OCS (docs/nextcloud-ocs.md). Users are created without a password so the server
 * mails them an invitation. A write whose answer was lost is confirmed by reading the user back (a create in
 * particular is not atomic on the server); a write that succeeded is not read again: nothing needs that answer.
 */
import { HttpClient, pathSegment } from '../http.js';
import { httpOptionsFor } from '../config.js';
import { BackendError } from '../types.js';
import type { ApplyResult, BackendClient, Capability, CreateUserInput, UserState } from '../types.js';
import type { NextcloudConfig } from './config.js';
import { explainFailure } from './errors.js';
import type { FailureContext, NextcloudOperation } from './errors.js';
import { isLostAnswer, OcsFailure, OcsTransport } from './ocs.js';
import type { OcsMethod, OcsRequestOptions } from './ocs.js';
import { formatQuota, quotaParam, readQuota, storedQuotaBytes } from './nextcloud-quota.js';
import { nextcloudUsernameProblem } from './usernames.js';

export function createNextcloudClient(
  name: string,
  config: NextcloudConfig,
  secret: string,
  http?: HttpClient,
): NextcloudClient {
  return new NextcloudClient(name, config, secret, http ?? new HttpClient(httpOptionsFor(name, config)));
}

/** What a create asked for, with the config's default groups merged in. */
interface WantedUser {
  email: string;
  displayName?: string;
  quotaBytes?: number | null;
  groups: string[];
}

export class NextcloudClient implements BackendClient {
  readonly kind = 'nextcloud' as const;
  readonly capabilities: ReadonlySet<Capability> = new Set<Capability>(['delete', 'groups', 'resendInvite']);
  readonly passwordHandling = 'invitation' as const;
  readonly emailRequiredBecause = 'it mails the new user an invitation to set a password';
  readonly usernameProblem = nextcloudUsernameProblem;
  private readonly transport: OcsTransport;

  constructor(
    readonly name: string,
    private readonly config: NextcloudConfig,
    secret: string,
    private readonly http: HttpClient,
  ) {
    this.transport = new OcsTransport(http, {
      backend: name,
      user: config.user,
      secret,
      secretEnv: config.secretEnv,
      apiVersion: config.apiVersion,
      editLimitWindowMs: config.editLimitWindowMs,
    });
  }

  /**
   * One OCS call below `/ocs/{v1|v2}.php` (e.g. `/apps/user_oidc/api/v1/user`), returning the envelope's `data`.
   * Failures throw BackendError; a failure the server reported in an OCS envelope is an OcsFailure whose `statuscode`
   * and `ocsMessage` carry the server's own code and words. Every user-supplied path segment must go through
   * pathSegment().
   */
  ocs<T = unknown>(method: OcsMethod, path: string, options?: OcsRequestOptions): Promise<T> {
    return this.transport.request<T>(method, path, options);
  }

  async getUser(username: string): Promise<UserState> {
    let data: unknown;
    try {
      data = await this.ocs('GET', this.userPath(username));
    } catch (err) {
      // Missing user: 404 (older servers 998), HTTP 200 on v1 and 404 on v2 (docs/nextcloud-ocs.md#observed-answers).
      if (err instanceof OcsFailure && err.code === 'not_found') return { userId: username, exists: false };
      throw err;
    }
    return this.toUserState(data, username);
  }

  async createUser(input: CreateUserInput): Promise<ApplyResult> {
    const wanted = this.validateCreate(input);
    const { username } = input;
    const body: Record<string, unknown> = { userid: username, email: wanted.email };
    // displayName is camelCase on addUser (docs/nextcloud-ocs.md#endpoints-used); the server applies it, quota and
    // language as separate internal edits, which do not count against the editUser rate limit.
    if (wanted.displayName !== undefined) body['displayName'] = wanted.displayName;
    if (wanted.groups.length > 0) body['groups'] = wanted.groups;
    if (wanted.quotaBytes !== undefined) body['quota'] = quotaParam(wanted.quotaBytes);
    if (this.config.language !== undefined) body['language'] = this.config.language;

    // The create goes first, with no read before it: addUser checks that the user does not exist before anything
    // else and answers 102 if it does (docs/nextcloud-ocs.md#creating-a-user), so a success costs one call and a
    // user that was there already is refused by the server itself.
    for (let retried = false; ; retried = true) {
      let data: unknown;
      try {
        data = await this.ocs('POST', '/cloud/users', { body });
      } catch (err) {
        const outcome = await this.afterFailedCreate(err, username, wanted, retried);
        if (outcome === 'retry') continue;
        return outcome;
      }
      // data.id may differ from the requested id when the server generates ids.
      const id = typeof (data as { id?: unknown } | null)?.id === 'string' ? (data as { id: string }).id : username;
      const assigned = id === username ? '' : ` (Nextcloud assigned the id '${id}')`;
      // No read-back: nothing uses it (the card shows the outcome's summary), and it would add a second call.
      return {
        summary:
          `created ${id} on ${this.name}${assigned}${describeWanted(wanted)}; Nextcloud mails the invitation to ` +
          `${wanted.email} ` +
          `itself and does not confirm delivery${retried ? ' (succeeded on a second attempt)' : ''}`,
      };
    }
  }

  async disableUser(username: string): Promise<ApplyResult> {
    return this.setEnabled(username, false);
  }

  async enableUser(username: string): Promise<ApplyResult> {
    return this.setEnabled(username, true);
  }

  async setQuota(username: string, quotaBytes: number | null): Promise<ApplyResult> {
    const value = this.quotaValue(quotaBytes);
    const shown = formatQuota(quotaBytes);
    const target = storedQuotaBytes(quotaBytes);
    await this.confirmWrite(
      () => this.editUser(username, 'quota', value, shown),
      async () => (await this.getUser(username)).quota?.limitBytes === target,
    );
    return { summary: `set the quota of ${username} on ${this.name} to ${shown}` };
  }

  /** What Nextcloud will report after setQuota(quotaBytes): it rounds to a one-decimal human size. */
  storedQuota(quotaBytes: number | null): number | null {
    this.quotaValue(quotaBytes); // refuses what setQuota refuses, with the same words
    return storedQuotaBytes(quotaBytes);
  }

  async deleteUser(username: string): Promise<ApplyResult> {
    this.refuseSelf(username, 'delete');
    await this.confirmWrite(
      () => this.call('deleteUser', { userId: username }, 'DELETE', this.userPath(username)),
      async () => !(await this.getUser(username)).exists,
    );
    return {
      summary: `deleted ${username} from ${this.name} with all their files`,
      after: { userId: username, exists: false },
    };
  }

  async addToGroup(username: string, group: string): Promise<ApplyResult> {
    // Adding an existing member succeeds (docs/nextcloud-ocs.md#observed-answers), so a repeat is harmless.
    await this.call('addToGroup', { userId: username, group }, 'POST', `${this.userPath(username)}/groups`, {
      groupid: group,
    });
    return { summary: `added ${username} to group ${group} on ${this.name}` };
  }

  async removeFromGroup(username: string, group: string): Promise<ApplyResult> {
    // Removing a non-member succeeds (docs/nextcloud-ocs.md#observed-answers).
    await this.call('removeFromGroup', { userId: username, group }, 'DELETE', `${this.userPath(username)}/groups`, {
      groupid: group,
    });
    return { summary: `removed ${username} from group ${group} on ${this.name}` };
  }

  async resendInvite(username: string): Promise<ApplyResult> {
    await this.call('resendInvite', { userId: username }, 'POST', `${this.userPath(username)}/welcome`);
    const after = await this.readBackQuietly(username);
    const to = after?.email ? ` to ${after.email}` : '';
    return {
      summary: `Nextcloud ${this.name} sent ${username} a new invitation mail${to}`,
      ...(after ? { after } : {}),
    };
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  // ---------------------------------------------------------------------------------------------------------------

  private validateCreate(input: CreateUserInput): WantedUser {
    if (input.username.trim() === '' || input.username !== input.username.trim()) {
      throw this.invalid(`the user name '${input.username}' is empty or has spaces at its ends: fix the request`);
    }
    const email = input.email?.trim();
    // No password + email = the server generates a password and mails a set-password link
    // (docs/nextcloud-ocs.md#creating-a-user); without an email it answers 108, so refuse before any call.
    if (!email) {
      throw this.invalid(
        `${this.name} creates users without a password and mails them an invitation, so '${input.username}' needs ` +
          `an email address: add one to the request`,
      );
    }
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))
      throw this.invalid(`'${email}' is not an email address: fix the request`);
    const wanted: WantedUser = { email, groups: [...new Set([...this.config.defaultGroups, ...(input.groups ?? [])])] };
    if (input.displayName !== undefined && input.displayName.trim() !== '') wanted.displayName = input.displayName;
    if (input.quotaBytes !== undefined) {
      this.quotaValue(input.quotaBytes);
      wanted.quotaBytes = input.quotaBytes;
    }
    return wanted;
  }

  private quotaValue(quotaBytes: number | null): string {
    try {
      return quotaParam(quotaBytes);
    } catch {
      throw this.invalid(`the quota ${String(quotaBytes)} is not a whole number of bytes: fix the request`);
    }
  }

  /**
   * Decides what a failed create means. Definitive refusals are thrown with their meaning; 102 on the first attempt
   * is a user that was there before (the server checks that first), refused with its email. After an ambiguous
   * answer (101 "Bad request", a timeout, a 5xx) the user is read back: if it does not exist the create is tried
   * exactly once more; if it does, whether it is ours decides (see isOurs) and whatever the server skipped is
   * applied.
   */
  private async afterFailedCreate(
    err: unknown,
    username: string,
    wanted: WantedUser,
    retried: boolean,
  ): Promise<ApplyResult | 'retry'> {
    const ctx: FailureContext = { backend: this.name, op: 'createUser', userId: username };
    const failure = err instanceof OcsFailure ? err : undefined;
    const existed = failure?.statuscode === 102 && !retried;
    const serverErrorAfterWork =
      failure !== undefined &&
      (failure.statuscode === 101 || failure.statuscode === 102 || failure.code === 'unavailable');
    if (!serverErrorAfterWork && !(failure === undefined && isLostAnswer(err))) throw explainFailure(err, ctx);

    let state: UserState;
    try {
      state = await this.getUser(username);
    } catch (readErr) {
      if (existed) throw this.alreadyExists(username, undefined, err);
      throw new BackendError(
        this.name,
        'ambiguous',
        `creating '${username}' on ${this.name} failed (${describeError(err)}) and reading the user back failed too ` +
          `(${describeError(readErr)}): ` +
          'check in Nextcloud whether the user exists before trying again',
        { cause: err, retryable: false },
      );
    }
    if (existed) throw this.alreadyExists(username, state, err);
    if (!state.exists) {
      const generic =
        failure === undefined || failure.code === 'unavailable' || /^bad request$/i.test(failure.ocsMessage);
      if (!retried && generic) return 'retry';
      throw explainFailure(err, ctx);
    }
    const sameEmail = state.email?.toLowerCase() === wanted.email.toLowerCase();
    if (retried && failure?.statuscode === 102 && !sameEmail) {
      // 102 after our own retry is ours only if it matches what we asked for (docs/nextcloud-ocs.md#creating-a-user).
      throw new BackendError(
        this.name,
        'already_exists',
        `'${username}' now exists on ${this.name} with ${state.email ? `email ${state.email}` : 'no email'}, not ` +
          `${wanted.email}: ` +
          'someone else probably created it at the same moment; nothing was changed',
        { cause: err },
      );
    }
    // An OCS 101 is addUser's own answer, given after its existence check passed: the user is ours. A lost answer
    // (timeout, reset, 5xx from a proxy) might hide a 102 for a user that was there before: only a user with the
    // email asked for is taken as ours; anything else is left to a person instead of being "completed".
    if (failure?.statuscode !== 101 && !sameEmail) {
      throw new BackendError(
        this.name,
        'ambiguous',
        `creating '${username}' on ${this.name} failed (${describeError(err)}), and '${username}' exists there with ` +
          `${state.email ? `email ${state.email}` : 'no email'}, not ${wanted.email}: check in Nextcloud whether ` +
          'it is the account asked for (it may have been there before) before trying again',
        { cause: err, retryable: false },
      );
    }
    return this.completeCreated(state, wanted, err);
  }

  private alreadyExists(username: string, state: UserState | undefined, err: unknown): BackendError {
    const email = state?.email ? ` (email ${state.email})` : '';
    return new BackendError(
      this.name,
      'already_exists',
      `'${username}' already exists on ${this.name}${email}: nothing was changed`,
      { cause: err, remoteCode: 102 },
    );
  }

  /** Applies what an interrupted create skipped, then says in one line what is true now. */
  private async completeCreated(state: UserState, wanted: WantedUser, err: unknown): Promise<ApplyResult> {
    const id = state.userId;
    const done: string[] = [];
    const missing: string[] = [];
    const attempt = async (label: string, action: () => Promise<unknown>) => {
      try {
        await action();
        done.push(label);
      } catch (editErr) {
        missing.push(`${label} (${shortReason(editErr)})`);
      }
    };
    for (const group of wanted.groups) {
      if (!state.groups?.includes(group)) {
        await attempt(`group ${group}`, () =>
          this.call('addToGroup', { userId: id, group }, 'POST', `${this.userPath(id)}/groups`, { groupid: group }),
        );
      }
    }
    if (wanted.displayName !== undefined && state.displayName !== wanted.displayName) {
      await attempt(`display name '${wanted.displayName}'`, () =>
        this.editUser(id, 'displayname', wanted.displayName!, wanted.displayName!),
      );
    }
    if (wanted.quotaBytes !== undefined && state.quota?.limitBytes !== storedQuotaBytes(wanted.quotaBytes)) {
      const shown = formatQuota(wanted.quotaBytes);
      await attempt(`quota ${shown}`, () => this.editUser(id, 'quota', quotaParam(wanted.quotaBytes!), shown));
    }
    const emailWasSet = state.email?.toLowerCase() === wanted.email.toLowerCase();
    if (!emailWasSet)
      await attempt(`email ${wanted.email}`, () => this.editUser(id, 'email', wanted.email, wanted.email));

    // addUser mails the invitation as its very last step, right after setting the email, and a mail failure is
    // only logged: so an error answer from addUser, or an email that was missing, means no invitation went out.
    // A lost answer (timeout) with the email in place most likely did send it; sending twice would confuse.
    let invitation: string;
    const emailNowSet = emailWasSet || done.includes(`email ${wanted.email}`);
    if (!emailNowSet) invitation = 'NO invitation was sent: the email could not be set';
    else if (emailWasSet && !(err instanceof OcsFailure))
      invitation = `the invitation to ${wanted.email} was most likely sent before the answer was lost`;
    else {
      try {
        await this.call('resendInvite', { userId: id }, 'POST', `${this.userPath(id)}/welcome`);
        invitation = `invitation sent to ${wanted.email}`;
      } catch (mailErr) {
        invitation = `NO invitation was sent (${shortReason(mailErr)}): use resend invite`;
      }
    }
    const after = await this.readBackQuietly(id);
    const parts = [`created ${id} on ${this.name} although Nextcloud answered ${describeError(err)}`];
    if (done.length > 0) parts.push(`then set ${done.join(', ')}`);
    parts.push(missing.length > 0 ? `NOT set: ${missing.join('; ')}` : 'everything asked for is in place');
    parts.push(invitation);
    return { summary: parts.join('; '), ...(after ? { after } : {}) };
  }

  private async setEnabled(username: string, enabled: boolean): Promise<ApplyResult> {
    const op: NextcloudOperation = enabled ? 'enableUser' : 'disableUser';
    const verb = enabled ? 'enable' : 'disable';
    // The server answers 101 both for a missing user and for acting on yourself: tell them apart before calling.
    if (!enabled) this.refuseSelf(username, verb);
    try {
      await this.confirmWrite(
        () => this.call(op, { userId: username }, 'PUT', `${this.userPath(username)}/${verb}`),
        async () => (await this.getUser(username)).enabled === enabled,
      );
    } catch (err) {
      if (err instanceof BackendError && err.remoteCode === 101) {
        const state = await this.getUser(username).catch(() => undefined);
        if (state && !state.exists) {
          throw new BackendError(this.name, 'not_found', `user '${username}' does not exist on ${this.name}`, {
            remoteCode: 101,
            cause: err,
          });
        }
      }
      throw err;
    }
    return { summary: `${enabled ? 'enabled' : 'disabled'} ${username} on ${this.name}` };
  }

  private refuseSelf(username: string, verb: string): void {
    if (username.toLowerCase() === this.config.user.toLowerCase()) {
      throw this.invalid(
        `AccountDesk will not ${verb} '${username}': it is the admin account it acts as on ${this.name}`,
      );
    }
  }

  /** PUT /users/{id} key=value: the call Nextcloud limits to 50 per 10 minutes per admin account. */
  private editUser(userId: string, key: string, value: string, shownValue: string): Promise<unknown> {
    return this.call('editUser', { userId, field: key, shownValue }, 'PUT', this.userPath(userId), { key, value });
  }

  private async call(
    op: NextcloudOperation,
    ctx: Omit<FailureContext, 'backend' | 'op'>,
    method: OcsMethod,
    path: string,
    body?: object,
  ) {
    try {
      return await this.ocs(method, path, body === undefined ? {} : { body });
    } catch (err) {
      throw explainFailure(err, { backend: this.name, op, ...ctx });
    }
  }

  /**
   * Runs a write; when its answer is lost (timeout, 5xx, garbage), reads back whether it took effect rather than
   * sending it again (http.ts never retries writes after a timeout).
   */
  private async confirmWrite(write: () => Promise<unknown>, tookEffect: () => Promise<boolean>): Promise<void> {
    try {
      await write();
    } catch (err) {
      if (!isLostAnswer(err)) throw err;
      const confirmed = await tookEffect().catch(() => false);
      if (!confirmed) throw err;
    }
  }

  private async readBackQuietly(userId: string): Promise<UserState | undefined> {
    try {
      return await this.getUser(userId);
    } catch {
      return undefined; // the write succeeded; a failed read-back only costs the "after" picture
    }
  }

  private toUserState(data: unknown, requested: string): UserState {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw new BackendError(
        this.name,
        'protocol',
        `${this.name} answered a user query without user data: is this a Nextcloud provisioning API?`,
        {
          retryable: false,
        },
      );
    }
    const d = data as Record<string, unknown>;
    const state: UserState = { userId: typeof d['id'] === 'string' ? d['id'] : requested, exists: true };
    if (typeof d['enabled'] === 'boolean') state.enabled = d['enabled'];
    else if (d['enabled'] === 'true' || d['enabled'] === 1 || d['enabled'] === '1') state.enabled = true;
    else if (d['enabled'] === 'false' || d['enabled'] === 0 || d['enabled'] === '0' || d['enabled'] === '')
      state.enabled = false;
    state.email = typeof d['email'] === 'string' && d['email'] !== '' ? d['email'] : null;
    const display = d['displayname'] ?? d['display-name'];
    state.displayName = typeof display === 'string' ? display : null;
    const quota = readQuota(d['quota']);
    if (quota) state.quota = quota;
    if (Array.isArray(d['groups'])) state.groups = d['groups'].filter((g): g is string => typeof g === 'string');
    return state;
  }

  private userPath(username: string): string {
    // Nextcloud refuses user ids made only of dots, and some proxies (nginx) decode %2E before resolving dot
    // segments, so '..' could still walk up to /cloud/groups: never build such a path.
    if (/^\.*$/.test(username)) {
      throw new BackendError(
        this.name,
        'invalid_input',
        `'${username}' is not a valid Nextcloud user name: fix the request`,
        { retryable: false },
      );
    }
    return `/cloud/users/${pathSegment(username)}`;
  }

  private invalid(message: string): BackendError {
    return new BackendError(this.name, 'invalid_input', message, { retryable: false });
  }
}

function describeError(err: unknown): string {
  if (err instanceof OcsFailure) return `"${err.ocsMessage || `OCS status ${err.statuscode}`}"`;
  if (err instanceof BackendError) return err.code === 'timeout' ? 'nothing in time' : `with an error (${err.code})`;
  return 'with an unexpected error';
}

function shortReason(err: unknown): string {
  if (err instanceof BackendError) {
    if (err.code === 'rate_limited') return "Nextcloud's limit of 50 edits per 10 minutes was reached: set it later";
    if (err.cause instanceof OcsFailure && err.cause.ocsMessage) return `Nextcloud: "${err.cause.ocsMessage}"`;
    return err.message;
  }
  return 'unexpected error';
}

function describeWanted(wanted: WantedUser): string {
  const parts: string[] = [];
  if (wanted.displayName !== undefined) parts.push(`display name '${wanted.displayName}'`);
  if (wanted.quotaBytes !== undefined) parts.push(`quota ${formatQuota(wanted.quotaBytes)}`);
  if (wanted.groups.length > 0) parts.push(`groups ${wanted.groups.join(', ')}`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}
