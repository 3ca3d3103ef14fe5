/**
 * The shared ledger of a cluster on PostgreSQL (decision 0020): the erasure ledger and the audit
 * witness live in their own schema that every node appends to, that refuses every change but an
 * append, and that a restore of the main schema (pg_dump/pg_restore) does not roll back — so the
 * replay after such a restore erases again whoever was erased since the dump.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis, testDialect, testPgUrl } from '../../../test/dialects.js';
import { createOrg } from '../../../test/factories.js';
import { countRows, seedConversation } from '../../../test/retention-fixtures.js';
import { dropAppendOnlyGuards } from '../../../test/security/audit-attacker.js';
import type { Kluis } from '../../kluis.js';
import { createFixedClock } from '../../shared/clock.js';
import { appendAudit } from '../security/audit-chain.js';
import { auditVerifyOptionsOf, createCheckpoint } from '../security/audit-checkpoint.js';
import { verifyAuditChain } from '../security/audit-verify.js';
import { readErasureLedger, verifyErasureLedger } from './retention-ledger.js';

const postgres = testDialect === 'postgres';
const hasPgTools = (() => {
  try {
    execFileSync('pg_dump', ['--version']);
    return true;
  } catch {
    return false;
  }
})();
const clock = createFixedClock('2024-01-01T00:00:00.000Z');

async function currentSchema(kluis: Kluis): Promise<string> {
  const row = await sql<{ s: string }>`select current_schema() as s`.execute(kluis.db);
  return row.rows[0]?.s ?? '';
}

function ledgerSchemaOf(kluis: Kluis): string {
  return kluis.ledgerStore?.schema ?? '';
}

describe.runIf(postgres)('the shared ledger schema on PostgreSQL', () => {
  let kluis: TestKluis;
  let orgId: string;
  beforeEach(async () => {
    clock.set('2024-01-01T00:00:00.000Z');
    kluis = await createTestKluis({ clock });
    orgId = (await createOrg(kluis, 'tenant')).id;
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  it('lives outside the main schema, and refuses UPDATE, DELETE and TRUNCATE even to its owner', async () => {
    const schema = ledgerSchemaOf(kluis);
    expect(schema).toMatch(/_ledger$/);
    expect(schema).not.toBe(await currentSchema(kluis));
    await kluis.services.retention.ledger.append(
      { kind: 'report', run: 'r1', as_of: '2024-01-01T00:00:00.000Z', counts: {} },
      clock.now(),
    );
    await createCheckpoint(kluis).catch(() => undefined);
    await appendAudit(kluis.db, clock, {
      actor: { kind: 'anonymous', orgId: null, ref: 'test' },
      action: 'test.entry',
    });
    await createCheckpoint(kluis);
    for (const table of ['erasure_ledger', 'audit_witness']) {
      const t = sql.id(schema, table);
      await expect(sql`update ${t} set line = '{}'`.execute(kluis.db)).rejects.toThrow(/append-only/);
      await expect(sql`delete from ${t}`.execute(kluis.db)).rejects.toThrow(/append-only/);
      await expect(sql`truncate ${t}`.execute(kluis.db)).rejects.toThrow(/append-only/);
    }
    const counted = await sql<{ n: number }>`
      select (select count(*) from ${sql.id(schema, 'erasure_ledger')})::int
           + (select count(*) from ${sql.id(schema, 'audit_witness')})::int as n`.execute(kluis.db);
    expect(counted.rows[0]?.n).toBe(2);
  });

  it('keeps one hash chain while two nodes append at the same time', async () => {
    const peer = await kluis.openPeer({ clock });
    const body = (run: string) => ({
      kind: 'report' as const,
      run,
      as_of: '2024-01-01T00:00:00.000Z',
      counts: {},
    });
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        (i % 2 === 0 ? kluis : peer).services.retention.ledger.append(body(`run-${i}`), clock.now()),
      ),
    );
    const report = await verifyErasureLedger(kluis.services.retention.ledger.source);
    expect(report).toMatchObject({ ok: true, lines: 30 });
    const runs = new Set<string>();
    for await (const read of readErasureLedger(peer.services.retention.ledger.source)) {
      if (read.ok) runs.add(read.line.run);
    }
    expect(runs.size).toBe(30);
  });

  it('lets another node verify the chain against a witness line one node wrote, and catch a cut tail', async () => {
    for (let i = 0; i < 6; i++) {
      await appendAudit(kluis.db, clock, {
        actor: { kind: 'anonymous', orgId: null, ref: 'test' },
        action: 'test.entry',
      });
    }
    const cp = await createCheckpoint(kluis);
    expect(cp.witnessFile).toContain(ledgerSchemaOf(kluis));
    const peer = await kluis.openPeer({ clock });
    const ok = await verifyAuditChain(peer.db, auditVerifyOptionsOf(peer));
    expect(ok).toMatchObject({ ok: true, witness: { present: true, lines: 1, latestSeq: cp.seq } });

    // The attacker owns the main schema: cuts the tail and the checkpoints.
    await dropAppendOnlyGuards(kluis.db);
    await kluis.db.deleteFrom('audit_checkpoints').execute();
    const kept = await kluis.db
      .selectFrom('audit_log')
      .select('hash')
      .where('seq', '=', 2)
      .executeTakeFirstOrThrow();
    await kluis.db.deleteFrom('audit_log').where('seq', '>', 2).execute();
    await kluis.db.updateTable('audit_head').set({ seq: 2, hash: kept.hash }).where('id', '=', 1).execute();
    const cut = await verifyAuditChain(peer.db, auditVerifyOptionsOf(peer));
    expect(cut.broken?.reason).toBe('truncated');
  });

  it.runIf(hasPgTools)(
    'erases again, after pg_restore of the main schema and key store, whoever was erased since the dump',
    async () => {
      const gone = await seedConversation(kluis, orgId, { closedAt: '2022-01-01T00:00:00.000Z' });
      const main = await currentSchema(kluis);
      const keys = `${main}_keys`;
      const dump = (schema: string) => {
        const file = join(kluis.dir, `${schema}.dump`);
        execFileSync('pg_dump', ['--format=custom', `--schema=${schema}`, `--file=${file}`, testPgUrl]);
        return file;
      };
      const dumps = [dump(main), dump(keys)];

      clock.set('2024-01-10T00:00:00.000Z');
      await kluis.services.retention.run();
      expect(await countRows(kluis, 'conversations')).toBe(0);

      // The restore an operator runs: the main schema and the key store from the dump.
      for (const file of dumps) {
        execFileSync('pg_restore', ['--clean', '--if-exists', '--no-owner', `--dbname=${testPgUrl}`, file]);
      }
      const node = await kluis.openPeer({ clock });
      expect(await countRows(node, 'conversations')).toBe(1);
      expect(await node.keyring.isSubjectKeyDestroyed(orgId, gone.subjectId)).toBe(false);

      // The ledger schema was not part of the restore: the replay finds the erasure there.
      const { database, keys: keyReport } = await node.services.retention.replay(
        node.services.retention.ledger.source,
        '2023-01-01T00:00:00.000Z',
      );
      expect(database).toMatchObject({ entries: 2, records: 2 });
      expect(keyReport).toMatchObject({ keys: 1 });
      expect(await countRows(node, 'conversations')).toBe(0);
      node.keyring.clearCache();
      expect(await node.keyring.isSubjectKeyDestroyed(orgId, gone.subjectId)).toBe(true);
    },
  );
});
