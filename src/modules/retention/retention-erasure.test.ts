/**
 * Erasure must be physical and must survive a restore (P6, P15): after a sweep the erased bytes
 * are gone from the database file, its free pages and the WAL, the subject's wrapped key from
 * the key store; and a backup restored later has the same records erased again by the ledger.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis, testDialect } from '../../../test/dialects.js';
import { createOrg } from '../../../test/factories.js';
import {
  countRows,
  decryptSqlcipherPages,
  decryptSqlcipherWal,
  fileBytes,
  seedConversation,
} from '../../../test/retention-fixtures.js';
import { keystoreEncryptionKey } from '../../config/env.js';
import { rawSqlcipherKey } from '../../db/database.js';
import { createFixedClock } from '../../shared/clock.js';
import { createBackup } from '../ops/ops-backup.js';
import { restoreBackup } from '../ops/ops-restore.js';
import { openSqliteFile } from '../ops/ops-sqlite.js';
import { createErasureLedger, ledgerPathOf, verifyErasureLedger } from './retention-ledger.js';
import { replayLedgerOnDatabase, replayLedgerOnKeystore } from './retention-replay.js';

const sqlite = testDialect === 'sqlite';
const clock = createFixedClock('2024-01-01T00:00:00.000Z');

describe('erasure is physical and survives a restore', () => {
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

  it.runIf(sqlite)(
    'leaves no erased value in the raw SQLite file, its free pages or the WAL after the sweep’s checkpoint',
    async () => {
      const gone = await seedConversation(kluis, orgId, {
        closedAt: '2022-01-01T00:00:00.000Z',
        marker: '<ERASE-ME-7f3a91@example.test>',
        message: 'Mijn BSN staat in de bijlage',
      });
      const kept = await seedConversation(kluis, orgId, {
        status: 'open',
        marker: '<KEEP-ME-2c81@example.test>',
      });
      const wrapped = await kluis.keystore
        .selectFrom('subject_keys')
        .select('wrapped_key')
        .where('subject_id', '=', gone.subjectId)
        .executeTakeFirstOrThrow();
      const dbFile = kluis.dbFile ?? '';
      const keysFile = kluis.config.keystoreUrl.replace(/^sqlite:/, '');
      const dbKey = rawSqlcipherKey(kluis.config.databaseKey?.value ?? '');
      const ksKey = rawSqlcipherKey(keystoreEncryptionKey(kluis.config) ?? '');
      const probe = gone.sealedBody.subarray(12, 44); // 32 bytes of ciphertext

      // Positive control: before the sweep the decrypted pages (after a checkpoint) hold all of it,
      // and the raw bytes hold none of it (SQLCipher).
      await kluis.checkpoint();
      const pagesBefore = decryptSqlcipherPages(fileBytes(dbFile), dbKey);
      expect(pagesBefore.includes('ERASE-ME-7f3a91')).toBe(true);
      expect(pagesBefore.includes(probe)).toBe(true);
      expect(decryptSqlcipherPages(fileBytes(keysFile), ksKey).includes(wrapped.wrapped_key)).toBe(true);
      expect(fileBytes(dbFile).includes('ERASE-ME-7f3a91')).toBe(false);

      // Deleting without a checkpoint leaves the old pages in the WAL: that is why the sweep ends with one.
      clock.set('2024-01-10T00:00:00.000Z');
      await kluis.services.retention.run();

      const pagesAfter = decryptSqlcipherPages(fileBytes(dbFile), dbKey);
      expect(pagesAfter.includes('KEEP-ME-2c81')).toBe(true);
      expect(pagesAfter.includes('ERASE-ME-7f3a91')).toBe(false);
      expect(pagesAfter.includes(probe)).toBe(false);
      const wal = fileBytes(`${dbFile}-wal`);
      expect(wal.length).toBe(0);
      expect(decryptSqlcipherWal(wal, dbKey).includes('ERASE-ME-7f3a91')).toBe(false);
      expect(fileBytes(dbFile).includes('ERASE-ME-7f3a91')).toBe(false);
      // The subject's wrapped key is gone from the key store's pages and WAL; a tombstone remains.
      expect(decryptSqlcipherPages(fileBytes(keysFile), ksKey).includes(wrapped.wrapped_key)).toBe(false);
      expect(fileBytes(`${keysFile}-wal`).length).toBe(0);
      expect(await kluis.keyring.isSubjectKeyDestroyed(orgId, gone.subjectId)).toBe(true);
      expect(await countRows(kluis, 'conversations', { column: 'id', value: kept.id })).toBe(1);
    },
  );

  it.runIf(sqlite)(
    'erases again, on `kluis backup restore`, what was erased after the backup was taken (database and key store)',
    async () => {
      const gone = await seedConversation(kluis, orgId, { closedAt: '2022-01-01T00:00:00.000Z' });
      const kept = await seedConversation(kluis, orgId, { status: 'open' });
      const dbBackup = join(kluis.dir, 'backup-db');
      const ksBackup = join(kluis.dir, 'backup-keys');
      await createBackup({ kluis, kind: 'database', outDir: dbBackup });
      await createBackup({ kluis, kind: 'keystore', outDir: ksBackup });

      clock.set('2024-01-10T00:00:00.000Z');
      await kluis.services.retention.run();
      expect(await countRows(kluis, 'conversations', { column: 'id', value: gone.id })).toBe(0);

      mkdirSync(join(kluis.dir, 'restored'));
      const dbTarget = join(kluis.dir, 'restored', 'kluis.db');
      const restored = await restoreBackup({ dir: dbBackup, to: dbTarget, config: kluis.config, clock });
      expect(restored.steps.find((s) => s.name === 'replay the erasure ledger')?.result).toMatch(
        /2 erasures/,
      );
      const handle = openSqliteFile(dbTarget, kluis.config.databaseKey?.value, { readonly: true });
      const conversations = handle.prepare('select id from conversations order by id').all() as {
        id: string;
      }[];
      const subject = handle
        .prepare('select erased_at, email_bidx from data_subjects where id = ?')
        .get(gone.subjectId) as {
        erased_at: string | null;
        email_bidx: string | null;
      };
      handle.close();
      expect(conversations.map((c) => c.id)).toEqual([kept.id]);
      expect(subject.erased_at).not.toBeNull();
      expect(subject.email_bidx).toBeNull();

      const ksTarget = join(kluis.dir, 'restored', 'kluis-keys.db');
      await restoreBackup({ dir: ksBackup, to: ksTarget, config: kluis.config, clock });
      const keys = openSqliteFile(ksTarget, keystoreEncryptionKey(kluis.config), { readonly: true });
      const key = keys
        .prepare('select count(*) as n from subject_keys where subject_id = ?')
        .get(gone.subjectId) as {
        n: number;
      };
      const tomb = keys
        .prepare('select count(*) as n from subject_key_tombstones where subject_id = ?')
        .get(gone.subjectId) as { n: number };
      const keptKey = keys
        .prepare('select count(*) as n from subject_keys where subject_id = ?')
        .get(kept.subjectId) as {
        n: number;
      };
      keys.close();
      expect([key.n, tomb.n, keptKey.n]).toEqual([0, 1, 1]);
    },
  );

  it('replays the ledger into a database and key store that got erased rows and keys back', async () => {
    const gone = await seedConversation(kluis, orgId, { closedAt: '2022-01-01T00:00:00.000Z' });
    const before = await kluis.db
      .selectFrom('conversations')
      .selectAll()
      .where('id', '=', gone.id)
      .executeTakeFirstOrThrow();
    const wrapped = await kluis.keystore
      .selectFrom('subject_keys')
      .selectAll()
      .where('subject_id', '=', gone.subjectId)
      .executeTakeFirstOrThrow();
    clock.set('2024-01-10T00:00:00.000Z');
    await kluis.services.retention.run();

    // What an older backup would bring back: the row, a live subject, and the key.
    await kluis.db.insertInto('conversations').values(before).execute();
    await kluis.db
      .updateTable('data_subjects')
      .set({ erased_at: null, email_bidx: 'x' })
      .where('id', '=', gone.subjectId)
      .execute();
    await kluis.keystore
      .deleteFrom('subject_key_tombstones')
      .where('subject_id', '=', gone.subjectId)
      .execute();
    await kluis.keystore.insertInto('subject_keys').values(wrapped).execute();

    const file = kluis.services.retention.ledger.source;
    const db = await replayLedgerOnDatabase(
      kluis.db,
      kluis.config,
      kluis.personalData.all(),
      file,
      '2023-01-01T00:00:00.000Z',
    );
    const ks = await replayLedgerOnKeystore(
      kluis.keystore,
      kluis.personalData.all(),
      file,
      '2023-01-01T00:00:00.000Z',
    );
    expect(db).toMatchObject({ entries: 2, records: 2 });
    expect(ks).toMatchObject({ keys: 1 });
    expect(await countRows(kluis, 'conversations')).toBe(0);
    const subject = await kluis.db
      .selectFrom('data_subjects')
      .selectAll()
      .where('id', '=', gone.subjectId)
      .executeTakeFirstOrThrow();
    expect([subject.erased_at === null, subject.email_bidx]).toEqual([false, null]);
    kluis.keyring.clearCache();
    expect(await kluis.keyring.isSubjectKeyDestroyed(orgId, gone.subjectId)).toBe(true);
    // Nothing recorded before `since` is replayed.
    expect(
      await replayLedgerOnDatabase(
        kluis.db,
        kluis.config,
        kluis.personalData.all(),
        file,
        '2099-01-01T00:00:00.000Z',
      ),
    ).toMatchObject({
      entries: 0,
    });
  });
});

describe('the erasure ledger', () => {
  const dir = join(process.env.TMPDIR ?? '/tmp', `kluis-ledger-${process.pid}-${Date.now()}`);
  const body = (ids: string[]) =>
    ({
      kind: 'erasure',
      run: 'r1',
      org: 'o1',
      target: 'intake.conversations',
      table: 'conversations',
      action: 'delete',
      as_of: '2024-01-01T00:00:00.000Z',
      ids,
    }) as const;

  it('chains its lines and finds a line altered, removed or relinked', async () => {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'a.jsonl');
    const ledger = createErasureLedger(file, { fsync: false });
    for (let i = 0; i < 4; i++) await ledger.append(body([`id-${i}`]), new Date('2024-01-01T00:00:00Z'));
    expect(await verifyErasureLedger(file)).toMatchObject({ ok: true, lines: 4, records: 4 });
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');

    writeFileSync(
      file,
      `${[lines[0], (lines[1] ?? '').replace('id-1', 'id-9'), lines[2], lines[3]].join('\n')}\n`,
    );
    expect((await verifyErasureLedger(file)).broken).toEqual({ lineNo: 2, reason: 'altered' });
    writeFileSync(file, `${[lines[0], lines[2], lines[3]].join('\n')}\n`);
    expect((await verifyErasureLedger(file)).broken).toEqual({ lineNo: 2, reason: 'gap' });
    writeFileSync(file, `${[lines[1], lines[2]].join('\n')}\n`);
    expect((await verifyErasureLedger(file)).broken).toEqual({ lineNo: 1, reason: 'gap' });
  });

  it('cuts off a torn last line (a crash during its write) and goes on with the chain', async () => {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'b.jsonl');
    const ledger = createErasureLedger(file, { fsync: false });
    await ledger.append(body(['a']), new Date('2024-01-01T00:00:00Z'));
    appendFileSync(file, '{"kind":"erasure","ids":["b"');
    // A new process (no cached head) finds the torn line.
    await createErasureLedger(file, { fsync: false }).append(body(['c']), new Date('2024-01-01T00:00:00Z'));
    expect(await verifyErasureLedger(file)).toMatchObject({ ok: true, lines: 2, records: 2 });
  });
});
