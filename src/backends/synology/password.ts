/** First passwords for new DSM users, made to pass DSM's password rules. */
import { randomInt } from 'node:crypto';

/**
 * 20 characters with upper case, lower case, digits and a symbol: passes DSM's strength rules (3123 "not strong
 * enough") and stays far below its 127-character limit (docs/synology-dsm.md#users).
 */
export function generateDsmPassword(): string {
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
