/**
 * A fake Nextcloud with the nmcuser_oidc app (API 1.1), on its own node:http server on 127.0.0.1.
 * Follows docs/nextcloud-oidc.md#nmcuser_oidc, the app's README and its controller/service code.
 * Deliberately independent of src/: it computes ids and quotas itself, so a client bug is not mirrored here.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { resolveDotSegments } from './paths.js';

export const NMCUSER_API_ROOT = '/index.php/apps/nmcuser_oidc/api/1.1';

export interface FakeOidcProvider {
  id: number;
  identifier: string;
}

export interface FakeNmcuser {
  id: string;
  username: string;
  displayname: string;
  email: string | null;
  altemail: string | null;
  quota: string;
  enabled: boolean;
  migrated: boolean;
}

export interface LoggedRequest {
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
export type FakeFault = {
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
  /** Users by Nextcloud uid. */
  users: Map<string, FakeNmcuser>;
  failNext(fault: FakeFault): void;
  close(): Promise<void>;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * The username, or sha256(username) when longer than 64 bytes, like PHP strlen
 * (docs/nextcloud-oidc.md#nmcuser_oidc-user-ids).
 */
export function nmcuserUid(username: string): string {
  return Buffer.byteLength(username, 'utf8') > 64 ? sha256(username) : username;
}

export async function startFakeNmcuserOidc(options: FakeNmcuserOidcOptions = {}): Promise<FakeNmcuserOidc> {
  const adminUser = options.adminUser ?? 'admin';
  const adminPassword = options.adminPassword ?? 'admin-app-password-0123';
  const providers = options.providers ?? [{ id: 1, identifier: 'Keycloak' }];
  const threshold = options.bruteForceThreshold ?? 11;
  const requests: LoggedRequest[] = [];
  const users = new Map<string, FakeNmcuser>();
  const faults: FakeFault[] = [];
  let failedLogins = 0;

  for (const seed of options.users ?? []) {
    const id = nmcuserUid(seed.username);
    users.set(id, {
      displayname: seed.username,
      email: null,
      altemail: null,
      quota: '3 GB',
      enabled: true,
      migrated: false,
      ...seed,
      id,
    });
  }

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
    const isNonAdmin = login !== undefined && options.nonAdmins?.[login.user] === login.password;
    requests.push({ method: req.method ?? 'GET', rawPath, body, authorized: isAdmin });

    // docs/nextcloud-ocs.md#login-throttling: past the threshold EVERY request from the address gets 429.
    if (failedLogins >= threshold) return sendText(res, 429, 'Reached maximum delay');

    const route = matchRoute(req.method ?? 'GET', rawPath);
    // Nextcloud's router answers an unknown route with an HTML page, whoever asks.
    if (!route) return sendText(res, 404, '<!DOCTYPE html><html><body>Page not found</body></html>', 'text/html');

    const fault = takeFault(req.method ?? 'GET');
    if (fault && 'drop' in fault && fault.drop === 'before') return void req.socket.destroy();
    if (fault && 'status' in fault && !fault.applyFirst) {
      return sendText(res, fault.status, fault.body ?? '', 'application/json', fault.headers);
    }

    if (!isAdmin && !isNonAdmin) {
      if (login) failedLogins++;
      // The controller is @CORS: CORSMiddleware logs Basic credentials in and refuses with 401 when they fail.
      return sendJson(res, 401, { message: 'CORS requires basic auth' });
    }
    // @AdminRequired (NmcUserApiController): a logged-in non-admin is refused with 403.
    if (!isAdmin) return sendJson(res, 403, { message: 'Logged in user must be an admin' });

    const result = apply(route, body);

    if (fault && 'drop' in fault) return void req.socket.destroy();
    if (fault && 'status' in fault)
      return sendText(res, fault.status, fault.body ?? '', 'application/json', fault.headers);
    sendJson(res, result.status, result.body);
  }

  function apply(route: Route, body: unknown): { status: number; body: unknown } {
    const providerId = findProvider(route.provider);
    // NmcUserService::findProviderByIdentifier throws NotFoundException: show/update/destroy/token turn it into
    // 404; create only catches UserExistException, so there it escapes as 500
    // (docs/nextcloud-oidc.md#nmcuser_oidc-routes).
    if (providerId === undefined) {
      if (route.op === 'create') return { status: 500, body: { message: 'Internal Server Error' } };
      return { status: 404, body: { message: `No oidc provider ${route.provider}` } };
    }
    const fields = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    switch (route.op) {
      case 'index':
        return { status: 200, body: [] };
      case 'create': {
        if (typeof fields.username !== 'string' || fields.username === '') {
          return { status: 400, body: { message: 'Missing parameter username' } };
        }
        if (typeof fields.displayname !== 'string')
          return { status: 400, body: { message: 'Missing parameter displayname' } };
        const id = nmcuserUid(fields.username);
        if (users.has(id)) return { status: 409, body: { message: `OpenID user ${fields.username} already exists!` } };
        // README: quota "3GB if not given"; enabled "optional parameter, default = true".
        const quota = normalizeQuota(typeof fields.quota === 'string' ? fields.quota : '3GB');
        if (quota === undefined) return { status: 500, body: { message: 'Internal Server Error' } };
        users.set(id, {
          id,
          username: fields.username,
          displayname: fields.displayname,
          email: typeof fields.email === 'string' ? fields.email : null,
          altemail: typeof fields.altemail === 'string' ? fields.altemail : null,
          quota,
          enabled: typeof fields.enabled === 'boolean' ? fields.enabled : true,
          migrated: typeof fields.migrated === 'boolean' ? fields.migrated : false,
        });
        // The controller answers 201 (handleAlreadyExists); the README's 200 is out of date.
        return { status: 201, body: { id } };
      }
      case 'show': {
        const user = users.get(route.id);
        if (!user) return { status: 404, body: { message: `No user ${route.id}` } };
        return { status: 200, body: publicView(user) };
      }
      case 'update': {
        const user = users.get(route.id);
        if (!user) return { status: 404, body: { message: `No user ${route.id}` } };
        if (typeof fields.quota === 'string') {
          const quota = normalizeQuota(fields.quota);
          if (quota === undefined) return { status: 500, body: { message: 'Internal Server Error' } };
          user.quota = quota;
        }
        if (typeof fields.email === 'string') user.email = fields.email;
        if (typeof fields.altemail === 'string') user.altemail = fields.altemail;
        if (typeof fields.displayname === 'string') user.displayname = fields.displayname;
        if (typeof fields.migrated === 'boolean') user.migrated = fields.migrated;
        // THE TRAP (docs/nextcloud-oidc.md#the-enabled-trap; `bool $enabled = true` in the controller):
        // a PUT that does not say `enabled: false` re-enables a disabled user.
        user.enabled = typeof fields.enabled === 'boolean' ? fields.enabled : true;
        return { status: 200, body: publicView(user) };
      }
      case 'destroy': {
        if (!users.delete(route.id)) return { status: 404, body: { message: `No user ${route.id}` } };
        return { status: 200, body: '' };
      }
      case 'token': {
        if (!users.has(route.id)) return { status: 404, body: { message: `No user ${route.id}` } };
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
 * `%2F` in a username lands on another route or on none, exactly as it would in production.
 */
function matchRoute(method: string, rawPath: string): Route | undefined {
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
  if (rest.length > 0 || !provider) return undefined;
  if (collection === 'nmcusers') {
    if (id === undefined) {
      if (method === 'GET') return { op: 'index', provider };
      if (method === 'POST') return { op: 'create', provider };
      return undefined;
    }
    if (id === '') return undefined;
    if (method === 'GET') return { op: 'show', provider, id };
    if (method === 'PUT') return { op: 'update', provider, id };
    if (method === 'DELETE') return { op: 'destroy', provider, id };
    return undefined;
  }
  if (collection === 'token' && id && method === 'GET') return { op: 'token', provider, id };
  return undefined;
}

/**
 * Nextcloud's IUser::setQuota: `none`/`default` kept, otherwise computerFileSize (case-insensitive, 1024
 * multiples, `GiB` refused) then stored as humanFileSize (docs/nextcloud-ocs.md#quota-values: 3042824 -> "2.9 MB").
 * Invalid -> undefined (the server throws, which the app does not catch).
 */
export function normalizeQuota(value: string): string | undefined {
  const text = value.trim().toLowerCase();
  if (text === 'none' || text === 'default') return text;
  const match = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)b?$/.exec(text);
  if (!match) return undefined;
  const power = ' kmgtp'.indexOf(match[2] || ' ');
  return humanFileSize(Number(match[1]) * 1024 ** power);
}

function humanFileSize(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  let value = Math.round(bytes / 1024);
  if (value < 1024) return `${value} KB`;
  for (const unit of ['MB', 'GB', 'TB']) {
    value = Math.round((value / 1024) * 10) / 10;
    if (value < 1024) return `${value} ${unit}`;
  }
  return `${Math.round((value / 1024) * 10) / 10} PB`;
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
