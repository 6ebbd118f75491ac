/**
 * A fake Nextcloud OCS provisioning API on 127.0.0.1, following docs/nextcloud-ocs.md. Each behaviour
 * names the section of that page it follows. State is plain data tests can seed and inspect; faults are
 * injected per route with failNext().
 *
 * Other fakes mount routes on the same server with addRoute() (user_oidc's /ocs/v2.php/apps/user_oidc/...), using
 * checkAuth() and writeOcs() so they answer exactly like this one.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

type OcsVersion = 'v1' | 'v2';
type OcsFormat = 'json' | 'xml';

interface FakeNextcloudUser {
  id: string;
  enabled: boolean;
  email: string | null;
  displayname: string;
  /** As the server stores it: 'default', 'none' or a human size ("2.9 MB"). docs/nextcloud-ocs.md#quota-values */
  quota: string;
  /** Bytes in the user's files; undefined = the home folder was never set up (the server then reports 0). */
  usedBytes?: number;
  groups: string[];
  language: string;
  /** The user backend that owns the account: 'Database' for OCS-created users, 'user_oidc' for OpenID ones. */
  backend: string;
  /** Unix seconds of the last login; 0 = never (firstLoginTimestamp, lastLoginTimestamp and lastLogin report it). */
  lastLogin: number;
  /** The profile password the user was created with, if any (never returned by the API). */
  password?: string;
}

/**
 * What the skeleton files (core/skeleton) take in a new home folder: observed as quota.used of a user created
 * through user_oidc on Nextcloud 32.0.1 (20,174,294 bytes; that install lacked three of the skeleton's files, a
 * complete one copies about 21 MB). A home is set up, and the skeleton copied, at first login or when an app such
 * as user_oidc or nmcuser_oidc creates the user; an OCS-created user reports used 0 until then.
 */
export const SKELETON_BYTES = 20_174_294;

type FakeRoute =
  | 'listUsers'
  | 'getUser'
  | 'createUser'
  | 'editUser'
  | 'disableUser'
  | 'enableUser'
  | 'deleteUser'
  | 'getUserGroups'
  | 'addToGroup'
  | 'removeFromGroup'
  | 'welcome'
  | 'listGroups'
  | 'createGroup'
  | 'deleteGroup'
  | 'currentUser';

type FakeFault =
  /**
   * createUser: creates the user in its groups only, then answers 101 "Bad request"
   * (docs/nextcloud-ocs.md#observed-answers: the
   * circles app locks the database).
   */
  | 'ambiguous-create'
  /**
   * createUser: answers 101 "Bad request" at once; the full user appears just before the next request
   * (docs/nextcloud-ocs.md#creating-a-user:
   * a retry then gets 102).
   */
  | 'commit-late'
  /** 101 "Bad request" with no effect (docs/nextcloud-ocs.md#creating-a-user). */
  | 'bad-request'
  /** Does the work, then never answers (a lost answer). */
  | 'timeout-after-work'
  /** Does the work, then drops the connection without an answer (a lost answer, without waiting for a timeout). */
  | 'reset-after-work'
  /** Never answers and does nothing. */
  | 'hang'
  /** Destroys the connection without an answer, doing nothing. */
  | 'reset'
  /** 503 with the HTML maintenance page. */
  | 'maintenance'
  /** 500 with an HTML error page. */
  | 'server-error'
  /** 429 with an empty body and no Retry-After (docs/nextcloud-ocs.md#rate-limit-on-user-edits). */
  | 'rate-limit'
  /** HTTP 200 with an HTML page instead of JSON (a captive portal, a wrong URL). */
  | 'not-json'
  /** welcome: 102 "Sending email failed" (docs/nextcloud-ocs.md#endpoints-used). */
  | 'mail-fails';

interface FakeRequestLogEntry {
  method: string;
  /** Path as received, without the query string. */
  path: string;
  route: FakeRoute | 'other';
  /** HTTP status answered; 0 = no answer (hang, reset). */
  status: number;
  authenticated: boolean;
}

type RouteHandler = (req: IncomingMessage, res: ServerResponse, body: unknown) => boolean | Promise<boolean>;

export interface FakeNextcloudOptions {
  adminUser?: string;
  adminPassword?: string;
  /** Accounts that can log in but are neither admin nor sub-admin (user → password). */
  nonAdmins?: Record<string, string>;
  /**
   * Which of /ocs/v1.php and /ocs/v2.php exist (docs/nextcloud-ocs.md#transport: every OCS route exists twice). Default
   * both.
   */
  apiVersions?: OcsVersion[];
  /** editUser throttle per account: 50 calls per 600 s (docs/nextcloud-ocs.md#rate-limit-on-user-edits). */
  editLimit?: { calls: number; windowMs: number };
  /**
   * Failed logins before every request gets 429 "Reached maximum delay": about 11
   * (docs/nextcloud-ocs.md#login-throttling).
   */
  bruteForceAfter?: number;
  /**
   * `none` (unlimited) is refused when the instance does not allow unlimited quotas
   * (docs/nextcloud-ocs.md#quota-values).
   */
  allowUnlimitedQuota?: boolean;
  /** A quota above this is refused (docs/nextcloud-ocs.md#editing-a-user). Undefined = no maximum. */
  maxQuotaBytes?: number;
  /** The clock for rate-limit windows; tests advance it instead of waiting. */
  now?: () => number;
}

export interface FakeNextcloud {
  url: string;
  readonly adminUser: string;
  readonly adminPassword: string;
  users: Map<string, FakeNextcloudUser>;
  groups: Set<string>;
  requests: FakeRequestLogEntry[];
  /** Invitation mails the server sent (docs/nextcloud-ocs.md#creating-a-user). */
  mails: { to: string; userId: string }[];
  failNext(route: FakeRoute, fault: FakeFault, options?: { times?: number; afterReply?: () => void }): void;
  addRoute(handler: RouteHandler): void;
  /** Adds a user as the server would store it; returns the stored record. */
  seedUser(user: Partial<FakeNextcloudUser> & { id: string }): FakeNextcloudUser;
  /**
   * The gate every OCS request passes: brute-force lockout, Basic auth, CSRF header. Writes the refusal and returns
   * false when the request must not go on.
   */
  checkAuth(req: IncomingMessage, res: ServerResponse): boolean;
  /**
   * checkAuth, then Nextcloud's AdminRequired middleware: a logged-in non-admin gets 403 "Logged in account must be
   * an admin" (observed on Nextcloud 32.0.1 for user_oidc's routes).
   */
  checkAdmin(req: IncomingMessage, res: ServerResponse): boolean;
  /** Forgets failed logins and the edit throttle (what `occ security:bruteforce:reset` and a new window do). */
  resetThrottles(): void;
  close(): Promise<void>;
}

const ALLOWED_EDIT_KEYS = new Set([
  'display',
  'displayname',
  'email',
  'additional_mail',
  'password',
  'language',
  'locale',
  'phone',
  'address',
  'website',
  'twitter',
  'fediverse',
  'organisation',
  'role',
  'headline',
  'biography',
  'profile_enabled',
  'quota',
  'notify_email',
  'manager',
]);
const HOTEL_WIFI_LINE = '<p>Please log in to the hotel Wi-Fi to continue.</p>';
const LANGUAGES = new Set(['en', 'en_GB', 'fr', 'de', 'de_DE', 'es', 'it', 'nl']);

export async function startFakeNextcloud(options: FakeNextcloudOptions = {}): Promise<FakeNextcloud> {
  const adminUser = options.adminUser ?? 'admin';
  const adminPassword = options.adminPassword ?? 'fake-admin-app-password';
  const versions = new Set(options.apiVersions ?? ['v1', 'v2']);
  const editLimit = options.editLimit ?? { calls: 50, windowMs: 600_000 };
  const bruteForceAfter = options.bruteForceAfter ?? 11;
  const now = options.now ?? Date.now;

  const users = new Map<string, FakeNextcloudUser>();
  const groups = new Set<string>(['admin']);
  const requests: FakeRequestLogEntry[] = [];
  const mails: { to: string; userId: string }[] = [];
  const handlers: RouteHandler[] = [];
  const faults: { route: FakeRoute; fault: FakeFault; times: number; afterReply?: () => void }[] = [];
  const pendingCommits: (() => void)[] = [];
  const editTimes = new Map<string, number[]>();
  let failedLogins = 0;
  const sockets = new Set<Socket>();

  const seedUser = (user: Partial<FakeNextcloudUser> & { id: string }): FakeNextcloudUser => {
    const stored: FakeNextcloudUser = {
      enabled: true,
      email: null,
      displayname: user.id, // displayname = uid for a fresh user (docs/nextcloud-ocs.md#quota-values)
      quota: 'default',
      groups: [],
      language: 'en',
      backend: 'Database',
      lastLogin: 0,
      ...user,
    };
    for (const g of stored.groups) groups.add(g);
    users.set(stored.id, stored);
    return stored;
  };
  // The admin logged in once (the installer does), so its home holds the skeleton files.
  const installedAt = Math.floor(now() / 1000);
  seedUser({ id: adminUser, groups: ['admin'], usedBytes: SKELETON_BYTES, lastLogin: installedAt });
  const nonAdmins = options.nonAdmins ?? {};
  for (const id of Object.keys(nonAdmins)) seedUser({ id, usedBytes: SKELETON_BYTES, lastLogin: installedAt });

  const checkAuth = (req: IncomingMessage, res: ServerResponse): boolean => {
    const ctx = contextOf(req);
    // docs/nextcloud-ocs.md#login-throttling: after ~11 failures every request from the address gets 429, good
    // credentials too.
    if (failedLogins >= bruteForceAfter) {
      writeOcs(res, { ...ctx, statuscode: 429, message: 'Reached maximum delay', httpStatus: 429 });
      return false;
    }
    const credentials = basicCredentials(req);
    const known =
      credentials !== undefined &&
      ((credentials.user === adminUser && credentials.password === adminPassword) ||
        (Object.hasOwn(nonAdmins, credentials.user) && nonAdmins[credentials.user] === credentials.password));
    if (!known) {
      if (credentials) failedLogins++;
      // 997 -> HTTP 401 in both versions, meta.statuscode 997 kept; observed on Nextcloud 32.0.1: "Unauthorised"
      // for wrong credentials, "Current user is not logged in" for none.
      const message = credentials ? 'Unauthorised' : 'Current user is not logged in';
      writeOcs(res, { ...ctx, statuscode: 997, message });
      return false;
    }
    // docs/nextcloud-ocs.md#transport: without OCS-APIRequest: 412 {"message":"CSRF check failed"}, no envelope.
    if (req.headers['ocs-apirequest'] !== 'true') {
      res
        .writeHead(412, { 'content-type': 'application/json; charset=utf-8' })
        .end(JSON.stringify({ message: 'CSRF check failed' }));
      return false;
    }
    (req as IncomingMessage & { authUser?: string }).authUser = credentials.user;
    return true;
  };

  const checkAdmin = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (!checkAuth(req, res)) return false;
    if ((req as IncomingMessage & { authUser?: string }).authUser === adminUser) return true;
    writeOcs(res, { ...contextOf(req), statuscode: 403, message: 'Logged in account must be an admin' });
    return false;
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`fake nextcloud crashed: ${String(err)}`);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawPath = (req.url ?? '/').split('?')[0] ?? '/';
    const entry: FakeRequestLogEntry = {
      method: req.method ?? 'GET',
      path: rawPath,
      route: 'other',
      status: 0,
      authenticated: false,
    };
    requests.push(entry);
    res.on('finish', () => (entry.status = res.statusCode));
    const body = await readBody(req);

    for (const handler of handlers) if (await handler(req, res, body)) return;

    // A commit that landed late becomes visible before the next request is served
    // (docs/nextcloud-ocs.md#creating-a-user).
    while (pendingCommits.length > 0) pendingCommits.shift()!();

    const segments = resolveSegments(rawPath);
    const version =
      segments[0] === 'ocs' && (segments[1] === 'v1.php' || segments[1] === 'v2.php')
        ? (segments[1].slice(0, 2) as OcsVersion)
        : undefined;
    if (!version || !versions.has(version)) {
      res
        .writeHead(404, { 'content-type': 'text/html' })
        .end('<html><body><h1>Page not found</h1><p>The page could not be found on the server.</p></body></html>');
      return;
    }
    const route = matchRoute(req.method ?? 'GET', segments.slice(2));
    if (route) entry.route = route.name;
    if (!checkAuth(req, res)) return;
    entry.authenticated = true;
    const authUser = (req as IncomingMessage & { authUser?: string }).authUser ?? adminUser;
    const ctx = contextOf(req);
    const params = {
      ...queryParams(req),
      ...(body && typeof body === 'object' ? (body as Record<string, unknown>) : {}),
    };
    if (!route) {
      writeOcs(res, {
        ...ctx,
        statuscode: 998,
        message:
          'Invalid query, please check the syntax. API specifications are here: ' +
          'http://www.freedesktop.org/wiki/Specifications/open-collaboration-services.',
      });
      return;
    }

    // Observed on Nextcloud 32.0.1 with an account that is neither admin nor sub-admin: reading another user answers
    // 998 (HTTP 404 on v2) as if it did not exist; creating, disabling and the other writes answer 403.
    if (authUser !== adminUser && route.name !== 'currentUser' && route.userId !== authUser) {
      if (route.name === 'getUser') writeOcs(res, { ...ctx, statuscode: 998, message: '' });
      else writeOcs(res, { ...ctx, statuscode: 403, message: 'Logged in account must be at least a sub admin' });
      return;
    }

    // editUser throttle is middleware: it runs before the controller, whatever the target
    // (docs/nextcloud-ocs.md#rate-limit-on-user-edits).
    if (route.name === 'editUser') {
      const times = (editTimes.get(authUser) ?? []).filter((t) => t > now() - editLimit.windowMs);
      if (times.length >= editLimit.calls) {
        editTimes.set(authUser, times);
        res.writeHead(429).end(); // empty body, no Retry-After (docs/nextcloud-ocs.md#rate-limit-on-user-edits)
        return;
      }
      times.push(now());
      editTimes.set(authUser, times);
    }

    const faultIndex = faults.findIndex((f) => f.route === route.name);
    const fault = faultIndex >= 0 ? faults[faultIndex] : undefined;
    if (fault) {
      fault.times--;
      if (fault.times <= 0) faults.splice(faultIndex, 1);
      if (fault.afterReply) res.on('finish', fault.afterReply);
      if (applyFault(fault.fault, route, params, ctx, res, req)) return;
    }
    runRoute(route, params, ctx, res, authUser);
  }

  /** Returns true when the fault answered (or swallowed) the request. */
  function applyFault(
    fault: FakeFault,
    route: MatchedRoute,
    params: Record<string, unknown>,
    ctx: OcsContext,
    res: ServerResponse,
    req: IncomingMessage,
  ): boolean {
    switch (fault) {
      case 'ambiguous-create': {
        const id = text(params['userid']);
        seedUser({ id, groups: asList(params['groups']).filter((g) => groups.has(g)) });
        writeOcs(res, { ...ctx, statuscode: 101, message: 'Bad request' });
        return true;
      }
      case 'commit-late': {
        // Same end state as ambiguous-create (the request failed before email and mail), only visible later.
        const id = text(params['userid']);
        const wanted = asList(params['groups']).filter((g) => groups.has(g));
        pendingCommits.push(() => {
          if (!users.has(id)) seedUser({ id, groups: wanted });
        });
        writeOcs(res, { ...ctx, statuscode: 101, message: 'Bad request' });
        return true;
      }
      case 'bad-request':
        writeOcs(res, { ...ctx, statuscode: 101, message: 'Bad request' });
        return true;
      case 'timeout-after-work': {
        const discard = silentResponse();
        runRoute(route, params, ctx, discard, adminUser);
        return true; // no answer: the socket stays open until the client gives up or close()
      }
      case 'reset-after-work':
        runRoute(route, params, ctx, silentResponse(), adminUser);
        req.socket.destroy();
        return true;
      case 'hang':
        return true;
      case 'reset':
        req.socket.destroy();
        return true;
      case 'maintenance':
        res
          .writeHead(503, { 'content-type': 'text/html; charset=utf-8' })
          .end(
            '<!DOCTYPE html><html><head><title>Nextcloud</title></head><body><div class="guest-box"><h2>Maintenance ' +
              'mode</h2><p>This Nextcloud instance is currently in maintenance mode, which may take a ' +
              'while.</p><p>This page will refresh itself when the instance is available ' +
              'again.</p></div></body></html>',
          );
        return true;
      case 'server-error':
        res
          .writeHead(500, { 'content-type': 'text/html' })
          .end(
            '<html><body><h1>Internal Server Error</h1><p>The server encountered an internal error and was unable to ' +
              'complete your request.</p></body></html>',
          );
        return true;
      case 'rate-limit':
        res.writeHead(429).end();
        return true;
      case 'not-json':
        res
          .writeHead(200, { 'content-type': 'text/html' })
          .end(`<html><head><title>Welcome</title></head><body>${HOTEL_WIFI_LINE.repeat(20)}</body></html>`);
        return true;
      case 'mail-fails':
        writeOcs(res, { ...ctx, statuscode: 102, message: 'Sending email failed' });
        return true;
    }
  }

  function runRoute(
    route: MatchedRoute,
    params: Record<string, unknown>,
    ctx: OcsContext,
    res: ServerResponse,
    authUser: string,
  ): void {
    const ok = (data: unknown = []) => writeOcs(res, { ...ctx, statuscode: 100, data });
    const fail = (statuscode: number, message: string) => writeOcs(res, { ...ctx, statuscode, message });
    const target = route.userId === undefined ? undefined : users.get(route.userId);
    switch (route.name) {
      case 'currentUser':
        return ok(userData(users.get(authUser)!));
      case 'listUsers': {
        const search = text(params['search']).toLowerCase();
        const ids = [...users.keys()].filter((id) => id.toLowerCase().includes(search)).sort();
        const offset = Number(params['offset'] ?? 0);
        const limit = params['limit'] === undefined ? ids.length : Number(params['limit']);
        return ok({ users: ids.slice(offset, offset + limit) });
      }
      case 'getUser':
        // A missing user -> statuscode 404, HTTP 200 on v1 (docs/nextcloud-ocs.md#observed-answers).
        return target ? ok(userData(target)) : fail(404, 'User does not exist');
      case 'createUser':
        return addUser(params, ctx, res);
      case 'editUser':
        return editUser(target, params, ctx, res);
      case 'disableUser':
      case 'enableUser':
        // disable / enable: 101 = missing user OR acting on yourself (docs/nextcloud-ocs.md#endpoints-used).
        if (!target || target.id === authUser) return fail(101, '');
        target.enabled = route.name === 'enableUser';
        return ok();
      case 'deleteUser':
        // DELETE of a missing user -> 998; 101 = yourself (docs/nextcloud-ocs.md#endpoints-used).
        if (!target) return fail(998, '');
        if (target.id === authUser) return fail(101, '');
        users.delete(target.id);
        return ok();
      case 'getUserGroups':
        if (!target) return fail(998, '');
        return ok({ groups: target.groups });
      case 'addToGroup':
      case 'removeFromGroup': {
        // docs/nextcloud-ocs.md#endpoints-used: groups of a user: 101 no groupid, 102 group missing, 103 user missing;
        // existing member / non-member
        // succeed.
        const group = text(params['groupid']);
        if (group === '') return fail(101, '');
        if (!groups.has(group)) return fail(102, '');
        if (!target) return fail(103, '');
        if (route.name === 'addToGroup') {
          if (!target.groups.includes(group)) target.groups.push(group);
        } else {
          if (target.id === authUser && group === 'admin')
            return fail(105, 'Cannot remove yourself from the admin group');
          target.groups = target.groups.filter((g) => g !== group);
        }
        return ok();
      }
      case 'welcome':
        // resend welcome: 101 no email, 102 sending failed (docs/nextcloud-ocs.md#endpoints-used).
        if (!target) return fail(998, '');
        if (!target.email) return fail(101, 'Email address not available');
        mails.push({ to: target.email, userId: target.id });
        return ok();
      case 'listGroups': {
        // Observed on Nextcloud 32.0.1: ?search= keeps the groups whose name contains it, ignoring case.
        const search = text(params['search']).toLowerCase();
        return ok({ groups: [...groups].filter((g) => g.toLowerCase().includes(search)).sort() });
      }
      case 'createGroup': {
        const group = text(params['groupid']);
        if (group === '') return fail(101, 'Invalid group name');
        if (groups.has(group)) return fail(102, 'group exists'); // docs/nextcloud-ocs.md#endpoints-used
        groups.add(group);
        return ok();
      }
      case 'deleteGroup': {
        // A missing group's delete -> 101 (docs/nextcloud-ocs.md#observed-answers); {groupid} travels in userId.
        const group = route.userId ?? '';
        if (!groups.has(group) || group === 'admin') return fail(101, '');
        groups.delete(group);
        for (const user of users.values()) user.groups = user.groups.filter((g) => g !== group);
        return ok();
      }
    }
  }

  /**
   * The addUser codes in the order the server checks them, and what follows (docs/nextcloud-ocs.md#creating-a-user).
   */
  function addUser(params: Record<string, unknown>, ctx: OcsContext, res: ServerResponse): void {
    const fail = (statuscode: number, message: string) => writeOcs(res, { ...ctx, statuscode, message });
    const id = text(params['userid']);
    const password = text(params['password']);
    // addUser stores mb_strtolower(trim($email)) (observed on Nextcloud 32.0.1: Probe.One@Example.COM is read back as
    // probe.one@example.com).
    const email = text(params['email']).trim().toLowerCase();
    const displayName = text(params['displayName']);
    const quota = text(params['quota']);
    const language = text(params['language']);
    const wantedGroups = asList(params['groups']);
    if (users.has(id)) return fail(102, 'User already exists');
    for (const g of wantedGroups) if (!groups.has(g)) return fail(104, `Group ${g} does not exist`);
    if (password === '' && email === '')
      return fail(108, 'An email address is required, to send a password link to the user.');
    // docs/nextcloud-ocs.md#creating-a-user: 101 invalid user id (observed for bad/name).
    if (!/^[a-zA-Z0-9 _.@\-']+$/.test(id) || /^\.+$/.test(id) || id.length > 64 || id.trim() !== id) {
      return fail(
        101,
        'Only the following characters are allowed in a username: "a-z", "A-Z", "0-9", spaces and "_.@-\'"',
      );
    }
    // The password_policy app (enabled by default) refuses a weak password before the user exists: observed on
    // Nextcloud 32.0.1 as 107 (v1 HTTP 200, v2 HTTP 400) "Password needs to be at least 10 characters long.", with
    // "Password is among the 1,000,000 most common ones. Please make it unique." before it for a common one (that
    // list is not modelled). Without a password the server generates one that passes.
    if (password !== '' && password.length < 10) return fail(107, 'Password needs to be at least 10 characters long.');
    if (email !== '' && !isEmail(email)) return fail(101, 'Invalid email address');
    const user = seedUser({ id, ...(password === '' ? {} : { password }) });
    user.groups = [...new Set(wantedGroups)];
    if (displayName !== '') user.displayname = displayName;
    // After creating, quota, language and display name are applied as separate edits: a bad quota returns an
    // error but the user STAYS created (docs/nextcloud-ocs.md#creating-a-user), and the invitation mail is the last
    // step, so it is not sent.
    if (quota !== '') {
      const refusal = applyQuota(user, quota);
      if (refusal) return fail(refusal.code, refusal.message);
    }
    if (language !== '') {
      // 400/101, user EXISTS (docs/nextcloud-ocs.md#creating-a-user)
      if (!LANGUAGES.has(language)) return fail(101, 'Invalid language');
      user.language = language;
    }
    if (email !== '') {
      user.email = email;
      // No password + email: the server generates a password and mails a link (docs/nextcloud-ocs.md#creating-a-user).
      if (password === '') mails.push({ to: email, userId: id });
    }
    writeOcs(res, { ...ctx, statuscode: 100, data: { id } });
  }

  /** editUser codes (docs/nextcloud-ocs.md#editing-a-user) and quota rules (docs/nextcloud-ocs.md#quota-values). */
  function editUser(
    target: FakeNextcloudUser | undefined,
    params: Record<string, unknown>,
    ctx: OcsContext,
    res: ServerResponse,
  ): void {
    const fail = (statuscode: number, message: string) => writeOcs(res, { ...ctx, statuscode, message });
    if (!target) return fail(998, ''); // docs/nextcloud-ocs.md#envelope-and-status-codes: 998 missing user / no rights
    const key = text(params['key']);
    const value = text(params['value']);
    if (!ALLOWED_EDIT_KEYS.has(key)) return fail(113, 'Edited field not found');
    switch (key) {
      case 'display':
      case 'displayname':
        if (value.length > 64) return fail(101, 'Invalid display name');
        target.displayname = value;
        break;
      case 'email':
        // docs/nextcloud-ocs.md#editing-a-user: 101 invalid value (email ...); stored lower-cased like addUser's
        // (observed on Nextcloud 32.0.1).
        if (value !== '' && !isEmail(value)) return fail(101, 'Invalid email address');
        target.email = value === '' ? null : value.trim().toLowerCase();
        break;
      case 'quota': {
        const refusal = applyQuota(target, value);
        if (refusal) return fail(refusal.code, refusal.message);
        break;
      }
      case 'language':
        if (!LANGUAGES.has(value)) return fail(102, 'Invalid language'); // docs/nextcloud-ocs.md#editing-a-user
        target.language = value;
        break;
      case 'password':
        // docs/nextcloud-ocs.md#editing-a-user: 107 password policy
        if (value.length < 10) return fail(107, 'Password needs to be at least 10 characters long.');
        target.password = value;
        break;
    }
    writeOcs(res, { ...ctx, statuscode: 100 });
  }

  function applyQuota(user: FakeNextcloudUser, value: string): { code: number; message: string } | undefined {
    if (value === 'default') {
      user.quota = 'default';
      return undefined;
    }
    let bytes: number | undefined;
    if (value === 'none') bytes = -1;
    else bytes = computerFileSize(value);
    // docs/nextcloud-ocs.md#quota-values: value=lots -> 101 "Invalid quota value: lots". "5GiB" is NOT refused: see
    // computerFileSize.
    if (bytes === undefined) return { code: 101, message: `Invalid quota value: ${value}` };
    // UsersController::editUser (Nextcloud 32.0.1) throws both refusals below with code 101.
    if (bytes === -1) {
      if (options.allowUnlimitedQuota === false)
        return { code: 101, message: 'Unlimited quota is forbidden on this instance' };
      user.quota = 'none';
      return undefined;
    }
    if (options.maxQuotaBytes !== undefined && bytes > options.maxQuotaBytes) {
      return { code: 101, message: `Invalid quota value. ${value} is exceeding the maximum quota` };
    }
    user.quota = humanFileSize(bytes); // 3042824 -> '2.9 MB' (docs/nextcloud-ocs.md#quota-values)
    return undefined;
  }

  /**
   * GET /cloud/users/{id} as Nextcloud 32.0.1 answers it for another user (field order and values observed; the
   * requesting admin's own record adds *Scope fields, not modelled). quota: AUserDataOCSController::fillStorageInfo:
   * -3 (unlimited) for none/default; with a limit above 0, free = limit - used (negative when over quota), total =
   * limit, relative = used/limit in percent with two decimals; else free, total -3 and relative 0. A user whose home
   * was never set up reports used 0: {free: -3, used: 0, total: -3, relative: 0, quota: -3} without a quota.
   */
  function userData(user: FakeNextcloudUser): Record<string, unknown> {
    const limit = user.quota === 'none' || user.quota === 'default' ? -3 : (computerFileSize(user.quota) ?? -3);
    const used = user.usedBytes ?? 0;
    const quota =
      limit > 0
        ? { free: limit - used, used, total: limit, relative: Math.round((used / limit) * 10000) / 100, quota: limit }
        : { free: -3, used, total: -3, relative: 0, quota: limit };
    return {
      enabled: user.enabled,
      storageLocation: `/var/www/html/data/${user.id}`,
      id: user.id,
      firstLoginTimestamp: user.lastLogin,
      lastLoginTimestamp: user.lastLogin,
      lastLogin: user.lastLogin * 1000,
      backend: user.backend,
      subadmin: [],
      quota,
      manager: '',
      email: user.email,
      additional_mail: [],
      displayname: user.displayname,
      'display-name': user.displayname,
      phone: '',
      address: '',
      website: '',
      twitter: '',
      bluesky: '',
      fediverse: '',
      organisation: '',
      role: '',
      headline: '',
      biography: '',
      profile_enabled: '1',
      pronouns: '',
      groups: [...user.groups],
      language: user.language,
      locale: '',
      timezone: '',
      notify_email: null,
      backendCapabilities: { setDisplayName: true, setPassword: true },
    };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    adminUser,
    adminPassword,
    users,
    groups,
    requests,
    mails,
    failNext(route, fault, opts = {}) {
      faults.push({
        route,
        fault,
        times: opts.times ?? 1,
        ...(opts.afterReply ? { afterReply: opts.afterReply } : {}),
      });
    },
    addRoute(handler) {
      handlers.push(handler);
    },
    seedUser,
    checkAuth,
    checkAdmin,
    resetThrottles() {
      failedLogins = 0;
      editTimes.clear();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers shared with fakes mounted through addRoute().

export interface OcsContext {
  version: OcsVersion;
  format: OcsFormat;
}

/**
 * Version from the path, format from ?format= (wins) or exactly `Accept: application/json`
 * (docs/nextcloud-ocs.md#transport).
 */
export function contextOf(req: IncomingMessage): OcsContext {
  const url = new URL(req.url ?? '/', 'http://fake');
  const version: OcsVersion = url.pathname.startsWith('/ocs/v1.php') ? 'v1' : 'v2';
  const format = url.searchParams.get('format');
  const json = format !== null ? format === 'json' : req.headers.accept === 'application/json';
  return { version, format: json ? 'json' : 'xml' };
}

/**
 * Writes an OCS envelope the way V1Response / V2Response do (Nextcloud 32.0.1 lib/private/AppFramework/OCS):
 * `statuscode` is the code a controller raised, 100 or 200 = success.
 * - v1: meta.statuscode 100 on success, else the code as raised; HTTP 200, except 997 -> 401. meta carries
 *   totalitems and itemsperpage ('').
 * - v2: meta.statuscode 200 on success, else the code AS RAISED (observed: 997 with HTTP 401, 998 with HTTP 404,
 *   996 with HTTP 500); the HTTP status maps 997 -> 401, 998 -> 404, 996/999 -> 500, codes below 200 or above 600
 *   -> 400, others as they are. meta has no totalitems / itemsperpage.
 * Errors carry data [] unless the controller returned some (user_oidc's 404 {"message": "User not found"}).
 */
export function writeOcs(
  res: ServerResponse,
  opts: OcsContext & { statuscode: number; message?: string; data?: unknown; httpStatus?: number },
): void {
  const ok = opts.statuscode === 100 || opts.statuscode === 200;
  let statuscode = opts.statuscode;
  let httpStatus: number;
  if (opts.version === 'v1') {
    if (ok) statuscode = 100;
    httpStatus = statuscode === 997 ? 401 : 200;
  } else {
    if (ok) statuscode = 200;
    httpStatus = v2HttpStatus(statuscode);
  }
  if (opts.httpStatus !== undefined) httpStatus = opts.httpStatus;
  const meta: Record<string, unknown> = {
    status: ok ? 'ok' : 'failure',
    statuscode,
    message: opts.message ?? (ok ? 'OK' : ''),
    ...(opts.version === 'v1' ? { totalitems: '', itemsperpage: '' } : {}),
  };
  const data = opts.data ?? []; // docs/nextcloud-ocs.md#envelope-and-status-codes: empty data is [], never {}
  if (opts.format === 'json') {
    res
      .writeHead(httpStatus, { 'content-type': 'application/json; charset=utf-8' })
      .end(JSON.stringify({ ocs: { meta, data } }));
  } else {
    res
      .writeHead(httpStatus, { 'content-type': 'text/xml; charset=UTF-8' })
      .end(`<?xml version="1.0"?>\n<ocs>${toXml({ meta, data })}</ocs>\n`);
  }
}

/** V2Response::getStatus. */
function v2HttpStatus(statuscode: number): number {
  if (statuscode === 200) return 200;
  if (statuscode === 997) return 401;
  if (statuscode === 998) return 404;
  if (statuscode === 996 || statuscode === 999) return 500;
  if (statuscode < 200 || statuscode > 600) return 400;
  return statuscode;
}

/** Basic credentials of a request, or undefined. */
function basicCredentials(req: IncomingMessage): { user: string; password: string } | undefined {
  const header = req.headers.authorization ?? '';
  const match = /^Basic\s+(.+)$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Parses a JSON or form body (`groups[]=a&groups[]=b` -> groups: [a, b]); docs/nextcloud-ocs.md#transport. */
async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return undefined;
  if ((req.headers['content-type'] ?? '').includes('application/json')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  }
  return formToObject(new URLSearchParams(text));
}

function queryParams(req: IncomingMessage): Record<string, unknown> {
  const params = formToObject(new URL(req.url ?? '/', 'http://fake').searchParams);
  delete params['format'];
  return params;
}

function formToObject(params: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of params) {
    if (key.endsWith('[]')) {
      const name = key.slice(0, -2);
      out[name] = [...((out[name] as string[] | undefined) ?? []), value];
    } else out[key] = value;
  }
  return out;
}

/**
 * Splits a raw path into decoded segments after resolving literal '.' and '..' segments, as a web server does before
 * routing: an encoded %2F stays inside its segment, an unencoded '..' walks up.
 */
function resolveSegments(rawPath: string): string[] {
  const out: string[] = [];
  for (const raw of rawPath.split('/')) {
    if (raw === '' || raw === '.') continue;
    if (raw === '..') out.pop();
    else out.push(safeDecode(raw));
  }
  return out;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

interface MatchedRoute {
  name: FakeRoute;
  userId?: string;
}

/** The routes of docs/nextcloud-ocs.md#endpoints-used. */
function matchRoute(method: string, s: string[]): MatchedRoute | undefined {
  if (s[0] !== 'cloud') return undefined;
  if (s[1] === 'user' && s.length === 2 && method === 'GET') return { name: 'currentUser' };
  if (s[1] === 'groups' && s.length === 2)
    return method === 'GET' ? { name: 'listGroups' } : method === 'POST' ? { name: 'createGroup' } : undefined;
  if (s[1] === 'groups' && s.length === 3 && method === 'DELETE') return { name: 'deleteGroup', userId: s[2]! };
  if (s[1] !== 'users') return undefined;
  if (s.length === 2)
    return method === 'GET' ? { name: 'listUsers' } : method === 'POST' ? { name: 'createUser' } : undefined;
  const userId = s[2]!;
  if (s.length === 3) {
    const name = ({ GET: 'getUser', PUT: 'editUser', DELETE: 'deleteUser' } as const)[method as 'GET'];
    return name ? { name, userId } : undefined;
  }
  if (s.length === 4) {
    if (method === 'PUT' && s[3] === 'disable') return { name: 'disableUser', userId };
    if (method === 'PUT' && s[3] === 'enable') return { name: 'enableUser', userId };
    if (s[3] === 'groups') {
      const name = ({ GET: 'getUserGroups', POST: 'addToGroup', DELETE: 'removeFromGroup' } as const)[method as 'GET'];
      return name ? { name, userId } : undefined;
    }
    if (method === 'POST' && s[3] === 'welcome') return { name: 'welcome', userId };
  }
  return undefined;
}

/**
 * OCP\Util::computerFileSize of Nextcloud 32.0.1: lower-cased; a numeric string is bytes; otherwise the number PHP's
 * (float) cast reads from the front ("abc" -> 0) times the factor of the suffix matched by /([kmgtp]?b?)$/, or
 * false (undefined here) when that suffix is not a unit. So "5GiB" is 5 BYTES: its suffix is "b" (observed: OCS
 * editUser with value 5GiB answers 200 and stores "5 B"; user_oidc and nmcuser_oidc do the same).
 */
export function computerFileSize(input: string): number | undefined {
  const str = input.toLowerCase();
  if (/^\s*[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?\s*$/.test(str)) return Math.round(Number(str));
  const factors: Record<string, number> = {
    b: 1,
    k: 1024,
    kb: 1024,
    m: 1024 ** 2,
    mb: 1024 ** 2,
    g: 1024 ** 3,
    gb: 1024 ** 3,
    t: 1024 ** 4,
    tb: 1024 ** 4,
    p: 1024 ** 5,
    pb: 1024 ** 5,
  };
  const factor = factors[/([kmgtp]?b?)$/.exec(str)?.[1] ?? ''];
  if (factor === undefined) return undefined;
  return Math.round(phpFloatPrefix(str) * factor);
}

/** PHP's (float) cast of a string: the leading number after leading whitespace, 0 when there is none. */
function phpFloatPrefix(str: string): number {
  const match = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?/.exec(str);
  return match ? Number(match[0]) : 0;
}

/** Nextcloud's Util::humanFileSize: how a quota is stored (docs/nextcloud-ocs.md#quota-values). */
export function humanFileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  let n = Math.round(bytes / 1024);
  if (n < 1024) return `${n} KB`;
  n = Math.round((n / 1024) * 10) / 10;
  if (n < 1024) return `${n} MB`;
  n = Math.round((n / 1024) * 10) / 10;
  if (n < 1024) return `${n} GB`;
  n = Math.round((n / 1024) * 10) / 10;
  if (n < 1024) return `${n} TB`;
  n = Math.round((n / 1024) * 10) / 10;
  return `${n} PB`;
}

/** A request parameter as the string PHP would see; anything but a scalar is ''. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return '';
}

function isEmail(value: string): boolean {
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value);
}

function asList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string' && value !== '') return [value];
  return [];
}

/** A response sink for work done without an answer (lost answers, late commits). */
function silentResponse(): ServerResponse {
  const sink = { writeHead: () => sink, end: () => sink, on: () => sink, statusCode: 0 };
  return sink as unknown as ServerResponse;
}

function toXml(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map((v) => `<element>${toXml(v)}</element>`).join('');
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `<${k}>${toXml(v)}</${k}>`)
      .join('');
  }
  return text(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
