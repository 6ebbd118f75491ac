/**
 * Signed private_metadata. A view submission (and a click on App Home) comes back with the private_metadata of the
 * view it came from; Slack signs the whole payload, but so can anyone holding the signing secret or the app token.
 * So the app signs what it puts there, for the kind of view and the person it was shown to, and takes back only
 * what it signed: a reject form cannot be pointed at another request, or replayed by another person.
 *
 * Format: 43 characters of base64url HMAC-SHA256, a dot, then the payload as the builder wrote it (private_metadata
 * holds at most 3000 characters, docs/slack.md#limits).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const MAC_LENGTH = 43;
/** How many characters seal() adds to a payload. */
export const SEAL_OVERHEAD = MAC_LENGTH + 1;

export class ViewSeal {
  private readonly key: Buffer;

  /** `secret`: one the app holds and every replica shares (the bot token); only a key derived from it is kept. */
  constructor(secret: string) {
    if (secret.length === 0) throw new Error('ViewSeal needs a secret to sign private_metadata with');
    this.key = createHmac('sha256', secret).update('accountdesk private_metadata v1').digest();
  }

  /** The private_metadata for a view of `kind` (its callback_id, or "home") shown to `user`. */
  seal(kind: string, user: string, payload: string): string {
    return `${this.mac(kind, user, payload)}.${payload}`;
  }

  /** The payload, if `sealed` is what seal() gave for this kind and user; undefined for anything else. */
  open(kind: string, user: string, sealed: string | undefined): string | undefined {
    if (typeof sealed !== 'string' || sealed.charAt(MAC_LENGTH) !== '.') return undefined;
    const payload = sealed.slice(MAC_LENGTH + 1);
    const given = Buffer.from(sealed.slice(0, MAC_LENGTH));
    const expected = Buffer.from(this.mac(kind, user, payload));
    return given.length === expected.length && timingSafeEqual(given, expected) ? payload : undefined;
  }

  private mac(kind: string, user: string, payload: string): string {
    // NUL cannot occur in a callback_id or a user id, so the three parts cannot be shifted into one another.
    return createHmac('sha256', this.key).update(`${kind}\0${user}\0${payload}`).digest('base64url');
  }
}
