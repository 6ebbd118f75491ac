/** Request ids. */
import { randomInt } from 'node:crypto';

/** Request ids people can read out and type: "AD-" and six characters without look-alikes (0/O, 1/I/L). */
const ID_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
export function newRequestId(): string {
  let id = 'AD-';
  for (let i = 0; i < 6; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}
