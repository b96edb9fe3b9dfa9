/** Ids the core generates. MicroVM ids double as sandbox ids and endpoint host labels. */
import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function newMicrovmId(): string {
  let s = '';
  for (const b of randomBytes(20)) s += ALPHABET[b % ALPHABET.length];
  return s;
}
