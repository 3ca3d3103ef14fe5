/**
 * `kluis keys rotate`: master key rotation without downtime (P11). Org keys are re-wrapped under
 * the current master key; subject keys and data are untouched (they are wrapped by org keys), so
 * the work is one small update per organisation. The re-wrap runs in one key-store transaction
 * that commits only after the audit entry is written ("vault's rule").
 */
import { type Kysely, sql } from 'kysely';
import { type Config, decodeMasterKey, masterKeysOf } from '../../config/env.js';
import { createKeyring, masterKeyId } from '../../crypto/keyring.js';
import type { KeystoreDB } from '../../crypto/keystore-schema.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { appendAudit } from '../security/index.js';

export const ROTATION_PROCEDURE = `Zero-downtime master key rotation:
  1. Generate a new key (openssl rand -base64 32 > master.key.new; chmod 600). Deploy it as
     KLUIS_MASTER_KEY(_FILE) and the old key as KLUIS_MASTER_KEY_PREVIOUS(_FILE) on every
     Kluis process, and restart them one by one: each then reads org keys under either key.
  2. Run \`kluis keys rotate\` once (with the same configuration): every org key is re-wrapped
     under the new key. It is safe while Kluis serves and safe to run again.
  3. Remove KLUIS_MASTER_KEY_PREVIOUS(_FILE) everywhere and restart; destroy the old key once
     no key-store backup that still needs it is kept.

Offline alternative: with Kluis stopped, \`kluis keys rotate --new-key-file <path>\` re-wraps
under the key in <path> while the configured KLUIS_MASTER_KEY is the old one; then point
KLUIS_MASTER_KEY_FILE at the new file before starting Kluis again.`;

export interface RotationKeys {
  /** Current (target) key first, then every key that may still wrap an org key. */
  masterKeys: Buffer[];
  /** Where the target key came from, for the report. */
  source: 'configuration' | 'new-key-file';
}

/**
 * The master keys for a rotation. Without `newKey` it is the configuration (KLUIS_MASTER_KEY
 * with KLUIS_MASTER_KEY_PREVIOUS); with `newKey` (the contents of --new-key-file) the new key
 * becomes current and the configured keys become the previous ones.
 */
export function rotationKeys(config: Config, newKey?: string): RotationKeys {
  const configured = masterKeysOf(config);
  if (newKey === undefined) return { masterKeys: configured, source: 'configuration' };
  const decoded = decodeMasterKey(newKey.trim());
  if (decoded === undefined) {
    throw new AppError('ERR_VALIDATION', {
      message: 'the new master key must be 32 random bytes as base64 (44 chars) or hex (64 chars)',
    });
  }
  if (new Set(decoded).size < 8) {
    throw new AppError('ERR_VALIDATION', { message: 'the new master key is not random: generate a new one' });
  }
  if (configured.some((k) => k.equals(decoded))) {
    throw new AppError('ERR_VALIDATION', {
      message: 'the new master key is already configured: nothing to rotate to',
    });
  }
  return { masterKeys: [decoded, ...configured], source: 'new-key-file' };
}

export interface RotateDeps {
  db: Kysely<DB>;
  keystore: Kysely<KeystoreDB>;
  masterKeys: readonly Buffer[];
  clock: Clock;
  onProgress?: (done: number, total: number) => void;
}

export interface RotateResult {
  rewrapped: number;
  /** Fingerprint of the master key every org key is now wrapped by. */
  masterKeyId: string;
  /** Org keys in the store (all under `masterKeyId` after a successful rotation). */
  orgKeys: number;
}

/** Re-wraps every org key under the current master key and audits `keys.master.rotated`. */
export async function rotateMasterKey(deps: RotateDeps): Promise<RotateResult> {
  const [current] = deps.masterKeys;
  if (current === undefined) throw new AppError('ERR_VALIDATION', { message: 'no master key configured' });
  const currentId = masterKeyId(current);
  return deps.keystore.transaction().execute(async (trx) => {
    // Take the write lock first: on SQLite a transaction that reads and then writes fails with
    // BUSY_SNAPSHOT when the serving process wrote in between; a write waits its turn instead.
    await sql`update org_keys set org_id = org_id where 1 = 0`.execute(trx);
    const keyring = createKeyring({ keystore: trx, masterKeys: deps.masterKeys, clock: deps.clock });
    const { rewrapped } = await keyring.rotateMasterKey(deps.onProgress);
    const rows = await trx.selectFrom('org_keys').select('master_key_id').execute();
    const stale = rows.filter((r) => r.master_key_id !== currentId).length;
    if (stale > 0) {
      throw new AppError('ERR_CONFLICT', {
        message: `${stale} org keys are still under an older master key after the rotation; nothing was changed`,
      });
    }
    // Audit before the key-store commit: if the trail cannot be written, the rotation rolls back.
    await appendAudit(deps.db, deps.clock, {
      actor: { kind: 'anonymous', orgId: null, ref: 'system:cli' },
      action: 'keys.master.rotated',
      meta: { count: rewrapped, master_key_id: currentId, org_keys: rows.length },
    });
    return { rewrapped, masterKeyId: currentId, orgKeys: rows.length };
  });
}
