/**
 * A fake Synology DSM 7 Web API on 127.0.0.1 (port 0), following reference/synology.md. Each behaviour below
 * names the reference fact it models. Tests seed and inspect state directly (users, groups, quotas), inject
 * faults (failNext, expireSessions, dropJoins), and read a request log that never holds a secret.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface FakeDsmUser {
  name: string;
  uid: number;
  email: string;
  description: string;
  /** "normal" | "now" | "YYYY/M/D" (reference: SYNO.Core.User expired). */
  expired: string;
}

export interface ApiInfoEntry {
  path: string;
  minVersion: number;
  maxVersion: number;
}

export interface FakeDsmOptions {
  /** The admin AccountDesk logs in as. */
  account?: string;
  password?: string;
  /** 2FA on the admin account (reference: 403 = OTP required). */
  otpRequired?: boolean;
  otpCode?: string;
  /** Device ids DSM already trusts (reference: device_id + device_name skip the OTP). */
  trustedDevices?: string[];
  /** The admin account is disabled (reference: auth 401). */
  accountDisabled?: boolean;
  /** Bad logins before DSM blocks the IP (reference: 407 blocked IP). Default 5. */
  lockAfterFailedLogins?: number;
  /** The admin account is not in administrators: every mutation answers 105. */
  notAdmin?: boolean;
  /** Overrides SYNO.API.Info entries; null removes an API (reference: discovery). */
  apis?: Record<string, ApiInfoEntry | null>;
  users?: Array<Partial<FakeDsmUser> & { name: string }>;
  /** group -> members. `users` and `administrators` always exist. */
  groups?: Record<string, string[]>;
  /** volume -> size in MB (reference: quota in MB per volume). Default { '/volume1': 4_000_000 }. */
  volumes?: Record<string, number>;
  /** user -> volume -> MB. */
  quotas?: Record<string, Record<string, number>>;
  /** join_status answers finish=true on this poll (reference: join is ASYNCHRONOUS). Default 2. */
  joinPollsUntilFinished?: number;
  /** Joins finish but never land (reference: "accepted joins have been seen missing 30 s later"). */
  dropJoins?: boolean;
  /** Minimum password length for the password policy (3123). Default 8. */
  passwordMinLength?: number;
  /** delete answers success (with its usual errors list) but keeps the users: only a read-back shows it. */
  deleteSilentlyFails?: boolean;
}

export interface FakeDsmRequest {
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
  /** Password mails DSM "sent" (reference: notify_by_email + send_password). */
  mails: Array<{ to: string; user: string }>;
  log: FakeDsmRequest[];
  /** Live options: tests may flip dropJoins, joinPollsUntilFinished, otpRequired... between calls. */
  options: Required<Omit<FakeDsmOptions, 'apis' | 'users' | 'groups' | 'volumes' | 'quotas' | 'trustedDevices'>>;
  trustedDevices: Set<string>;
  /** Requests matching api (and method) in the log. */
  calls(api: string, method?: string): FakeDsmRequest[];
  /** Every live session times out: its next call answers 106 (reference: session expiry 106/119). */
  expireSessions(): void;
  /** Sessions not logged out (reference: without `_sid` on logout sessions pile up). */
  activeSessions(): number;
  /**
   * The next `times` calls of api.method answer `code` (e.g. 3112 "being edited", 119), after letting `skip` calls
   * through first (to fail, say, the read-back after a change but not the read before it).
   */
  failNext(api: string, method: string, code: number, times?: number, skip?: number): void;
  close(): Promise<void>;
}

const SECRET_PARAMS = new Set(['passwd', 'password', 'otp_code', '_sid', 'SynoToken', 'device_id']);
/** Reference: SYNO.Core.User.UsernamePolicy reserved names (root, admin, administrator, user, ...). */
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
/** Methods a v6 sid cannot call (reference: "a sid from a v6 login can list/get but every mutation fails with 105"). */
const MUTATIONS = new Set(['create', 'set', 'delete', 'join']);

const DEFAULT_APIS: Record<string, ApiInfoEntry> = {
  'SYNO.API.Info': { path: 'query.cgi', minVersion: 1, maxVersion: 1 },
  'SYNO.API.Auth': { path: 'entry.cgi', minVersion: 1, maxVersion: 7 },
  'SYNO.Core.User': { path: 'entry.cgi', minVersion: 1, maxVersion: 1 },
  'SYNO.Core.User.Group': { path: 'entry.cgi', minVersion: 1, maxVersion: 1 },
  'SYNO.Core.Group': { path: 'entry.cgi', minVersion: 1, maxVersion: 1 },
  'SYNO.Core.Quota': { path: 'entry.cgi', minVersion: 1, maxVersion: 1 },
};

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

/** A DSM error answer, thrown inside handlers. */
class DsmFault {
  constructor(readonly code: number) {}
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
  const addUser = (u: Partial<FakeDsmUser> & { name: string }): void => {
    users.set(u.name.toLowerCase(), { uid: nextUid++, email: '', description: '', expired: 'normal', ...u });
  };
  addUser({ name: 'admin', uid: 1024, description: 'System default user', expired: 'now' });
  addUser({ name: 'guest', uid: 1025, description: 'Guest', expired: 'now' });
  addUser({ name: options.account, description: 'AccountDesk bot' });
  for (const u of opts.users ?? []) addUser(u);

  const groups = new Map<string, Set<string>>([
    ['administrators', new Set(options.notAdmin ? ['admin'] : ['admin', options.account])],
    ['users', new Set()],
  ]);
  for (const [g, members] of Object.entries(opts.groups ?? {})) groups.set(g, new Set(members));
  // Reference: "every user is in users".
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
    if (!name) throw new DsmFault(114); // reference: 114 missing parameters
    const user = findUser(name);
    if (!user) throw new DsmFault(3106); // reference: 3106 no such user
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

  // --- SYNO.API.Auth -------------------------------------------------------------------------------------------
  function auth(method: string, version: number, p: Params): unknown {
    if (method === 'logout') {
      // Reference: logout with session and _sid; without _sid the session is not ended (they pile up).
      if (p._sid) sessions.delete(p._sid);
      return {};
    }
    if (method !== 'login') throw new DsmFault(103);
    if (blocked) throw new DsmFault(407); // reference: 407 blocked IP after too many tries
    if (p.account !== options.account || p.passwd !== options.password) {
      failedLogins++;
      if (failedLogins >= options.lockAfterFailedLogins) blocked = true;
      throw new DsmFault(400); // reference: 400 bad account/password
    }
    if (options.accountDisabled) throw new DsmFault(401);
    let issuedDevice: string | undefined;
    if (options.otpRequired) {
      // Reference 2FA: a trusted device_id skips the code; else otp_code is needed (403), a wrong one is 404.
      const trusted = p.device_id !== undefined && trustedDevices.has(p.device_id);
      if (!trusted) {
        if (p.otp_code === undefined) throw new DsmFault(403);
        if (p.otp_code !== options.otpCode) throw new DsmFault(404);
        if (p.enable_device_token === 'yes') {
          issuedDevice = `dev-${randomBytes(12).toString('hex')}`;
          trustedDevices.add(issuedDevice);
        }
      }
    }
    failedLogins = 0;
    const sid = randomBytes(16).toString('base64url');
    // Reference: enable_syno_token=yes -> a SynoToken that every later call must carry.
    const synoToken = p.enable_syno_token === 'yes' ? randomBytes(8).toString('base64url') : undefined;
    sessions.set(sid, { sessionName: p.session ?? '', synoToken, loginVersion: version, expired: false });
    return {
      sid,
      ...(synoToken ? { synotoken: synoToken } : {}),
      ...(issuedDevice ? { device_id: issuedDevice } : {}),
      is_portal_port: false,
    };
  }

  // --- SYNO.Core.User ------------------------------------------------------------------------------------------
  function coreUser(method: string, p: Params): unknown {
    switch (method) {
      case 'get': {
        const user = requireUser(p.name);
        const additional = p.additional === undefined ? [] : jsonArray(p.additional, 3103);
        const out: Record<string, unknown> = { name: user.name, uid: user.uid };
        for (const field of additional) {
          if (field === 'email' || field === 'expired' || field === 'description') out[field] = user[field];
        }
        return { users: [out] }; // reference: get answers a list
      }
      case 'create': {
        if (!p.name || p.password === undefined) throw new DsmFault(114);
        if (p.name.length > 64 || p.password.length > 127) throw new DsmFault(3101); // reference limits
        if (RESERVED_NAMES.has(p.name.toLowerCase())) throw new DsmFault(3108);
        if (findUser(p.name)) throw new DsmFault(3107);
        const flags = ['notify_by_email', 'send_password', 'cannot_chg_passwd', 'passwd_never_expire'];
        const parsed = Object.fromEntries(flags.filter((f) => p[f] !== undefined).map((f) => [f, jsonBoolean(p[f]!)]));
        if (p.expired !== undefined) checkExpired(p.expired);
        if (p.password.length < options.passwordMinLength) throw new DsmFault(3123); // reference: 3123 not strong enough
        addUser({
          name: p.name,
          email: p.email ?? '',
          description: p.description ?? '',
          expired: p.expired ?? 'normal',
        });
        passwords.set(p.name.toLowerCase(), p.password);
        groups.get('users')!.add(p.name);
        if (parsed.notify_by_email && parsed.send_password && p.email) mails.push({ to: p.email, user: p.name });
        return { name: p.name, uid: findUser(p.name)!.uid };
      }
      case 'set': {
        const user = requireUser(p.name);
        // Reference: only the sent fields change; a `disabled` param is silently ignored.
        if (p.expired !== undefined) {
          checkExpired(p.expired);
          const admins = groups.get('administrators')!;
          const activeAdmins = [...admins].filter((a) => findUser(a)?.expired !== 'now');
          if (p.expired === 'now' && isMember(admins, user.name) && activeAdmins.length <= 1) throw new DsmFault(3109);
          user.expired = p.expired;
        }
        if (p.email !== undefined) user.email = p.email;
        if (p.description !== undefined) user.description = p.description;
        // Reference: re-sending an empty password clobbers it.
        if (p.password !== undefined) passwords.set(user.name.toLowerCase(), p.password);
        return { name: user.name, uid: user.uid };
      }
      case 'delete': {
        // Reference: name is a JSON array; a plain string -> 3101.
        const names = jsonArray(p.name ?? '', 3101);
        // Reference: the answer carries {errors:[...]} even on success, one entry per name; only a read-back tells.
        const errors = names.map((n) => {
          const name = String(n);
          const user = findUser(name);
          if (!user) return { name, code: 3106 };
          if (user.name === 'admin' || user.name === 'guest') return { name, code: 3115 };
          if (options.deleteSilentlyFails) return { name, code: 0 };
          users.delete(name.toLowerCase());
          for (const members of groups.values()) removeMember(members, name);
          quotas.delete(name.toLowerCase());
          passwords.delete(name.toLowerCase());
          return { name, code: 0 };
        });
        return { errors };
      }
      default:
        throw new DsmFault(103);
    }
  }

  // --- SYNO.Core.Quota -----------------------------------------------------------------------------------------
  function coreQuota(method: string, p: Params): unknown {
    const user = requireUser(p.name);
    const mine = quotas.get(user.name.toLowerCase()) ?? new Map<string, number>();
    if (method === 'get') {
      if (p.support_share_quota !== undefined) jsonBoolean(p.support_share_quota);
      // Reference: data.user_quota[] per volume {volume, quota (MB, 0 = unlimited), shares}.
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
        if (size === undefined || quota > size) throw new DsmFault(3117); // reference: 3117 exceeds volume
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
        return { groups: mine.map(([name], i) => ({ name, gid: 65536 + i, description: '' })) };
      }
      case 'join': {
        const user = requireUser(p.name);
        const join = p.join_group === undefined ? [] : jsonArray(p.join_group, 120).map(String);
        const leave = p.leave_group === undefined ? [] : jsonArray(p.leave_group, 120).map(String);
        for (const g of [...join, ...leave]) if (!findGroup(g)) throw new DsmFault(3205); // reference: 3205 no such group
        // Reference: join is ASYNCHRONOUS -> {task_id}; poll join_status until finish.
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
            for (const g of task.join) findGroup(g)![1].add(task.user);
            for (const g of task.leave) removeMember(findGroup(g)![1], task.user);
          }
        }
        return { finish, success: true, data: { name: task.user, progress: finish ? 1 : 0, total: 1 } };
      }
      default:
        throw new DsmFault(103);
    }
  }

  function checkExpired(value: string): void {
    // Reference: "normal", "now" or "YYYY/M/D" without leading zeros; ISO dates -> 3103.
    if (value === 'normal' || value === 'now') return;
    if (/^\d{4}\/[1-9]\d?\/[1-9]\d?$/.test(value)) return;
    throw new DsmFault(3103);
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
        otp: p.otp_code !== undefined,
        password: p.password !== undefined,
      },
    });
    if (!api || !method || !p.version) throw new DsmFault(101);
    const info = apis[api];
    // Reference: call each API at /webapi/<path from SYNO.API.Info>.
    if (!info || info.path !== file) throw new DsmFault(102);
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

    // Reference: the session travels as `_sid` (or cookie id=<sid>).
    const sid = p._sid ?? /(?:^|;\s*)id=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    const session = sid ? sessions.get(sid) : undefined;
    if (!session) throw new DsmFault(119);
    if (session.expired) throw new DsmFault(106);
    if (session.synoToken !== undefined) {
      // Reference: SynoToken as header X-SYNO-TOKEN and param SynoToken, enforced on DSM >= 7.1.1. Missing or
      // wrong -> 119.
      const header = Array.isArray(tokenHeader) ? tokenHeader[0] : tokenHeader;
      const sent = [header, p.SynoToken].filter((t): t is string => t !== undefined);
      if (sent.length === 0 || sent.some((t) => t !== session.synoToken)) throw new DsmFault(119);
    }
    if (MUTATIONS.has(method) && (session.loginVersion < 7 || options.notAdmin)) throw new DsmFault(105);

    if (api === 'SYNO.Core.User') return coreUser(method, p);
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
          res.writeHead(500).end(String(err));
          return;
        }
        payload = { success: false, error: { code: err.code } };
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

/** Reference: every boolean/array/object param is a JSON literal; Python-style "False" -> 3103. */
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
