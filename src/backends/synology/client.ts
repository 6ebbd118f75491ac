/**
 * BackendClient for Synology DSM local users (docs/synology-dsm.md#users, #groups, #quota). The
 * session (login, SynoToken, re-login) lives in session.ts; this file turns AccountDesk operations into DSM calls
 * and reads every change back, because DSM's answers are not always the truth (delete returns errors on success,
 * accepted group joins go missing).
 */
import type { Logger } from '../../log.js';
import { httpOptionsFor } from '../config.js';
import { HttpClient } from '../http.js';
import {
  BackendError,
  type ApplyResult,
  type BackendClient,
  type Capability,
  type CreateUserInput,
  type UserState,
} from '../types.js';
import type { SynologyConfig } from './config.js';
import { dsmExpiryDay, isExpired } from './expiry.js';
import { bytesToDsmMb, dsmMbToBytes } from './quota-units.js';
import { DsmSession, isRecord } from './session.js';
import { generateDsmPassword } from './password.js';
import { dsmUsernameProblem } from './usernames.js';

export interface SynologyClientDeps {
  /** An HttpClient to use instead of one built from the config (tests); the caller then owns closing it. */
  http?: HttpClient;
  /** The 2FA device id: the value of the env var config.deviceIdEnv names (registry.ts reads it). */
  deviceId?: string | undefined;
  logger?: Logger;
  /** Waits between join_status polls; tests pass a fake. */
  sleep?: (ms: number) => Promise<void>;
  /** Clock for "expiry date in the past" (tests pass a fixed one). */
  now?: () => Date;
}

/** DSM's limit: a username has at most 64 characters (docs/synology-dsm.md#users). */
const MAX_USERNAME_LENGTH = 64;
/** DSM's limit: a password has at most 127 characters (docs/synology-dsm.md#users). */
const MAX_PASSWORD_LENGTH = 127;
/** Built-in accounts DSM refuses to delete (docs/synology-dsm.md#users). */
const UNDELETABLE = new Set(['admin', 'guest']);
/** Every DSM user is in `users` (docs/synology-dsm.md#users); it can be neither joined nor left. */
const EVERYONE_GROUP = 'users';
const USER_FIELDS = ['email', 'expired', 'description'];
/** A control character (Unicode category Cc): never part of a DSM user or group name. */
const CONTROL_CHARACTER = /\p{Cc}/u;

export function createSynologyClient(
  name: string,
  config: SynologyConfig,
  secret: string,
  deps: SynologyClientDeps = {},
): BackendClient {
  return new SynologyClient(name, config, secret, deps);
}

/** Refuses http:// unless the config opts in (see allowPlainHttp in config.ts for why). */
export function assertTransportAllowed(name: string, config: Pick<SynologyConfig, 'url' | 'allowPlainHttp'>): void {
  if (new URL(config.url).protocol !== 'https:' && !config.allowPlainHttp) {
    throw new BackendError(
      name,
      'invalid_input',
      `${name}: refusing http:// for DSM: passwords would cross the network in clear text. ` +
        'Use https:// (port 5001 by default) or set allowPlainHttp: true for a trusted LAN',
    );
  }
}

/** A session wired to the config: shared by the client and 2FA enrollment. */
export function sessionFor(
  name: string,
  config: SynologyConfig,
  secret: string,
  http: HttpClient,
  extras: { deviceId?: string | undefined; logger?: Logger | undefined } = {},
): DsmSession {
  return new DsmSession(http, {
    backend: name,
    account: config.user,
    password: secret,
    sessionName: config.sessionName,
    deviceName: config.deviceName,
    deviceId: extras.deviceId,
    secretEnv: config.secretEnv,
    deviceIdEnv: config.deviceIdEnv,
    logger: extras.logger,
  });
}

class SynologyClient implements BackendClient {
  readonly kind = 'synology' as const;
  readonly capabilities: ReadonlySet<Capability> = new Set<Capability>(['delete', 'groups']);
  readonly passwordHandling: 'mailed-by-backend' | 'show-to-requester';
  readonly emailRequiredBecause: string | undefined;
  readonly usernameProblem = dsmUsernameProblem;

  private readonly http: HttpClient;
  private readonly ownsHttp: boolean;
  private readonly session: DsmSession;
  private readonly logger: Logger | undefined;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => Date;
  private closing: Promise<void> | undefined;

  constructor(
    readonly name: string,
    private readonly config: SynologyConfig,
    secret: string,
    deps: SynologyClientDeps,
  ) {
    assertTransportAllowed(name, config);
    this.passwordHandling = config.mailPassword ? 'mailed-by-backend' : 'show-to-requester';
    this.emailRequiredBecause = config.mailPassword ? 'it mails the new user their password' : undefined;
    this.http = deps.http ?? new HttpClient(httpOptionsFor(name, config));
    this.ownsHttp = deps.http === undefined;
    this.logger = deps.logger;
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = deps.now ?? (() => new Date());
    this.session = sessionFor(name, config, secret, this.http, {
      deviceId: deps.deviceId || undefined,
      logger: deps.logger,
    });
  }

  async getUser(username: string): Promise<UserState> {
    this.checkUsername(username);
    let data: unknown;
    try {
      data = await this.session.call(
        'SYNO.Core.User',
        'get',
        { name: username, additional: USER_FIELDS },
        { read: true, subject: username },
      );
    } catch (err) {
      if (err instanceof BackendError && err.code === 'not_found') return { userId: username, exists: false };
      throw err;
    }
    const users = isRecord(data) && Array.isArray(data.users) ? data.users : [];
    const user = users.find((u): u is Record<string, unknown> => isRecord(u) && sameName(u.name, username));
    if (!user) return { userId: username, exists: false };
    const [groups, quota] = await Promise.all([this.readGroups(username), this.readQuota(username)]);
    return {
      userId: typeof user.name === 'string' ? user.name : username,
      exists: true,
      enabled: !isExpired(user.expired, this.now()),
      email: typeof user.email === 'string' && user.email !== '' ? user.email : null,
      displayName: typeof user.description === 'string' && user.description !== '' ? user.description : null,
      quota,
      groups,
    };
  }

  async createUser(input: CreateUserInput): Promise<ApplyResult> {
    const username = input.username;
    this.checkUsername(username);
    const mail = this.config.mailPassword;
    if (mail && !input.email) {
      throw this.invalid(
        `DSM mails the first password to the new user (mailPassword), so ${username} needs an email address`,
      );
    }
    // DSM requires a password on create in both modes (docs/synology-dsm.md#users); the request service
    // generates one for every DSM create, whether DSM mails it or the requester is shown it.
    const password = input.password;
    if (!password) {
      throw this.invalid(
        `DSM needs a first password for ${username}: AccountDesk must generate one and pass it to createUser`,
      );
    }
    if (password.length > MAX_PASSWORD_LENGTH) {
      throw this.invalid(`the first password is longer than DSM's limit of ${MAX_PASSWORD_LENGTH} characters`);
    }
    const quotaMb = input.quotaBytes === undefined ? undefined : this.toMb(input.quotaBytes);

    await this.session.call(
      'SYNO.Core.User',
      'create',
      {
        name: username,
        password,
        email: input.email,
        description: input.displayName,
        // Only when DSM mails the password.
        ...(mail ? { notify_by_email: true, send_password: true } : {}),
        // A time-limited account: DSM's own expiry day as YYYY/M/D (docs/synology-dsm.md#disable-and-enable), so
        // the NAS locks it out even if AccountDesk is not running then. Otherwise left out: DSM defaults to
        // "normal" (never "never").
        ...(input.expiresOn ? { expired: dsmExpiryDay(input.expiresOn) } : {}),
      },
      { subject: username },
    );

    // The user exists from here on. Later steps report problems in the summary instead of throwing: a thrown
    // error would hide that the account (and, for show-to-requester, its password) now exists.
    const problems: string[] = [];
    const groups = uniqueGroups(input.groups ?? []).filter((g) => !sameName(g, EVERYONE_GROUP));
    if (groups.length > 0) {
      try {
        const dropped = await this.changeGroups(username, groups, []);
        if (dropped.length > 0)
          problems.push(`DSM accepted but dropped the group(s) ${dropped.join(', ')}: add them again`);
      } catch (err) {
        problems.push(`groups ${groups.join(', ')} not set: ${messageOf(err)}`);
      }
    }
    if (quotaMb !== undefined && quotaMb !== 0) {
      // A new DSM user has no quota (0 = unlimited): only a limit needs a call.
      try {
        await this.writeQuota(username, quotaMb);
      } catch (err) {
        problems.push(`quota NOT set, the account is unlimited until it is: ${messageOf(err)}`);
      }
    }
    for (const problem of problems) this.logger?.warn({ backend: this.name, user: username }, `DSM create: ${problem}`);

    const how =
      (mail ? `DSM mailed the password to ${input.email}` : 'show the password once to the requester') +
      (input.expiresOn ? `; DSM account expiry ${input.expiresOn} (last day)` : '');
    const summary =
      problems.length === 0
        ? `created ${username} on ${this.name}; ${how}`
        : `created ${username} on ${this.name} (${how}), BUT ${problems.join('; ')}`;
    return this.changed(summary);
  }

  async disableUser(username: string): Promise<ApplyResult> {
    this.checkUsername(username);
    // Only `expired`: re-sending other fields clobbers settings, and a `disabled` param is ignored
    // (docs/synology-dsm.md#disable-and-enable).
    await this.session.call('SYNO.Core.User', 'set', { name: username, expired: 'now' }, { subject: username });
    return this.changed(`disabled ${username} on ${this.name} (DSM expiry set to now)`);
  }

  async enableUser(username: string): Promise<ApplyResult> {
    this.checkUsername(username);
    await this.session.call('SYNO.Core.User', 'set', { name: username, expired: 'normal' }, { subject: username });
    return this.changed(`enabled ${username} on ${this.name}`);
  }

  async setQuota(username: string, quotaBytes: number | null): Promise<ApplyResult> {
    this.checkUsername(username);
    const mb = this.toMb(quotaBytes);
    await this.writeQuota(username, mb);
    const what = mb === 0 ? 'unlimited' : `${mb} MB`;
    return this.changed(`set the quota of ${username} on ${this.name} (${this.config.volume}) to ${what}`);
  }

  /** A first password DSM's strength rules accept (password.ts); AccountDesk passes it to createUser. */
  generatePassword(): string {
    return generateDsmPassword();
  }

  /** DSM stores whole MB, rounded up from the bytes approved (quota-units.ts); refuses what setQuota refuses. */
  storedQuota(quotaBytes: number | null): number | null {
    return dsmMbToBytes(this.toMb(quotaBytes));
  }

  async deleteUser(username: string): Promise<ApplyResult> {
    this.checkUsername(username);
    if (UNDELETABLE.has(username.toLowerCase())) {
      throw new BackendError(
        this.name,
        'forbidden',
        `${this.name}: DSM does not allow deleting the built-in account "${username}"`,
      );
    }
    const before = await this.getUser(username);
    if (!before.exists) throw new BackendError(this.name, 'not_found', `${this.name}: DSM has no user "${username}"`);
    // name is a JSON array (a plain string -> 3101); the answer lists errors even on success, so read back.
    const data = await this.session.call('SYNO.Core.User', 'delete', { name: [username] }, { subject: username });
    let after: UserState;
    try {
      after = await this.getUser(username);
    } catch (err) {
      // DSM answered the delete, but its answer lists errors even on success (docs/synology-dsm.md#users), so only the
      // read-back proves it. Unproven, the request fails as ambiguous: a Retry reads the account first and
      // completes the request if it is gone, without deleting anything twice.
      throw new BackendError(
        this.name,
        'ambiguous',
        `${this.name}: DSM answered the delete of ${username} but reading it back failed (${messageOf(err)}): ` +
          `check in DSM whether ${username} is gone, then Retry`,
        { cause: err, retryable: true },
      );
    }
    if (after.exists) {
      const codes = deleteErrorCodes(data);
      throw new BackendError(
        this.name,
        'unknown',
        `${this.name}: DSM did not delete ${username}${codes ? ` (DSM errors: ${codes})` : ''}: it still exists; ` +
          "see DSM's system log",
        { retryable: true },
      );
    }
    return { summary: `deleted ${username} on ${this.name}`, after };
  }

  async addToGroup(username: string, group: string): Promise<ApplyResult> {
    this.checkUsername(username);
    this.checkGroup(group);
    if (sameName(group, EVERYONE_GROUP)) {
      return this.changed(`${username} is in ${EVERYONE_GROUP} already: every DSM user is`);
    }
    const dropped = await this.changeGroups(username, [group], []);
    if (dropped.length > 0) {
      throw new BackendError(
        this.name,
        'unknown',
        `${this.name}: DSM reported adding ${username} to ${group} as done, but ${username} is not in ${group} ` +
          'when read back (DSM is known to drop group joins): retry',
        { retryable: true },
      );
    }
    return this.changed(`added ${username} to ${group} on ${this.name}`);
  }

  async removeFromGroup(username: string, group: string): Promise<ApplyResult> {
    this.checkUsername(username);
    this.checkGroup(group);
    if (sameName(group, EVERYONE_GROUP)) {
      throw this.invalid(`every DSM user is in ${EVERYONE_GROUP}; ${username} cannot leave it`);
    }
    const kept = await this.changeGroups(username, [], [group]);
    if (kept.length > 0) {
      throw new BackendError(
        this.name,
        'unknown',
        `${this.name}: DSM reported removing ${username} from ${group} as done, but ${username} is still in ` +
          `${group} when read back: retry`,
        { retryable: true },
      );
    }
    return this.changed(`removed ${username} from ${group} on ${this.name}`);
  }

  /** Logs out and releases the pool. Idempotent: shutdown paths may call it more than once. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.session.logout();
      if (this.ownsHttp) await this.http.close();
    })();
    return this.closing;
  }

  /**
   * The result of a change DSM has made. The user is not read back: nothing uses that answer (the card shows the
   * summary), and a DSM read is several calls.
   */
  private changed(summary: string): ApplyResult {
    return { summary };
  }

  /**
   * Joins/leaves groups: DSM answers with a task id and does the work later (docs/synology-dsm.md#groups). Polls
   * join_status a bounded number of times, then reads membership back. Returns the groups whose change is NOT
   * visible afterwards.
   */
  private async changeGroups(username: string, wantedJoin: string[], wantedLeave: string[]): Promise<string[]> {
    const { maxPolls, pollIntervalMs } = this.config.groupJoin;
    const existing = await this.listGroups();
    const join = wantedJoin.map((g) => this.existingGroup(g, existing));
    const leave = wantedLeave.map((g) => this.existingGroup(g, existing));
    const started = await this.session.call(
      'SYNO.Core.User.Group',
      'join',
      { name: username, join_group: join, leave_group: leave },
      { subject: [...join, ...leave].join(', ') },
    );
    const taskId = isRecord(started) ? started.task_id : undefined;
    if (typeof taskId !== 'string' || taskId === '') {
      throw new BackendError(
        this.name,
        'protocol',
        `${this.name}: DSM accepted the group change for ${username} but returned no task id`,
      );
    }
    for (let poll = 1; ; poll++) {
      const status = await this.session.call(
        'SYNO.Core.User.Group',
        'join_status',
        { task_id: taskId },
        { read: true },
      );
      if (isRecord(status) && status.finish === true) {
        if (status.success === false) {
          throw new BackendError(
            this.name,
            'unknown',
            `${this.name}: DSM finished the group change for ${username} with a failure: see DSM's system log`,
          );
        }
        break;
      }
      if (poll >= maxPolls) {
        throw new BackendError(
          this.name,
          'ambiguous',
          `${this.name}: DSM had not finished the group change for ${username} after ${maxPolls} checks: ` +
            `look at ${username}'s groups in DSM before retrying`,
        );
      }
      await this.sleep(pollIntervalMs);
    }
    const now = await this.readGroups(username);
    const isMember = (g: string): boolean => now.some((m) => sameName(m, g));
    return [...join.filter((g) => !isMember(g)), ...leave.filter(isMember)];
  }

  /**
   * Every group on the NAS. Checked before a join because DSM accepts a join to a group that does not exist and
   * finishes the task with nothing done (github.com/N4S4/synology-api tests/test_core_user.py joins the misspelt
   * "admnistrators" on a real NAS and expects success): without the check, that would read as a dropped join.
   */
  private async listGroups(): Promise<string[]> {
    const data = await this.session.call(
      'SYNO.Core.Group',
      'list',
      { type: 'local', offset: 0, limit: -1 },
      { read: true },
    );
    const groups = isRecord(data) && Array.isArray(data.groups) ? data.groups : [];
    return groups.flatMap((g) => (isRecord(g) && typeof g.name === 'string' ? [g.name] : []));
  }

  /** The group as DSM spells it, or not_found naming the groups there are. */
  private existingGroup(group: string, existing: string[]): string {
    const found = existing.find((g) => sameName(g, group));
    if (found !== undefined) return found;
    const shown = existing.slice(0, 20).join(', ') + (existing.length > 20 ? ', ...' : '');
    throw new BackendError(
      this.name,
      'not_found',
      `${this.name}: DSM has no group "${group}"${existing.length > 0 ? ` (its groups: ${shown})` : ''}: ` +
        'check the group name',
    );
  }

  private async readGroups(username: string): Promise<string[]> {
    const data = await this.session.call(
      'SYNO.Core.User.Group',
      'get',
      { name: username },
      { read: true, subject: username },
    );
    const groups = isRecord(data) && Array.isArray(data.groups) ? data.groups : [];
    const names: string[] = [];
    for (const g of groups) {
      if (typeof g === 'string') names.push(g);
      // Some DSM listings carry every group with an is_member flag: keep only memberships.
      else if (isRecord(g) && typeof g.name === 'string' && g.is_member !== false) names.push(g.name);
    }
    return names;
  }

  private async readQuota(username: string): Promise<UserState['quota']> {
    const data = await this.session.call(
      'SYNO.Core.Quota',
      'get',
      { name: username, support_share_quota: true },
      { read: true, subject: username },
    );
    const volumes = isRecord(data) && Array.isArray(data.user_quota) ? data.user_quota.filter(isRecord) : [];
    const entry = volumes.find((v) => v.volume === this.config.volume);
    if (!entry) {
      const known = volumes.map((v) => v.volume).filter((v): v is string => typeof v === 'string');
      throw new BackendError(
        this.name,
        'invalid_input',
        `${this.name}: DSM has no volume ${this.config.volume}${known.length ? ` (it has ${known.join(', ')})` : ''}` +
          ': fix "volume" for this backend in the config',
      );
    }
    if (typeof entry.quota !== 'number') {
      throw new BackendError(this.name, 'protocol', `${this.name}: DSM's quota answer for ${username} has no number`);
    }
    return { limitBytes: dsmMbToBytes(entry.quota) };
  }

  private async writeQuota(username: string, mb: number): Promise<void> {
    await this.session.call(
      'SYNO.Core.Quota',
      'set',
      { name: username, user_quota: [{ volume: this.config.volume, quota: mb }] },
      { subject: username },
    );
  }

  private toMb(bytes: number | null): number {
    try {
      return bytesToDsmMb(bytes);
    } catch (err) {
      throw this.invalid(messageOf(err));
    }
  }

  private checkUsername(username: string): void {
    if (username.length === 0 || username.length > MAX_USERNAME_LENGTH || CONTROL_CHARACTER.test(username)) {
      throw this.invalid(`a DSM user name must be 1-${MAX_USERNAME_LENGTH} printable characters`);
    }
  }

  private checkGroup(group: string): void {
    if (group.length === 0 || CONTROL_CHARACTER.test(group))
      throw this.invalid('a DSM group name must be printable and not empty');
  }

  private invalid(message: string): BackendError {
    return new BackendError(this.name, 'invalid_input', `${this.name}: ${message}`);
  }
}

/** DSM user and group names are case-insensitive. */
function sameName(a: unknown, b: string): boolean {
  return typeof a === 'string' && a.toLowerCase() === b.toLowerCase();
}

function uniqueGroups(groups: string[]): string[] {
  const seen = new Set<string>();
  return groups.filter((g) => (seen.has(g.toLowerCase()) ? false : (seen.add(g.toLowerCase()), true)));
}

/**
 * The codes in a delete answer's `errors` list, for a message. A real DSM lists plain integers there, even on
 * success (github.com/happn-app/officectl, Synology UsersDeletionResponseBody.swift: [3102]); objects with a
 * `code` are read too.
 */
function deleteErrorCodes(data: unknown): string {
  if (!isRecord(data) || !Array.isArray(data.errors)) return '';
  return data.errors
    .map((e) => {
      if (typeof e === 'number') return String(e);
      return isRecord(e) && typeof e.code === 'number' ? String(e.code) : '?';
    })
    .join(', ');
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
