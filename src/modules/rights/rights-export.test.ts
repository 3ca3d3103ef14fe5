/**
 * P15: the access export holds every value stored about the person, seeded through every
 * channel with the real services (web form, API, inbound mail with an attachment, phone note,
 * staff reply and note, a client relation with address, signed agreement, SEPA mandate and a
 * collection, a contact person of a company, a consent record, a rights request), and nothing of
 * anyone else. Besides the seeded values, a generic walk over the subject links and the field
 * catalogue checks that every stored value of every linked table is in the export, so a new
 * column cannot be forgotten. Runs on SQLite and PostgreSQL.
 */
import { parse } from 'csv-parse/sync';
import type { Kysely } from 'kysely';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg, createStaffUser } from '../../../test/factories.js';
import { unzip } from '../../../test/zip.js';
import type { Actor } from '../../shared/actor.js';
import { fieldCatalogue } from '../../shared/catalogue.js';
import { createFixedClock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import type { Org } from '../orgs/orgs-repository.js';
import { installedPersonalData } from '../personal-data.js';
import { creditorIdCheckDigits } from '../relations/relations-sepa.js';
import { restrict } from '../retention/retention-restriction.js';
import type { ExportTable, SubjectExport } from './rights-export-compile.js';
import {
  buildExportZip,
  CSV_ERASED,
  formulaLike,
  SUMMARY_CONSULTATIONS,
  summaryHtml,
} from './rights-export-zip.js';
import { requestRecords } from './rights-records.js';

const subjectLinks = installedPersonalData()
  .all()
  .flatMap((p) => p.subjectLinks ?? []);

type Row = Record<string, unknown>;
type LooseDB = Record<string, Row>;

async function rawMail(options: ConstructorParameters<typeof MailComposer>[0]): Promise<Buffer> {
  return new MailComposer(options).compile().build();
}

/** The text of a value as JSON writes it inside a string (quotes and backslashes escaped). */
const inJson = (value: string) => JSON.stringify(value).slice(1, -1);

const pdf = (marker: string) => Buffer.from(`%PDF-1.4\n% ${marker}\n1 0 obj << >> endobj\n%%EOF\n`, 'latin1');

const IBAN = 'NL91ABNA0417164300';

describe('the access export (P15)', () => {
  const clock = createFixedClock('2030-06-03T09:00:00.000Z');
  let kluis: TestKluis;
  let org: Org;
  let otherOrg: Org;
  let support: Actor;
  let finance: Actor;
  /** Values seeded for Femke, as the services store them. */
  const seeded: string[] = [];
  /** Values seeded for Gijs (same org), which must never appear in Femke's export. */
  const others: string[] = [];
  let femke: string;
  let erasedSubject: string;
  let data: SubjectExport;
  let files: Map<string, Buffer>;
  let attachmentPdf: Buffer;
  let agreementPdf: Buffer;
  let mandateId: string;
  let femkeConversation: string;
  let gijsConversation: string;

  const femkeContact = {
    name: 'Femke Oosterhuis-Zandbergen',
    email: 'femke.zandbergen@example.nl',
    phone: '+31612345678',
  };

  beforeAll(async () => {
    kluis = await createTestKluis({ clock });
    org = await createOrg(kluis, 'tenant', 'Zeilmakerij Noord');
    otherOrg = await createOrg(kluis, 'tenant', 'Andere Organisatie');
    const supportUser = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    const financeUser = await createStaffUser(kluis, { orgId: org.id, roles: ['finance', 'support'] });
    support = {
      kind: 'user',
      orgId: org.id,
      orgKind: 'tenant',
      userId: supportUser.user.id,
      roles: ['support'],
    };
    finance = {
      kind: 'user',
      orgId: org.id,
      orgKind: 'tenant',
      userId: financeUser.user.id,
      roles: ['finance', 'support'],
    };
    const intake = kluis.services.intake;
    const inbox = kluis.services.inbox;
    const mail = kluis.services.inboundMail;
    const relations = kluis.services.relations;
    const agreements = kluis.services.relationAgreements;
    const mandates = kluis.services.mandates;
    const visitor = { kind: 'anonymous', orgId: org.id, ref: 'ip:test' } as const;
    const apiKey: Actor = {
      kind: 'api_key',
      orgId: org.id,
      orgKind: 'tenant',
      apiKeyId: 'key-1',
      roles: ['support'],
      scopes: ['api'],
    };

    // The register: a sub-processor for contact details and messages, another recipient for bookkeeping.
    const officer: Actor = {
      kind: 'user',
      orgId: org.id,
      orgKind: 'tenant',
      userId: 'officer-1',
      roles: ['privacy_officer'],
    };
    const register = kluis.services.register;
    await register.createSubprocessor({
      actor: officer,
      values: {
        name: 'Mailhost Noord B.V.',
        service: 'E-mail en opslag',
        location: 'Groningen',
        country: 'NL',
        dataCategories: ['contact_details', 'message_content'],
        agreementVersion: '1.0',
        agreementSignedOn: '2024-01-01',
      },
    });
    await register.createSubprocessor({
      actor: officer,
      values: {
        name: 'Oud Archief B.V.',
        service: 'Archief',
        country: 'NL',
        dataCategories: ['contact_details'],
        status: 'ended',
      },
    });
    await register.updateActivity({
      actor: officer,
      purpose: 'bookkeeping',
      values: { recipients: 'De Belastingdienst (bij een controle)' },
    });

    // --- Femke, through every channel -------------------------------------------------------
    seeded.push(femkeContact.name, femkeContact.email, femkeContact.phone);
    const web = await intake.submitContactRequest({
      actor: visitor,
      channel: 'web',
      request: { ...femkeContact, message: 'Vraag via het formulier <b>marker-web-8c1f</b> & "quotes"' },
      locale: 'nl',
    });
    seeded.push('Vraag via het formulier <b>marker-web-8c1f</b> & "quotes"');
    await intake.submitContactRequest({
      actor: apiKey,
      channel: 'api',
      request: { ...femkeContact, message: 'Vraag via de API marker-api-2d7e' },
      locale: 'en',
    });
    seeded.push('Vraag via de API marker-api-2d7e');
    await intake.submitContactRequest({
      actor: apiKey,
      channel: 'api',
      request: { ...femkeContact, message: "=cmd|' /C calc'!A0 marker-formula-7" },
      locale: 'nl',
    });
    seeded.push("=cmd|' /C calc'!A0 marker-formula-7");

    attachmentPdf = pdf('marker-attachment-5512');
    const received = await mail.receive({
      orgId: org.id,
      mailbox: 'contact',
      raw: await rawMail({
        from: `"${femkeContact.name}" <${femkeContact.email}>`,
        to: 'contact@zeilmakerij.example',
        subject: 'Onderwerp marker-subject-41aa',
        text: 'Mailtekst marker-mail-77b0',
        messageId: '<marker-msgid-1@example.nl>',
        attachments: [
          { filename: 'factuur-marker-9q.pdf', content: attachmentPdf, contentType: 'application/pdf' },
        ],
      }),
    });
    if (received.kind !== 'opened') throw new Error(`mail not taken in: ${received.kind}`);
    seeded.push(
      'Onderwerp marker-subject-41aa',
      'Mailtekst marker-mail-77b0',
      '<marker-msgid-1@example.nl>',
      'factuur-marker-9q.pdf',
      attachmentPdf.toString('base64'),
    );
    await inbox.reply({ actor: support, id: received.conversationId, body: 'Antwoord marker-reply-6f21' });
    await inbox.addNote({ actor: support, id: web.conversationId, body: 'Notitie marker-note-0a4b' });
    await intake.recordPhoneCall({
      actor: support,
      request: { ...femkeContact, message: 'Telefoongesprek marker-phone-3e9d' },
      locale: 'nl',
    });
    seeded.push(
      'Antwoord marker-reply-6f21',
      'Notitie marker-note-0a4b',
      'Telefoongesprek marker-phone-3e9d',
    );

    const { id: relationId } = await relations.createRelation({
      actor: finance,
      values: {
        kind: 'person',
        formOfAddress: 'ms',
        givenName: 'Femke',
        familyName: 'Oosterhuis-Zandbergen',
        email: femkeContact.email,
        phone: femkeContact.phone,
        status: 'active',
        startedAt: '2029-02-01',
      },
    });
    seeded.push('Femke', 'Oosterhuis-Zandbergen', 'ms');
    const address = await relations.setAddress({
      actor: finance,
      relationId,
      values: {
        country: 'NL',
        city: 'Zandvoort-marker',
        postcode: '2042 AB',
        street: 'Kerkstraat-marker',
        houseNumber: '12',
        houseNumberAddition: 'b',
      },
    });
    seeded.push(address.city, address.postcode, address.street, address.houseNumber);
    agreementPdf = pdf('marker-agreement-77aa');
    await agreements.addAgreement({
      actor: finance,
      relationId,
      values: {
        title: 'Hostingovereenkomst',
        version: '2030.1',
        effectiveFrom: '2030-01-01',
        signedByName: 'F. Oosterhuis marker-sig-31',
        signedAt: '2030-01-02',
        signatureChannel: 'paper',
      },
      document: { fileName: 'contract-marker-8x.pdf', content: agreementPdf, truncated: false },
    });
    seeded.push('F. Oosterhuis marker-sig-31', 'contract-marker-8x.pdf', agreementPdf.toString('base64'));
    ({ id: mandateId } = await mandates.createMandate({
      actor: finance,
      relationId,
      values: {
        reference: 'ZEIL-FEMKE-0001',
        scheme: 'CORE',
        sequence: 'recurrent',
        accountHolder: 'F. Oosterhuis marker-holder',
        iban: 'NL91 ABNA 0417 1643 00',
        bic: 'ABNANL2A',
        signedAt: '2030-01-15',
        signatureName: 'Femke marker-mandate-sig',
        signatureChannel: 'paper',
      },
    }));
    seeded.push(
      IBAN,
      'ABNANL2A',
      'F. Oosterhuis marker-holder',
      'Femke marker-mandate-sig',
      'ZEIL-FEMKE-0001',
    );
    await mandates.setCreditor({
      actor: finance,
      values: {
        name: 'Zeilmakerij Noord B.V.',
        creditorId: `NL${creditorIdCheckDigits('NL', '123456780000')}ZZZ123456780000`,
        iban: 'NL20INGB0001234567',
        bic: '',
      },
    });
    await mandates.exportCollection({
      actor: finance,
      requestedDate: '2030-06-10',
      lines: [{ mandateId, amount: '12,34', remittance: 'Factuur 2030-06' }],
    });

    // Femke is also the billing contact of a company.
    const { id: companyId } = await relations.createRelation({
      actor: finance,
      values: { kind: 'organisation', organisationName: 'Bakkerij Zandbergen B.V.', status: 'active' },
    });
    await relations.addContact({
      actor: finance,
      relationId: companyId,
      values: {
        formOfAddress: 'ms',
        givenName: 'Femke (contact)',
        familyName: 'Oosterhuis-Zandbergen',
        email: femkeContact.email,
        phone: femkeContact.phone,
        role: 'billing',
      },
    });
    seeded.push('Femke (contact)', 'Bakkerij Zandbergen B.V.');

    const subjectRow = await kluis.db
      .selectFrom('relations')
      .select('subject_id')
      .where('id', '=', relationId)
      .executeTakeFirstOrThrow();
    femke = subjectRow.subject_id;

    await kluis.services.consent.record({
      actor: support,
      values: {
        subjectId: femke,
        purpose: 'newsletter',
        event: 'given',
        method: 'web_form',
        at: '2030-02-01T10:00:00.000Z',
        statementVersion: 3,
      },
    });
    seeded.push('newsletter', 'web_form');

    const records = requestRecords(kluis);
    await kluis.db.transaction().execute(async (trx) => {
      const { row } = await records.insertRequest(trx, {
        orgId: org.id,
        right: 'access',
        channel: 'portal',
        email: femkeContact.email,
        phone: femkeContact.phone,
        details: 'Ik wil inzage marker-details-9911',
        locale: 'nl',
      });
      await trx
        .updateTable('rights_requests')
        .set({
          subject_id: femke,
          identity_note: await records.seal(
            org.id,
            row.id,
            'identity_note',
            'Bevestigd per e-mail marker-idnote',
          ),
        })
        .where('id', '=', row.id)
        .execute();
    });
    seeded.push('Ik wil inzage marker-details-9911', 'Bevestigd per e-mail marker-idnote');

    // The mandate is kept only for the fiscal duty: restricted, and still the subject's right to see.
    await restrict(kluis.db, org.id, 'fiscal_7y', '2030-05-01T00:00:00.000Z', [
      { table: 'relation_mandates', id: mandateId, restrictedUntil: '2037-01-01' },
    ]);

    // --- Gijs, same organisation: none of this may appear --------------------------------------
    const gijs = { name: 'Gijs Verbeek-Anders', email: 'gijs.anders@example.org', phone: '+31687654321' };
    const gijsRequest = await intake.submitContactRequest({
      actor: visitor,
      channel: 'web',
      request: { ...gijs, message: 'Andere vraag marker-gijs-0e0e' },
      locale: 'nl',
    });
    // Consultations: support opens Femke's web request once and Gijs's once (C-579/21).
    await inbox.getConversation({ actor: support, id: web.conversationId });
    await inbox.getConversation({ actor: support, id: gijsRequest.conversationId });
    femkeConversation = web.conversationId;
    gijsConversation = gijsRequest.conversationId;
    const { id: gijsRelation } = await relations.createRelation({
      actor: finance,
      values: {
        kind: 'person',
        formOfAddress: 'mr',
        givenName: 'Gijs',
        familyName: 'Verbeek-Anders',
        email: gijs.email,
        phone: gijs.phone,
        status: 'active',
      },
    });
    await relations.setAddress({
      actor: finance,
      relationId: gijsRelation,
      values: {
        country: 'NL',
        city: 'Gijsdorp',
        postcode: '1011 AB',
        street: 'Gijsstraat',
        houseNumber: '99',
      },
    });
    // Gijs is a contact person of Femke's own relation: his data is his, not hers.
    await relations.addContact({
      actor: finance,
      relationId,
      values: { formOfAddress: 'mr', familyName: 'Verbeek-Contact', email: gijs.email, role: 'technical' },
    });
    others.push(
      gijs.name,
      gijs.email,
      gijs.phone,
      'marker-gijs-0e0e',
      'Gijsdorp',
      'Gijsstraat',
      'Verbeek-Contact',
    );

    // --- Someone erased: the key is destroyed, what is left cannot be read ---------------------
    const erased = await intake.submitContactRequest({
      actor: visitor,
      channel: 'web',
      request: {
        name: 'Wim Gewist',
        email: 'wim.gewist@example.nl',
        phone: undefined,
        message: 'Vraag marker-erased-4c4c',
      },
      locale: 'nl',
    });
    const erasedRow = await kluis.db
      .selectFrom('conversations')
      .select('subject_id')
      .where('id', '=', erased.conversationId)
      .executeTakeFirstOrThrow();
    erasedSubject = erasedRow.subject_id;
    await kluis.keyring.destroySubjectKey(org.id, erasedSubject);
    await kluis.db
      .updateTable('data_subjects')
      .set({ erased_at: clock.now().toISOString(), email_bidx: null, phone_bidx: null })
      .where('id', '=', erasedSubject)
      .execute();
    others.push('Wim Gewist', 'wim.gewist@example.nl', 'marker-erased-4c4c');

    data = await kluis.services.rights.compileExport({ orgId: org.id }, femke, { asOf: clock.now() });
    files = await unzip(await buildExportZip(data, 'nl'));
  });
  afterAll(async () => {
    await kluis.destroy();
  });

  const text = (name: string) => {
    const b = files.get(name);
    if (b === undefined) throw new Error(`${name} not in the zip`);
    return b.toString('utf8');
  };
  const tableOf = (name: string): ExportTable => {
    const t = data.tables.find((x) => x.table === name);
    if (t === undefined) throw new Error(`${name} not exported`);
    return t;
  };

  it('puts every value seeded through every channel into data.json', () => {
    const json = text('data.json');
    const missing = seeded.filter((v) => !json.includes(inJson(v)));
    expect(missing).toEqual([]);
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(data)));
  });

  it('holds every stored value of every linked table, opened, for each of the subject’s rows', async () => {
    // An independent walk: the subject's rows per link, each catalogue column opened by its
    // protection, compared with the export's row. A column added to a linked table is covered.
    const loose = kluis.db as unknown as Kysely<LooseDB>;
    const rowsByTable = new Map<string, Row[]>();
    let compared = 0;
    for (const link of subjectLinks) {
      let rows: Row[];
      if (link.via === 'self') {
        rows = await loose.selectFrom('data_subjects').selectAll().where('id', '=', femke).execute();
      } else if (link.via === 'subject') {
        rows = await loose.selectFrom(link.table).selectAll().where('subject_id', '=', femke).execute();
      } else {
        const parentIds = (rowsByTable.get(link.parent) ?? []).map((r) => String(r.id));
        rows =
          parentIds.length === 0
            ? []
            : await loose.selectFrom(link.table).selectAll().where(link.column, 'in', parentIds).execute();
      }
      rowsByTable.set(link.table, rows);
      const exported = tableOf(link.table);
      expect(exported.rows.map((r) => r.id).sort(), link.table).toEqual(rows.map((r) => String(r.id)).sort());
      for (const row of rows) {
        const out = exported.rows.find((r) => r.id === row.id);
        for (const field of fieldCatalogue().fields.filter((f) => f.table === link.table)) {
          const raw = row[field.column];
          if (raw === null || raw === undefined) continue;
          const label = `${link.table}.${field.column} of ${String(row.id)}`;
          const loc = { table: link.table, column: field.column, rowId: String(row.id) };
          if (field.protection === 'blind_index' || field.protection === 'hash') {
            expect(out?.lookupKeys, label).toContain(field.column);
            expect(JSON.stringify(data), label).not.toContain(String(raw));
            continue;
          }
          const expected =
            field.protection === 'subject_key'
              ? await kluis.keyring.decryptForSubject(org.id, femke, loc, raw as Buffer)
              : field.protection === 'org_key'
                ? await kluis.keyring.decryptForOrg(org.id, loc, raw as Buffer)
                : String(raw);
          expect(String(out?.values[field.column]), label).toBe(expected);
          compared++;
        }
      }
    }
    // Every linked table the seed reaches has rows, and so many values were compared.
    for (const table of subjectLinks.map((l) => l.table)) {
      expect(rowsByTable.get(table)?.length, table).toBeGreaterThan(0);
    }
    expect(compared).toBeGreaterThan(50);
  });

  it('contains nothing about anyone else', () => {
    for (const [name, content] of files) {
      const body = content.toString('utf8');
      for (const value of others) expect(body.includes(value), `${value} in ${name}`).toBe(false);
    }
    // The company's own record and Gijs as a contact of Femke's relation are other subjects.
    expect(tableOf('relation_contacts').rows).toHaveLength(1);
    expect(tableOf('relations').rows).toHaveLength(1);
    expect(tableOf('relation_contacts').rows[0]?.context).toEqual({
      'relations.kind': 'organisation',
      'relations.organisation_name': 'Bakkerij Zandbergen B.V.',
    });
  });

  it('finds nothing in another organisation’s scope', async () => {
    const attempt = kluis.services.rights.compileExport({ orgId: otherOrg.id }, femke, { asOf: clock.now() });
    await expect(attempt).rejects.toBeInstanceOf(AppError);
    await expect(attempt).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });

  it('includes restricted records and says so', () => {
    const mandate = tableOf('relation_mandates').rows.find((r) => r.id === mandateId);
    expect(mandate?.restricted).toEqual({ since: '2030-05-01T00:00:00.000Z', until: '2037-01-01' });
    expect(mandate?.values.iban).toBe(IBAN);
    // A collection under the restricted mandate is restricted with it.
    expect(tableOf('relation_collections').rows[0]?.restricted?.until).toBe('2037-01-01');
    expect(tableOf('relation_collections').rows[0]?.values.amount_cents).toBe(1234);
    expect(text('summary.html')).toContain('Afgeschermd sinds 2030-05-01');
  });

  it('lists lookup keys without their hashes, and the structural details that give values meaning', () => {
    const subject = tableOf('data_subjects').rows[0];
    expect(subject?.lookupKeys).toEqual(['email_bidx', 'phone_bidx']);
    expect(subject?.values).not.toHaveProperty('email_bidx');
    const conversations = tableOf('conversations').rows;
    expect(conversations.map((c) => c.values.channel).sort()).toEqual([
      'api',
      'api',
      'email',
      'phone',
      'web',
    ]);
    expect(conversations.every((c) => typeof c.values.created_at === 'string')).toBe(true);
    expect(tableOf('rights_requests').rows[0]?.values).not.toHaveProperty('token_hash');
    expect(tableOf('rights_request_events').rows.map((e) => e.values.kind)).toContain('received');
  });

  it('says what applies: purposes, legal bases, retention, recipients, and that the access log is never linked', () => {
    const categories = data.categories.map((c) => c.category);
    for (const c of [
      'contact_details',
      'message_content',
      'billing_address',
      'signature',
      'direct_debit',
    ] as const) {
      expect(categories).toContain(c);
    }
    const debit = data.categories.find((c) => c.category === 'direct_debit');
    expect(
      debit?.uses.some((u) => u.retention === 'fiscal_7y' && u.fields.includes('relation_mandates.iban')),
    ).toBe(true);
    expect(data.retention.find((r) => r.policy === 'fiscal_7y')?.period).toMatchObject({
      value: 84,
      unit: 'months',
    });
    expect(data.retention.find((r) => r.policy === 'contact_request')?.period).toMatchObject({ value: 12 });
    expect(data.purposes.map((p) => p.purpose)).toContain('handle_requests');
    expect(data.purposes.find((p) => p.purpose === 'bookkeeping')?.otherRecipients).toBe(
      'De Belastingdienst (bij een controle)',
    );
    // Active sub-processors of the categories the person has; an ended one is not a recipient.
    expect(data.recipients.map((r) => r.name)).toEqual(['Mailhost Noord B.V.']);
    const mailhost = data.recipients[0]?.id;
    expect(data.categories.find((c) => c.category === 'message_content')?.recipients).toEqual([mailhost]);
    expect(data.categories.find((c) => c.category === 'direct_debit')?.recipients).toEqual([]);
    const summary = text('summary.html');
    expect(summary).toContain('Mailhost Noord B.V.: E-mail en opslag (Groningen, NL, binnen de EER)');
    expect(summary).toContain('De Belastingdienst (bij een controle)');
    expect(summary).not.toContain('Oud Archief');
    expect(data.accessLog).toEqual({
      linked: false,
      truncateIpAfterDays: kluis.config.accessLog.truncateIpAfterDays,
      deleteAfterDays: kluis.config.accessLog.deleteAfterDays,
    });
  });

  it('lists who consulted or changed the records, when and for what, without naming the employee (C-579/21)', () => {
    const reads = data.consultations.filter((c) => c.action === 'intake.conversation.read');
    expect(reads).toEqual([
      {
        at: expect.any(String),
        action: 'intake.conversation.read',
        table: 'conversations',
        recordId: femkeConversation,
        fields: expect.arrayContaining(['body', 'requester_email']),
        purpose: expect.any(String),
        by: 'staff',
      },
    ]);
    // Changes count too: the relation and the mandate were made by finance staff.
    expect(data.consultations.some((c) => c.table === 'relations' && c.by === 'staff')).toBe(true);
    expect(data.consultations.some((c) => c.table === 'relation_mandates' && c.recordId === mandateId)).toBe(
      true,
    );
    // Oldest first, nobody else's records, no staff identity anywhere.
    const times = data.consultations.map((c) => c.at);
    expect(times).toEqual([...times].sort());
    expect(data.consultations.some((c) => c.recordId === gijsConversation)).toBe(false);
    const json = JSON.stringify(data.consultations);
    for (const actor of [support, finance]) {
      if (actor.kind === 'user') expect(json).not.toContain(actor.userId);
    }
    const csv = parse(text('csv/consultations.csv'), { bom: true, columns: true }) as Record<
      string,
      string
    >[];
    expect(csv).toHaveLength(data.consultations.length);
    expect(csv.find((r) => r.action === 'intake.conversation.read')).toMatchObject({
      table: 'conversations',
      record_id: femkeConversation,
      by: 'staff',
    });
    expect(text('summary.html')).toContain('Wie uw gegevens heeft ingezien of gewijzigd');
  });

  it('shows the newest consultations in the summary and all of them in the CSV', async () => {
    const many = Array.from({ length: SUMMARY_CONSULTATIONS + 50 }, (_, i) => ({
      at: new Date(Date.UTC(2030, 0, 1, 0, i)).toISOString(),
      action: `test.consulted.${String(i).padStart(3, '0')}`,
      table: 'conversations',
      recordId: femkeConversation,
      fields: ['body'],
      purpose: null,
      by: 'staff' as const,
    }));
    const big = { ...data, consultations: many };
    const summary = summaryHtml(big, 'en');
    expect(summary.split('test.consulted.').length - 1).toBe(SUMMARY_CONSULTATIONS);
    expect(summary).toContain(`test.consulted.${String(SUMMARY_CONSULTATIONS + 49)}`);
    expect(summary).not.toContain('test.consulted.000');
    expect(summary).toContain(
      `Shown above are the last ${SUMMARY_CONSULTATIONS} of ${SUMMARY_CONSULTATIONS + 50}`,
    );
    const zip = await unzip(await buildExportZip(big, 'en'));
    const csv = parse(zip.get('csv/consultations.csv')?.toString('utf8') ?? '', { bom: true, columns: true });
    expect(csv).toHaveLength(SUMMARY_CONSULTATIONS + 50);
  });

  it('writes a readable, escaped, script-free summary in the subject’s language with the complaint route', async () => {
    const nl = text('summary.html');
    expect(nl).toContain('<html lang="nl">');
    expect(nl).toContain('Uw persoonsgegevens bij Zeilmakerij Noord');
    expect(nl).toContain('Het toegangslog');
    expect(nl).toContain('href="https://autoriteitpersoonsgegevens.nl"');
    expect(nl).toContain('&lt;b&gt;marker-web-8c1f&lt;/b&gt; &amp; &quot;quotes&quot;');
    expect(nl).not.toMatch(/<script|<b>marker|src=|https?:\/\/(?!autoriteitpersoonsgegevens\.nl)/i);
    expect(nl).toContain('Machtigingen voor automatische incasso');
    const en = (await unzip(await buildExportZip(data, 'en'))).get('summary.html')?.toString('utf8') ?? '';
    expect(en).toContain('<html lang="en">');
    expect(en).toContain('Your personal data at Zeilmakerij Noord');
    expect(en).toContain('Direct debit mandates');
    expect(text('README.txt')).toContain('https://autoriteitpersoonsgegevens.nl');
  });

  it('carries one CSV per linked table, the files themselves, in a fixed order, byte for byte reproducible', async () => {
    const names = [...files.keys()];
    expect(names.slice(0, 3)).toEqual(['README.txt', 'summary.html', 'data.json']);
    expect(names.filter((n) => n.startsWith('csv/'))).toEqual([
      ...subjectLinks.map((l) => `csv/${l.table}.csv`),
      'csv/consultations.csv',
    ]);
    const conversations = parse(text('csv/conversations.csv'), { bom: true, columns: true }) as Record<
      string,
      string
    >[];
    expect(conversations).toHaveLength(5);
    expect(conversations.every((r) => r.requester_email === femkeContact.email)).toBe(true);
    const entries = parse(text('csv/conversation_entries.csv'), { bom: true, columns: true }) as Record<
      string,
      string
    >[];
    expect(entries.map((e) => e.body)).toContain('Vraag via het formulier <b>marker-web-8c1f</b> & "quotes"');
    // A cell a spreadsheet would run is neutralised; a phone number is left alone.
    expect(entries.map((e) => e.body)).toContain("'=cmd|' /C calc'!A0 marker-formula-7");
    expect(conversations[0]?.requester_phone).toBe(femkeContact.phone);
    expect(['=1+1', '@SUM(A1)', '+cmd|x', '-2+3*A1', '\t=1'].map(formulaLike)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(['+31612345678', '-12', 'Hallo', '2030-01-01', ''].map(formulaLike)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
    const attachment = names.find((n) => n.startsWith('files/conversation_attachments/'));
    expect(attachment).toMatch(/factuur-marker-9q\.pdf$/);
    expect(files.get(attachment ?? '')?.equals(attachmentPdf)).toBe(true);
    const document = names.find((n) => n.startsWith('files/relation_agreement_documents/'));
    expect(files.get(document ?? '')?.equals(agreementPdf)).toBe(true);
    const again = await buildExportZip(data, 'nl');
    expect(again.equals(await buildExportZip(data, 'nl'))).toBe(true);
  });

  it('reports an erased subject’s values as erased instead of failing', async () => {
    const erased = await kluis.services.rights.compileExport({ orgId: org.id }, erasedSubject, {
      asOf: clock.now(),
    });
    expect(erased.subject.keyDestroyed).toBe(true);
    expect(erased.subject.erasedAt).toBe(clock.now().toISOString());
    const conversation = erased.tables.find((t) => t.table === 'conversations')?.rows[0];
    expect(conversation?.erased).toEqual(['requester_name', 'requester_email']);
    expect(conversation?.values.requester_email).toBeNull();
    expect(conversation?.values.channel).toBe('web');
    expect(erased.tables.find((t) => t.table === 'conversation_entries')?.rows[0]?.erased).toEqual(['body']);
    const zip = await unzip(await buildExportZip(erased, 'en'));
    expect(zip.get('summary.html')?.toString('utf8')).toContain('Your data has been erased');
    expect(zip.get('csv/conversations.csv')?.toString('utf8')).toContain(CSV_ERASED);
  });
});
