/**
 * A fake Synology DSM 7 Web API on 127.0.0.1 (port 0). Each behaviour names its evidence: a public source that saw
 * a real DSM answer (an issue with a captured answer, a client library's tests run against real NASes, a
 * library's documented example answer) or docs/synology-dsm.md, the project's page on DSM's Web API. Tests seed
 * and inspect state directly (users, groups, quotas), inject faults (failNext, expireSessions, dropJoins), and read
 * a request log that never holds a secret.
 *
 * Sources cited below by short name:
 * - N4S4 = github.com/N4S4/synology-api, a DSM client whose tests/test_core_user.py runs against a real NAS, and
 *   whose docstrings show real answers (synology_api/core_user.py, core_group.py, auth.py).
 * - HA-64867 = github.com/home-assistant/core/issues/64867, a DSM 7.0.1 login answer captured in full.
 * - go-synology = github.com/synology-community/go-synology pkg/api/response.go, the 2FA answer.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

interface FakeDsmUser {
  name: string;
  uid: number;
  email: string;
  description: string;
  /** "normal" | "now" | "YYYY/M/D" (SYNO.Core.User expired). */
  expired: string;
  cannotChangePassword: boolean;
  passwordNeverExpires: boolean;
}

interface ApiInfoEntry {
  path: string;
  minVersion: number;
  maxVersion: number;
}

export interface FakeDsmOptions {
  /** The admin AccountDesk logs in as. */
  account?: string;
  password?: string;
  /** 2FA on the admin account (403 = OTP required). */
  otpRequired?: boolean;
  otpCode?: string;
  /** Device ids DSM already trusts (device_id + device_name skip the OTP). */
  trustedDevices?: string[];
  /** The admin account is disabled (auth 401). */
  accountDisabled?: boolean;
  /** Bad logins before DSM blocks the IP (407 blocked IP). Default 5. */
  lockAfterFailedLogins?: number;
  /** The admin account is not in administrators: every mutation answers 105. */
  notAdmin?: boolean;
  /** Overrides SYNO.API.Info entries; null removes an API (discovery). */
  apis?: Record<string, ApiInfoEntry | null>;
  users?: Array<Partial<Omit<FakeDsmUser, 'uid'>> & { name: string; uid?: number }>;
  /** group -> members. `administrators`, `users` and `http` always exist. */
  groups?: Record<string, string[]>;
  /** volume -> size in MB (quota in MB per volume). Default { '/volume1': 4_000_000 }. */
  volumes?: Record<string, number>;
  /** user -> volume -> MB. */
  quotas?: Record<string, Record<string, number>>;
  /** join_status answers finish=true on this poll (join is ASYNCHRONOUS). Default 2. */
  joinPollsUntilFinished?: number;
  /** Joins finish but never land ("accepted joins have been seen missing 30 s later"). */
  dropJoins?: boolean;
  /** Minimum password length of the password policy (3123), for create and for a new password on set. Default 8. */
  passwordMinLength?: number;
  /** delete answers success (with its usual errors list) but keeps the users: only a read-back shows it. */
  deleteSilentlyFails?: boolean;
}

interface FakeDsmRequest {
  httpMethod: string;
  path: string;
  api: string;
  method: string;
  version: string;
  /** Every param except secrets (passwd, password, otp_code, _sid, SynoToken, device_id). */
  params: Record<string, string>;
  /** Which session credentials came with the call (their values are never kept). */
  sent: { sid: boolean; tokenHeader: boolean; tokenParam: boolean; deviceId: boolean; otp: boolean; password: boolean };
}

export interface FakeDsm {
  url: string;
  users: Map<string, FakeDsmUser>;
  groups: Map<string, Set<string>>;
  quotas: Map<string, Map<string, number>>;
  /** Passwords DSM stored, so a test can check the one sent arrived (never in the log). */
  passwords: Map<string, string>;
  /** Password mails DSM "sent" (notify_by_email + send_password). */
  mails: Array<{ to: string; user: string }>;
  log: FakeDsmRequest[];
  /** Live options: tests may flip dropJoins, joinPollsUntilFinished, otpRequired... between calls. */
  options: Required<Omit<FakeDsmOptions, 'apis' | 'users' | 'groups' | 'volumes' | 'quotas' | 'trustedDevices'>>;
  trustedDevices: Set<string>;
  /** Requests matching api (and method) in the log. */
  calls(api: string, method?: string): FakeDsmRequest[];
  /** Every live session times out: its next call answers 106 (session expiry 106/119). */
  expireSessions(): void;
  /** Sessions not logged out (without `_sid` on logout sessions pile up). */
  activeSessions(): number;
  /**
   * The next `times` calls of api.method answer `code` (e.g. 3112 "being edited", 119), after letting `skip` calls
   * through first (to fail, say, the read-back after a change but not the read before it).
   */
  failNext(api: string, method: string, code: number, times?: number, skip?: number): void;
  close(): Promise<void>;
}

const SECRET_PARAMS = new Set(['passwd', 'password', 'otp_code', '_sid', 'SynoToken', 'device_id']);
/** SYNO.Core.User.UsernamePolicy reserved names (root, admin, administrator, user, ...). */
const RESERVED_NAMES = new Set([
  'root',
  'rootuser',
  'rootusr',
  'admin',
  'administrator',
  'adm',
  'adminuser',
  'adminusr',
  'user',
  'guest',
]);
/** Methods a v6 sid cannot call ("a sid from a v6 login can list/get but every mutation fails with 105"). */
const MUTATIONS = new Set(['create', 'set', 'delete', 'join']);
/** DSM's user name limit: 64 characters. */
const MAX_NAME_LENGTH = 64;

const DEFAULT_APIS: Record<string, ApiInfoEntry> = {
  'SYNO.API.Info': { path: 'query.cgi', minVersion: 1, maxVersion: 1 },
  // DSM 7 advertises Auth at entry.cgi (acme.sh's deploy log in github.com/acmesh-official/acme.sh/issues/2727).
  'SYNO.API.Auth': { path: 'entry.cgi', minVersion: 1, maxVersion: 7 },
  'SYNO.Core.User': { path: 'entry.cgi', minVersion: 1, maxVersion: 1 },
  'SYNO.Core.User.Group': { path: 'entry.cgi', minVersion: 1, maxVersion: 1 },
  'SYNO.Core.Group': { path: 'entry.cgi', minVersion: 1, maxVersion: 1 },
  'SYNO.Core.Quota': { path: 'entry.cgi', minVersion: 1, maxVersion: 1 },
};

/** The system groups and their gids, as N4S4's core_group.py list example shows them. */
const SYSTEM_GROUP_IDS: Record<string, number> = { administrators: 101, users: 100, http: 1023 };

interface Session {
  sessionName: string;
  synoToken: string | undefined;
  loginVersion: number;
  expired: boolean;
}

interface JoinTask {
  user: string;
  join: string[];
  leave: string[];
  polls: number;
  done: boolean;
}

/** A DSM error answer `{success: false, error: {code, errors?}}`, thrown inside handlers. */
class DsmFault extends Error {
  constructor(
    readonly code: number,
    readonly errors?: unknown,
  ) {
    super(`DSM error ${code}`);
  }
}

type Params = Record<string, string>;

export async function startFakeDsm(opts: FakeDsmOptions = {}): Promise<FakeDsm> {
  const options: FakeDsm['options'] = {
    account: opts.account ?? 'accountdesk',
    password: opts.password ?? 'bot-password-1',
    otpRequired: opts.otpRequired ?? false,
    otpCode: opts.otpCode ?? '123456',
    accountDisabled: opts.accountDisabled ?? false,
    lockAfterFailedLogins: opts.lockAfterFailedLogins ?? 5,
    notAdmin: opts.notAdmin ?? false,
    joinPollsUntilFinished: opts.joinPollsUntilFinished ?? 2,
    dropJoins: opts.dropJoins ?? false,
    passwordMinLength: opts.passwordMinLength ?? 8,
    deleteSilentlyFails: opts.deleteSilentlyFails ?? false,
  };
  const apis: Record<string, ApiInfoEntry> = { ...DEFAULT_APIS };
  for (const [name, entry] of Object.entries(opts.apis ?? {})) {
    if (entry === null) delete apis[name];
    else apis[name] = entry;
  }
  const volumes = new Map(Object.entries(opts.volumes ?? { '/volume1': 4_000_000 }));
  let nextUid = 1026;
  const users = new Map<string, FakeDsmUser>();
  const addUser = (u: Partial<FakeDsmUser> & { name: string }): FakeDsmUser => {
    const user: FakeDsmUser = {
      uid: nextUid++,
      email: '',
      description: '',
      expired: 'normal',
      cannotChangePassword: false,
      passwordNeverExpires: false,
      ...u,
    };
    users.set(u.name.toLowerCase(), user);
    return user;
  };
  addUser({ name: 'admin', uid: 1024, description: 'System default user', expired: 'now' });
  addUser({ name: 'guest', uid: 1025, description: 'Guest', expired: 'now' });
  addUser({ name: options.account, description: 'AccountDesk bot' });
  for (const u of opts.users ?? []) addUser(u);

  const groups = new Map<string, Set<string>>([
    ['administrators', new Set(options.notAdmin ? ['admin'] : ['admin', options.account])],
    ['users', new Set()],
    ['http', new Set()],
  ]);
  for (const [g, members] of Object.entries(opts.groups ?? {})) groups.set(g, new Set(members));
  const groupIds = new Map<string, number>();
  let nextGid = 65536;
  const gidOf = (group: string): number => {
    const known = SYSTEM_GROUP_IDS[group] ?? groupIds.get(group);
    if (known !== undefined) return known;
    groupIds.set(group, nextGid);
    return nextGid++;
  };
  // "Every user is in users".
  for (const u of users.values()) groups.get('users')!.add(u.name);

  const quotas = new Map<string, Map<string, number>>();
  for (const [user, perVolume] of Object.entries(opts.quotas ?? {}))
    quotas.set(user.toLowerCase(), new Map(Object.entries(perVolume)));

  const passwords = new Map<string, string>();
  const mails: FakeDsm['mails'] = [];
  const log: FakeDsmRequest[] = [];
  const sessions = new Map<string, Session>();
  const trustedDevices = new Set(opts.trustedDevices ?? []);
  const tasks = new Map<string, JoinTask>();
  const injected: Array<{ api: string; method: string; code: number; times: number; skip: number }> = [];
  let failedLogins = 0;
  let blocked = false;
  let taskCounter = 0;

  const findUser = (name: string | undefined): FakeDsmUser | undefined =>
    name ? users.get(name.toLowerCase()) : undefined;
  const requireUser = (name: string | undefined): FakeDsmUser => {
    if (!name) throw new DsmFault(114); // 114 missing parameters
    const user = findUser(name);
    if (!user) throw new DsmFault(3106); // 3106 no such user
    return user;
  };
  const findGroup = (name: string): [string, Set<string>] | undefined => {
    for (const [g, members] of groups) if (g.toLowerCase() === name.toLowerCase()) return [g, members];
    return undefined;
  };
  const isMember = (members: Set<string>, user: string): boolean =>
    [...members].some((m) => m.toLowerCase() === user.toLowerCase());
  const removeMember = (members: Set<string>, user: string): void => {
    for (const m of members) if (m.toLowerCase() === user.toLowerCase()) members.delete(m);
  };
  /** DSM's password policy, the same on create and on set (an empty password included). */
  const checkPassword = (password: string): void => {
    if (password.length > 127) throw new DsmFault(3101); // limit: password <= 127
    if (password.length < options.passwordMinLength) throw new DsmFault(3123); // 3123 not strong enough
  };
  /** A name a new or renamed user may take: create's checks (3101 too long, 3108 reserved, 3107 taken). */
  const checkNewName = (name: string, renaming?: FakeDsmUser): void => {
    if (name.length > MAX_NAME_LENGTH) throw new DsmFault(3101);
    if (RESERVED_NAMES.has(name.toLowerCase())) throw new DsmFault(3108);
    const holder = findUser(name);
    if (holder && holder !== renaming) throw new DsmFault(3107);
  };
  const userFields = (user: FakeDsmUser, additional: unknown[]): Record<string, unknown> => {
    const fields: Record<string, unknown> = {
      description: user.description,
      email: user.email,
      expired: user.expired,
      uid: user.uid,
      cannot_chg_passwd: user.cannotChangePassword,
      passwd_never_expire: user.passwordNeverExpires,
    };
    const out: Record<string, unknown> = { name: user.name };
    for (const field of additional) if (typeof field === 'string' && field in fields) out[field] = fields[field];
    return out;
  };

  // --- SYNO.API.Auth -------------------------------------------------------------------------------------------
  function auth(method: string, version: number, p: Params): unknown {
    if (method === 'logout') {
      // Logout with session and _sid; without _sid the session is not ended (they pile up).
      if (p._sid) sessions.delete(p._sid);
      return {};
    }
    if (method !== 'login') throw new DsmFault(103);
    if (blocked) throw new DsmFault(407); // 407 blocked IP after too many tries
    if (p.account !== options.account || p.passwd !== options.password) {
      failedLogins++;
      if (failedLogins >= options.lockAfterFailedLogins) blocked = true;
      throw new DsmFault(400); // 400 bad account/password
    }
    if (options.accountDisabled) throw new DsmFault(401);
    let issuedDevice = '';
    if (options.otpRequired) {
      // A trusted device_id skips the code; else otp_code is needed, and a wrong one is 404.
      const trusted = p.device_id !== undefined && trustedDevices.has(p.device_id);
      if (!trusted) {
        // No (or an empty) code: 403 with a one-time token and the factor types DSM will accept (go-synology
        // documents this answer; N4S4 sends otp_code='' when it has none).
        if (!p.otp_code) {
          throw new DsmFault(403, { token: randomBytes(12).toString('base64url'), types: [{ type: 'otp' }] });
        }
        if (p.otp_code !== options.otpCode) throw new DsmFault(404);
        if (p.enable_device_token === 'yes') {
          issuedDevice = `dev-${randomBytes(12).toString('hex')}`;
          trustedDevices.add(issuedDevice);
        }
      }
    }
    failedLogins = 0;
    const sid = randomBytes(16).toString('base64url');
    // enable_syno_token=yes -> a SynoToken that every later call must carry.
    const synoToken = p.enable_syno_token === 'yes' ? randomBytes(8).toString('base64url') : undefined;
    sessions.set(sid, { sessionName: p.session ?? '', synoToken, loginVersion: version, expired: false });
    // A DSM 7 login answer carries account, device_id ("" when none was issued), ik_message ("" when the client
    // sent none), is_portal_port, sid and synotoken (HA-64867).
    return {
      account: options.account,
      device_id: issuedDevice,
      ik_message: '',
      is_portal_port: false,
      sid,
      ...(synoToken ? { synotoken: synoToken } : {}),
    };
  }

  // --- SYNO.Core.User ------------------------------------------------------------------------------------------
  function coreUser(method: string, p: Params): unknown {
    switch (method) {
      case 'list': {
        // offset/limit (-1 = all)/additional -> {offset, total, users: [{name, ...additional}]} (N4S4 user_list
        // example). Sorted by name, as N4S4's default sort_by=name asks.
        const additional = p.additional === undefined ? [] : jsonArray(p.additional, 3103);
        const offset = Number(p.offset ?? 0);
        const limit = Number(p.limit ?? -1);
        if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(limit)) throw new DsmFault(120);
        const all = [...users.values()].sort((a, b) => a.name.localeCompare(b.name));
        if (p.sort_direction === 'DESC') all.reverse();
        const page = limit < 0 ? all.slice(offset) : all.slice(offset, offset + limit);
        return { offset, total: all.length, users: page.map((u) => userFields(u, additional)) };
      }
      case 'get': {
        const user = requireUser(p.name);
        const additional = p.additional === undefined ? [] : jsonArray(p.additional, 3103);
        // get answers a list, and always with uid (N4S4 user_get example).
        return { users: [{ ...userFields(user, additional), uid: user.uid }] };
      }
      case 'create': {
        if (!p.name || p.password === undefined) throw new DsmFault(114);
        const flags = parseFlags(p);
        if (p.expired !== undefined) checkExpired(p.expired);
        checkNewName(p.name);
        checkPassword(p.password);
        const user = addUser({
          name: p.name,
          email: p.email ?? '',
          description: p.description ?? '',
          expired: storedExpiry(p.expired ?? 'normal'),
          cannotChangePassword: flags.cannot_chg_passwd ?? false,
          passwordNeverExpires: flags.passwd_never_expire ?? false,
        });
        passwords.set(p.name.toLowerCase(), p.password);
        groups.get('users')!.add(p.name);
        if (flags.notify_by_email && flags.send_password && p.email) mails.push({ to: p.email, user: p.name });
        return { name: p.name, uid: user.uid };
      }
      case 'set':
        return setUser(p);
      case 'delete': {
        // name is a JSON array; a plain string -> 3101 (docs/synology-dsm.md#users, and another client's fake
        // "re-probed against a DS423+"). Not settled: N4S4's real-NAS test deletes with a plain string and expects
        // success. AccountDesk sends an array, which both accept.
        const names = jsonArray(p.name ?? '', 3101);
        // The answer carries `errors` even on success, as plain integers: a real successful delete of one user
        // answered errors [3102] (github.com/happn-app/officectl, Sources/OfficeKitServices/Synology/ApiModel/
        // Private/UsersDeletionResponseBody.swift). Only a read-back tells. What a failed entry holds was not seen:
        // 3106 / 3115 here are this fake's choice.
        const errors = names.map((n) => {
          const name = String(n);
          const user = findUser(name);
          if (!user) return 3106;
          if (user.name === 'admin' || user.name === 'guest') return 3115;
          if (options.deleteSilentlyFails) return 3102;
          users.delete(name.toLowerCase());
          for (const members of groups.values()) removeMember(members, name);
          quotas.delete(name.toLowerCase());
          passwords.delete(name.toLowerCase());
          return 3102;
        });
        return { errors };
      }
      default:
        throw new DsmFault(103);
    }
  }

  function setUser(p: Params): unknown {
    const user = requireUser(p.name);
    // Only the sent fields change; a `disabled` param is silently ignored. Every check runs before any change.
    const flags = parseFlags(p);
    if (p.expired !== undefined) {
      checkExpired(p.expired);
      const admins = groups.get('administrators')!;
      const activeAdmins = [...admins].filter((a) => findUser(a)?.expired !== 'now');
      if (p.expired === 'now' && isMember(admins, user.name) && activeAdmins.length <= 1) throw new DsmFault(3109);
    }
    // A new password on set meets the password policy create applies (3123 otherwise). An EMPTY one is accepted
    // and stored: N4S4's real-NAS test renames with its default password="" and expects success, and re-sending
    // an empty password is known to clobber the old one. (Whether DSM stores "" or keeps the old password was
    // not observed; storing it is the harsher guess for a client that re-sends defaults.)
    if (p.password !== undefined && p.password !== '') checkPassword(p.password);
    const newName = p.new_name !== undefined && p.new_name !== user.name ? p.new_name : undefined;
    if (newName !== undefined) {
      if (user.name === 'admin' || user.name === 'guest') throw new DsmFault(3115);
      checkNewName(newName, user);
    }

    if (p.expired !== undefined) user.expired = storedExpiry(p.expired);
    if (p.email !== undefined) user.email = p.email;
    if (p.description !== undefined) user.description = p.description;
    if (flags.cannot_chg_passwd !== undefined) user.cannotChangePassword = flags.cannot_chg_passwd;
    if (flags.passwd_never_expire !== undefined) user.passwordNeverExpires = flags.passwd_never_expire;
    if (p.password !== undefined) passwords.set(user.name.toLowerCase(), p.password);
    // new_name renames: N4S4's real-NAS test renames with set new_name, then deletes the user by the NEW name.
    if (newName !== undefined) renameUser(user, newName);
    return { name: user.name, uid: user.uid };
  }

  function renameUser(user: FakeDsmUser, newName: string): void {
    const oldKey = user.name.toLowerCase();
    const newKey = newName.toLowerCase();
    users.delete(oldKey);
    for (const members of groups.values()) {
      if (isMember(members, user.name)) {
        removeMember(members, user.name);
        members.add(newName);
      }
    }
    for (const map of [quotas, passwords] as Array<Map<string, unknown>>) {
      if (map.has(oldKey)) {
        map.set(newKey, map.get(oldKey));
        map.delete(oldKey);
      }
    }
    user.name = newName;
    users.set(newKey, user);
  }

  // --- SYNO.Core.Group -----------------------------------------------------------------------------------------
  function coreGroup(method: string, p: Params): unknown {
    // Only `list` is modelled (what AccountDesk reads); DSM has more methods (create, delete, set, ...).
    if (method !== 'list') throw new DsmFault(103);
    // offset/limit (-1 = all) -> {groups: [{name, gid, description}], offset, total} (N4S4 core_group.py list
    // example). name_only is accepted and ignored: the fake always answers the full entries.
    if (p.name_only !== undefined) jsonBoolean(p.name_only);
    const offset = Number(p.offset ?? 0);
    const limit = Number(p.limit ?? -1);
    if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(limit)) throw new DsmFault(120);
    const all = [...groups.keys()].map((name) => ({ name, gid: gidOf(name), description: '' }));
    const page = limit < 0 ? all.slice(offset) : all.slice(offset, offset + limit);
    return { groups: page, offset, total: all.length };
  }

  // --- SYNO.Core.Quota -----------------------------------------------------------------------------------------
  function coreQuota(method: string, p: Params): unknown {
    const user = requireUser(p.name);
    const mine = quotas.get(user.name.toLowerCase()) ?? new Map<string, number>();
    if (method === 'get') {
      if (p.support_share_quota !== undefined) jsonBoolean(p.support_share_quota);
      // data.user_quota[] per volume {volume, quota (MB, 0 = unlimited), shares}.
      return {
        user_quota: [...volumes.keys()].map((volume) => ({ volume, quota: mine.get(volume) ?? 0, shares: [] })),
      };
    }
    if (method === 'set') {
      const entries = jsonArray(p.user_quota ?? '', 3103);
      for (const entry of entries) {
        if (typeof entry !== 'object' || entry === null) throw new DsmFault(3103);
        const { volume, quota } = entry as { volume?: unknown; quota?: unknown };
        if (typeof volume !== 'string' || typeof quota !== 'number' || !Number.isInteger(quota) || quota < 0)
          throw new DsmFault(3103);
        const size = volumes.get(volume);
        if (size === undefined || quota > size) throw new DsmFault(3117); // 3117 exceeds volume
        mine.set(volume, quota);
      }
      quotas.set(user.name.toLowerCase(), mine);
      return {};
    }
    throw new DsmFault(103);
  }

  // --- SYNO.Core.User.Group ------------------------------------------------------------------------------------
  function userGroup(method: string, p: Params): unknown {
    switch (method) {
      case 'get': {
        const user = requireUser(p.name);
        const mine = [...groups].filter(([, members]) => isMember(members, user.name));
        return { groups: mine.map(([name]) => ({ name, gid: gidOf(name), description: '' })) };
      }
      case 'join': {
        const user = requireUser(p.name);
        const join = p.join_group === undefined ? [] : jsonArray(p.join_group, 120).map(String);
        const leave = p.leave_group === undefined ? [] : jsonArray(p.leave_group, 120).map(String);
        // Join is ASYNCHRONOUS -> {task_id}; poll join_status until finish. A group that does not exist is NOT
        // refused: N4S4's real-NAS test joins and leaves "admnistrators" (sic) and expects success from both calls
        // and their join_status; the task finishes and nothing changes for that group.
        const taskId = `@administrators/groupbatch${Date.now()}${++taskCounter}`;
        tasks.set(taskId, { user: user.name, join, leave, polls: 0, done: false });
        return { task_id: taskId };
      }
      case 'join_status': {
        const task = p.task_id ? tasks.get(p.task_id) : undefined;
        if (!task) throw new DsmFault(120);
        task.polls++;
        const finish = task.polls >= options.joinPollsUntilFinished;
        if (finish && !task.done) {
          task.done = true;
          if (!options.dropJoins) {
            for (const g of task.join) findGroup(g)?.[1].add(task.user);
            for (const g of task.leave) {
              const found = findGroup(g);
              if (found) removeMember(found[1], task.user);
            }
          }
        }
        return { finish, success: true, data: { name: task.user, progress: finish ? 1 : 0, total: 1 } };
      }
      default:
        throw new DsmFault(103);
    }
  }

  /**
   * Which file may serve `api`. Real DSM 7 answers at the path SYNO.API.Info advertises, at
   * /webapi/<path>/<API name> (N4S4's auth.py posts to entry.cgi/SYNO.API.Auth.UIConfig, and uploads to
   * <path>/<API name>), and still serves SYNO.API.Auth at /webapi/auth.cgi although Info advertises entry.cgi
   * (N4S4 logs in and out at auth.cgi without asking Info first).
   */
  function servesApi(file: string, api: string, info: ApiInfoEntry): boolean {
    if (file === info.path || file === `${info.path}/${api}`) return true;
    return api === 'SYNO.API.Auth' && file === 'auth.cgi';
  }

  function handle(req: IncomingMessage, url: URL, body: string): unknown {
    const p: Params = Object.fromEntries(url.searchParams);
    const contentType = req.headers['content-type'] ?? '';
    if (body && contentType.startsWith('application/x-www-form-urlencoded'))
      Object.assign(p, Object.fromEntries(new URLSearchParams(body)));
    const file = url.pathname.replace(/^\/webapi\//, '');
    const api = p.api ?? '';
    const method = p.method ?? '';
    const version = Number(p.version);
    const tokenHeader = req.headers['x-syno-token'];
    log.push({
      httpMethod: req.method ?? '',
      path: url.pathname,
      api,
      method,
      version: p.version ?? '',
      params: Object.fromEntries(Object.entries(p).filter(([k]) => !SECRET_PARAMS.has(k))),
      sent: {
        sid: p._sid !== undefined,
        tokenHeader: tokenHeader !== undefined,
        tokenParam: p.SynoToken !== undefined,
        deviceId: p.device_id !== undefined,
        otp: p.otp_code !== undefined && p.otp_code !== '',
        password: p.password !== undefined,
      },
    });
    if (!api || !method || !p.version) throw new DsmFault(101);
    const info = apis[api];
    if (!info || !servesApi(file, api, info)) throw new DsmFault(102);
    if (!(version >= info.minVersion && version <= info.maxVersion)) throw new DsmFault(104);

    if (api === 'SYNO.API.Info') {
      const wanted = !p.query || p.query === 'all' ? Object.keys(apis) : p.query.split(',');
      return Object.fromEntries(wanted.filter((a) => apis[a]).map((a) => [a, apis[a]]));
    }

    const fault = injected.find((f) => f.api === api && f.method === method && f.times > 0);
    if (fault && fault.skip > 0) fault.skip--;
    else if (fault) {
      fault.times--;
      throw new DsmFault(fault.code);
    }
    if (api === 'SYNO.API.Auth') return auth(method, version, p);

    // The session travels as `_sid` (or cookie id=<sid>).
    const sid = p._sid ?? /(?:^|;\s*)id=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    const session = sid ? sessions.get(sid) : undefined;
    if (!session) throw new DsmFault(119);
    if (session.expired) throw new DsmFault(106);
    if (session.synoToken !== undefined) {
      // SynoToken as header X-SYNO-TOKEN and param SynoToken, enforced on DSM >= 7.1.1. Missing or wrong -> 119.
      const header = Array.isArray(tokenHeader) ? tokenHeader[0] : tokenHeader;
      const sent = [header, p.SynoToken].filter((t): t is string => t !== undefined);
      if (sent.length === 0 || sent.some((t) => t !== session.synoToken)) throw new DsmFault(119);
    }
    if (MUTATIONS.has(method) && (session.loginVersion < 7 || options.notAdmin)) throw new DsmFault(105);

    if (api === 'SYNO.Core.User') return coreUser(method, p);
    if (api === 'SYNO.Core.Group') return coreGroup(method, p);
    if (api === 'SYNO.Core.Quota') return coreQuota(method, p);
    if (api === 'SYNO.Core.User.Group') return userGroup(method, p);
    throw new DsmFault(103);
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      let payload: unknown;
      try {
        payload = { success: true, data: handle(req, url, Buffer.concat(chunks).toString('utf8')) };
      } catch (err) {
        if (!(err instanceof DsmFault)) {
          res.writeHead(500).end(err instanceof Error ? err.message : 'fake DSM failure');
          return;
        }
        payload = {
          success: false,
          error: { code: err.code, ...(err.errors === undefined ? {} : { errors: err.errors }) },
        };
      }
      // DSM answers HTTP 200 with {success:false,error:{code}} for API errors.
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    users,
    groups,
    quotas,
    passwords,
    mails,
    log,
    options,
    trustedDevices,
    calls: (api, method) => log.filter((r) => r.api === api && (method === undefined || r.method === method)),
    expireSessions: () => {
      for (const s of sessions.values()) s.expired = true;
    },
    activeSessions: () => sessions.size,
    failNext: (api, method, code, times = 1, skip = 0) => {
      injected.push({ api, method, code, times, skip });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

function checkExpired(value: string): void {
  // "normal", "now" or "YYYY/M/D" without leading zeros; ISO dates -> 3103. "never" is accepted too: N4S4's
  // real-NAS test creates (and renames) users with its default expire="never" and expects success.
  if (value === 'normal' || value === 'now' || value === 'never') return;
  if (/^\d{4}\/[1-9]\d?\/[1-9]\d?$/.test(value)) return;
  throw new DsmFault(3103);
}

/**
 * What DSM keeps for an accepted `expired` value. "never" reads back as "normal": N4S4's user_list example lists
 * its test_user, created through the library whose default is expire="never", with expired "normal".
 */
function storedExpiry(value: string): string {
  return value === 'never' ? 'normal' : value;
}

const FLAG_PARAMS = ['notify_by_email', 'send_password', 'cannot_chg_passwd', 'passwd_never_expire'] as const;

/** The boolean flags of create/set that were sent, each a JSON literal (3103 otherwise). */
function parseFlags(p: Params): Partial<Record<(typeof FLAG_PARAMS)[number], boolean>> {
  const flags: Partial<Record<(typeof FLAG_PARAMS)[number], boolean>> = {};
  for (const flag of FLAG_PARAMS) if (p[flag] !== undefined) flags[flag] = jsonBoolean(p[flag]);
  return flags;
}

/** Every boolean/array/object param is a JSON literal; a Python-style "False" -> 3103. */
function jsonBoolean(value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new DsmFault(3103);
}

function jsonArray(value: string, code: number): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new DsmFault(code);
  }
  if (!Array.isArray(parsed)) throw new DsmFault(code);
  return parsed;
}
