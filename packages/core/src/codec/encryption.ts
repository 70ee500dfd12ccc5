import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { TamperedFileError } from '../errors.js';

/**
 * The encryption stage of the codec pipeline: AES-256-GCM from `node:crypto`, with a
 * fresh 96-bit IV per file and the 128-bit authentication tag appended to the ciphertext.
 *
 * @module
 */

/** The stage name recorded in a header's `codec` list. */
export const AES_256_GCM = 'aes-256-gcm';
/** Bytes of an AES-256 key. */
export const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** What is encrypted, and what the ciphertext is bound to (additional authenticated data). */
export interface Sealed {
  /** The ciphertext followed by the 16-byte GCM tag. */
  readonly data: Uint8Array;
  /** The IV, base64url. */
  readonly iv: string;
}

/** Encrypts `plain` with `key`, binding it to `aad` (e.g. the file's kind, aggregate and versions). */
export function seal(key: Uint8Array, plain: Uint8Array, aad: Uint8Array): Sealed {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const head = cipher.update(plain);
  const tail = cipher.final();
  const tag = cipher.getAuthTag();
  const data = new Uint8Array(head.byteLength + tail.byteLength + TAG_BYTES);
  data.set(head, 0);
  data.set(tail, head.byteLength);
  data.set(tag, head.byteLength + tail.byteLength);
  return { data, iv: iv.toString('base64url') };
}

/**
 * Decrypts what {@link seal} made.
 * @throws {TamperedFileError} naming `path` when the tag does not match (altered data or
 * AAD, or the wrong key) or the IV is malformed.
 */
export function open(path: string, key: Uint8Array, sealed: Sealed, aad: Uint8Array): Uint8Array {
  const iv = Buffer.from(sealed.iv, 'base64url');
  if (iv.byteLength !== IV_BYTES || sealed.data.byteLength < TAG_BYTES) {
    throw new TamperedFileError(path, 'malformed IV or ciphertext');
  }
  const cut = sealed.data.byteLength - TAG_BYTES;
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.data.subarray(cut));
  const head = decipher.update(sealed.data.subarray(0, cut));
  try {
    const tail = decipher.final();
    return tail.byteLength === 0 ? head : Buffer.concat([head, tail]);
  } catch (error) {
    throw new TamperedFileError(
      path,
      `authentication failed (the data, its header or the key is not what was written): ${(error as Error).message}`,
    );
  }
}
