/**
 * What AccountDesk generates itself: request ids, and first passwords for backends that need one from us.
 */
import { randomInt } from 'node:crypto';

/** Request ids people can read out and type: "AD-" and six characters without look-alikes (0/O, 1/I/L). */
const ID_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
export function newRequestId(): string {
  let id = 'AD-';
  for (let i = 0; i < 6; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

/**
 * 20 characters with upper case, lower case, digits and a symbol: passes DSM's strength rules (3123 "not strong
 * enough") and stays far below its 127-character limit (reference/synology.md).
 */
export function generateStrongPassword(): string {
  const sets = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!#%+-=?@_'];
  const all = sets.join('');
  const chars = sets.map((set) => set[randomInt(set.length)]!);
  for (let i = 0; i < 16; i++) chars.push(all[randomInt(all.length)]!);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}
