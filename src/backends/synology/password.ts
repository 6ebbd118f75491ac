/**
 * First passwords for new DSM users. DSM requires a password on create (reference: SYNO.Core.User create), at
 * most 127 characters, and DSM's strong-password policy may demand mixed case, digits and a special character.
 */
import { randomInt } from 'node:crypto';

const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const DIGITS = '23456789';
// Characters that survive being read aloud, pasted into a login form and a shell; no quotes or backslashes.
const SPECIAL = '!#%+-=?@_';
const ALL = LOWER + UPPER + DIGITS + SPECIAL;

/** DSM's limit on password length (reference: "password <= 127"). */
export const DSM_MAX_PASSWORD_LENGTH = 127;

/** A random password with every character class present, from a CSPRNG. */
export function generateDsmPassword(length = 20): string {
  if (length < 8 || length > DSM_MAX_PASSWORD_LENGTH) throw new RangeError('password length must be 8-127');
  const chars = [pick(LOWER), pick(UPPER), pick(DIGITS), pick(SPECIAL)];
  while (chars.length < length) chars.push(pick(ALL));
  // Fisher-Yates so the guaranteed classes are not always in front.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}

function pick(alphabet: string): string {
  return alphabet[randomInt(alphabet.length)]!;
}
