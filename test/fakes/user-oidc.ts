/**
 * user_oidc's provisioning routes (nextcloud/user_oidc OcsApiController; docs/nextcloud-oidc.md#user_oidc-routes),
 * mounted on the fake Nextcloud through addRoute() so the users they create are ordinary OCS users under the uid
 * user_oidc derives, and the OCS reads, disables and quota edits of the same fake see them. Computes uids itself (not
 * with src/) so a client bug is not mirrored here.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { computerFileSize, contextOf, humanFileSize, SKELETON_BYTES, writeOcs } from './nextcloud.js';
import type { FakeNextcloud } from './nextcloud.js';
import { resolveDotSegments } from './paths.js';

export interface FakeUserOidcProvider {
  id: number;
  identifier: string;
  /** Provider setting "unique user id"; user_oidc's default is on (LocalIdService: getSetting(..., '1')). */
  uniqueUid?: boolean;
  /** Provider setting "provider based id", used only when uniqueUid is off. */
  providerBasedId?: boolean;
}

interface FakeOidcUser {
  uid: string;
  providerId: number;
  sub: string;
}

interface UserOidcRequest {
  method: string;
  rawPath: string;
  body: unknown;
}

type UserOidcFault = { route: 'create' | 'delete'; drop: 'before' | 'after' };

export interface FakeUserOidc {
  /** Users user_oidc manages (its own table), by Nextcloud uid. */
  oidcUsers: Map<string, FakeOidcUser>;
  requests: UserOidcRequest[];
  failNext(fault: UserOidcFault): void;
  /** The uid user_oidc computes for a login, from the provider's settings. */
  uidFor(providerId: number, sub: string): string;
}

const ROUTE = /^\/ocs\/v[12]\.php\/apps\/user_oidc\/api\/v1\/user(?:\/([^/]+))?$/;

export function mountFakeUserOidc(
  nextcloud: FakeNextcloud,
  providers: FakeUserOidcProvider[] = [{ id: 1, identifier: 'Keycloak' }],
): FakeUserOidc {
  const oidcUsers = new Map<string, FakeOidcUser>();
  const requests: UserOidcRequest[] = [];
  const faults: UserOidcFault[] = [];

  /** LocalIdService::getId, then UserMapper::getOrCreate's "over 64 chars -> sha256". */
  function uidFor(providerId: number, sub: string): string {
    const provider = providers.find((p) => p.id === providerId);
    // getSetting falls back to '1' for uniqueUid, so a provider id nobody configured still gets a unique uid:
    // user_oidc does not check that the provider exists.
    let uid: string;
    if (provider?.uniqueUid ?? true) uid = sha256(`${providerId}_0_${sub}`);
    else if (provider?.providerBasedId) uid = `${provider.identifier}-${sub}`;
    else uid = sub;
    return Buffer.byteLength(uid, 'utf8') > 64 ? sha256(uid) : uid;
  }

  function takeFault(route: UserOidcFault['route']): UserOidcFault | undefined {
    const index = faults.findIndex((f) => f.route === route);
    return index < 0 ? undefined : faults.splice(index, 1)[0];
  }

  nextcloud.addRoute((req: IncomingMessage, res: ServerResponse, body: unknown) => {
    const rawPath = (req.url ?? '/').split('?')[0] ?? '/';
    const match = ROUTE.exec(resolveDotSegments(rawPath));
    if (!match) return false;
    requests.push({ method: req.method ?? 'GET', rawPath, body });
    // The controller is admin-only: observed on Nextcloud 32.0.1, a non-admin gets 403 "Logged in account must be
    // an admin" on create and delete.
    if (!nextcloud.checkAdmin(req, res)) return true;
    const ctx = contextOf(req);
    const params = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;

    if (req.method === 'POST' && match[1] === undefined) {
      const fault = takeFault('create');
      if (fault?.drop === 'before') return destroy(req);
      const providerId = typeof params.providerId === 'number' ? params.providerId : Number(params.providerId);
      const sub = params.userId;
      // Typed controller parameters (int $providerId, string $userId): a missing one is a server error.
      if (!Number.isInteger(providerId) || typeof sub !== 'string') {
        writeOcs(res, { ...ctx, statuscode: 996, message: 'Internal Server Error\n' }); // observed, with the \n
        return true;
      }
      const uid = uidFor(providerId, sub);
      // getOrCreate: create OR update, never "already exists". Its users belong to the user_oidc user backend
      // (observed: GET /cloud/users/{uid} says "backend": "user_oidc").
      const user = nextcloud.users.get(uid) ?? nextcloud.seedUser({ id: uid, backend: 'user_oidc' });
      oidcUsers.set(uid, { uid, providerId, sub });
      // `if ($displayName)`, `if ($email)`, `if ($quota)`: PHP truthiness, so "" and "0" change nothing.
      if (typeof params.displayName === 'string' && phpTruthy(params.displayName))
        user.displayname = params.displayName;
      // setSystemEMailAddress stores it lower-cased (observed: Alice@Example.com is read back as alice@example.com).
      if (typeof params.email === 'string' && phpTruthy(params.email)) user.email = params.email.toLowerCase();
      if (typeof params.quota === 'string' && phpTruthy(params.quota)) {
        const quota = storedQuota(params.quota);
        // IUser::setQuota throws on a value it cannot parse; the controller does not catch it.
        if (quota === undefined) {
          writeOcs(res, { ...ctx, statuscode: 996, message: 'Internal Server Error\n' });
          return true;
        }
        user.quota = quota;
      }
      // Then getUserFolder + OC_Util::copySkeleton, whose NotPermittedException (the quota is full) the controller
      // swallows: observed on Nextcloud 32.0.1, used is the skeleton's 20,174,294 bytes under a 1 GB quota, and
      // exactly the quota (1,048,576) under a 1 MB one, with the create answered 200.
      if (user.usedBytes === undefined) {
        const limit = user.quota === 'none' || user.quota === 'default' ? undefined : computerFileSize(user.quota);
        user.usedBytes = limit === undefined ? SKELETON_BYTES : Math.min(SKELETON_BYTES, limit);
      }
      if (fault?.drop === 'after') return destroy(req);
      writeOcs(res, { ...ctx, statuscode: 100, data: { user_id: uid } });
      return true;
    }

    if (req.method === 'DELETE' && match[1] !== undefined) {
      const fault = takeFault('delete');
      if (fault?.drop === 'before') return destroy(req);
      const uid = safeDecode(match[1]);
      // deleteUser(string $userId): IUserManager::get($userId), so the id is the Nextcloud uid; a user of another
      // backend is "not found" too. Observed on 32.0.1 (v2): HTTP 404, meta.statuscode 404, meta.message "", and the
      // words in data: {"message": "User not found"}.
      if (!nextcloud.users.has(uid) || !oidcUsers.has(uid)) {
        writeOcs(res, { ...ctx, statuscode: 404, message: '', data: { message: 'User not found' } });
        return true;
      }
      nextcloud.users.delete(uid);
      oidcUsers.delete(uid);
      if (fault?.drop === 'after') return destroy(req);
      writeOcs(res, { ...ctx, statuscode: 100, data: { user_id: uid } });
      return true;
    }

    writeOcs(res, { ...ctx, statuscode: 998, message: 'Invalid query' });
    return true;
  });

  return { oidcUsers, requests, failNext: (fault) => void faults.push(fault), uidFor };
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function phpTruthy(value: string): boolean {
  return value !== '' && value !== '0';
}

/** IUser::setQuota: none/default kept, otherwise parsed (1024 multiples) and stored as a human size. */
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

function destroy(req: IncomingMessage): true {
  req.socket.destroy();
  return true;
}
