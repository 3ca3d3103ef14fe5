/**
 * Erasure on request (P15, P6): a person known through every intake channel and as a client with
 * a signed agreement, mandates and a collection is erased; what the fiscal duty keeps stays,
 * restricted and readable by finance only; the key is destroyed; no erased byte survives in the
 * SQLite file or its WAL; the audit trail names fields and counts only; and a backup restored
 * afterwards keeps the person erased.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Browser } from '../../../test/browser.js';
import { createTestKluis, type TestKluis, testDialect } from '../../../test/dialects.js';
import { createOrg, createStaffUser } from '../../../test/factories.js';
import {
  decryptSqlcipherPages,
  decryptSqlcipherWal,
  fileBytes,
  rightsRequestRow,
  tableCounts,
} from '../../../test/retention-fixtures.js';
import { buildApp } from '../../app.js';
import { keystoreEncryptionKey } from '../../config/env.js';
import { rawSqlcipherKey } from '../../db/database.js';
import { openKluis } from '../../kluis.js';
import type { Actor, Role } from '../../shared/actor.js';
import { fieldCatalogue } from '../../shared/catalogue.js';
import { createFixedClock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import { createBackup } from '../ops/ops-backup.js';
import { restoreBackup } from '../ops/ops-restore.js';
import { openSqliteFile } from '../ops/ops-sqlite.js';
import type { Org } from '../orgs/orgs-repository.js';
import { installedPersonalData } from '../personal-data.js';
import { rebuildRemnants, resealedColumns } from '../relations/relations-remnant.js';
import { clientDataTarget } from '../relations/relations-retention.js';
import { creditorIdCheckDigits } from '../relations/relations-sepa.js';
import { verifyErasureLedger } from '../retention/retention-ledger.js';
import { replayLedgerOnDatabase, replayLedgerOnKeystore } from '../retention/retention-replay.js';
import { isRestricted } from '../retention/retention-restriction.js';
import { createSubjectsService } from '../subjects/subjects-service.js';

const sqlite = testDialect === 'sqlite';
const EMAIL = 'anna.devries@example.nl';
const PHONE = '+31611112222';
const IBAN = 'NL91ABNA0417164300';
const MAIL_ID = '<mail-marker-7c1e@example.nl>';
const PDF = Buffer.from('%PDF-1.7\nsigned agreement pdf-marker-41aa\n%%EOF\n');
/** Values that must not appear anywhere after erasure (in the clear, e.g. in the audit trail). */
const clearValues = [
  'Anna',
  'de Vries',
  'devries',
  'example.nl',
  PHONE,
  '1111 2222',
  'Oudegracht',
  'NL91',
  'FORM-7d2',
];

function staff(org: Org, ...roles: Role[]): Actor {
  return {
    kind: 'user',
    orgId: org.id,
    orgKind: org.kind,
    userId: `user-${roles.join('-')}-${org.id.slice(0, 4)}`,
    roles,
  };
}

async function refusal(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

interface Seeded {
  readonly subjectId: string;
  readonly keptSubjectId: string;
  readonly relationId: string;
  readonly companyId: string;
  readonly agreementId: string;
  readonly mandateIds: readonly string[];
  /** Every sealed value stored for the person, as stored (ciphertext), with where it lives. */
  readonly sealed: readonly { table: string; column: string; rowId: string; value: Buffer }[];
}

/** The person through every channel and as a client; another person who must stay untouched. */
async function seedPerson(kluis: TestKluis, org: Org): Promise<Seeded> {
  // A real staff user: a phone note is assigned to the one who took the call.
  const user = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
  const support: Actor = {
    kind: 'user',
    orgId: org.id,
    orgKind: org.kind,
    userId: user.user.id,
    roles: ['support'],
  };
  const finance = staff(org, 'finance');
  const intake = kluis.services.intake;
  await intake.submitContactRequest({
    actor: { kind: 'anonymous', orgId: org.id, ref: 'visitor' },
    channel: 'web',
    request: {
      name: 'Anna de Vries',
      email: EMAIL,
      phone: PHONE,
      message: 'Vraag via het formulier FORM-7d2',
    },
    locale: 'nl',
  });
  const raw = Buffer.from(
    [
      `From: Anna de Vries <${EMAIL}>`,
      'To: contact@ambrix.example',
      'Subject: Mijn factuur',
      `Message-ID: ${MAIL_ID}`,
      'Date: Sat, 01 Jun 2030 08:00:00 +0000',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Per e-mail: mijn adres is Oudegracht 12.',
      '',
    ].join('\r\n'),
  );
  const mailOutcome = await kluis.services.inboundMail.receive({ orgId: org.id, mailbox: 'contact', raw });
  expect(mailOutcome.kind).toBe('opened');
  await intake.recordPhoneCall({
    actor: support,
    request: { name: 'Anna de Vries', email: undefined, phone: PHONE, message: 'Belde over de incasso' },
    locale: 'nl',
  });
  const relations = kluis.services.relations;
  const agreements = kluis.services.relationAgreements;
  const mandates = kluis.services.mandates;
  const { id: relationId } = await relations.createRelation({
    actor: support,
    values: {
      kind: 'person',
      formOfAddress: 'ms',
      givenName: 'Anna',
      familyName: 'de Vries',
      email: EMAIL,
      phone: '+31 6 1111 2222',
      status: 'active',
      startedAt: '2029-02-01',
    },
  });
  await relations.setAddress({
    actor: support,
    relationId,
    values: { country: 'NL', city: 'Utrecht', postcode: '3511 AB', street: 'Oudegracht', houseNumber: '12' },
  });
  const { id: agreementId } = await agreements.addAgreement({
    actor: support,
    relationId,
    values: {
      title: 'Hostingovereenkomst',
      version: '3',
      effectiveFrom: '2029-02-01',
      signedByName: 'Anna de Vries',
      signedAt: '2029-01-30',
      signatureChannel: 'paper',
    },
    document: { fileName: 'getekend-devries.pdf', content: PDF, truncated: false },
  });
  const mandate = {
    reference: 'AMB-2030-0001',
    scheme: 'CORE',
    sequence: 'recurrent',
    accountHolder: 'A. de Vries',
    iban: IBAN,
    bic: '',
    signedAt: '2030-01-15',
    signatureName: 'Anna de Vries',
    signatureChannel: 'paper',
  };
  const ended = await mandates.createMandate({ actor: finance, relationId, values: mandate });
  const running = await mandates.createMandate({
    actor: finance,
    relationId,
    values: { ...mandate, reference: 'AMB-2030-0002' },
  });
  await mandates.setCreditor({
    actor: finance,
    values: {
      name: 'Ambrix B.V.',
      creditorId: `NL${creditorIdCheckDigits('NL', '123456780000')}ZZZ123456780000`,
      iban: 'NL20INGB0001234567',
      bic: '',
    },
  });
  await mandates.exportCollection({
    actor: finance,
    requestedDate: '2030-06-03',
    lines: [{ mandateId: ended.id, amount: '12,50', remittance: 'Factuur 1' }],
  });
  await mandates.revokeMandate({ actor: finance, relationId, mandateId: ended.id });
  // The same person as contact person of a company that stays a client.
  const { id: companyId } = await relations.createRelation({
    actor: support,
    values: {
      kind: 'organisation',
      organisationName: 'Bakkerij Brood B.V.',
      status: 'active',
      startedAt: '2028-01-01',
    },
  });
  await relations.addContact({
    actor: support,
    relationId: companyId,
    values: { role: 'billing', formOfAddress: 'ms', givenName: 'Anna', familyName: 'de Vries', email: EMAIL },
  });
  await intake.submitContactRequest({
    actor: { kind: 'anonymous', orgId: org.id, ref: 'visitor' },
    channel: 'web',
    request: { name: 'Kees Keep', email: 'kees@example.org', phone: undefined, message: 'Blijft staan' },
    locale: 'nl',
  });

  const subjects = await createSubjectsService(kluis).findByContact(
    kluis.db,
    { orgId: org.id },
    { email: EMAIL },
  );
  expect(subjects).toHaveLength(1);
  const subjectId = subjects[0]?.id ?? '';
  const kept = await createSubjectsService(kluis).findByContact(
    kluis.db,
    { orgId: org.id },
    {
      email: 'kees@example.org',
    },
  );
  await kluis.services.consent.record({
    actor: support,
    values: { subjectId, purpose: 'newsletter', event: 'given', method: 'email' },
  });

  const sealed: { table: string; column: string; rowId: string; value: Buffer }[] = [];
  const collect = (table: string, rows: readonly Record<string, unknown>[]) => {
    for (const row of rows) {
      for (const [column, value] of Object.entries(row)) {
        if (Buffer.isBuffer(value)) sealed.push({ table, column, rowId: String(row.id), value });
      }
    }
  };
  const conversations = await kluis.db
    .selectFrom('conversations')
    .selectAll()
    .where('subject_id', '=', subjectId)
    .execute();
  collect('conversations', conversations);
  const conversationIds = conversations.map((c) => c.id);
  collect(
    'conversation_entries',
    await kluis.db
      .selectFrom('conversation_entries')
      .selectAll()
      .where('conversation_id', 'in', conversationIds)
      .execute(),
  );
  collect(
    'relations',
    await kluis.db.selectFrom('relations').selectAll().where('id', '=', relationId).execute(),
  );
  collect(
    'relation_addresses',
    await kluis.db
      .selectFrom('relation_addresses')
      .selectAll()
      .where('relation_id', '=', relationId)
      .execute(),
  );
  collect(
    'relation_contacts',
    await kluis.db.selectFrom('relation_contacts').selectAll().where('subject_id', '=', subjectId).execute(),
  );
  collect(
    'relation_agreements',
    await kluis.db
      .selectFrom('relation_agreements')
      .selectAll()
      .where('relation_id', '=', relationId)
      .execute(),
  );
  collect(
    'relation_agreement_documents',
    await kluis.db
      .selectFrom('relation_agreement_documents')
      .selectAll()
      .where('agreement_id', '=', agreementId)
      .execute(),
  );
  collect(
    'relation_mandates',
    await kluis.db
      .selectFrom('relation_mandates')
      .selectAll()
      .where('relation_id', '=', relationId)
      .execute(),
  );
  return {
    subjectId,
    keptSubjectId: kept[0]?.id ?? '',
    relationId,
    companyId,
    agreementId,
    mandateIds: [ended.id, running.id],
    sealed,
  };
}

describe('erasure on request', () => {
  const clock = createFixedClock('2030-06-01T09:00:00.000Z');
  let kluis: TestKluis;
  let org: Org;
  let other: Org;
  beforeEach(async () => {
    clock.set('2030-06-01T09:00:00.000Z');
    kluis = await createTestKluis({ clock });
    org = await createOrg(kluis, 'tenant');
    other = await createOrg(kluis, 'tenant');
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  const count = async (
    table: 'conversations' | 'conversation_entries' | 'relation_contacts',
    column: string,
    value: string,
  ) =>
    Number(
      (
        await kluis.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number | string>().as('n'))
          .where(column as 'id', '=', value)
          .executeTakeFirst()
      )?.n ?? 0,
    );

  it('deletes what no duty keeps, keeps the fiscal records restricted for finance, and destroys the key', async () => {
    const s = await seedPerson(kluis, org);
    const conversationsBefore = await count('conversations', 'subject_id', s.subjectId);
    expect(conversationsBefore).toBe(3);
    const outcome = await kluis.services.rights.eraseSubject(
      { orgId: org.id },
      {
        subjectId: s.subjectId,
        actor: staff(org, 'privacy_officer'),
      },
    );

    expect(outcome.status).toBe('erased');
    expect(outcome.endedRelations).toBe(1);
    expect(outcome.revokedMandates).toBe(1);
    const erased = (table: string, category: string) =>
      outcome.erased.find((e) => e.table === table && e.category === category);
    expect(erased('conversations', 'message_content')).toMatchObject({ action: 'deleted', count: 3 });
    expect(erased('relation_addresses', 'billing_address')).toMatchObject({ action: 'deleted', count: 1 });
    expect(erased('relation_contacts', 'contact_details')).toMatchObject({ action: 'deleted', count: 1 });
    expect(erased('relations', 'contact_details')).toMatchObject({ action: 'anonymised', count: 1 });
    expect(erased('relation_agreements', 'signature')).toMatchObject({ action: 'anonymised', count: 1 });
    expect(erased('consent_records', 'consent')).toMatchObject({ action: 'deleted', count: 1 });
    // Fiscal duty: 7 years after the end of 2030, the year the relation ends with the erasure.
    const retained = (table: string, category: string) =>
      outcome.retained.find((e) => e.table === table && e.category === category);
    const fiscal = { reason: 'fiscal_7y', until: '2038-01-01', restricted: true };
    expect(retained('relation_mandates', 'direct_debit')).toEqual({
      category: 'direct_debit',
      table: 'relation_mandates',
      count: 2,
      ...fiscal,
    });
    expect(retained('relation_agreement_documents', 'agreement')).toMatchObject({ count: 1, ...fiscal });
    expect(retained('relation_agreements', 'agreement')).toMatchObject({ count: 1, ...fiscal });
    expect(retained('relation_collections', 'direct_debit')).toMatchObject({ count: 1, ...fiscal });

    // Contact requests of every channel are gone; another person's stays.
    expect(await count('conversations', 'subject_id', s.subjectId)).toBe(0);
    expect(await count('conversations', 'subject_id', s.keptSubjectId)).toBe(1);
    // Client data anonymised; the company the person was contact person of is still a client.
    const relation = await kluis.db
      .selectFrom('relations')
      .selectAll()
      .where('id', '=', s.relationId)
      .executeTakeFirstOrThrow();
    expect(relation).toMatchObject({
      given_name: null,
      family_name: null,
      form_of_address: null,
      email: null,
      phone: null,
      status: 'ended',
      ended_at: '2030-06-01',
    });
    expect(relation.subject_id).not.toBe(s.subjectId);
    expect(await count('relation_contacts', 'relation_id', s.companyId)).toBe(0);
    expect(
      await kluis.db
        .selectFrom('relations')
        .select('status')
        .where('id', '=', s.companyId)
        .executeTakeFirst(),
    ).toEqual({
      status: 'active',
    });
    const mandateRows = await kluis.db
      .selectFrom('relation_mandates')
      .select(['status'])
      .where('relation_id', '=', s.relationId)
      .execute();
    expect(mandateRows.map((m) => m.status)).toEqual(['revoked', 'revoked']);
    for (const [table, id] of [
      ['relations', s.relationId],
      ['relation_agreements', s.agreementId],
      ['relation_mandates', s.mandateIds[0]],
    ] as const) {
      expect(await isRestricted(kluis.db, table, id ?? ''), table).toBe(true);
    }

    // Finance reads the retained records through the ordinary services; support gets a 404.
    const finance = staff(org, 'finance');
    const mandate = await kluis.services.mandates.getMandate({
      actor: finance,
      relationId: s.relationId,
      mandateId: s.mandateIds[0] ?? '',
    });
    expect(mandate).toMatchObject({
      iban: IBAN,
      accountHolder: 'A. de Vries',
      signatureName: 'Anna de Vries',
    });
    const document = await kluis.services.relationAgreements.getAgreementDocument({
      actor: finance,
      relationId: s.relationId,
      agreementId: s.agreementId,
    });
    expect(document.content.equals(PDF)).toBe(true);
    const detail = await kluis.services.relations.getRelation({
      actor: finance,
      relationId: s.relationId,
    });
    expect(detail).toMatchObject({ person: null, email: null, phone: null, address: null, contacts: [] });
    expect(detail.mandates).toHaveLength(2);
    const hidden = await refusal(
      kluis.services.relations.getRelation({ actor: staff(org, 'support'), relationId: s.relationId }),
    );
    expect([hidden.code, hidden.status]).toEqual(['ERR_NOT_FOUND', 404]);

    // The key is destroyed: what was sealed with it does not open any more, nor can a key be minted.
    expect(await kluis.keyring.isSubjectKeyDestroyed(org.id, s.subjectId)).toBe(true);
    const body = s.sealed.find((x) => x.table === 'conversation_entries');
    expect(body).toBeDefined();
    const shredded = await refusal(
      kluis.keyring.decryptForSubject(
        org.id,
        s.subjectId,
        { table: 'conversation_entries', column: 'body', rowId: body?.rowId ?? '' },
        body?.value ?? Buffer.alloc(0),
      ),
    );
    expect(shredded.code).toBe('ERR_CRYPTO_KEY_DESTROYED');
    const subject = await kluis.db
      .selectFrom('data_subjects')
      .selectAll()
      .where('id', '=', s.subjectId)
      .executeTakeFirstOrThrow();
    expect(subject).toMatchObject({
      email_bidx: null,
      phone_bidx: null,
      erased_at: '2030-06-01T09:00:00.000Z',
    });
    expect(
      await createSubjectsService(kluis).findByContact(kluis.db, { orgId: org.id }, { email: EMAIL }),
    ).toEqual([]);
    expect(await kluis.services.consent.mayUse({ orgId: org.id }, s.subjectId, 'newsletter')).toBe(false);
    // The retained relation's own subject has no blind index: nobody finds it by address.
    const remnant = await kluis.db
      .selectFrom('data_subjects')
      .selectAll()
      .where('id', '=', relation.subject_id)
      .executeTakeFirstOrThrow();
    expect([remnant.email_bidx, remnant.phone_bidx, remnant.erased_at]).toEqual([null, null, null]);
  });

  it('records in the audit trail which fields and how many records went, never a value', async () => {
    const s = await seedPerson(kluis, org);
    const from = Number(
      (
        await kluis.db
          .selectFrom('audit_log')
          .select((eb) => eb.fn.max('seq').as('m'))
          .executeTakeFirst()
      )?.m ?? 0,
    );
    await kluis.services.rights.eraseSubject(
      { orgId: org.id },
      { subjectId: s.subjectId, actor: staff(org, 'privacy_officer') },
    );
    const entries = await kluis.db.selectFrom('audit_log').selectAll().where('seq', '>', from).execute();
    const entry = entries.find((e) => e.action === 'rights.subject.erased');
    expect(entry?.target_id).toBe(s.subjectId);
    const fields = JSON.parse(entry?.fields ?? '[]') as string[];
    expect(fields).toEqual(
      expect.arrayContaining([
        'conversation_entries.body',
        'relations.family_name',
        'relation_addresses.street',
      ]),
    );
    const meta = JSON.parse(entry?.meta ?? '{}') as Record<string, unknown>;
    expect(meta).toMatchObject({
      'deleted.conversations': 3,
      'retained.relation_mandates': 2,
      fiscal_until: '2038-01-01',
    });
    const all = JSON.stringify(await kluis.db.selectFrom('audit_log').selectAll().execute());
    for (const value of clearValues) expect(all.includes(value), value).toBe(false);
  });

  it('cannot be done from another organisation, and refuses while a legal hold covers the person', async () => {
    const s = await seedPerson(kluis, org);
    const before = await tableCounts(kluis);
    const elsewhere = await refusal(
      kluis.services.rights.eraseSubject(
        { orgId: other.id },
        { subjectId: s.subjectId, actor: staff(other, 'privacy_officer') },
      ),
    );
    expect(elsewhere.status).toBe(404);
    const mixed = await refusal(
      kluis.services.rights.eraseSubject(
        { orgId: org.id },
        { subjectId: s.subjectId, actor: staff(other, 'privacy_officer') },
      ),
    );
    expect(mixed.status).toBe(404);
    const support = await refusal(
      kluis.services.rights.eraseSubject(
        { orgId: org.id },
        { subjectId: s.subjectId, actor: staff(org, 'support') },
      ),
    );
    expect(support.status).toBe(403);
    await kluis.services.retention.createHold(staff(org, 'privacy_officer'), {
      target: 'relation_mandates',
      id: s.mandateIds[1] ?? '',
      reason: 'litigation',
    });
    const held = await refusal(
      kluis.services.rights.eraseSubject(
        { orgId: org.id },
        { subjectId: s.subjectId, actor: staff(org, 'privacy_officer') },
      ),
    );
    expect(held.code).toBe('ERR_RIGHTS_ERASURE_HELD');
    const after = await tableCounts(kluis);
    expect({ ...after, legal_holds: 0, audit_log: 0 }).toEqual({ ...before, legal_holds: 0, audit_log: 0 });
    expect(await kluis.keyring.isSubjectKeyDestroyed(org.id, s.subjectId)).toBe(false);
  });

  it('keeps closed rights requests as proof without their contact details, and leaves the open one for the reply', async () => {
    const s = await seedPerson(kluis, org);
    const request = (id: string, status: 'completed' | 'in_progress') =>
      rightsRequestRow({
        id,
        orgId: org.id,
        subjectId: s.subjectId,
        status,
        receivedAt: '2030-05-01T00:00:00.000Z',
        sealed: true,
      });
    const closed = '0190f0a0-0000-7000-8000-000000000001';
    const open = '0190f0a0-0000-7000-8000-000000000002';
    await kluis.db
      .insertInto('rights_requests')
      .values([request(closed, 'completed'), request(open, 'in_progress')])
      .execute();
    const outcome = await kluis.services.rights.eraseSubject(
      { orgId: org.id },
      { subjectId: s.subjectId, actor: staff(org, 'privacy_officer'), requestId: open },
    );
    const rows = await kluis.db
      .selectFrom('rights_requests')
      .select(['id', 'requester_email', 'requester_email_bidx', 'details', 'outcome'])
      .orderBy('id')
      .execute();
    expect(
      rows.map((r) => [
        r.id,
        r.requester_email === null,
        r.requester_email_bidx,
        r.details === null,
        r.outcome,
      ]),
    ).toEqual([
      [closed, true, null, true, 'fulfilled'],
      [open, false, 'bidx', false, null],
    ]);
    expect(outcome.retained.find((r) => r.table === 'rights_requests')).toEqual({
      category: 'rights_request',
      table: 'rights_requests',
      count: 2,
      reason: 'rights_request',
      until: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
      restricted: false,
    });
  });

  it('is a no-op the second time', async () => {
    const s = await seedPerson(kluis, org);
    const actor = staff(org, 'privacy_officer');
    await kluis.services.rights.eraseSubject({ orgId: org.id }, { subjectId: s.subjectId, actor });
    const before = await tableCounts(kluis);
    const again = await kluis.services.rights.eraseSubject(
      { orgId: org.id },
      { subjectId: s.subjectId, actor },
    );
    expect(again).toMatchObject({
      status: 'already_erased',
      erased: [],
      retained: [],
      erasedAt: '2030-06-01T09:00:00.000Z',
    });
    expect(await tableCounts(kluis)).toEqual(before);
  });

  it('deletes the retained records and destroys their key when the fiscal duty ends', async () => {
    const s = await seedPerson(kluis, org);
    await kluis.services.rights.eraseSubject(
      { orgId: org.id },
      { subjectId: s.subjectId, actor: staff(org, 'privacy_officer') },
    );
    const { subject_id: remnant } = await kluis.db
      .selectFrom('relations')
      .select('subject_id')
      .where('id', '=', s.relationId)
      .executeTakeFirstOrThrow();
    clock.set('2037-12-31T12:00:00.000Z');
    await kluis.services.retention.run();
    expect(
      await kluis.db.selectFrom('relations').select('id').where('id', '=', s.relationId).execute(),
    ).toHaveLength(1);
    clock.set('2038-01-02T12:00:00.000Z');
    await kluis.services.retention.run();
    expect(
      await kluis.db.selectFrom('relations').select('id').where('id', '=', s.relationId).execute(),
    ).toHaveLength(0);
    expect(
      await kluis.db
        .selectFrom('relation_mandates')
        .select('id')
        .where('relation_id', '=', s.relationId)
        .execute(),
    ).toHaveLength(0);
    expect(await kluis.keyring.isSubjectKeyDestroyed(org.id, remnant)).toBe(true);
  });

  it.runIf(sqlite)('leaves no erased value in the raw SQLite file, its free pages or the WAL', async () => {
    const s = await seedPerson(kluis, org);
    const wrapped = await kluis.keystore
      .selectFrom('subject_keys')
      .select('wrapped_key')
      .where('subject_id', '=', s.subjectId)
      .executeTakeFirstOrThrow();
    const dbFile = kluis.dbFile ?? '';
    const keysFile = kluis.config.keystoreUrl.replace(/^sqlite:/, '');
    const dbKey = rawSqlcipherKey(kluis.config.databaseKey?.value ?? '');
    const ksKey = rawSqlcipherKey(keystoreEncryptionKey(kluis.config) ?? '');
    // The random IV and tag of each stored envelope (28 bytes, unique to it).
    const probes = s.sealed.map((x) => ({ where: `${x.table}.${x.column}`, bytes: x.value.subarray(1, 29) }));
    const keptConversation = await kluis.db
      .selectFrom('conversations')
      .select('id')
      .where('subject_id', '=', s.keptSubjectId)
      .executeTakeFirstOrThrow();
    const keptBody = (
      await kluis.db
        .selectFrom('conversation_entries')
        .select('body')
        .where('conversation_id', '=', keptConversation.id)
        .executeTakeFirstOrThrow()
    ).body.subarray(1, 29);
    expect(probes.length).toBeGreaterThan(20);
    const markers = [MAIL_ID.slice(1, -1)];

    // Positive control: before, the decrypted pages hold all of it.
    await kluis.checkpoint();
    const pagesBefore = decryptSqlcipherPages(fileBytes(dbFile), dbKey);
    for (const p of probes) expect(pagesBefore.includes(p.bytes), p.where).toBe(true);
    for (const m of markers) expect(pagesBefore.includes(m)).toBe(true);

    await kluis.services.rights.eraseSubject(
      { orgId: org.id },
      { subjectId: s.subjectId, actor: staff(org, 'privacy_officer') },
    );

    const pagesAfter = decryptSqlcipherPages(fileBytes(dbFile), dbKey);
    const wal = fileBytes(`${dbFile}-wal`);
    const walPages = decryptSqlcipherWal(wal, dbKey);
    for (const p of probes) {
      expect(pagesAfter.includes(p.bytes), `${p.where} in the file`).toBe(false);
      expect(walPages.includes(p.bytes), `${p.where} in the WAL`).toBe(false);
    }
    for (const m of markers) {
      expect(pagesAfter.includes(m)).toBe(false);
      expect(walPages.includes(m)).toBe(false);
    }
    expect(wal.length).toBe(0);
    // The scan does find what is still there: the other person's request.
    expect(pagesAfter.includes(keptBody)).toBe(true);
    expect(decryptSqlcipherPages(fileBytes(keysFile), ksKey).includes(wrapped.wrapped_key)).toBe(false);
    expect(fileBytes(`${keysFile}-wal`).length).toBe(0);
  });

  it.runIf(sqlite)('keeps the person erased when a backup from before the erasure is restored', async () => {
    const s = await seedPerson(kluis, org);
    const dbBackup = join(kluis.dir, 'backup-db');
    const ksBackup = join(kluis.dir, 'backup-keys');
    await createBackup({ kluis, kind: 'database', outDir: dbBackup });
    await createBackup({ kluis, kind: 'keystore', outDir: ksBackup });
    clock.set('2030-06-02T09:00:00.000Z');
    await kluis.services.rights.eraseSubject(
      { orgId: org.id },
      { subjectId: s.subjectId, actor: staff(org, 'privacy_officer') },
    );

    mkdirSync(join(kluis.dir, 'restored'));
    const dbTarget = join(kluis.dir, 'restored', 'kluis.db');
    const restored = await restoreBackup({ dir: dbBackup, to: dbTarget, config: kluis.config, clock });
    expect(restored.steps.find((x) => x.name === 'replay the erasure ledger')?.result).toMatch(/2 erasures/);
    const handle = openSqliteFile(dbTarget, kluis.config.databaseKey?.value, { readonly: true });
    const q = <T>(text: string, ...args: string[]) => handle.prepare(text).get(...args) as T;
    const conversations = q<{ n: number }>(
      'select count(*) as n from conversations where subject_id = ?',
      s.subjectId,
    );
    const kept = q<{ n: number }>(
      'select count(*) as n from conversations where subject_id = ?',
      s.keptSubjectId,
    );
    const subject = q<{ erased_at: string | null; email_bidx: string | null }>(
      'select erased_at, email_bidx from data_subjects where id = ?',
      s.subjectId,
    );
    const relation = q<{ family_name: Buffer | null; status: string; ended_at: string }>(
      'select family_name, status, ended_at from relations where id = ?',
      s.relationId,
    );
    const restricted = q<{ n: number }>(
      "select count(*) as n from retention_restrictions where table_name = 'relation_mandates'",
    );
    const contacts = q<{ n: number }>(
      'select count(*) as n from relation_contacts where relation_id = ?',
      s.companyId,
    );
    const consents = q<{ n: number }>(
      'select count(*) as n from consent_records where subject_id = ?',
      s.subjectId,
    );
    handle.close();
    expect([conversations.n, kept.n, contacts.n, consents.n]).toEqual([0, 1, 0, 0]);
    expect(subject.erased_at).not.toBeNull();
    expect(subject.email_bidx).toBeNull();
    expect(relation).toEqual({ family_name: null, status: 'ended', ended_at: '2030-06-02' });
    expect(restricted.n).toBe(2);

    const ksTarget = join(kluis.dir, 'restored', 'kluis-keys.db');
    const ks = await restoreBackup({ dir: ksBackup, to: ksTarget, config: kluis.config, clock });
    // That key-store copy predates the remnant holding the kept records: the restore says so.
    expect(ks.steps.find((x) => x.name === 'replay the erasure ledger')?.result).toMatch(
      /WARNING: 1 keys of records kept for a legal duty/,
    );
    const keys = openSqliteFile(ksTarget, keystoreEncryptionKey(kluis.config), { readonly: true });
    const n = (table: string, id: string) =>
      (keys.prepare(`select count(*) as n from ${table} where subject_id = ?`).get(id) as { n: number }).n;
    const found = [
      n('subject_keys', s.subjectId),
      n('subject_key_tombstones', s.subjectId),
      n('subject_keys', s.keptSubjectId),
    ];
    keys.close();
    expect(found).toEqual([0, 1, 1]);
  });

  it('replays the erasure into a database and key store that got the person back', async () => {
    const s = await seedPerson(kluis, org);
    const conversations = await kluis.db
      .selectFrom('conversations')
      .selectAll()
      .where('subject_id', '=', s.subjectId)
      .execute();
    const subjectRow = await kluis.db
      .selectFrom('data_subjects')
      .selectAll()
      .where('id', '=', s.subjectId)
      .executeTakeFirstOrThrow();
    const wrapped = await kluis.keystore
      .selectFrom('subject_keys')
      .selectAll()
      .where('subject_id', '=', s.subjectId)
      .executeTakeFirstOrThrow();
    // The kept records as they were: under the person's own key.
    const mandatesBefore = await kluis.db
      .selectFrom('relation_mandates')
      .select(['id', 'account_holder', 'iban', 'bic', 'signature_name'])
      .where('relation_id', '=', s.relationId)
      .execute();
    const documentsBefore = await kluis.db
      .selectFrom('relation_agreement_documents')
      .select(['id', 'file_name', 'content'])
      .where('agreement_id', '=', s.agreementId)
      .execute();
    await kluis.services.rights.eraseSubject(
      { orgId: org.id },
      { subjectId: s.subjectId, actor: staff(org, 'privacy_officer') },
    );

    // What an older backup brings back: the requests, a live subject with its indexes, the key.
    await kluis.db.insertInto('conversations').values(conversations).execute();
    await kluis.db
      .updateTable('data_subjects')
      .set({ erased_at: null, email_bidx: subjectRow.email_bidx, phone_bidx: subjectRow.phone_bidx })
      .where('id', '=', s.subjectId)
      .execute();
    await kluis.keystore.deleteFrom('subject_key_tombstones').where('subject_id', '=', s.subjectId).execute();
    await kluis.keystore.insertInto('subject_keys').values(wrapped).execute();
    // ... and the kept relation under the person, its values sealed with the person's key.
    const remnantId = (
      await kluis.db
        .selectFrom('relations')
        .select('subject_id')
        .where('id', '=', s.relationId)
        .executeTakeFirstOrThrow()
    ).subject_id;
    await kluis.db
      .updateTable('relations')
      .set({ subject_id: s.subjectId })
      .where('id', '=', s.relationId)
      .execute();
    await kluis.db.deleteFrom('data_subjects').where('id', '=', remnantId).execute();
    for (const { id, ...values } of mandatesBefore) {
      await kluis.db.updateTable('relation_mandates').set(values).where('id', '=', id).execute();
    }
    for (const { id, ...values } of documentsBefore) {
      await kluis.db.updateTable('relation_agreement_documents').set(values).where('id', '=', id).execute();
    }
    kluis.keyring.clearCache();

    const file = kluis.services.retention.ledger.source;
    const db = await replayLedgerOnDatabase(
      kluis.db,
      kluis.config,
      kluis.personalData.all(),
      file,
      '2030-01-01T00:00:00.000Z',
    );
    const ks = await replayLedgerOnKeystore(
      kluis.keystore,
      kluis.personalData.all(),
      file,
      '2030-01-01T00:00:00.000Z',
    );
    expect(db).toMatchObject({ entries: 2, skipped: 0 });
    expect(ks).toMatchObject({ keys: 1 });
    expect(await count('conversations', 'subject_id', s.subjectId)).toBe(0);
    const subject = await kluis.db
      .selectFrom('data_subjects')
      .selectAll()
      .where('id', '=', s.subjectId)
      .executeTakeFirstOrThrow();
    expect([subject.erased_at === null, subject.email_bidx, subject.phone_bidx]).toEqual([false, null, null]);
    kluis.keyring.clearCache();
    expect(await kluis.keyring.isSubjectKeyDestroyed(org.id, s.subjectId)).toBe(true);
    // The replay hands the kept relation to the same remnant, with the values re-sealed for it:
    // finance reads them with the remnant's key although the person's key is gone again.
    const relation = await kluis.db
      .selectFrom('relations')
      .select(['subject_id', 'given_name'])
      .where('id', '=', s.relationId)
      .executeTakeFirstOrThrow();
    expect(relation).toEqual({ subject_id: remnantId, given_name: null });
    const mandate = await kluis.services.mandates.getMandate({
      actor: staff(org, 'finance'),
      relationId: s.relationId,
      mandateId: s.mandateIds[1] ?? '',
    });
    expect([mandate.iban, mandate.accountHolder]).toEqual([IBAN, 'A. de Vries']);
    const document = await kluis.services.relationAgreements.getAgreementDocument({
      actor: staff(org, 'finance'),
      relationId: s.relationId,
      agreementId: s.agreementId,
    });
    expect(document.content.equals(PDF)).toBe(true);
    // Replaying once more changes nothing.
    await replayLedgerOnDatabase(
      kluis.db,
      kluis.config,
      kluis.personalData.all(),
      file,
      '2030-01-01T00:00:00.000Z',
    );
    const again = await kluis.services.mandates.getMandate({
      actor: staff(org, 'finance'),
      relationId: s.relationId,
      mandateId: s.mandateIds[0] ?? '',
    });
    expect(again.iban).toBe(IBAN);
  });

  it.runIf(sqlite)(
    'lets finance read the kept mandate and agreement after a database backup from before the erasure is restored',
    async () => {
      const s = await seedPerson(kluis, org);
      const finance = await createStaffUser(kluis, { orgId: org.id, roles: ['finance'] });
      const support = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
      const dbBackup = join(kluis.dir, 'backup-db');
      await createBackup({ kluis, kind: 'database', outDir: dbBackup });
      clock.set('2030-06-02T09:00:00.000Z');
      await kluis.services.rights.eraseSubject(
        { orgId: org.id },
        { subjectId: s.subjectId, actor: staff(org, 'privacy_officer') },
      );
      // The ledger line names the remnant and carries only sealed values, never a clear one.
      expect((await verifyErasureLedger(kluis.services.retention.ledger.source)).ok).toBe(true);
      const ledger = readFileSync(kluis.services.retention.ledger.file, 'utf8');
      for (const value of [IBAN, 'A. de Vries', 'Anna', 'getekend-devries', PDF.toString('base64')]) {
        expect(ledger.includes(value), value).toBe(false);
      }

      mkdirSync(join(kluis.dir, 'restored'));
      const dbTarget = join(kluis.dir, 'restored', 'kluis.db');
      await restoreBackup({ dir: dbBackup, to: dbTarget, config: kluis.config, clock });
      // The restored database with the live key store, as after a restore over the live file.
      const restored = await openKluis(
        { ...kluis.config, databaseUrl: `sqlite:${dbTarget}` },
        { clock, logger: createLogger('silent') },
      );
      const app = await buildApp(restored);
      try {
        const b = new Browser(app);
        await b.login(finance.email, finance.password);
        const page = await b.get(`/staff/relations/${s.relationId}/mandates/${s.mandateIds[0] ?? ''}`);
        expect(page.statusCode).toBe(200);
        const pdf = await b.get(`/staff/relations/${s.relationId}/agreements/${s.agreementId}/document`);
        expect(pdf.statusCode).toBe(200);
        expect(pdf.rawPayload.equals(PDF)).toBe(true);
        const mandate = await restored.services.mandates.getMandate({
          actor: staff(org, 'finance'),
          relationId: s.relationId,
          mandateId: s.mandateIds[1] ?? '',
        });
        expect([mandate.iban, mandate.signatureName]).toEqual([IBAN, 'Anna de Vries']);
        // ... and the person stays erased: nothing of theirs elsewhere, no key, the relation anonymised.
        const other = new Browser(app);
        await other.login(support.email, support.password);
        expect((await other.get(`/staff/relations/${s.relationId}`)).statusCode).toBe(404);
        const subject = await restored.db
          .selectFrom('data_subjects')
          .select(['erased_at', 'email_bidx'])
          .where('id', '=', s.subjectId)
          .executeTakeFirstOrThrow();
        expect(subject.erased_at).not.toBeNull();
        expect(subject.email_bidx).toBeNull();
        const relation = await restored.db
          .selectFrom('relations')
          .select(['subject_id', 'family_name', 'email'])
          .where('id', '=', s.relationId)
          .executeTakeFirstOrThrow();
        expect(relation.subject_id).not.toBe(s.subjectId);
        expect([relation.family_name, relation.email]).toEqual([null, null]);
        const conversations = await restored.db
          .selectFrom('conversations')
          .select('id')
          .where('subject_id', '=', s.subjectId)
          .execute();
        expect(conversations).toEqual([]);
        expect(await restored.keyring.isSubjectKeyDestroyed(org.id, s.subjectId)).toBe(true);
        expect(
          await createSubjectsService(restored).findByContact(
            restored.db,
            { orgId: org.id },
            { email: EMAIL },
          ),
        ).toEqual([]);
      } finally {
        await app.close();
        await restored.close();
      }
    },
  );
});

describe('rebuilding the fiscal remnant on a replay', () => {
  const clock = createFixedClock('2030-06-01T09:00:00.000Z');
  let kluis: TestKluis;
  let org: Org;
  let other: Org;
  beforeEach(async () => {
    kluis = await createTestKluis({ clock });
    org = await createOrg(kluis, 'tenant');
    other = await createOrg(kluis, 'tenant');
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  it('touches only the erased person’s own relations in their own org, and ignores a malformed carry', async () => {
    const s = await seedPerson(kluis, org);
    const state = async () => ({
      relation: await kluis.db.selectFrom('relations').selectAll().where('id', '=', s.relationId).execute(),
      mandates: await kluis.db
        .selectFrom('relation_mandates')
        .selectAll()
        .where('relation_id', '=', s.relationId)
        .orderBy('id')
        .execute(),
      subjects: await kluis.db.selectFrom('data_subjects').select('id').orderBy('id').execute(),
    });
    const before = await state();
    const carry = (iban: string) => ({
      remnants: [
        {
          relation: s.relationId,
          subject: '0b6f4c1e-8d2a-4f3b-9c7e-5a1d2e3f4a5b',
          created_at: '2030-06-01T09:00:00.000Z',
          mandates: [{ id: s.mandateIds[0], account_holder: 'AAAA', iban, bic: null, signature_name: null }],
          documents: [],
        },
      ],
    });
    const ctxOf = async (orgId: string) => ({
      orgId,
      dialect: kluis.dialect,
      asOf: clock.now(),
      policies: await kluis.services.retention.policiesOf(orgId),
      providers: kluis.personalData.all(),
    });
    // Another org's replay, even naming this relation: nothing.
    expect(await rebuildRemnants(kluis.db, await ctxOf(other.id), [s.relationId], carry('AAAA'))).toEqual([]);
    // This org, but the relation is not one of the erased person's: nothing.
    expect(await rebuildRemnants(kluis.db, await ctxOf(org.id), [s.companyId], carry('AAAA'))).toEqual([]);
    // Not base64, or no carry at all: nothing.
    expect(
      await rebuildRemnants(kluis.db, await ctxOf(org.id), [s.relationId], carry('not base64!')),
    ).toEqual([]);
    expect(await rebuildRemnants(kluis.db, await ctxOf(org.id), [s.relationId], { remnants: 'x' })).toEqual(
      [],
    );
    expect(await state()).toEqual(before);
  });
});

describe('what erasure reaches', () => {
  it('re-seals or clears every field sealed with the client’s key that a kept relation holds', () => {
    const resealed = Object.entries(resealedColumns).flatMap(([table, columns]) =>
      columns.map((c) => `${table}.${c}`),
    );
    const relationTables = new Set([
      'relations',
      'relation_addresses',
      'relation_agreements',
      'relation_agreement_documents',
      'relation_mandates',
      'relation_collections',
    ]);
    const sealed = fieldCatalogue()
      .fields.filter((f) => relationTables.has(f.table) && f.protection === 'subject_key')
      .map((f) => `${f.table}.${f.column}`);
    expect(sealed.length).toBeGreaterThan(10);
    for (const field of sealed) {
      expect(resealed.includes(field) || clientDataTarget.covers.includes(field), field).toBe(true);
    }
  });

  it('knows every table the access export links to a data subject', () => {
    // A request's timeline is kept with the request (its skeleton is the proof of handling).
    for (const p of installedPersonalData().all()) {
      const known = new Set<string>([...(p.erasure?.tables ?? []), 'rights_request_events']);
      for (const link of p.subjectLinks ?? []) expect(known.has(link.table), link.table).toBe(true);
    }
  });
});
