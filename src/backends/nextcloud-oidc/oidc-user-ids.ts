/**
 * How the OIDC provisioning apps turn a login name (the token's `sub`) into the Nextcloud user id.
 * docs/nextcloud-oidc.md#nmcuser_oidc-user-ids and #user_oidc-user-ids; user_oidc's LocalIdService and
 * UserMapper::getOrCreate.
 */
import { createHash } from 'node:crypto';
import { BackendError } from '../types.js';

/** Nextcloud user ids are at most 64 characters; user_oidc hashes any longer id (UserMapper::getOrCreate). */
const NEXTCLOUD_UID_MAX_LENGTH = 64;

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** An id longer than 64 characters becomes its sha256 hex digest (64 characters). */
function fitNextcloudUidLength(id: string): string {
  // PHP's strlen counts bytes, not characters: compare the UTF-8 length.
  return Buffer.byteLength(id, 'utf8') > NEXTCLOUD_UID_MAX_LENGTH ? sha256Hex(id) : id;
}

/**
 * nmcuser_oidc: the id is the username, or sha256(username) when longer than 64 chars
 * (docs/nextcloud-oidc.md#nmcuser_oidc-user-ids).
 */
export function nmcuserIdFor(username: string): string {
  return fitNextcloudUidLength(username);
}

type UidMode = 'unique' | 'providerBased' | 'raw';

export interface UidDerivation {
  uidMode: UidMode;
  providerId: number;
  providerIdentifier: string;
}

/**
 * user_oidc's uid for a `sub`: uniqueUid (the default) sha256("{providerId}_0_{sub}"); providerBasedId
 * "{providerIdentifier}-{sub}"; otherwise the raw sub; then any id over 64 chars is sha256-hashed.
 */
export function deriveUserOidcUid(derivation: UidDerivation, sub: string): string {
  switch (derivation.uidMode) {
    case 'unique':
      // "_0_" marks a non-ID4me login (LocalIdService::getId).
      return fitNextcloudUidLength(sha256Hex(`${derivation.providerId}_0_${sub}`));
    case 'providerBased':
      return fitNextcloudUidLength(`${derivation.providerIdentifier}-${sub}`);
    case 'raw':
      return fitNextcloudUidLength(sub);
  }
}

/**
 * Refuses a user id that no URL can address. The web server resolves `.` and `..` segments and Nextcloud's
 * router (Symfony) decodes %2F before matching `{id}` (which excludes `/`), so such an id would either reach
 * another route or none: better to say so before sending anything.
 */
export function assertAddressableId(backend: string, id: string, shownAs: string): void {
  if (id === '' || id === '.' || id === '..' || /[/\\]/.test(id)) {
    throw new BackendError(
      backend,
      'invalid_input',
      `'${shownAs}' cannot be used as a Nextcloud user id on ${backend}: it is empty, '.' or '..', or contains '/' ` +
        `or '\\'`,
    );
  }
}
