import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { dropAppendOnlyGuards } from '../../../test/security/audit-attacker.js';
import { createFixedClock } from '../../shared/clock.js';
import { appendAudit, chainHash } from './audit-chain.js';
import { auditVerifyOptionsOf } from './audit-checkpoint.js';
import { verifyAuditChain } from './audit-verify.js';

const clock = createFixedClock('2025-03-01T10:00:00.000Z');

async function seedChain(kluis: TestKluis, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) {
    clock.advance(1000);
    await appendAudit(kluis.db, clock, {
      actor: { kind: 'anonymous', orgId: null, ref: `system:test-${i}` },
      action: 'test.event',
      target: { type: 'thing', id: randomUUID() },
      fields: ['email'],
      meta: { i },
    });
  }
}

const verify = (kluis: TestKluis, batchSize = 4) =>
  verifyAuditChain(kluis.db, { ...auditVerifyOptionsOf(kluis), batchSize });

describe('audit chain verification', () => {
  let kluis: TestKluis;
  beforeEach(async () => {
    kluis = await createTestKluis({ clock });
    await seedChain(kluis, 10);
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  it('accepts an untouched chain, walking it in batches, and reports count and head', async () => {
    const progress: number[] = [];
    const report = await verifyAuditChain(kluis.db, {
      ...auditVerifyOptionsOf(kluis),
      batchSize: 3,
      onProgress: (checked) => progress.push(checked),
    });
    expect(report.broken).toBeUndefined();
    expect(report.ok).toBe(true);
    expect(report.checked).toBe(10);
    expect(report.head?.seq).toBe(10);
    expect(progress).toEqual([3, 6, 9, 10]);
  });

  it('refuses ordinary updates and deletes of audit entries (append-only triggers)', async () => {
    await expect(
      kluis.db.updateTable('audit_log').set({ actor: 'x' }).where('seq', '=', 3).execute(),
    ).rejects.toThrow(/append-only/);
    await expect(kluis.db.deleteFrom('audit_log').where('seq', '=', 3).execute()).rejects.toThrow(
      /append-only/,
    );
    expect((await verify(kluis)).ok).toBe(true);
  });

  describe('an attacker with write access to the database', () => {
    beforeEach(async () => {
      await dropAppendOnlyGuards(kluis.db);
    });

    it('is caught altering one field of an entry', async () => {
      await kluis.db.updateTable('audit_log').set({ target_id: randomUUID() }).where('seq', '=', 6).execute();
      expect((await verify(kluis)).broken).toMatchObject({ seq: 6, reason: 'altered' });
    });

    it('is caught altering the stored hash instead of the content', async () => {
      await kluis.db
        .updateTable('audit_log')
        .set({ hash: 'f'.repeat(64) })
        .where('seq', '=', 2)
        .execute();
      expect((await verify(kluis)).broken).toMatchObject({ seq: 2, reason: 'altered' });
    });

    it('is caught deleting an entry', async () => {
      await kluis.db.deleteFrom('audit_log').where('seq', '=', 5).execute();
      const report = await verify(kluis);
      expect(report.ok).toBe(false);
      expect(report.broken).toMatchObject({ seq: 5, reason: 'gap' });
    });

    it('is caught deleting the first entry', async () => {
      await kluis.db.deleteFrom('audit_log').where('seq', '=', 1).execute();
      expect((await verify(kluis)).broken).toMatchObject({ seq: 1, reason: 'gap' });
    });

    it('is caught swapping the contents of two entries (reordering)', async () => {
      await swapContents(kluis, 3, 7);
      expect((await verify(kluis)).broken).toMatchObject({ seq: 3, reason: 'reordered' });
    });

    it('is caught swapping the last two entries', async () => {
      await swapContents(kluis, 9, 10);
      expect((await verify(kluis)).broken).toMatchObject({ seq: 9, reason: 'reordered' });
    });

    it('is caught inserting a forged entry whose hash is recomputed but whose prev_hash is wrong', async () => {
      const forged = forgedEntry(11, randomBytes(32).toString('hex'));
      await kluis.db.insertInto('audit_log').values(forged).execute();
      await kluis.db
        .updateTable('audit_head')
        .set({ seq: 11, hash: forged.hash })
        .where('id', '=', 1)
        .execute();
      expect((await verify(kluis)).broken).toMatchObject({ seq: 11, reason: 'inserted' });
    });

    it('is caught replacing an entry in the middle with a forged one', async () => {
      await kluis.db.deleteFrom('audit_log').where('seq', '=', 4).execute();
      await kluis.db
        .insertInto('audit_log')
        .values(forgedEntry(4, randomBytes(32).toString('hex')))
        .execute();
      expect((await verify(kluis)).broken).toMatchObject({ seq: 4, reason: 'inserted' });
    });

    it('is caught inserting a correctly linked forged entry in the middle, shifting the rest: inserted at its seq, not counted', async () => {
      const before = await hashAt(kluis, 4);
      for (let seq = 10; seq >= 5; seq--) {
        await kluis.db
          .updateTable('audit_log')
          .set({ seq: seq + 1 })
          .where('seq', '=', seq)
          .execute();
      }
      await kluis.db.insertInto('audit_log').values(forgedEntry(5, before)).execute();
      await kluis.db.updateTable('audit_head').set({ seq: 11 }).where('id', '=', 1).execute();
      const report = await verify(kluis);
      expect(report.broken).toMatchObject({ seq: 5, reason: 'inserted' });
      expect(report.broken?.detail).toContain('entry 5 was forged and inserted');
      expect(report.checked).toBe(4);
    });

    it('is caught inserting two forged entries in the middle, across a batch boundary', async () => {
      const first = forgedEntry(4, await hashAt(kluis, 3));
      for (let seq = 10; seq >= 4; seq--) {
        await kluis.db
          .updateTable('audit_log')
          .set({ seq: seq + 2 })
          .where('seq', '=', seq)
          .execute();
      }
      await kluis.db.insertInto('audit_log').values(first).execute();
      await kluis.db.insertInto('audit_log').values(forgedEntry(5, first.hash)).execute();
      await kluis.db.updateTable('audit_head').set({ seq: 12 }).where('id', '=', 1).execute();
      const report = await verify(kluis);
      expect(report.broken).toMatchObject({ seq: 4, reason: 'inserted' });
      expect(report.broken?.detail).toContain('entries 4..5 were forged and inserted');
      expect(report.checked).toBe(3);
    });

    it('refuses an entry with a fractional seq with a clear message (SQLite stores it)', async () => {
      if (kluis.dialect === 'postgres') {
        // bigint refuses 5.5 outright.
        await expect(
          kluis.db
            .insertInto('audit_log')
            .values(forgedEntry(5.5, await hashAt(kluis, 5)))
            .execute(),
        ).rejects.toThrow();
        return;
      }
      await kluis.db
        .insertInto('audit_log')
        .values(forgedEntry(5.5, await hashAt(kluis, 5)))
        .execute();
      const report = await verify(kluis);
      expect(report.broken).toMatchObject({ seq: 6, reason: 'inserted' });
      expect(report.broken?.detail).toBe(
        'an entry with seq 5.5 follows entry 5: seqs are whole numbers, so it was forged and inserted',
      );
      expect(report.checked).toBe(5);
    });

    it('is caught appending a correctly linked entry without moving the head', async () => {
      const last = await kluis.db
        .selectFrom('audit_log')
        .select('hash')
        .where('seq', '=', 10)
        .executeTakeFirstOrThrow();
      await kluis.db.insertInto('audit_log').values(forgedEntry(11, last.hash)).execute();
      expect((await verify(kluis)).broken).toMatchObject({ seq: 11, reason: 'head_mismatch' });
    });

    it('is caught truncating the tail', async () => {
      await kluis.db.deleteFrom('audit_log').where('seq', '>=', 8).execute();
      const report = await verify(kluis);
      expect(report.broken).toMatchObject({ seq: 8, reason: 'head_mismatch' });
      expect(report.broken?.detail).toContain('8..10 were deleted');
    });

    it('is caught removing or altering the head row', async () => {
      await kluis.db
        .updateTable('audit_head')
        .set({ hash: 'a'.repeat(64) })
        .where('id', '=', 1)
        .execute();
      expect((await verify(kluis)).broken).toMatchObject({ seq: 10, reason: 'head_mismatch' });
      await kluis.db.deleteFrom('audit_head').execute();
      expect((await verify(kluis)).broken).toMatchObject({ seq: 11, reason: 'head_mismatch' });
    });

    it('reports only the first broken link when several are broken', async () => {
      await kluis.db.deleteFrom('audit_log').where('seq', '=', 9).execute();
      await kluis.db.updateTable('audit_log').set({ action: 'test.other' }).where('seq', '=', 4).execute();
      expect((await verify(kluis)).broken).toMatchObject({ seq: 4, reason: 'altered' });
    });
  });
});

describe('appendAudit', () => {
  let kluis: TestKluis;
  beforeEach(async () => {
    kluis = await createTestKluis({ clock });
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  it('accepts an empty chain', async () => {
    const report = await verifyAuditChain(kluis.db, auditVerifyOptionsOf(kluis));
    expect(report).toMatchObject({ ok: true, checked: 0, head: { seq: 0 } });
  });

  it('keeps the chain intact under concurrent appends', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        appendAudit(kluis.db, clock, {
          actor: { kind: 'anonymous', orgId: null },
          action: 'test.concurrent',
          meta: { i },
        }),
      ),
    );
    const report = await verify(kluis);
    expect(report).toMatchObject({ ok: true, checked: 20, head: { seq: 20 } });
  });

  it('stores field names and meta in a canonical order, never values it was not given', async () => {
    await appendAudit(kluis.db, clock, {
      actor: { kind: 'anonymous', orgId: null },
      action: 'test.fields',
      fields: ['phone', 'email'],
      meta: { b: 1, a: 'x' },
    });
    const row = await kluis.db.selectFrom('audit_log').selectAll().executeTakeFirstOrThrow();
    expect(row.fields).toBe('["email","phone"]');
    expect(row.meta).toBe('{"a":"x","b":1}');
  });
});

async function hashAt(kluis: TestKluis, seq: number): Promise<string> {
  const row = await kluis.db
    .selectFrom('audit_log')
    .select('hash')
    .where('seq', '=', seq)
    .executeTakeFirstOrThrow();
  return row.hash;
}

function forgedEntry(seq: number, prevHash: string) {
  const entry = {
    seq,
    at: '2025-03-01T12:00:00.000Z',
    org_id: null,
    actor: 'system:forger',
    action: 'test.forged',
    target_type: null,
    target_id: null,
    purpose: null,
    fields: '[]',
    meta: '{}',
  };
  return { ...entry, prev_hash: prevHash, hash: chainHash(prevHash, entry) };
}

async function swapContents(kluis: TestKluis, a: number, b: number): Promise<void> {
  const rowA = await kluis.db
    .selectFrom('audit_log')
    .selectAll()
    .where('seq', '=', a)
    .executeTakeFirstOrThrow();
  const rowB = await kluis.db
    .selectFrom('audit_log')
    .selectAll()
    .where('seq', '=', b)
    .executeTakeFirstOrThrow();
  const { seq: _a, ...contentA } = rowA;
  const { seq: _b, ...contentB } = rowB;
  await kluis.db.updateTable('audit_log').set(contentB).where('seq', '=', a).execute();
  await kluis.db.updateTable('audit_log').set(contentA).where('seq', '=', b).execute();
}
