/**
 * The key each organisation's OpenDSR endpoint signs with (section 8.6: callbacks and responses
 * carry `X-OpenDSR-Signature`, a base64 signature over the exact body bytes). Ed25519, derived per
 * organisation from the master key (HKDF → 32-byte seed), like the audit checkpoint key: every node
 * signs with the same key without storing it, and one tenant's key says nothing about another's.
 * The public key is published on the tenant's discovery document and at its `processor_certificate`
 * URL (PEM). Rotating the master key changes the key; controllers fetch discovery again when a
 * signature stops verifying (section 8.8, step 3). See decision 0021 for why not an X.509
 * certificate from a CA.
 */
import { createPrivateKey, createPublicKey, hkdfSync, type KeyObject, sign } from 'node:crypto';
import { type Config, masterKeysOf } from '../../config/env.js';

/** ASN.1 prefix of a PKCS#8 Ed25519 private key (RFC 8410) before its 32-byte seed. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface OrgSigningKey {
  readonly privateKey: KeyObject;
  /** SPKI PEM: what discovery publishes. */
  readonly publicKeyPem: string;
}

/** The signing keys of the installation's organisations, derived on first use and kept. */
export function createOpendsrKeys(config: Config) {
  const [master] = masterKeysOf(config);
  if (master === undefined) throw new Error('OpenDSR signing needs a master key');
  const root: Buffer = master;
  const keys = new Map<string, OrgSigningKey>();

  function keyOf(orgId: string): OrgSigningKey {
    const known = keys.get(orgId);
    if (known !== undefined) return known;
    const seed = Buffer.from(hkdfSync('sha256', root, 'kluis/opendsr-signing', `org/v1|${orgId}`, 32));
    const privateKey = createPrivateKey({
      key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
      format: 'der',
      type: 'pkcs8',
    });
    const publicKeyPem = String(createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }));
    const key = { privateKey, publicKeyPem };
    keys.set(orgId, key);
    return key;
  }

  return {
    keyOf,
    /** Base64 Ed25519 signature over exactly these bytes (`X-OpenDSR-Signature`). */
    sign(orgId: string, body: string | Buffer): string {
      return sign(
        null,
        typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
        keyOf(orgId).privateKey,
      ).toString('base64');
    },
  };
}

export type OpendsrKeys = ReturnType<typeof createOpendsrKeys>;
