/**
 * A fake Nextcloud with the nmcuser_oidc app (API 1.1), on its own node:http server on 127.0.0.1.
 * Follows docs/nextcloud-oidc.md#nmcuser_oidc, the app's README and code
 * (https://github.com/nextmcloud/nmcuser_oidc, 1.0.8: lib/Controller/NmcUserApiController.php,
 * lib/Service/NmcUserService.php) and what that app answered inside a real Nextcloud 32.0.1 ("observed").
 * Deliberately independent of src/: it computes ids and quotas itself, so a client bug is not mirrored here.
 *
 * The server also answers the one OCS route the client reads beside the app's API, GET
 * /ocs/v2.php/cloud/users/{id}, for the user backend that owns an account.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { computerFileSize, contextOf, humanFileSize, SKELETON_BYTES, writeOcs } from './nextcloud.js';
import { resolveDotSegments } from './paths.js';

export const NMCUSER_API_ROOT = '/index.php/apps/nmcuser_oidc/api/1.1';

interface FakeOidcProvider {
  id: number;
  identifier: string;
}

interface FakeNmcuser {
  id: string;
  username: string;
  displayname: string;
  email: string | null;
  /** Read back as "" when never set (observed). */
  altemail: string;
  quota: string;
  enabled: boolean;
  migrated: boolean;
  /**
   * True when user_oidc's table has a row for the user (the app created it, or user_oidc did at a login): what the
   * app's update and delete look up. False for any other Nextcloud account (the admin, users created through OCS):
   * the app still SHOWS them (GET 200, "migrated": false) but cannot change them.
   */
  provisioned: boolean;
}

interface LoggedRequest {
  method: string;
  /** The path exactly as it arrived, before any decoding (what the client put on the wire). */
  rawPath: string;
  body: unknown;
  authorized: boolean;
}

/**
 * Fault injection for the next matching request(s):
 * - status: answer with it instead of doing the work (or after doing it, with applyFirst);
 * - drop: destroy the connection before or after applying the request (a lost answer).
 */
type FakeFault = {
  method?: string;
  times?: number;
} & (
  | { status: number; body?: string; headers?: Record<string, string>; applyFirst?: boolean }
  | { drop: 'before' | 'after' }
);

export interface FakeNmcuserOidcOptions {
  adminUser?: string;
  adminPassword?: string;
  /** Accounts that can log in but are not admins: the controller is @AdminRequired, so they get 403. */
  nonAdmins?: Record<string, string>;
  providers?: FakeOidcProvider[];
  /** Users the app provisioned (unless `provisioned: false` says it is an account of another user backend). */
  users?: Array<Partial<FakeNmcuser> & { username: string }>;
  /**
   * Failed logins before every request from the address gets 429 (docs/nextcloud-ocs.md#login-throttling: about 11).
   */
  bruteForceThreshold?: number;
}

export interface FakeNmcuserOidc {
  url: string;
  adminUser: string;
  adminPassword: string;
  requests: LoggedRequest[];
  /** Every Nextcloud account the app can see, by uid: the admin and non-admin accounts are there, unprovisioned. */
  users: Map<string, FakeNmcuser>;
  failNext(fault: FakeFault): void;
  close(): Promise<void>;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** docs/nextcloud-oidc.md#nmcuser_oidc-user-ids: the username, or sha256(username) over 64 bytes (PHP strlen). */
function nmcuserUid(username: string): string {
  return Buffer.byteLength(username, 'utf8') > 64 ? sha256(username) : username;
}

/**
 * What Nextcloud answers when a controller throws something the app does not catch: HTTP 500 with the HTML error
 * page (observed for a create without displayname, a create under an unknown provider, an invalid quota, and a
 * PUT on a user the app did not provision).
 */
const ERROR_PAGE =
  '<!DOCTYPE html>\n<html class="ng-csp" lang="en"><head><title>Nextcloud</title></head><body>' +
  '<h2>Internal Server Error</h2><p>The server was unable to complete your request.</p></body></html>';

/** NmcUserService::delete on a user without a user_oidc row: the mapper's DoesNotExistException text (observed). */
const NOT_PROVISIONED_ON_DELETE =
  'Did expect one result but found none when executing: query "SELECT * FROM `*PREFIX*user_oidc` WHERE ' +
  '`user_id` = :dcValue1"; ';

export async function startFakeNmcuserOidc(options: FakeNmcuserOidcOptions = {}): Promise<FakeNmcuserOidc> {
  const adminUser = options.adminUser ?? 'admin';
  const adminPassword = options.adminPassword ?? 'admin-app-password-0123';
  const providers = options.providers ?? [{ id: 1, identifier: 'Keycloak' }];
  const threshold = options.bruteForceThreshold ?? 11;
  const requests: LoggedRequest[] = [];
  const users = new Map<string, FakeNmcuser>();
  const faults: FakeFault[] = [];
  let failedLogins = 0;

  const addUser = (seed: Partial<FakeNmcuser> & { username: string }): void => {
    const id = nmcuserUid(seed.username);
    users.set(id, {
      displayname: seed.username,
      email: null,
      altemail: '',
      quota: '3 GB',
      enabled: true,
      migrated: seed.provisioned !== false,
      provisioned: true,
      ...seed,
      id,
    });
  };
  // The admin and any other login account are ordinary Nextcloud users: observed, GET nmcusers/{p}/admin answers
  // 200 {"id":"admin", ..., "quota":"none", "migrated":false}.
  for (const login of [adminUser, ...Object.keys(options.nonAdmins ?? {})]) {
    addUser({ username: login, quota: 'none', provisioned: false });
  }
  for (const seed of options.users ?? []) addUser(seed);

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { message: String(err) });
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawPath = (req.url ?? '/').split('?')[0] ?? '/';
    const body = await readBody(req);
    const login = basicCredentials(req);
    const isAdmin = login?.user === adminUser && login.password === adminPassword;
    const isNonAdmin =
      login !== undefined &&
      options.nonAdmins !== undefined &&
      Object.hasOwn(options.nonAdmins, login.user) &&
      options.nonAdmins[login.user] === login.password;
    requests.push({ method: req.method ?? 'GET', rawPath, body, authorized: isAdmin });

    // docs/nextcloud-ocs.md#login-throttling: past the threshold EVERY request from the address gets 429.
    if (failedLogins >= threshold) return sendText(res, 429, 'Reached maximum delay');

    const ocsUser = /^\/ocs\/v2\.php\/cloud\/users\/([^/]+)$/.exec(rawPath);
    if (ocsUser && req.method === 'GET') {
      return readOcsUser(req, res, safeDecode(ocsUser[1]!), isAdmin ? adminUser : isNonAdmin ? login.user : undefined);
    }

    const route = matchRoute(req.method ?? 'GET', rawPath);
    // Observed: a path below api/1.1 that no route matches answers 405 with an empty body (the app's OPTIONS route
    // {path} matches it for another verb); anywhere else Nextcloud's router answers an HTML page.
    if (route === 'wrong-verb') return sendText(res, 405, '');
    if (!route) return sendText(res, 404, '<!DOCTYPE html><html><body>Page not found</body></html>', 'text/html');

    const fault = takeFault(req.method ?? 'GET');
    if (fault && 'drop' in fault && fault.drop === 'before') return void req.socket.destroy();
    if (fault && 'status' in fault && !fault.applyFirst) {
      return sendText(res, fault.status, fault.body ?? '', 'application/json', fault.headers);
    }

    if (!isAdmin && !isNonAdmin) {
      if (login) failedLogins++;
      // The controller is @CORS: CORSMiddleware logs Basic credentials in and refuses with 401 when they fail
      // (observed body: {"message":""}).
      return sendJson(res, 401, { message: '' });
    }
    // @AdminRequired (NmcUserApiController): observed 403 {"message":"Logged in account must be an admin"}.
    if (!isAdmin) return sendJson(res, 403, { message: 'Logged in account must be an admin' });

    const result = apply(route, body);

    if (fault && 'drop' in fault) return void req.socket.destroy();
    if (fault && 'status' in fault)
      return sendText(res, fault.status, fault.body ?? '', 'application/json', fault.headers);
    if (result.status === 500) return sendText(res, 500, ERROR_PAGE, 'text/html; charset=UTF-8');
    sendJson(res, result.status, result.body);
  }

  /** GET /ocs/v2.php/cloud/users/{id} as Nextcloud 32.0.1 answers it, reduced to the fields the client reads. */
  function readOcsUser(req: IncomingMessage, res: ServerResponse, id: string, authUser: string | undefined): void {
    const ctx = { ...contextOf(req), version: 'v2' as const };
    if (authUser === undefined) {
      const message = basicCredentials(req) ? 'Unauthorised' : 'Current user is not logged in';
      if (basicCredentials(req)) failedLogins++;
      return writeOcs(res, { ...ctx, statuscode: 997, message });
    }
    if (req.headers['ocs-apirequest'] !== 'true') return sendJson(res, 412, { message: 'CSRF check failed' });
    const user = users.get(id);
    // Observed: a non-admin reading another user gets 998 (HTTP 404), as if it did not exist.
    if (authUser !== adminUser && id !== authUser) return writeOcs(res, { ...ctx, statuscode: 998, message: '' });
    if (!user) return writeOcs(res, { ...ctx, statuscode: 404, message: 'User does not exist' });
    const data = {
      enabled: user.enabled,
      id: user.id,
      backend: user.provisioned ? 'user_oidc' : 'Database',
      email: user.email,
      displayname: user.displayname,
    };
    writeOcs(res, { ...ctx, statuscode: 200, data });
  }

  function apply(route: Route, body: unknown): { status: number; body: unknown } {
    const providerId = findProvider(route.provider);
    // NmcUserService::findProviderByIdentifier throws NotFoundException: show/update/destroy/token turn it into
    // 404; create only catches UserExistException, so there it escapes as 500 (observed: the HTML error page).
    if (providerId === undefined) {
      if (route.op === 'create') return { status: 500, body: undefined };
      return { status: 404, body: { message: `No oidc provider ${route.provider}` } };
    }
    const fields = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    // findUser: "No user {username}, id={uid}" (observed wording).
    const missing = (id: string) => ({ status: 404, body: { message: `No user ${id}, id=${nmcuserUid(id)}` } });
    switch (route.op) {
      case 'index':
        return { status: 200, body: [] };
      case 'create': {
        // Typed controller parameters (string $username, string $displayname): a missing one is a TypeError the
        // app does not catch (observed: 500 HTML for a create without displayname).
        if (typeof fields.username !== 'string' || typeof fields.displayname !== 'string') {
          return { status: 500, body: undefined };
        }
        const id = nmcuserUid(fields.username);
        if (users.has(id)) {
          // Observed wording, with the provider as the URL names it.
          return { status: 409, body: { message: `OpenID user ${route.provider}:${fields.username} already exists!` } };
        }
        const user: FakeNmcuser = {
          id,
          username: fields.username,
          displayname: fields.displayname,
          // setEMailAddress stores it lower-cased (observed: Nm.One@Example.com is read back as nm.one@example.com).
          email: typeof fields.email === 'string' ? fields.email.toLowerCase() : null,
          altemail: typeof fields.altemail === 'string' ? fields.altemail : '',
          quota: '3 GB',
          enabled: typeof fields.enabled === 'boolean' ? fields.enabled : true,
          // `bool $migrated = true` in the controller: observed "migrated": true for users the app created.
          migrated: typeof fields.migrated === 'boolean' ? fields.migrated : true,
          provisioned: true,
        };
        // The user exists from here on (createDbUser runs first); what follows can still fail.
        users.set(id, user);
        // README: quota "3GB if not given". IUser::setQuota throws on a value it cannot parse: 500, user kept.
        const quota = storedQuota(typeof fields.quota === 'string' ? fields.quota : '3GB');
        if (quota === undefined) return { status: 500, body: undefined };
        user.quota = quota;
        // Then the home folder and OC_Util::copySkeleton: a quota below the skeleton's size makes the copy fail,
        // which the app answers with 403 and the user EXISTS (observed with a 1 MB quota).
        const limit = quota === 'none' || quota === 'default' ? undefined : computerFileSize(quota);
        if (limit !== undefined && limit < SKELETON_BYTES) {
          const reason = `Could not create path "/${id}/files/Photos/Library.jpg"`;
          return { status: 403, body: { message: `Newly created user cannot init home folder. Reason:\n${reason}` } };
        }
        // The controller answers 201 (handleAlreadyExists); the README's 200 is out of date.
        return { status: 201, body: { id } };
      }
      case 'show': {
        const user = users.get(nmcuserUid(route.id));
        if (!user) return missing(route.id);
        return { status: 200, body: publicView(user) };
      }
      case 'update': {
        const user = users.get(nmcuserUid(route.id));
        if (!user) return missing(route.id);
        // oidcUserMapper->getUser throws DoesNotExistException, which update() does not catch (observed: 500 HTML).
        if (!user.provisioned) return { status: 500, body: undefined };
        if (typeof fields.altemail === 'string') user.altemail = fields.altemail;
        if (typeof fields.email === 'string') user.email = fields.email.toLowerCase();
        if (typeof fields.quota === 'string') {
          const quota = storedQuota(fields.quota);
          if (quota === undefined) return { status: 500, body: undefined };
          user.quota = quota;
        }
        if (typeof fields.migrated === 'boolean') user.migrated = fields.migrated;
        // THE TRAP (docs/nextcloud-oidc.md#the-enabled-trap; `bool $enabled = true` in the controller):
        // a PUT that does not say `enabled: false` re-enables a disabled user.
        user.enabled = typeof fields.enabled === 'boolean' ? fields.enabled : true;
        if (typeof fields.displayname === 'string') user.displayname = fields.displayname;
        return { status: 200, body: publicView(user) };
      }
      case 'destroy': {
        const user = users.get(nmcuserUid(route.id));
        if (!user) return missing(route.id);
        // delete() catches the mapper's DoesNotExistException as NotFoundException: 404, the user is KEPT.
        if (!user.provisioned) return { status: 404, body: { message: NOT_PROVISIONED_ON_DELETE } };
        users.delete(user.id);
        return { status: 200, body: '' };
      }
      case 'token': {
        if (!users.has(nmcuserUid(route.id))) return missing(route.id);
        return { status: 200, body: { token: sha256(`token-${route.id}`) } };
      }
    }
  }

  /** Provider identifiers match ignoring case (README); the numeric id also matches (findProviderByIdentifier). */
  function findProvider(name: string): number | undefined {
    return providers.find((p) => p.identifier.toLowerCase() === name.toLowerCase() || String(p.id) === name)?.id;
  }

  function takeFault(method: string): FakeFault | undefined {
    const index = faults.findIndex((f) => f.method === undefined || f.method === method);
    if (index < 0) return undefined;
    const fault = faults[index]!;
    const left = (fault.times ?? 1) - 1;
    if (left <= 0) faults.splice(index, 1);
    else fault.times = left;
    return fault;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    adminUser,
    adminPassword,
    requests,
    users,
    failNext: (fault) => void faults.push({ ...fault }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const socket of sockets) socket.destroy();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

type Route =
  | { op: 'index' | 'create'; provider: string }
  | { op: 'show' | 'update' | 'destroy' | 'token'; provider: string; id: string };

/**
 * Routes like a real server: the web server decodes the path and resolves `.`/`..` segments, then Nextcloud's
 * (Symfony) router matches the DECODED path, where `{id}` cannot contain '/'. So an unencoded `../` or an encoded
 * `%2F` in a username lands on another route or on none, exactly as it would in production. Below api/1.1 the app's
 * OPTIONS route matches any path, so an unmatched one there is 'wrong-verb' (405).
 */
function matchRoute(method: string, rawPath: string): Route | 'wrong-verb' | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return undefined;
  }
  const path = resolveDotSegments(decoded);
  if (!path.startsWith(`${NMCUSER_API_ROOT}/`)) return undefined;
  const parts = path.slice(NMCUSER_API_ROOT.length + 1).split('/');
  const [collection, provider, id, ...rest] = parts;
  if (rest.length > 0 || !provider) return 'wrong-verb';
  if (collection === 'nmcusers') {
    if (id === undefined) {
      if (method === 'GET') return { op: 'index', provider };
      if (method === 'POST') return { op: 'create', provider };
      return 'wrong-verb';
    }
    if (id === '') return 'wrong-verb';
    if (method === 'GET') return { op: 'show', provider, id };
    if (method === 'PUT') return { op: 'update', provider, id };
    if (method === 'DELETE') return { op: 'destroy', provider, id };
    return 'wrong-verb';
  }
  if (collection === 'token' && id && method === 'GET') return { op: 'token', provider, id };
  return 'wrong-verb';
}

/**
 * IUser::setQuota: `none`/`default` kept, otherwise Nextcloud's computerFileSize (so "5GiB" is 5 bytes: observed,
 * a PUT with quota "5GiB" answers 200 and reads back "5 B") stored as humanFileSize ("2.9 MB"). Unparsable ->
 * undefined (the server throws, which the app does not catch).
 */
function storedQuota(value: string): string | undefined {
  if (value === 'none' || value === 'default') return value;
  const bytes = computerFileSize(value);
  return bytes === undefined ? undefined : humanFileSize(bytes);
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function publicView(user: FakeNmcuser): Record<string, unknown> {
  return {
    id: user.id,
    displayname: user.displayname,
    email: user.email,
    altemail: user.altemail,
    quota: user.quota,
    enabled: user.enabled,
    migrated: user.migrated,
  };
}

function basicCredentials(req: IncomingMessage): { user: string; password: string } | undefined {
  const header = req.headers.authorization;
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return undefined;
  if ((req.headers['content-type'] ?? '').includes('application/json')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, JSON.stringify(body), 'application/json');
}

function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  contentType = 'text/plain',
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': contentType, ...headers });
  res.end(text);
}
