/**
 * Encryption of stored secrets: AES-256-GCM with a random 96-bit nonce per secret. The row's id is
 * authenticated data, so a ciphertext copied onto another row does not decrypt.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CubbyError } from '../errors/index.js';

const PREFIX = 'v1.';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const MASTER_KEY_BYTES = 32;

export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== MASTER_KEY_BYTES) {
      throw new CubbyError('STORE_MASTER_KEY_INVALID', `master key must be ${MASTER_KEY_BYTES} bytes`);
    }
    this.#key = Buffer.from(key);
  }

  seal(plaintext: string, aad: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  open(sealed: string, aad: string): string {
    try {
      if (!sealed.startsWith(PREFIX)) throw new Error('unknown format');
      const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64url');
      if (raw.length < IV_BYTES + TAG_BYTES) throw new Error('too short');
      const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      // No cause attached: it would only say "unsupported state or unable to authenticate data".
      throw new CubbyError('STORE_SECRET_UNREADABLE', 'a stored secret does not decrypt with this master key', { details: { aad } });
    }
  }
}
