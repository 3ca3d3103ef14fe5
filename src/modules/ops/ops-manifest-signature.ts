/**
 * Backup manifests are signed with the installation's audit signing key (Ed25519, derived from
 * the master key; `kluis audit pubkey` prints its public half). The hashes in a manifest show
 * that the files are the ones it lists; the signature shows that this installation wrote the
 * manifest, so someone who can write to the backup folder cannot swap a file and its hash. The
 * message is domain-separated from audit checkpoints and covers the manifest with its keys sorted
 * at every level, so reading and re-writing it (in any key order) keeps it valid.
 */
import { sign, verify } from 'node:crypto';
import { canonicalJson } from '../../shared/canonical-json.js';
import type { AuditPublicKey, AuditSigningKey } from '../security/index.js';

export interface ManifestSignature {
  readonly key_id: string;
  /** Base64 Ed25519 signature over `manifestMessage(body)`. */
  readonly value: string;
}

/** The exact bytes a manifest signature covers: everything but the signature itself. */
export function manifestMessage(body: object): Buffer {
  const { signature: _signature, ...rest } = body as { signature?: unknown };
  return Buffer.from(`kluis-backup-manifest/v1\n${canonicalJson(rest)}`, 'utf8');
}

export function signManifest<T extends object>(
  body: T,
  key: AuditSigningKey,
): T & { signature: ManifestSignature } {
  const value = sign(null, manifestMessage(body), key.privateKey).toString('base64');
  return { ...body, signature: { key_id: key.keyId, value } };
}

export type ManifestSignatureCheck = 'valid' | 'unsigned' | 'unknown_key' | 'invalid';

/** Checks against the installation's keys only (never a key the manifest names itself). */
export function checkManifestSignature(
  manifest: { signature?: ManifestSignature | undefined },
  trusted: ReadonlyMap<string, AuditPublicKey>,
): ManifestSignatureCheck {
  const signature = manifest.signature;
  if (signature === undefined) return 'unsigned';
  const key = trusted.get(signature.key_id);
  if (key === undefined) return 'unknown_key';
  const bytes = Buffer.from(signature.value, 'base64');
  if (bytes.length !== 64) return 'invalid';
  return verify(null, manifestMessage(manifest), key.publicKey, bytes) ? 'valid' : 'invalid';
}
