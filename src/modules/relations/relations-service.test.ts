/**
 * Client relations on a real database (SQLite with SQLCipher, or PostgreSQL): validation before
 * storage (P4), access by role and purpose with audited reads (P5), org isolation, mandate
 * references unique per creditor, and no plaintext IBAN or name in the database file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis, testDialect } from '../../../test/dialects.js';
import { createOrg } from '../../../test/factories.js';
import type { Actor, Role } from '../../shared/actor.js';
import { createFixedClock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import type { Org } from '../orgs/orgs-repository.js';
import { createAgreementsService } from './relations-agreements.js';
import { creditorIdCheckDigits } from './relations-sepa.js';

const IBAN = 'NL91ABNA0417164300';

function staff(org: Org, ...roles: Role[]): Actor {
  return { kind: 'user', orgId: org.id, orgKind: org.kind, userId: `user-${roles.join('-')}`, roles };
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

const person = {
  kind: 'person',
  formOfAddress: 'ms',
  givenName: 'Sanne',
  familyName: 'de Boer-Krakeling',
  email: 'sanne.krakeling@example.nl',
  phone: '+31 6 1234 5678',
  status: 'active',
  startedAt: '2029-02-01',
};

const mandate = {
  reference: 'AMB-2030-0001',
  scheme: 'CORE',
  sequence: 'recurrent',
  accountHolder: 'S. de Boer-Krakeling',
  iban: 'NL91 ABNA 0417 1643 00',
  bic: '',
  signedAt: '2030-01-15',
  signatureName: 'Sanne de Boer-Krakeling',
  signatureChannel: 'paper',
};

describe('client relations', () => {
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

  const services = () => ({
    relations: kluis.services.relations,
    agreements: createAgreementsService({ ...kluis, audit: kluis.services.audit, maxPdfBytes: 1024 }),
    mandates: kluis.services.mandates,
  });

  const count = async (
    table: 'relations' | 'relation_mandates' | 'relation_addresses' | 'relation_agreements',
  ) =>
    Number(
      (
        await kluis.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number | string>().as('n'))
          .executeTakeFirst()
      )?.n ?? 0,
    );

  it('stores a person relation sealed, links it to a data subject and reads it back for support', async () => {
    const { relations } = services();
    const support = staff(org, 'support');
    const { id } = await relations.createRelation({ actor: support, values: person });
    const detail = await relations.getRelation({ actor: support, relationId: id });
    expect(detail.displayName).toBe('Sanne de Boer-Krakeling');
    expect(detail.person?.formOfAddress).toBe('ms');
    expect(detail.email).toBe('sanne.krakeling@example.nl');
    const row = await kluis.db
      .selectFrom('relations')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.organisation_name).toBeNull();
    expect(JSON.stringify(row)).not.toMatch(/Sanne|Krakeling|example\.nl|1234/);
    for (const column of ['given_name', 'family_name', 'form_of_address', 'email', 'phone'] as const) {
      const sealed = row[column];
      expect(Buffer.isBuffer(sealed), column).toBe(true);
      for (const clear of ['Sanne', 'Krakeling', 'example.nl', '5678']) {
        expect(sealed?.includes(Buffer.from(clear)), `${clear} in ${column}`).toBe(false);
      }
    }
    const subject = await kluis.db
      .selectFrom('data_subjects')
      .selectAll()
      .where('id', '=', row.subject_id)
      .executeTakeFirstOrThrow();
    expect(subject.email_bidx).toBe(
      await kluis.keyring.blindIndex(org.id, 'email', 'Sanne.Krakeling@example.nl'),
    );
  });

  it('refuses invalid postcodes and house numbers with clear messages and stores nothing', async () => {
    const { relations } = services();
    const support = staff(org, 'support');
    const { id } = await relations.createRelation({ actor: support, values: person });
    const error = await refusal(
      relations.setAddress({
        actor: support,
        relationId: id,
        values: {
          country: 'NL',
          city: 'Utrecht',
          postcode: '0123 SA',
          street: 'Oudegracht',
          houseNumber: 'x1',
        },
      }),
    );
    expect(error.code).toBe('ERR_VALIDATION');
    expect(error.fields).toEqual({
      postcode: 'relations.address.postcodeNl',
      houseNumber: 'relations.address.houseNumberNl',
    });
    expect(await count('relation_addresses')).toBe(0);
    const saved = await relations.setAddress({
      actor: support,
      relationId: id,
      values: {
        country: 'NL',
        city: 'Utrecht',
        postcode: '3511ab',
        street: 'Oudegracht',
        houseNumber: '231',
        houseNumberAddition: 'bis',
      },
    });
    expect(saved.postcode).toBe('3511 AB');
    expect((await relations.getRelation({ actor: support, relationId: id })).address?.postcode).toBe(
      '3511 AB',
    );
  });

  it('refuses invalid IBANs and BICs with clear messages and stores nothing', async () => {
    const { relations, mandates } = services();
    const finance = staff(org, 'finance');
    const { id } = await relations.createRelation({ actor: finance, values: person });
    const cases: [Record<string, string>, Record<string, string>][] = [
      [{ iban: 'NL91ABNA0417164301' }, { iban: 'relations.mandate.ibanChecksum' }],
      [{ iban: 'NL91ABNA04171643' }, { iban: 'relations.mandate.ibanFormat' }],
      [{ bic: 'RABONL2U' }, { bic: 'relations.mandate.bicMismatch' }],
      [{ bic: 'ABNA' }, { bic: 'relations.mandate.bicFormat' }],
      [{ reference: 'met spatie' }, { reference: 'relations.mandate.referenceFormat' }],
      [{ signedAt: '2031-01-01' }, { signedAt: 'relations.mandate.signedInFuture' }],
    ];
    for (const [patch, fields] of cases) {
      const error = await refusal(
        mandates.createMandate({ actor: finance, relationId: id, values: { ...mandate, ...patch } }),
      );
      expect(error.code, JSON.stringify(patch)).toBe('ERR_VALIDATION');
      expect(error.fields, JSON.stringify(patch)).toEqual(fields);
    }
    expect(await count('relation_mandates')).toBe(0);
  });

  it('keeps mandate references unique per organisation, not across organisations', async () => {
    const { relations, mandates } = services();
    const finance = staff(org, 'finance');
    const a = await relations.createRelation({ actor: finance, values: person });
    const b = await relations.createRelation({
      actor: finance,
      values: { ...person, email: 'b@example.nl' },
    });
    await mandates.createMandate({ actor: finance, relationId: a.id, values: mandate });
    const error = await refusal(
      mandates.createMandate({ actor: finance, relationId: b.id, values: mandate }),
    );
    expect(error.code).toBe('ERR_CONFLICT');
    expect(error.fields).toEqual({ reference: 'relations.mandate.referenceTaken' });
    const financeElsewhere = staff(other, 'finance');
    const c = await relations.createRelation({ actor: financeElsewhere, values: person });
    await mandates.createMandate({ actor: financeElsewhere, relationId: c.id, values: mandate });
    expect(await count('relation_mandates')).toBe(2);
  });

  it('shows support only the masked IBAN, refuses support the full mandate, and audits every finance read', async () => {
    const { relations, mandates } = services();
    const finance = staff(org, 'finance');
    const support = staff(org, 'support');
    const { id } = await relations.createRelation({ actor: finance, values: person });
    const { id: mandateId } = await mandates.createMandate({
      actor: finance,
      relationId: id,
      values: mandate,
    });

    const seenBySupport = await relations.getRelation({ actor: support, relationId: id });
    expect(seenBySupport.mandates[0]?.ibanMasked).toBe('NL** **** **** **** 4300');
    expect(JSON.stringify(seenBySupport)).not.toContain('0417164300');
    expect(JSON.stringify(seenBySupport)).not.toContain('ABNANL2A');
    const refused = await refusal(mandates.getMandate({ actor: support, relationId: id, mandateId }));
    expect(refused.code).toBe('ERR_FORBIDDEN');

    const seenByFinance = await mandates.getMandate({ actor: finance, relationId: id, mandateId });
    expect(seenByFinance.iban).toBe(IBAN);
    expect(seenByFinance.bic).toBe('ABNANL2A');
    const audit = await kluis.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'relations.mandate.read')
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]?.purpose).toBe('direct_debit_collection');
    expect(audit[0]?.target_id).toBe(mandateId);
    expect(JSON.parse(audit[0]?.fields ?? '[]')).toContain('relation_mandates.iban');
    expect(JSON.stringify(await kluis.db.selectFrom('audit_log').selectAll().execute())).not.toMatch(
      /0417164300|Krakeling|example\.nl/,
    );
    expect(await mandates.findRelationIdsByIban({ actor: finance, iban: 'nl91 abna 0417 1643 00' })).toEqual([
      id,
    ]);
  });

  it('lets an admin or owner read no relation data unless they also hold support or finance', async () => {
    const { relations, mandates } = services();
    const { id } = await relations.createRelation({ actor: staff(org, 'support'), values: person });
    for (const actor of [
      staff(org, 'admin'),
      staff(org, 'owner'),
      staff(org, 'owner', 'admin', 'security'),
    ]) {
      expect((await refusal(relations.getRelation({ actor, relationId: id }))).code).toBe('ERR_FORBIDDEN');
      expect(
        (await refusal(relations.listRelations({ actor, sort: 'name', dir: 'asc', page: 1 }))).code,
      ).toBe('ERR_FORBIDDEN');
      expect((await refusal(relations.createRelation({ actor, values: person }))).code).toBe('ERR_FORBIDDEN');
      expect((await refusal(mandates.listCollectable({ actor }))).code).toBe('ERR_FORBIDDEN');
    }
    expect(
      (await relations.getRelation({ actor: staff(org, 'admin', 'support'), relationId: id })).displayName,
    ).toBe('Sanne de Boer-Krakeling');
  });

  it('answers another organisation’s relation, contact, agreement and mandate with 404 and changes nothing', async () => {
    const { relations, mandates, agreements } = services();
    const finance = staff(org, 'finance', 'support');
    const { id } = await relations.createRelation({ actor: finance, values: person });
    const { id: mandateId } = await mandates.createMandate({
      actor: finance,
      relationId: id,
      values: mandate,
    });
    const { id: agreementId } = await agreements.addAgreement({
      actor: finance,
      relationId: id,
      values: {
        title: 'Hosting',
        version: '1',
        effectiveFrom: '2030-01-01',
        signedByName: 'S',
        signedAt: '2030-01-01',
        signatureChannel: 'email',
      },
    });
    const intruder = staff(other, 'finance', 'support');
    const attempts: (() => Promise<unknown>)[] = [
      () => relations.getRelation({ actor: intruder, relationId: id }),
      () => relations.updateRelation({ actor: intruder, relationId: id, values: person }),
      () => relations.addContact({ actor: intruder, relationId: id, values: { ...person, role: 'billing' } }),
      () =>
        relations.setAddress({
          actor: intruder,
          relationId: id,
          values: { country: 'NL', city: 'X', postcode: '1234 AB', street: 'Y', houseNumber: '1' },
        }),
      () => mandates.getMandate({ actor: intruder, relationId: id, mandateId }),
      () => mandates.revokeMandate({ actor: intruder, relationId: id, mandateId }),
      () =>
        mandates.createMandate({ actor: intruder, relationId: id, values: { ...mandate, reference: 'X-1' } }),
      () => agreements.getAgreement({ actor: intruder, relationId: id, agreementId }),
      () => agreements.getAgreementDocument({ actor: intruder, relationId: id, agreementId }),
    ];
    for (const attempt of attempts) expect((await refusal(attempt())).code).toBe('ERR_NOT_FOUND');
    expect(
      (await relations.listRelations({ actor: intruder, sort: 'name', dir: 'asc', page: 1 })).total,
    ).toBe(0);
    expect(await mandates.findRelationIdsByIban({ actor: intruder, iban: IBAN })).toEqual([]);
    expect(await count('relation_mandates')).toBe(1);
    expect(await count('relation_addresses')).toBe(0);
  });

  it('stores a signed PDF sealed, checks its type and size, and audits every download', async () => {
    const { relations, agreements } = services();
    const finance = staff(org, 'finance');
    const support = staff(org, 'support');
    const { id } = await relations.createRelation({ actor: support, values: person });
    const values = { title: 'Hostingovereenkomst', version: '2.1', effectiveFrom: '2030-01-01' };
    const pdf = Buffer.from('%PDF-1.7\n% Kluis test contract Krakeling\n%%EOF\n');
    const notPdf = await refusal(
      agreements.addAgreement({
        actor: support,
        relationId: id,
        values,
        document: { fileName: 'x.pdf', content: Buffer.from('MZ\u0090 not a pdf'), truncated: false },
      }),
    );
    expect(notPdf.fields).toEqual({ document: 'relations.agreement.notPdf' });
    const tooLarge = await refusal(
      agreements.addAgreement({
        actor: support,
        relationId: id,
        values,
        document: { fileName: 'x.pdf', content: Buffer.concat([pdf, Buffer.alloc(2000)]), truncated: false },
      }),
    );
    expect(tooLarge.fields).toEqual({ document: 'relations.agreement.tooLarge' });
    const nothing = await refusal(agreements.addAgreement({ actor: support, relationId: id, values }));
    expect(nothing.fields).toEqual({ document: 'relations.agreement.documentOrSignature' });
    expect(await count('relation_agreements')).toBe(0);

    const { id: agreementId } = await agreements.addAgreement({
      actor: support,
      relationId: id,
      values,
      document: { fileName: '../Contract Krakeling.pdf', content: pdf, truncated: false },
    });
    const stored = await kluis.db
      .selectFrom('relation_agreement_documents')
      .selectAll()
      .executeTakeFirstOrThrow();
    expect(stored.content.includes(Buffer.from('Krakeling'))).toBe(false);
    expect(
      (await refusal(agreements.getAgreementDocument({ actor: support, relationId: id, agreementId }))).code,
    ).toBe('ERR_FORBIDDEN');
    const doc = await agreements.getAgreementDocument({ actor: finance, relationId: id, agreementId });
    expect(doc.content.equals(pdf)).toBe(true);
    expect(doc.fileName).toBe('Contract Krakeling.pdf');
    const audit = await kluis.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'relations.agreement.document.read')
      .executeTakeFirstOrThrow();
    expect(audit.purpose).toBe('contract_administration');
  });

  it('exports a collection that moves a recurrent mandate from FRST to RCUR and completes a one-off', async () => {
    const { relations, mandates } = services();
    const finance = staff(org, 'finance');
    const { id } = await relations.createRelation({ actor: finance, values: person });
    const recurrent = await mandates.createMandate({ actor: finance, relationId: id, values: mandate });
    const oneOff = await mandates.createMandate({
      actor: finance,
      relationId: id,
      values: { ...mandate, reference: 'AMB-OOFF-1', sequence: 'one_off' },
    });
    const noCreditor = await refusal(
      mandates.exportCollection({
        actor: finance,
        requestedDate: '2030-06-03',
        lines: [{ mandateId: recurrent.id, amount: '10', remittance: '' }],
      }),
    );
    expect(noCreditor.fields).toEqual({ _form: 'relations.collection.noCreditor' });
    await mandates.setCreditor({
      actor: finance,
      values: {
        name: 'Ambrix B.V.',
        creditorId: `NL${creditorIdCheckDigits('NL', '123456780000')}ZZZ123456780000`,
        iban: 'NL20INGB0001234567',
        bic: '',
      },
    });
    const early = await refusal(
      mandates.exportCollection({
        actor: finance,
        requestedDate: '2030-06-01',
        lines: [{ mandateId: recurrent.id, amount: '12,5O', remittance: '' }],
      }),
    );
    expect(early.fields).toEqual({
      requestedDate: 'relations.collection.dateTooEarly',
      [`amount.${recurrent.id}`]: 'relations.collection.amountInvalid',
    });
    const first = await mandates.exportCollection({
      actor: finance,
      requestedDate: '2030-06-03',
      lines: [
        { mandateId: recurrent.id, amount: '12,50', remittance: 'Factuur 1' },
        { mandateId: oneOff.id, amount: '99', remittance: 'Eenmalig' },
      ],
    });
    expect(first.count).toBe(2);
    expect(first.totalCents).toBe(11150);
    expect(first.xml).toContain('<SeqTp>FRST</SeqTp>');
    expect(first.xml).toContain('<SeqTp>OOFF</SeqTp>');
    expect(first.xml).toContain('<BIC>INGBNL2A</BIC>');
    const collectable = await mandates.listCollectable({ actor: finance });
    expect(collectable.map((m) => [m.reference, m.sequenceType])).toEqual([['AMB-2030-0001', 'RCUR']]);
    const second = await mandates.exportCollection({
      actor: finance,
      requestedDate: '2030-07-03',
      lines: [{ mandateId: recurrent.id, amount: '12,50', remittance: 'Factuur 2' }],
    });
    expect(second.xml).toContain('<SeqTp>RCUR</SeqTp>');
    const rows = await kluis.db
      .selectFrom('relation_collections')
      .selectAll()
      .orderBy('created_at')
      .execute();
    expect(rows.map((r) => [r.sequence_type, Number(r.amount_cents)])).toEqual(
      expect.arrayContaining([
        ['FRST', 1250],
        ['OOFF', 9900],
        ['RCUR', 1250],
      ]),
    );
    const audit = await kluis.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'relations.collection.exported')
      .execute();
    expect(audit).toHaveLength(2);
    expect(audit.every((a) => a.purpose === 'direct_debit_collection')).toBe(true);
  });

  it.runIf(testDialect === 'sqlite')(
    'leaves no plaintext IBAN, name, email or address in the SQLite files after a checkpoint',
    async () => {
      const { relations, mandates } = services();
      const finance = staff(org, 'finance');
      const { id } = await relations.createRelation({ actor: finance, values: person });
      await relations.setAddress({
        actor: finance,
        relationId: id,
        values: {
          country: 'NL',
          city: 'Zwijndrecht',
          postcode: '3331 AB',
          street: 'Kerkstraatje',
          houseNumber: '7',
        },
      });
      await mandates.createMandate({ actor: finance, relationId: id, values: mandate });
      await sql`select 1`.execute(kluis.db);
      await kluis.checkpoint();
      const needles = [
        'NL91ABNA0417164300',
        '0417164300',
        'Krakeling',
        'sanne.krakeling',
        'Kerkstraatje',
        'Zwijndrecht',
      ];
      const files = readdirSync(kluis.dir).filter((f) => f.startsWith('kluis'));
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        const bytes = readFileSync(join(kluis.dir, file));
        for (const needle of needles) {
          expect(bytes.includes(Buffer.from(needle, 'utf8')), `${needle} in ${file}`).toBe(false);
          expect(bytes.includes(Buffer.from(needle, 'utf16le')), `${needle} (utf16) in ${file}`).toBe(false);
        }
      }
    },
  );
});
