import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg } from '../../../test/factories.js';
import {
  countRows,
  rightsRequestRow,
  seedConversation,
  seedRelation,
  seedSubject,
  tableCounts,
} from '../../../test/retention-fixtures.js';
import type { Actor } from '../../shared/actor.js';
import { createFixedClock, DAY } from '../../shared/clock.js';
import { totalOf } from './retention-engine.js';
import { createErasureLedger, ledgerPathOf, readErasureLedger } from './retention-ledger.js';
import { canReadRestricted, isRestricted, visibleTo } from './retention-restriction.js';

const clock = createFixedClock('2024-01-01T00:00:00.000Z');

async function subjectState(kluis: TestKluis, orgId: string, subjectId: string) {
  const row = await kluis.db
    .selectFrom('data_subjects')
    .selectAll()
    .where('id', '=', subjectId)
    .executeTakeFirstOrThrow();
  return {
    erased: row.erased_at !== null,
    indexes: row.email_bidx !== null || row.phone_bidx !== null,
    keyDestroyed: await kluis.keyring.isSubjectKeyDestroyed(orgId, subjectId),
  };
}

async function exists(
  kluis: TestKluis,
  table: 'conversations' | 'relations' | 'relation_mandates' | 'relation_collections',
  id: string,
) {
  return (await countRows(kluis, table, { column: 'id', value: id })) === 1;
}

describe('the retention sweep', () => {
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

  it('deletes a contact request 12 months after closing: kept the day before, gone on the day, and nothing else', async () => {
    const early = await seedConversation(kluis, orgId, { closedAt: '2024-01-14T16:00:00.000Z' });
    const onDay = await seedConversation(kluis, orgId, { closedAt: '2024-01-15T16:00:00.000Z' });
    const late = await seedConversation(kluis, orgId, { closedAt: '2024-01-16T09:00:00.000Z' });
    const open = await seedConversation(kluis, orgId, {
      status: 'open',
      createdAt: '2019-05-01T00:00:00.000Z',
    });
    // A second request of the same person that is still open keeps that person's subject alive.
    const sibling = await seedConversation(kluis, orgId, {
      subjectId: onDay.subjectId,
      status: 'waiting',
      createdAt: '2023-12-01T00:00:00.000Z',
    });

    clock.set('2025-01-14T23:59:00.000Z'); // the day before onDay's anniversary
    let result = await kluis.services.retention.run();
    expect(totalOf(result.counts, 'intake.conversations').applied).toBe(1);
    expect(await exists(kluis, 'conversations', early.id)).toBe(false);
    expect(await exists(kluis, 'conversations', onDay.id)).toBe(true);

    clock.set('2025-01-15T00:00:00.000Z'); // the day
    result = await kluis.services.retention.run();
    expect(totalOf(result.counts, 'intake.conversations').applied).toBe(1);
    expect(await exists(kluis, 'conversations', onDay.id)).toBe(false);
    expect(await exists(kluis, 'conversations', late.id)).toBe(true);

    clock.set('2025-01-17T08:00:00.000Z'); // the day after late's anniversary
    await kluis.services.retention.run();
    expect(await exists(kluis, 'conversations', late.id)).toBe(false);

    // Entries and attachments went with their conversations; the open ones are untouched.
    expect(await countRows(kluis, 'conversations')).toBe(2);
    expect(await countRows(kluis, 'conversation_entries')).toBe(2);
    expect(await countRows(kluis, 'conversation_attachments')).toBe(2);
    expect(await exists(kluis, 'conversations', open.id)).toBe(true);
    expect(await exists(kluis, 'conversations', sibling.id)).toBe(true);

    // Subjects with nothing left are erased and their keys destroyed; the others are not.
    expect(await subjectState(kluis, orgId, early.subjectId)).toEqual({
      erased: true,
      indexes: false,
      keyDestroyed: true,
    });
    expect(await subjectState(kluis, orgId, late.subjectId)).toMatchObject({
      erased: true,
      keyDestroyed: true,
    });
    expect(await subjectState(kluis, orgId, onDay.subjectId)).toEqual({
      erased: false,
      indexes: true,
      keyDestroyed: false,
    });
    await expect(
      kluis.keyring.decryptForSubject(
        orgId,
        early.subjectId,
        { table: 'conversation_entries', column: 'body', rowId: early.entryId },
        early.sealedBody,
      ),
    ).rejects.toMatchObject({ code: 'ERR_CRYPTO_KEY_DESTROYED' });
    // ... and no later call can mint a fresh key for an erased subject.
    await expect(
      kluis.keyring.encryptForSubject(orgId, early.subjectId, { table: 't', column: 'c', rowId: 'r' }, 'x'),
    ).rejects.toMatchObject({ code: 'ERR_CRYPTO_KEY_DESTROYED' });
  });

  it('anonymises client data 3 months after the relationship ends, restricts what the fiscal duty keeps, and deletes it 7 years after that fiscal year', async () => {
    const fiscal = await seedRelation(kluis, orgId, {
      endedAt: '2024-03-10',
      agreement: true,
      mandate: { collections: ['2024-02-01'] },
    });
    const plain = await seedRelation(kluis, orgId, { endedAt: '2024-03-11' });
    const running = await seedRelation(kluis, orgId, { status: 'active', agreement: true, mandate: {} });

    clock.set('2024-06-09T22:00:00.000Z');
    await kluis.services.retention.run();
    const before = await kluis.db
      .selectFrom('relations')
      .selectAll()
      .where('id', '=', fiscal.id)
      .executeTakeFirstOrThrow();
    expect(before.given_name).not.toBeNull();
    expect(await countRows(kluis, 'relation_contacts', { column: 'relation_id', value: fiscal.id })).toBe(1);

    clock.set('2024-06-10T01:00:00.000Z');
    await kluis.services.retention.run();
    const after = await kluis.db
      .selectFrom('relations')
      .selectAll()
      .where('id', '=', fiscal.id)
      .executeTakeFirstOrThrow();
    expect([after.given_name, after.family_name, after.form_of_address, after.email, after.phone]).toEqual([
      null,
      null,
      null,
      null,
      null,
    ]);
    expect(await countRows(kluis, 'relation_contacts', { column: 'relation_id', value: fiscal.id })).toBe(0);
    expect(await countRows(kluis, 'relation_addresses', { column: 'relation_id', value: fiscal.id })).toBe(0);
    const agreement = await kluis.db.selectFrom('relation_agreements').selectAll().executeTakeFirstOrThrow();
    expect(agreement.signed_by_name === null || agreement.relation_id === running.id).toBe(true);
    expect(await isRestricted(kluis.db, 'relations', fiscal.id)).toBe(true);
    expect(await isRestricted(kluis.db, 'relation_mandates', fiscal.mandateIds[0] ?? '')).toBe(true);
    expect(await isRestricted(kluis.db, 'relation_agreements', fiscal.agreementIds[0] ?? '')).toBe(true);
    expect(await exists(kluis, 'relation_collections', fiscal.collectionIds[0] ?? '')).toBe(true);
    // The contact person had nothing else: erased. The client's own subject still seals the mandate.
    expect(await subjectState(kluis, orgId, fiscal.contactSubjectId)).toMatchObject({
      erased: true,
      keyDestroyed: true,
    });
    expect(await subjectState(kluis, orgId, fiscal.subjectId)).toMatchObject({
      erased: false,
      keyDestroyed: false,
    });
    // The relation ending a day later is still whole; the running one is untouched.
    expect(await exists(kluis, 'relations', plain.id)).toBe(true);
    expect(await isRestricted(kluis.db, 'relations', running.id)).toBe(false);

    clock.set('2024-06-11T00:00:00.000Z');
    await kluis.services.retention.run();
    expect(await exists(kluis, 'relations', plain.id)).toBe(false);
    expect(await subjectState(kluis, orgId, plain.subjectId)).toMatchObject({
      erased: true,
      keyDestroyed: true,
    });

    clock.set('2031-12-31T23:00:00.000Z');
    await kluis.services.retention.run();
    expect(await exists(kluis, 'relations', fiscal.id)).toBe(true);
    expect(await exists(kluis, 'relation_mandates', fiscal.mandateIds[0] ?? '')).toBe(true);

    clock.set('2032-01-01T00:00:00.000Z');
    const result = await kluis.services.retention.run();
    expect(totalOf(result.counts, 'relations.fiscal_records').applied).toBe(1);
    expect(await exists(kluis, 'relations', fiscal.id)).toBe(false);
    expect(await countRows(kluis, 'relation_mandates', { column: 'relation_id', value: fiscal.id })).toBe(0);
    expect(await countRows(kluis, 'relation_agreements', { column: 'relation_id', value: fiscal.id })).toBe(
      0,
    );
    expect(await countRows(kluis, 'relation_collections')).toBe(0);
    expect(await countRows(kluis, 'relation_agreement_documents')).toBe(1); // the running relation's
    expect(await countRows(kluis, 'retention_restrictions')).toBe(0);
    expect(await subjectState(kluis, orgId, fiscal.subjectId)).toMatchObject({
      erased: true,
      keyDestroyed: true,
    });
    expect(await exists(kluis, 'relations', running.id)).toBe(true);
  });

  it('restricts a mandate revoked during a running relationship and deletes it and old collections when the fiscal duty ends', async () => {
    const rel = await seedRelation(kluis, orgId, {
      status: 'active',
      mandate: {
        status: 'revoked',
        revokedAt: '2023-05-02T10:00:00.000Z',
        collections: ['2022-12-31', '2023-01-02'],
      },
    });
    const mandate = rel.mandateIds[0] ?? '';
    clock.set('2023-08-01T12:00:00.000Z');
    await kluis.services.retention.run();
    expect(await isRestricted(kluis.db, 'relation_mandates', mandate)).toBe(false);
    clock.set('2023-08-02T00:00:00.000Z');
    await kluis.services.retention.run();
    expect(await isRestricted(kluis.db, 'relation_mandates', mandate)).toBe(true);
    expect(await isRestricted(kluis.db, 'relations', rel.id)).toBe(false);

    clock.set('2030-01-01T00:00:00.000Z'); // FY 2022 + 7 years: the first collection goes
    await kluis.services.retention.run();
    expect(await exists(kluis, 'relation_collections', rel.collectionIds[0] ?? '')).toBe(false);
    expect(await exists(kluis, 'relation_collections', rel.collectionIds[1] ?? '')).toBe(true);
    clock.set('2030-12-31T00:00:00.000Z');
    await kluis.services.retention.run();
    expect(await exists(kluis, 'relation_mandates', mandate)).toBe(true);
    clock.set('2031-01-01T00:00:00.000Z'); // FY 2023 + 7 years: the mandate and its last collection
    await kluis.services.retention.run();
    expect(await exists(kluis, 'relation_mandates', mandate)).toBe(false);
    expect(await countRows(kluis, 'relation_collections')).toBe(0);
    expect(await countRows(kluis, 'retention_restrictions')).toBe(0);
    expect(await exists(kluis, 'relations', rel.id)).toBe(true);
  });

  it('truncates access-log IPs after N days and deletes rows after M days, on schedule', async () => {
    clock.set('2024-05-01T12:00:00.000Z');
    const row = (id: string, at: string) => ({
      at,
      org_id: orgId,
      ip: '192.0.2.77',
      ip_truncated: 0,
      user_agent: 'test',
      method: 'GET',
      route: '/',
      status: 200,
      request_id: id,
    });
    await kluis.db
      .insertInto('access_log')
      .values([
        row('a0000000-0000-4000-8000-000000000001', '2024-04-30T12:00:00.000Z'), // 1 day: untouched
        row('a0000000-0000-4000-8000-000000000002', '2024-04-24T11:59:00.000Z'), // > 7 days: truncated
        row('a0000000-0000-4000-8000-000000000003', '2024-02-01T12:00:00.000Z'), // < 90 days: truncated
        row('a0000000-0000-4000-8000-000000000004', '2024-02-01T11:59:00.000Z'), // > 90 days: deleted
      ])
      .execute();
    const dry = await kluis.services.retention.run({ dryRun: true });
    expect(totalOf(dry.counts, 'security.access_log')).toMatchObject({ applied: 1, anonymised: 2 });
    const result = await kluis.services.retention.run();
    expect(totalOf(result.counts, 'security.access_log')).toMatchObject({ applied: 1, anonymised: 2 });
    const rows = await kluis.db
      .selectFrom('access_log')
      .select(['request_id', 'ip', 'ip_truncated'])
      .orderBy('request_id')
      .execute();
    expect(rows).toEqual([
      { request_id: 'a0000000-0000-4000-8000-000000000001', ip: '192.0.2.77', ip_truncated: 0 },
      { request_id: 'a0000000-0000-4000-8000-000000000002', ip: '192.0.2.0', ip_truncated: 1 },
      { request_id: 'a0000000-0000-4000-8000-000000000003', ip: '192.0.2.0', ip_truncated: 1 },
    ]);
  });

  it('keeps a subject while a rights request about them is open or their export awaits download', async () => {
    const request = (
      id: string,
      subjectId: string | null,
      status: 'in_progress' | 'completed' | 'received',
    ) => rightsRequestRow({ id, orgId, subjectId, status, receivedAt: '2023-12-18T00:00:00.000Z' });
    const open = await seedSubject(kluis, orgId);
    const closed = await seedSubject(kluis, orgId);
    const exported = await seedSubject(kluis, orgId);
    const downloaded = await seedSubject(kluis, orgId);
    await kluis.db
      .insertInto('rights_requests')
      .values([
        request('10000000-0000-4000-8000-000000000001', open, 'in_progress'),
        request('10000000-0000-4000-8000-000000000002', closed, 'completed'),
        request('10000000-0000-4000-8000-000000000003', exported, 'completed'),
        request('10000000-0000-4000-8000-000000000004', downloaded, 'completed'),
        // An unmatched request (no subject yet) must not stop every other subject's erasure.
        request('10000000-0000-4000-8000-000000000005', null, 'received'),
      ])
      .execute();
    const exportRow = (id: string, requestId: string, subjectId: string, content: Buffer | null) => ({
      id,
      org_id: orgId,
      request_id: requestId,
      subject_id: subjectId,
      content,
      size_bytes: 3,
      created_at: '2023-12-27T00:00:00.000Z',
      expires_at: '2024-01-10T00:00:00.000Z',
      downloaded_at: content === null ? '2023-12-28T00:00:00.000Z' : null,
    });
    await kluis.db
      .insertInto('rights_exports')
      .values([
        exportRow(
          '20000000-0000-4000-8000-000000000003',
          '10000000-0000-4000-8000-000000000003',
          exported,
          Buffer.from('zip'),
        ),
        exportRow(
          '20000000-0000-4000-8000-000000000004',
          '10000000-0000-4000-8000-000000000004',
          downloaded,
          null,
        ),
      ])
      .execute();

    await kluis.services.retention.run();
    expect((await subjectState(kluis, orgId, open)).erased).toBe(false);
    expect((await subjectState(kluis, orgId, exported)).erased).toBe(false);
    expect(await subjectState(kluis, orgId, closed)).toMatchObject({ erased: true, keyDestroyed: true });
    expect(await subjectState(kluis, orgId, downloaded)).toMatchObject({ erased: true, keyDestroyed: true });

    // Once the request is closed and the export gone, the next sweep erases them too.
    await kluis.db
      .updateTable('rights_requests')
      .set({ status: 'completed' })
      .where('subject_id', '=', open)
      .execute();
    await kluis.db
      .updateTable('rights_exports')
      .set({ content: null })
      .where('subject_id', '=', exported)
      .execute();
    await kluis.services.retention.run();
    expect((await subjectState(kluis, orgId, open)).erased).toBe(true);
    expect((await subjectState(kluis, orgId, exported)).erased).toBe(true);
  });

  it('deletes an access export never downloaded at its 14-day expiry, which then no longer keeps its subject from erasure', async () => {
    const subject = await seedSubject(kluis, orgId);
    const requestId = '10000000-0000-4000-8000-000000000011';
    await kluis.db
      .insertInto('rights_requests')
      .values(
        rightsRequestRow({
          id: requestId,
          orgId,
          subjectId: subject,
          status: 'completed',
          receivedAt: '2023-12-18T00:00:00.000Z',
        }),
      )
      .execute();
    const exportId = '20000000-0000-4000-8000-000000000011';
    await kluis.db
      .insertInto('rights_exports')
      .values({
        id: exportId,
        org_id: orgId,
        request_id: requestId,
        subject_id: subject,
        content: Buffer.from('zip'),
        size_bytes: 3,
        created_at: '2023-12-27T00:00:00.000Z',
        expires_at: '2024-01-10T00:00:00.000Z',
        downloaded_at: null,
      })
      .execute();
    const content = async () =>
      (
        await kluis.db
          .selectFrom('rights_exports')
          .select('content')
          .where('id', '=', exportId)
          .executeTakeFirstOrThrow()
      ).content;

    clock.set('2024-01-09T23:59:00.000Z');
    let result = await kluis.services.retention.run();
    expect(totalOf(result.counts, 'rights.exports').applied).toBe(0);
    expect(await content()).not.toBeNull();
    expect((await subjectState(kluis, orgId, subject)).erased).toBe(false);

    clock.set('2024-01-10T00:00:00.000Z');
    result = await kluis.services.retention.run();
    expect(totalOf(result.counts, 'rights.exports').applied).toBe(1);
    expect(await content()).toBeNull();
    // The request itself stays for its own period; the subject is free to go.
    expect(await countRows(kluis, 'rights_requests', { column: 'id', value: requestId })).toBe(1);
    await kluis.services.retention.run();
    expect(await subjectState(kluis, orgId, subject)).toMatchObject({ erased: true, keyDestroyed: true });
  });

  it('skips held data and reports it as held; a released or expired hold protects no longer', async () => {
    const heldRecord = await seedConversation(kluis, orgId, { closedAt: '2022-01-01T00:00:00.000Z' });
    const heldPerson = await seedConversation(kluis, orgId, { closedAt: '2022-01-01T00:00:00.000Z' });
    const free = await seedConversation(kluis, orgId, { closedAt: '2022-01-01T00:00:00.000Z' });
    const rel = await seedRelation(kluis, orgId, {
      endedAt: '2010-05-01',
      mandate: { collections: ['2010-01-01'] },
    });
    const officer: Actor = {
      kind: 'user',
      orgId,
      orgKind: 'tenant',
      userId: 'officer',
      roles: ['privacy_officer'],
    };
    const service = kluis.services.retention;
    const h1 = await service.createHold(officer, {
      target: 'conversations',
      id: heldRecord.id,
      reason: 'litigation',
    });
    await service.createHold(officer, {
      target: 'data_subjects',
      id: heldPerson.subjectId,
      reason: 'rights_request',
      until: '2024-02-01',
    });
    // A hold on the relation holds its mandate and collections too.
    const h3 = await service.createHold(officer, { target: 'relations', id: rel.id, reason: 'tax_audit' });

    clock.set('2024-01-10T00:00:00.000Z');
    const result = await kluis.services.retention.run();
    expect(totalOf(result.counts, 'intake.conversations')).toMatchObject({ applied: 1, held: 2 });
    expect(totalOf(result.counts, 'relations.fiscal_records')).toMatchObject({ applied: 0, held: 1 });
    expect(totalOf(result.counts, 'relations.fiscal_collections')).toMatchObject({ applied: 0, held: 1 });
    expect(await exists(kluis, 'conversations', free.id)).toBe(false);
    expect(await exists(kluis, 'conversations', heldRecord.id)).toBe(true);
    expect(await exists(kluis, 'conversations', heldPerson.id)).toBe(true);
    expect(await exists(kluis, 'relations', rel.id)).toBe(true);
    expect(await subjectState(kluis, orgId, heldRecord.subjectId)).toMatchObject({ erased: false });
    const report = await kluis.db
      .selectFrom('audit_log')
      .select('meta')
      .where('action', '=', 'retention.swept')
      .where('org_id', '=', orgId)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(report.meta)).toMatchObject({
      'intake.conversations.applied': 1,
      'intake.conversations.held': 2,
    });

    await service.releaseHold(officer, h1.id);
    await service.releaseHold(officer, h3.id);
    clock.set('2024-02-02T00:00:00.000Z'); // the subject hold ran out at the end of 1 February
    const second = await kluis.services.retention.run();
    expect(totalOf(second.counts, 'intake.conversations')).toMatchObject({ applied: 2, held: 0 });
    expect(await countRows(kluis, 'conversations')).toBe(0);
    expect(await exists(kluis, 'relations', rel.id)).toBe(false);
  });

  it('hides restricted records from a support-role query and keeps them readable for finance', async () => {
    const rel = await seedRelation(kluis, orgId, { endedAt: '2023-01-01', mandate: {} });
    const other = await seedRelation(kluis, orgId, { status: 'active', mandate: {} });
    clock.set('2023-06-01T00:00:00.000Z');
    await kluis.services.retention.run();
    const base = { kind: 'user' as const, orgId, orgKind: 'tenant' as const, userId: 'u' };
    const support: Actor = { ...base, roles: ['support'] };
    const finance: Actor = { ...base, roles: ['finance'] };
    const mandatesFor = (actor: Actor) =>
      kluis.db
        .selectFrom('relation_mandates')
        .select('id')
        .where('org_id', '=', orgId)
        .where(visibleTo(actor, 'relation_mandates', 'relation_mandates.id'))
        .orderBy('id')
        .execute();
    expect((await mandatesFor(support)).map((r) => r.id)).toEqual(other.mandateIds);
    expect((await mandatesFor(finance)).map((r) => r.id).sort()).toEqual(
      [...rel.mandateIds, ...other.mandateIds].sort(),
    );
    expect(canReadRestricted(support)).toBe(false);
    const relationsForSupport = await kluis.db
      .selectFrom('relations')
      .select('id')
      .where(visibleTo(support, 'relations', 'relations.id'))
      .execute();
    expect(relationsForSupport.map((r) => r.id)).toEqual([other.id]);
  });

  it('a dry run changes nothing and counts exactly what the real run then does', async () => {
    await seedConversation(kluis, orgId, { closedAt: '2020-01-01T00:00:00.000Z' });
    await seedConversation(kluis, orgId, { closedAt: '2023-12-20T00:00:00.000Z' });
    await seedRelation(kluis, orgId, { endedAt: '2015-01-01', mandate: { collections: ['2014-05-01'] } });
    await seedRelation(kluis, orgId, { endedAt: '2023-06-01', agreement: true });
    await seedSubject(kluis, orgId, { createdAt: '2021-01-01T00:00:00.000Z' });
    clock.set('2024-01-10T00:00:00.000Z');
    const before = await tableCounts(kluis);
    const head = await kluis.db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
    const dry = await kluis.services.retention.run({ dryRun: true });
    expect(await tableCounts(kluis)).toEqual(before);
    expect(await kluis.db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow()).toEqual(head);
    expect(existsSync(ledgerPathOf(kluis.config))).toBe(false);
    expect(dry.runId).toBeNull();

    const real = await kluis.services.retention.run();
    for (const category of ['intake.conversations', 'relations.client_data', 'relations.fiscal_records']) {
      expect(totalOf(real.counts, category).applied, category).toBe(totalOf(dry.counts, category).applied);
    }
    expect(totalOf(dry.counts, 'intake.conversations').applied).toBe(1);
    expect(totalOf(dry.counts, 'relations.client_data').applied).toBe(2);
    // The lone subject was erasable already; subjects freed by this run are erased by it as well.
    expect(totalOf(dry.counts, 'subjects.erase').applied).toBe(1);
    expect(totalOf(real.counts, 'subjects.erase').applied).toBeGreaterThan(1);
  });

  it('writes every batch to the hash-chained ledger before it commits, and a report line per run', async () => {
    const c = await seedConversation(kluis, orgId, { closedAt: '2020-01-01T00:00:00.000Z' });
    clock.set('2024-01-10T00:00:00.000Z');
    const result = await kluis.services.retention.run();
    const lines = [];
    for await (const read of readErasureLedger(kluis.services.retention.ledger.source)) {
      if (read.ok) lines.push(read.line);
    }
    expect(lines.map((l) => (l.kind === 'erasure' ? `${l.target}:${l.ids.join(',')}` : 'report'))).toEqual([
      `intake.conversations:${c.id}`,
      `subjects.erase:${c.subjectId}`,
      'report',
    ]);
    expect(lines.every((l) => l.run === result.runId)).toBe(true);
    // Ids only: nothing sealed or personal in the ledger.
    expect(JSON.stringify(lines)).not.toMatch(/Jan|jansen|example\.test|factuur/i);
  });

  it('refuses to start a second sweep while one holds a live lease', async () => {
    await seedConversation(kluis, orgId, { closedAt: '2020-01-01T00:00:00.000Z' });
    clock.set('2024-01-10T00:00:00.000Z');
    let inner: unknown;
    await kluis.services.retention.run({
      afterBatch: async () => {
        inner ??= await kluis.services.retention.run().catch((e: unknown) => e);
      },
    });
    expect(inner).toMatchObject({ code: 'ERR_RETENTION_RUN_IN_PROGRESS' });
  });

  it('tightening a policy takes effect in the next sweep', async () => {
    const recent = await seedConversation(kluis, orgId, { closedAt: '2023-06-01T00:00:00.000Z' });
    clock.set('2024-01-10T00:00:00.000Z');
    const officer: Actor = {
      kind: 'user',
      orgId,
      orgKind: 'tenant',
      userId: 'officer',
      roles: ['privacy_officer'],
    };
    await kluis.services.retention.run();
    expect(await exists(kluis, 'conversations', recent.id)).toBe(true);
    await kluis.services.retention.updatePolicy(officer, 'contact_request', 6);
    await kluis.services.retention.run();
    expect(await exists(kluis, 'conversations', recent.id)).toBe(false);
  });

  it('keeps organisations apart: a tenant’s tighter policy does not reach another tenant', async () => {
    const other = (await createOrg(kluis, 'tenant')).id;
    const mine = await seedConversation(kluis, orgId, { closedAt: '2023-06-01T00:00:00.000Z' });
    const theirs = await seedConversation(kluis, other, { closedAt: '2023-06-01T00:00:00.000Z' });
    const officer: Actor = {
      kind: 'user',
      orgId,
      orgKind: 'tenant',
      userId: 'officer',
      roles: ['privacy_officer'],
    };
    await kluis.services.retention.updatePolicy(officer, 'contact_request', 3);
    clock.set('2024-01-10T00:00:00.000Z');
    await kluis.services.retention.run();
    expect(await exists(kluis, 'conversations', mine.id)).toBe(false);
    expect(await exists(kluis, 'conversations', theirs.id)).toBe(true);
  });
});

describe('a sweep killed halfway', () => {
  const kluises: TestKluis[] = [];
  afterEach(async () => {
    for (const k of kluises.splice(0)) await k.destroy();
  });

  async function seeded(): Promise<{ kluis: TestKluis; orgId: string }> {
    const clockOf = createFixedClock('2024-01-01T00:00:00.000Z');
    const kluis = await createTestKluis({ clock: clockOf });
    kluises.push(kluis);
    const orgId = (await createOrg(kluis, 'tenant')).id;
    for (let i = 0; i < 25; i++) {
      await seedConversation(kluis, orgId, {
        closedAt: new Date(Date.parse('2021-01-01') + i * DAY).toISOString(),
      });
    }
    for (let i = 0; i < 5; i++)
      await seedConversation(kluis, orgId, { closedAt: '2023-12-01T00:00:00.000Z' });
    clockOf.set('2024-01-10T00:00:00.000Z');
    return { kluis, orgId };
  }

  async function state(kluis: TestKluis) {
    return {
      conversations: await countRows(kluis, 'conversations'),
      entries: await countRows(kluis, 'conversation_entries'),
      erasedSubjects: await kluis.db
        .selectFrom('data_subjects')
        .select('id')
        .where('erased_at', 'is not', null)
        .execute()
        .then((r) => r.length),
    };
  }

  it('resumes after a crash following its first batch and finishes with the same result as an uninterrupted sweep', async () => {
    const whole = await seeded();
    const uninterrupted = await whole.kluis.services.retention.run({ batchSize: 10 });

    const killed = await seeded();
    let batches = 0;
    await expect(
      killed.kluis.services.retention.run({
        batchSize: 10,
        afterBatch: () => {
          batches++;
          if (batches === 1) throw new Error('killed');
        },
      }),
    ).rejects.toThrow('killed');
    expect(await countRows(killed.kluis, 'conversations')).toBe(20); // one batch committed
    const run = await killed.kluis.db.selectFrom('retention_runs').selectAll().executeTakeFirstOrThrow();
    expect(run.status).toBe('running');
    // A policy tightened while the run was down does not change the run's result (it applies to
    // the next run): the resumed run keeps the periods it started with.
    const officer: Actor = {
      kind: 'user',
      orgId: killed.orgId,
      orgKind: 'tenant',
      userId: 'officer',
      roles: ['privacy_officer'],
    };
    await killed.kluis.services.retention.updatePolicy(officer, 'contact_request', 1);

    const resumed = await killed.kluis.services.retention.run({ batchSize: 10 });
    expect(resumed).toMatchObject({ resumed: true, runId: run.id, asOf: uninterrupted.asOf });
    expect(resumed.counts[killed.orgId]).toEqual(uninterrupted.counts[whole.orgId]);
    expect(await state(killed.kluis)).toEqual(await state(whole.kluis));
    expect(await state(killed.kluis)).toEqual({ conversations: 5, entries: 5, erasedSubjects: 25 });
    // Done: the run keeps its report, its resume steps are gone.
    expect(await countRows(killed.kluis, 'retention_run_steps')).toBe(0);
    const done = await killed.kluis.db.selectFrom('retention_runs').selectAll().executeTakeFirstOrThrow();
    expect(done).toMatchObject({ status: 'done', lease_until: null });
    expect(JSON.parse(done.report ?? '{}')[killed.orgId]['intake.conversations']).toEqual({
      applied: 25,
      held: 0,
      anonymised: 0,
    });

    // The ledger names every erased conversation exactly once.
    const ids: string[] = [];
    for await (const read of readErasureLedger(killed.kluis.services.retention.ledger.source)) {
      if (read.ok && read.line.kind === 'erasure' && read.line.target === 'intake.conversations')
        ids.push(...read.line.ids);
    }
    expect(ids).toHaveLength(25);
    expect(new Set(ids).size).toBe(25);
  });

  it('rolls back a batch that fails before its commit and redoes it on resume', async () => {
    const { kluis } = await seeded();
    let failures = 0;
    const ledger = createErasureLedger(join(kluis.dir, 'ledger.jsonl'));
    const failingLedger = {
      source: ledger.source,
      file: ledger.file,
      append: async (...args: Parameters<typeof ledger.append>) => {
        const line = await ledger.append(...args);
        if (
          args[0].kind === 'erasure' &&
          args[0].target === 'intake.conversations' &&
          line.seq === 2 &&
          failures++ === 0
        ) {
          throw new Error('power cut');
        }
        return line;
      },
    };
    await expect(kluis.services.retention.run({ batchSize: 10, ledger: failingLedger })).rejects.toThrow(
      'power cut',
    );
    expect(await countRows(kluis, 'conversations')).toBe(20);
    await kluis.services.retention.run({ batchSize: 10, ledger: failingLedger });
    expect(await state(kluis)).toEqual({ conversations: 5, entries: 5, erasedSubjects: 25 });
  });
});
