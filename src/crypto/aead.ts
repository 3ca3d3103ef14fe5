/**
 * AES-256-GCM with a versioned envelope (ASVS 11.2.2 crypto agility):
 *   byte 0      format version (1)
 *   bytes 1-12  random 96-bit IV
 *   bytes 13-28 128-bit authentication tag
 *   bytes 29-   ciphertext
 * The associated data binds the ciphertext to where it belongs (table, column, row, owner),
 * so a ciphertext moved to another row or field fails to decrypt.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AppError } from '../shared/errors.js';

const VERSION = 1;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const HEADER = 1 + IV_LENGTH + TAG_LENGTH;

export function seal(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  if (key.length !== 32) throw new Error('AES-256-GCM needs a 32-byte key');
  const iv = randomBytes(IV_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
}

export function open(key: Buffer, envelope: Buffer, aad: string): Buffer {
  if (envelope.length < HEADER || envelope[0] !== VERSION) {
    throw new AppError('ERR_CRYPTO_DECRYPT_FAILED', { message: 'unknown or truncated ciphertext envelope' });
  }
  const iv = envelope.subarray(1, 1 + IV_LENGTH);
  const tag = envelope.subarray(1 + IV_LENGTH, HEADER);
  // authTagLength pins the tag size: without it Node accepts truncated tags (DEP0182).
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(envelope.subarray(HEADER)), decipher.final()]);
  } catch (cause) {
    throw new AppError('ERR_CRYPTO_DECRYPT_FAILED', { message: 'authentication failed', cause });
  }
}
