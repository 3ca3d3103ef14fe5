/**
 * The Ed25519 key that signs audit checkpoints. It is derived deterministically from the master
 * key (HKDF -> 32-byte seed -> PKCS#8), so every node of one installation signs with the same key
 * without storing it, and its public key can be printed (`kluis audit pubkey`) and kept apart
 * from the server. A previous master key (during rotation) yields the previous signing key, so
 * checkpoints signed before a rotation keep verifying while that key is configured.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  hkdfSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';

/** A key that can check checkpoint signatures. */
export interface AuditPublicKey {
  /** First 16 hex characters of SHA-256 of the raw 32-byte public key. */
  readonly keyId: string;
  readonly publicKey: KeyObject;
  /** The raw 32-byte public key, base64. */
  readonly publicKeyBase64: string;
}

export interface AuditSigningKey extends AuditPublicKey {
  readonly privateKey: KeyObject;
}

/** ASN.1 prefix of a PKCS#8 Ed25519 private key (RFC 8410) before its 32-byte seed. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** ASN.1 prefix of an SPKI Ed25519 public key before its 32 raw bytes. */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function keyIdOf(raw: Buffer): string {
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

function rawPublicKey(publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return spki.subarray(spki.length - 32);
}

/** The installation's checkpoint signing key, derived from one master key. */
export function deriveAuditSigningKey(masterKey: Buffer): AuditSigningKey {
  const seed = Buffer.from(
    hkdfSync('sha256', masterKey, 'kluis/audit-signing', 'audit-checkpoint-key/v1', 32),
  );
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const publicKey = createPublicKey(privateKey);
  const raw = rawPublicKey(publicKey);
  return { keyId: keyIdOf(raw), publicKey, publicKeyBase64: raw.toString('base64'), privateKey };
}

/** A public key given as raw base64 (as printed by `kluis audit pubkey`); undefined if malformed. */
export function auditPublicKeyFromBase64(value: string): AuditPublicKey | undefined {
  const raw = Buffer.from(value.trim(), 'base64');
  if (raw.length !== 32) return undefined;
  const publicKey = createPublicKey({
    key: Buffer.concat([SPKI_ED25519_PREFIX, raw]),
    format: 'der',
    type: 'spki',
  });
  return { keyId: keyIdOf(raw), publicKey, publicKeyBase64: raw.toString('base64') };
}

export function publicKeyPem(key: AuditPublicKey): string {
  return String(key.publicKey.export({ format: 'pem', type: 'spki' }));
}

/** The exact bytes a checkpoint signature covers (domain-separated, versioned). */
export function checkpointMessage(seq: number, hash: string, at: string): Buffer {
  return Buffer.from(`kluis-audit-checkpoint/v1\n${seq}\n${hash}\n${at}`, 'utf8');
}

export function signCheckpoint(key: AuditSigningKey, seq: number, hash: string, at: string): string {
  return sign(null, checkpointMessage(seq, hash, at), key.privateKey).toString('base64');
}

export type SignatureCheck = 'valid' | 'unknown_key' | 'invalid';

/** Checks a checkpoint's signature against the trusted keys (never against a key it carries itself). */
export function checkCheckpointSignature(
  trusted: ReadonlyMap<string, AuditPublicKey>,
  cp: { seq: number; hash: string; at: string; signature: string; key_id: string },
): SignatureCheck {
  const key = trusted.get(cp.key_id);
  if (key === undefined) return 'unknown_key';
  const signature = Buffer.from(cp.signature, 'base64');
  if (signature.length !== 64) return 'invalid';
  return verify(null, checkpointMessage(cp.seq, cp.hash, cp.at), key.publicKey, signature)
    ? 'valid'
    : 'invalid';
}

export function trustedKeyMap(keys: readonly AuditPublicKey[]): Map<string, AuditPublicKey> {
  return new Map(keys.map((k) => [k.keyId, k]));
}
