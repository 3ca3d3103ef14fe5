import { Writable } from 'node:stream';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testCli } from '../../../test/cli.js';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { dropAppendOnlyGuards, recomputeChainFrom } from '../../../test/security/audit-attacker.js';
import { createFixedClock } from '../../shared/clock.js';
import { appendAudit } from './audit-chain.js';
import { auditSigningKeyOf } from './audit-checkpoint.js';
import { AUDIT_CHECKPOINT_JOB, securityModule } from './index.js';
import { registerSecurityCommands } from './security-commands.js';

const clock = createFixedClock('2025-07-01T10:00:00.000Z');

function _sink(): Writable & { text: string } {
  const w = new Writable({
    write(chunk, _encoding, done) {
      w.text += String(chunk);
      done();
    },
  }) as Writable & { text: string };
  w.text = '';
  return w;
}

async function kluisCli(kluis: TestKluis, ...args: string[]) {
  const run = testCli({ kluis });
  const program = new Command().exitOverride();
  registerSecurityCommands(program, run.io, 5);
  await program.parseAsync(['node', 'kluis', ...args]);
  return { out: run.out.text(), err: run.err.text(), code: run.code() };
}

describe('kluis audit', () => {
  let kluis: TestKluis;
  beforeEach(async () => {
    kluis = await createTestKluis({ clock });
    for (let i = 0; i < 12; i++) {
      await appendAudit(kluis.db, clock, {
        actor: { kind: 'anonymous', orgId: null },
        action: 'test.cli',
        meta: { i },
      });
    }
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  it('verify prints OK with the count and head, and shows progress on stderr', async () => {
    const head = await kluis.db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
    const result = await kluisCli(kluis, 'audit', 'verify', '--batch-size', '5');
    expect(result.code).toBe(0);
    expect(result.out).toContain(`OK: 12 entries verified; head seq 12 (${head.hash})`);
    expect(result.err).toContain('verifying: 5/12');
    expect(result.err).toContain('verifying: 12/12 (100%)');
    expect(result.err).toContain('no signed checkpoint yet');
  });

  it('verify reports the first broken link and exits with 1', async () => {
    await dropAppendOnlyGuards(kluis.db);
    await kluis.db.deleteFrom('audit_log').where('seq', '=', 4).execute();
    const result = await kluisCli(kluis, 'audit', 'verify');
    expect(result.code).toBe(1);
    expect(result.out).toContain('BROKEN at seq 4: gap');
    expect(result.out).not.toContain('OK:');
  });

  it('checkpoint signs the head and writes the witness, which verify then compares', async () => {
    const signed = await kluisCli(kluis, 'audit', 'checkpoint');
    expect(signed.out).toContain('Signed checkpoint at seq 12');
    // The witness: a file beside the SQLite database; on PostgreSQL the shared ledger schema.
    const witness = kluis.dialect === 'sqlite' ? 'audit-witness.jsonl' : '_ledger';
    expect(signed.out).toContain(`Witness: `);
    expect(signed.out).toContain(witness);
    const again = await kluisCli(kluis, 'audit', 'checkpoint');
    expect(again.out).toContain('already covers the head');
    const verified = await kluisCli(kluis, 'audit', 'verify');
    expect(verified.code).toBe(0);
    expect(verified.out).toContain('Checkpoints: 1 checked; latest seq 12');
    expect(verified.out).toMatch(/Witness: .*: 1 lines, latest seq 12/);
    expect(verified.out).toContain(witness);
    const quick = await kluisCli(kluis, 'audit', 'verify', '--quick', '--no-witness');
    expect(quick.out).toContain('OK: 0 entries verified since checkpoint 12');
    expect(quick.out).not.toContain('Witness:');
  });

  it('verify signs and witnesses the verified head, so entries after the last scheduled checkpoint cannot be rewritten unnoticed', async () => {
    expect((await kluisCli(kluis, 'audit', 'checkpoint')).out).toContain('Signed checkpoint at seq 12');
    for (let i = 0; i < 3; i++) {
      await appendAudit(kluis.db, clock, { actor: { kind: 'anonymous', orgId: null }, action: 'test.late' });
    }
    const first = await kluisCli(kluis, 'audit', 'verify');
    expect(first.code).toBe(0);
    expect(first.out).toContain('Witnessed: signed checkpoint at seq 15');
    // Someone with write access rewrites entry 14 (after the scheduled checkpoint at 12) and
    // recomputes the chain from there: consistent in itself, but no longer what was signed.
    await dropAppendOnlyGuards(kluis.db);
    await kluis.db.updateTable('audit_log').set({ action: 'test.rewritten' }).where('seq', '=', 14).execute();
    await recomputeChainFrom(kluis.db, 14);
    const second = await kluisCli(kluis, 'audit', 'verify');
    expect(second.code).toBe(1);
    expect(second.out).toContain('BROKEN at seq 15: checkpoint_mismatch');
    expect(second.out).not.toContain('Witnessed');
    const readOnly = await kluisCli(kluis, 'audit', 'verify', '--no-sign', '--no-witness');
    expect(readOnly.out).not.toContain('Witnessed');
  });

  it('the checkpoint job runs every five minutes, not hourly', () => {
    const schedule = securityModule.schedules?.find((x) => x.name === AUDIT_CHECKPOINT_JOB);
    expect(schedule).toMatchObject({ everySeconds: 300 });
  });

  it('pubkey prints the public key derived from the master key, raw or as PEM', async () => {
    const key = auditSigningKeyOf(kluis.config);
    expect((await kluisCli(kluis, 'audit', 'pubkey')).out.trim()).toBe(key.publicKeyBase64);
    const pem = await kluisCli(kluis, 'audit', 'pubkey', '--pem');
    expect(pem.out).toContain('-----BEGIN PUBLIC KEY-----');
    expect(pem.err).toContain(key.keyId);
  });

  it('verify refuses a malformed trusted key instead of ignoring it', async () => {
    await expect(kluisCli(kluis, 'audit', 'verify', '--trusted-key', 'not-a-key')).rejects.toThrow(
      /32 bytes/,
    );
  });
});
