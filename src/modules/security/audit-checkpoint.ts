/**
 * Signed audit checkpoints (ASVS 16.4.2): the chain's head, signed with the installation's
 * Ed25519 key, stored in `audit_checkpoints` and appended to the witness file outside the
 * database. Meant to run as a recurring job (and via `kluis audit checkpoint`).
 */
import type { Config } from '../../config/env.js';
import { masterKeysOf } from '../../config/env.js';
import type { Kluis } from '../../kluis.js';
import { AppError } from '../../shared/errors.js';
import {
  type AuditPublicKey,
  type AuditSigningKey,
  auditPublicKeyFromBase64,
  deriveAuditSigningKey,
  signCheckpoint,
} from './audit-signing.js';
import { type AuditVerifyOptions, verifyAuditChain } from './audit-verify.js';
import { witnessOf } from './audit-witness.js';

/** The key this installation signs checkpoints with (from the current master key). */
export function auditSigningKeyOf(config: Config): AuditSigningKey {
  const [current] = masterKeysOf(config);
  if (current === undefined)
    throw new AppError('ERR_INTERNAL', { message: 'no usable master key configured' });
  return deriveAuditSigningKey(current);
}

/** Keys whose signatures `audit verify` accepts: the current and previous master keys' plus `extra`. */
export function trustedAuditKeysOf(config: Config, extra: readonly string[] = []): AuditPublicKey[] {
  const keys: AuditPublicKey[] = masterKeysOf(config).map((k) => deriveAuditSigningKey(k));
  for (const value of extra) {
    const key = auditPublicKeyFromBase64(value);
    if (key === undefined) {
      throw new AppError('ERR_VALIDATION', { message: 'a trusted audit key must be 32 bytes in base64' });
    }
    keys.push(key);
  }
  return keys;
}

/** The trusted keys and witness file of this installation, for `verifyAuditChain`. */
export function auditVerifyOptionsOf(kluis: Pick<Kluis, 'config' | 'ledgerStore'>): AuditVerifyOptions {
  return { trustedKeys: trustedAuditKeysOf(kluis.config), witnessFile: witnessOf(kluis).source };
}

export interface CheckpointResult {
  /** False when the newest checkpoint already covers the head, or the chain is empty. */
  readonly created: boolean;
  readonly seq: number;
  readonly hash: string;
  readonly at: string;
  readonly signature: string;
  readonly keyId: string;
  readonly witnessFile: string;
}

/**
 * Signs the current head after checking everything appended since the previous checkpoint (a
 * broken chain is never signed), stores the checkpoint and appends it to the witness file.
 */
export async function createCheckpoint(
  kluis: Pick<Kluis, 'config' | 'db' | 'clock' | 'ledgerStore'>,
): Promise<CheckpointResult> {
  const key = auditSigningKeyOf(kluis.config);
  const witness = witnessOf(kluis);
  const witnessFile = witness.where;
  const report = await verifyAuditChain(kluis.db, {
    trustedKeys: trustedAuditKeysOf(kluis.config),
    from: 'latest-checkpoint',
  });
  if (report.broken !== undefined) {
    throw new AppError('ERR_AUDIT_CHAIN_BROKEN', {
      message: `refusing to sign a broken chain: seq ${report.broken.seq} ${report.broken.reason}: ${report.broken.detail}`,
    });
  }
  const latest = report.checkpoints.latest;
  const head = report.head;
  if (head === undefined || head.seq === 0 || (latest !== undefined && latest.seq >= head.seq)) {
    const existing = latest === undefined ? undefined : await findCheckpoint(kluis, latest.seq);
    return {
      created: false,
      seq: existing?.seq ?? 0,
      hash: existing?.hash ?? '',
      at: existing?.at ?? '',
      signature: existing?.signature ?? '',
      keyId: existing?.key_id ?? key.keyId,
      witnessFile,
    };
  }
  const at = kluis.clock.now().toISOString();
  const signature = signCheckpoint(key, head.seq, head.hash, at);
  const inserted = await kluis.db.transaction().execute(async (trx) => {
    const result = await trx
      .insertInto('audit_checkpoints')
      .values({ seq: head.seq, hash: head.hash, at, signature, key_id: key.keyId })
      .onConflict((oc) => oc.column('seq').doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) return false;
    // Written before the commit: a checkpoint in the database always has its witness line. (A
    // line whose commit then fails is harmless: it still names a real point of the chain.)
    await witness.append({
      v: 1,
      seq: head.seq,
      hash: head.hash,
      at,
      signature,
      keyId: key.keyId,
      publicKey: key.publicKeyBase64,
    });
    return true;
  });
  if (!inserted) {
    // Another node signed this head at the same moment.
    const existing = await findCheckpoint(kluis, head.seq);
    return {
      created: false,
      seq: head.seq,
      hash: head.hash,
      at: existing?.at ?? at,
      signature: existing?.signature ?? signature,
      keyId: existing?.key_id ?? key.keyId,
      witnessFile,
    };
  }
  return { created: true, seq: head.seq, hash: head.hash, at, signature, keyId: key.keyId, witnessFile };
}

async function findCheckpoint(kluis: Pick<Kluis, 'db'>, seq: number) {
  const row = await kluis.db
    .selectFrom('audit_checkpoints')
    .selectAll()
    .where('seq', '=', seq)
    .executeTakeFirst();
  return row === undefined ? undefined : { ...row, seq: Number(row.seq) };
}
