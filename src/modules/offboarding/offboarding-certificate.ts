/**
 * The deletion certificate of an offboarded tenant (Art. 28(3)(g), P10): what was deleted (rows
 * per table), what was kept and why, which keys were destroyed, and when — signed with the
 * installation's Ed25519 audit key (the one that signs audit checkpoints).
 *
 * The file is canonical JSON (keys sorted, no whitespace) of `{ certificate, key_id, signature }`;
 * the signature covers the UTF-8 bytes of the canonical JSON of `certificate` alone. Anyone with
 * the published public key (`GET /.well-known/kluis-audit-key`, `kluis audit pubkey`) checks it
 * with plain `node:crypto`: `verify(null, bytes, publicKey, signature)`.
 */
import { sign, verify } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from '../../shared/canonical-json.js';
import type { AuditPublicKey, AuditSigningKey } from '../security/index.js';

export const CERTIFICATE_FORMAT = 'kluis.deletion-certificate/1';

const certificateSchema = z.object({
  format: z.literal(CERTIFICATE_FORMAT),
  tenant: z.object({ id: z.string(), slug: z.string(), name: z.string() }),
  started_at: z.string(),
  finished_at: z.string(),
  /** Rows deleted, per table. */
  deleted: z.record(z.string(), z.number().int().nonnegative()),
  /** Tables whose rows of the tenant were kept, with the reason (no personal values). */
  kept: z.record(z.string(), z.string()),
  destroyed_keys: z.object({
    /** The org key (named by the org id): every subject key was wrapped by it. */
    org: z.string(),
    /** The subject keys destroyed with it (named by the data subject ids). */
    subjects: z.array(z.string()),
  }),
  /** The erasure-ledger lines that keep a restored backup erased. */
  ledger: z.array(z.object({ seq: z.number().int(), target: z.string() })),
});

export type DeletionCertificate = z.infer<typeof certificateSchema>;

const fileSchema = z.object({
  certificate: certificateSchema,
  key_id: z.string(),
  signature: z.string(),
});

/** The exact bytes the signature covers. */
export function certificateBytes(certificate: DeletionCertificate): Buffer {
  return Buffer.from(canonicalJson(certificate), 'utf8');
}

/** The signed certificate file's text. */
export function signCertificate(key: AuditSigningKey, certificate: DeletionCertificate): string {
  const signature = sign(null, certificateBytes(certificate), key.privateKey).toString('base64');
  return canonicalJson({ certificate, key_id: key.keyId, signature });
}

export type CertificateCheck =
  | { readonly ok: true; readonly certificate: DeletionCertificate; readonly keyId: string }
  | { readonly ok: false; readonly reason: 'malformed' | 'unknown_key' | 'invalid_signature' };

/** Checks a certificate file against trusted public keys (never a key the file carries itself). */
export function verifyCertificate(
  text: string,
  trusted: ReadonlyMap<string, AuditPublicKey>,
): CertificateCheck {
  let parsed: z.infer<typeof fileSchema>;
  try {
    const result = fileSchema.safeParse(JSON.parse(text));
    if (!result.success) return { ok: false, reason: 'malformed' };
    parsed = result.data;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  // The file is canonical: every other spelling of the same values is a changed file.
  if (canonicalJson(parsed) !== text.trim()) return { ok: false, reason: 'malformed' };
  const key = trusted.get(parsed.key_id);
  if (key === undefined) return { ok: false, reason: 'unknown_key' };
  const signature = Buffer.from(parsed.signature, 'base64');
  const good =
    signature.length === 64 && verify(null, certificateBytes(parsed.certificate), key.publicKey, signature);
  return good
    ? { ok: true, certificate: parsed.certificate, keyId: parsed.key_id }
    : { ok: false, reason: 'invalid_signature' };
}

/** The published form of the audit key: raw base64, PEM, and its id. */
export function publishedKey(key: AuditPublicKey) {
  return {
    keyId: key.keyId,
    algorithm: 'Ed25519',
    publicKey: key.publicKeyBase64,
    pem: String(key.publicKey.export({ format: 'pem', type: 'spki' })),
  };
}
