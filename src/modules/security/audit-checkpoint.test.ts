import { randomBytes, verify } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis, testDialect } from '../../../test/dialects.js';
import { dropAppendOnlyGuards, recomputeChainFrom } from '../../../test/security/audit-attacker.js';
import { createFixedClock, HOUR } from '../../shared/clock.js';
import { isAppError } from '../../shared/errors.js';
import { appendAudit } from './audit-chain.js';
import { auditSigningKeyOf, auditVerifyOptionsOf, createCheckpoint } from './audit-checkpoint.js';
import {
  auditPublicKeyFromBase64,
  checkpointMessage,
  deriveAuditSigningKey,
  signCheckpoint,
} from './audit-signing.js';
import { verifyAuditChain } from './audit-verify.js';
import { readWitness, type WitnessLine, witnessOf, witnessPathOf } from './audit-witness.js';

const clock = createFixedClock('2025-04-01T08:00:00.000Z');

async function append(kluis: TestKluis, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    clock.advance(1000);
    await appendAudit(kluis.db, clock, {
      actor: { kind: 'anonymous', orgId: null, ref: 'system:test' },
      action: 'test.event',
      meta: { i },
    });
  }
}

const verifyAll = (kluis: TestKluis) =>
  verifyAuditChain(kluis.db, { ...auditVerifyOptionsOf(kluis), batchSize: 4 });

/** The witness's lines: the file on SQLite, the shared ledger schema on PostgreSQL. */
async function witnessLines(kluis: TestKluis): Promise<WitnessLine[]> {
  const out: WitnessLine[] = [];
  for await (const read of readWitness(witnessOf(kluis).source)) if (read.ok) out.push(read.line);
  return out;
}

const onSqlite = testDialect === 'sqlite';

describe('the checkpoint signing key', () => {
  it('is derived deterministically from the master key, and differs per master key', () => {
    const master = randomBytes(32);
    const a = deriveAuditSigningKey(master);
    const b = deriveAuditSigningKey(Buffer.from(master));
    const other = deriveAuditSigningKey(randomBytes(32));
    expect(a.publicKeyBase64).toBe(b.publicKeyBase64);
    expect(a.keyId).toBe(b.keyId);
    expect(other.publicKeyBase64).not.toBe(a.publicKeyBase64);
    expect(Buffer.from(a.publicKeyBase64, 'base64')).toHaveLength(32);
  });

  it('produces Ed25519 signatures that a printed public key verifies, and that fail when tampered', () => {
    const key = deriveAuditSigningKey(randomBytes(32));
    const signature = Buffer.from(
      signCheckpoint(key, 7, 'ab'.repeat(32), '2025-01-01T00:00:00.000Z'),
      'base64',
    );
    const printed = auditPublicKeyFromBase64(key.publicKeyBase64);
    expect(printed?.keyId).toBe(key.keyId);
    const message = checkpointMessage(7, 'ab'.repeat(32), '2025-01-01T00:00:00.000Z');
    expect(printed && verify(null, message, printed.publicKey, signature)).toBe(true);
    const tampered = checkpointMessage(8, 'ab'.repeat(32), '2025-01-01T00:00:00.000Z');
    expect(printed && verify(null, tampered, printed.publicKey, signature)).toBe(false);
  });
});

describe('signed checkpoints and the witness file', () => {
  let kluis: TestKluis;
  beforeEach(async () => {
    kluis = await createTestKluis({ clock });
    await append(kluis, 10);
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  it('signs the head, stores the checkpoint and appends a witness line outside the database', async () => {
    const cp = await createCheckpoint(kluis);
    expect(cp).toMatchObject({ created: true, seq: 10 });
    const head = await kluis.db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
    expect(cp.hash).toBe(head.hash);
    const rows = await kluis.db.selectFrom('audit_checkpoints').selectAll().execute();
    expect(rows).toHaveLength(1);
    const lines = await witnessLines(kluis);
    expect(lines).toEqual([
      {
        v: 1,
        seq: 10,
        hash: head.hash,
        at: cp.at,
        signature: cp.signature,
        keyId: cp.keyId,
        publicKey: auditSigningKeyOf(kluis.config).publicKeyBase64,
      },
    ]);
    const report = await verifyAll(kluis);
    expect(report).toMatchObject({
      ok: true,
      checked: 10,
      checkpoints: { checked: 1, latest: { seq: 10 } },
      witness: { present: true, lines: 1, latestSeq: 10 },
    });
    expect(report.warnings).toEqual([]);
  });

  it('does not sign the same head twice, and signs again after new entries', async () => {
    await createCheckpoint(kluis);
    expect((await createCheckpoint(kluis)).created).toBe(false);
    await append(kluis, 2);
    clock.advance(HOUR);
    expect(await createCheckpoint(kluis)).toMatchObject({ created: true, seq: 12 });
    expect((await witnessLines(kluis)).map((l) => l.seq)).toEqual([10, 12]);
    expect((await verifyAll(kluis)).ok).toBe(true);
  });

  it('refuses to sign a chain that was tampered with since the last checkpoint', async () => {
    await createCheckpoint(kluis);
    await append(kluis, 3);
    await dropAppendOnlyGuards(kluis.db);
    await kluis.db.updateTable('audit_log').set({ action: 'test.rewritten' }).where('seq', '=', 12).execute();
    const error = await createCheckpoint(kluis).catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe('ERR_AUDIT_CHAIN_BROKEN');
    expect(await witnessLines(kluis)).toHaveLength(1);
  });

  it('refuses updates and deletes of checkpoints (append-only)', async () => {
    await createCheckpoint(kluis);
    await expect(kluis.db.deleteFrom('audit_checkpoints').execute()).rejects.toThrow(/append-only/);
  });

  it.runIf(onSqlite)('warns when checkpoints exist but the witness file is gone', async () => {
    await createCheckpoint(kluis);
    rmSync(witnessPathOf(kluis.config));
    const report = await verifyAll(kluis);
    expect(report.ok).toBe(true);
    expect(report.warnings.join(' ')).toContain('witness file');
  });

  describe('an attacker with write access to the database', () => {
    beforeEach(async () => {
      await createCheckpoint(kluis);
      await append(kluis, 5);
      await dropAppendOnlyGuards(kluis.db);
    });

    it('is caught forging a checkpoint signature', async () => {
      await kluis.db
        .updateTable('audit_checkpoints')
        .set({ signature: randomBytes(64).toString('base64') })
        .execute();
      expect((await verifyAll(kluis)).broken).toMatchObject({ seq: 10, reason: 'checkpoint_signature' });
    });

    it('is caught signing a checkpoint with a key of its own', async () => {
      const own = deriveAuditSigningKey(randomBytes(32));
      const row = await kluis.db
        .selectFrom('audit_log')
        .selectAll()
        .where('seq', '=', 13)
        .executeTakeFirstOrThrow();
      const at = clock.now().toISOString();
      await kluis.db
        .insertInto('audit_checkpoints')
        .values({
          seq: 13,
          hash: row.hash,
          at,
          signature: signCheckpoint(own, 13, row.hash, at),
          key_id: own.keyId,
        })
        .execute();
      expect((await verifyAll(kluis)).broken).toMatchObject({ seq: 13, reason: 'checkpoint_unknown_key' });
      // An operator who knows that key (e.g. from before a master key rotation) can trust it.
      const options = auditVerifyOptionsOf(kluis);
      const trusting = await verifyAuditChain(kluis.db, {
        ...options,
        trustedKeys: [...options.trustedKeys, own],
      });
      expect(trusting.ok).toBe(true);
    });

    it('is caught cutting the tail and moving the head back, by the checkpoint in the database', async () => {
      await truncateTo(kluis, 7);
      const report = await verifyAll(kluis);
      expect(report.broken).toMatchObject({ seq: 8, reason: 'truncated' });
    });

    it('is caught cutting the tail below the witnessed seq even when it deletes the checkpoints too', async () => {
      await truncateTo(kluis, 7);
      await kluis.db.deleteFrom('audit_checkpoints').execute();
      const report = await verifyAll(kluis);
      expect(report.broken).toMatchObject({ seq: 8, reason: 'truncated' });
      expect(report.broken?.detail).toContain('witness');
    });

    it('is caught rewriting the whole chain with recomputed hashes, by the checkpoint', async () => {
      await kluis.db
        .updateTable('audit_log')
        .set({ actor: 'system:someone-else' })
        .where('seq', '=', 3)
        .execute();
      await recomputeChainFrom(kluis.db, 1);
      expect((await verifyAll(kluis)).broken).toMatchObject({ seq: 10, reason: 'checkpoint_mismatch' });
    });

    it('is caught rewriting the whole chain and deleting the checkpoints, by the witness', async () => {
      await kluis.db
        .updateTable('audit_log')
        .set({ actor: 'system:someone-else' })
        .where('seq', '=', 3)
        .execute();
      await recomputeChainFrom(kluis.db, 1);
      await kluis.db.deleteFrom('audit_checkpoints').execute();
      expect((await verifyAll(kluis)).broken).toMatchObject({ seq: 10, reason: 'witness_mismatch' });
    });

    it('goes unnoticed by the chain alone when it rewrites everything (which is why the witness exists)', async () => {
      await kluis.db
        .updateTable('audit_log')
        .set({ actor: 'system:someone-else' })
        .where('seq', '=', 3)
        .execute();
      await recomputeChainFrom(kluis.db, 1);
      await kluis.db.deleteFrom('audit_checkpoints').execute();
      const report = await verifyAuditChain(kluis.db, {
        trustedKeys: auditVerifyOptionsOf(kluis).trustedKeys,
      });
      expect(report.ok).toBe(true);
    });

    it.runIf(onSqlite)('is caught editing a witness line, whose signature no longer verifies', async () => {
      const file = witnessPathOf(kluis.config);
      const [line] = await witnessLines(kluis);
      expect(line).toBeDefined();
      writeFileSync(file, `${JSON.stringify({ ...line, seq: 3 })}\nnot json\n`);
      const report = await verifyAll(kluis);
      expect(report.broken?.reason).toBe('witness_invalid');
    });
  });

  it.runIf(onSqlite)('keeps the witness file in the data directory, outside the database', () => {
    expect(witnessPathOf(kluis.config).startsWith(kluis.dir)).toBe(true);
    expect(existsSync(witnessPathOf(kluis.config))).toBe(false);
  });
});

/** Deletes every entry after `seq` and points the head at it, as a careful attacker would. */
async function truncateTo(kluis: TestKluis, seq: number): Promise<void> {
  const row = await kluis.db
    .selectFrom('audit_log')
    .select('hash')
    .where('seq', '=', seq)
    .executeTakeFirstOrThrow();
  await kluis.db.deleteFrom('audit_log').where('seq', '>', seq).execute();
  await kluis.db.updateTable('audit_head').set({ seq, hash: row.hash }).where('id', '=', 1).execute();
}
