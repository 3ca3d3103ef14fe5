import { randomUUID } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { rejection } from '../../../test/errors.js';
import { createOrg, createStaffUser } from '../../../test/factories.js';
import type { Actor, Role } from '../../shared/actor.js';
import { basisOf, fieldCatalogue, purposes } from '../../shared/catalogue.js';
import { createFixedClock } from '../../shared/clock.js';
import { translator } from '../../shared/i18n/messages.js';
import { createJobRegistry, createWorker } from '../jobs/index.js';
import { registerMailJobs } from '../mail/mail-service.js';
import { createMailSink, type MailSink } from '../mail/mail-sink.js';
import type { Org } from '../orgs/orgs-repository.js';
import { deriveActivities } from './register-derive.js';
import { csvSafe, registerCsv, registerJson } from './register-export.js';
import { label, retentionValuesOf } from './register-labels.js';

const clock = createFixedClock('2030-03-04T09:00:00.000Z');

function staff(org: Pick<Org, 'id' | 'kind'>, roles: readonly Role[]): Actor {
  return { kind: 'user', orgId: org.id, orgKind: org.kind, userId: randomUUID(), roles };
}

const pdf = (text: string) => Buffer.from(`%PDF-1.4\n% ${text}\n%%EOF\n`, 'latin1');

const hosting = {
  name: 'Hostnet B.V.',
  service: 'Hosting van servers',
  location: 'Amsterdam',
  country: 'NL',
  dataCategories: ['contact_details', 'technical_metadata'],
  agreementVersion: '2.1',
  agreementSignedOn: '2029-11-01',
};

describe('the processing register', () => {
  let kluis: TestKluis;
  let operator: Org;
  let officer: Actor;

  beforeEach(async () => {
    kluis = await createTestKluis({ clock });
    operator = await createOrg(kluis, 'operator', 'Ambrix');
    officer = staff(operator, ['privacy_officer']);
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  it('derives one activity per purpose from the catalogue, with exactly the categories of its fields', async () => {
    const register = await kluis.services.register.getRegister({ actor: officer });
    const used = purposes.filter((p) => fieldCatalogue().fields.some((f) => f.purposes.includes(p)));
    expect(register.activities.map((a) => a.purpose)).toEqual(used);
    for (const activity of register.activities) {
      const fields = fieldCatalogue().fields.filter((f) => f.purposes.includes(activity.purpose));
      expect(new Set(activity.categories)).toEqual(new Set(fields.map((f) => f.category)));
      expect(new Set(activity.subjects)).toEqual(new Set(fields.map((f) => f.subjects)));
      expect(new Set(activity.legalBases)).toEqual(new Set(fields.map((f) => basisOf(f, activity.purpose))));
      expect(new Set(activity.retention)).toEqual(new Set(fields.map((f) => f.retention)));
      expect(activity.fields).toEqual(fields.map((f) => `${f.table}.${f.column}`).sort());
    }
    expect(new Set(register.categories.map((c) => c.category))).toEqual(
      new Set(fieldCatalogue().fields.map((f) => f.category)),
    );
  });

  it('lists the newsletter and reference-customer mail to clients as marketing on consent, in the register and the statement', async () => {
    const register = await kluis.services.register.getRegister({ actor: officer });
    const marketing = register.activities.find((a) => a.purpose === 'marketing');
    expect(marketing).toMatchObject({ legalBases: ['consent'], categories: ['contact_details'] });
    // Exactly the fields the consent registry's mailings read (the relations' contact points).
    const contactPoints = kluis.personalData.all().flatMap((p) => p.contactPoints?.fields ?? []);
    expect(marketing?.fields).toEqual([...contactPoints].sort());
    // The same address is kept for the contract on the contract: that activity does not say consent.
    const contract = register.activities.find((a) => a.purpose === 'contract_administration');
    expect(contract?.legalBases).not.toContain('consent');
    const csv = parse(registerCsv(register, translator('nl'), 'nl', retentionValuesOf(kluis.config)), {
      bom: true,
    }) as string[][];
    const row = csv.find((r) => r[0] === 'Nieuwsbrief en referenties');
    expect(row?.[2]).toBe('toestemming (art. 6 lid 1 onder a AVG)');

    const { generated } = await kluis.services.statement.generateFor(operator.id);
    const nl = generated.markdown.nl;
    const block = nl.slice(nl.indexOf('### Nieuwsbrief en referenties'));
    expect(block).toContain('referentieklant');
    expect(block.slice(0, block.indexOf('\n###'))).toContain('toestemming (art. 6 lid 1 onder a AVG)');
    expect(generated.markdown.en).toContain('### Newsletter and references');
    // The contact details' line names the use too.
    expect(nl).toMatch(/\*\*Contactgegevens\*\*[^\n]*nieuwsbrief en referenties/);
  });

  it('keeps the privacy officer’s completion per org and purpose, and refuses a purpose the catalogue does not know', async () => {
    const service = kluis.services.register;
    await service.updateActivity({
      actor: officer,
      purpose: 'bookkeeping',
      values: {
        description: 'Facturen.',
        recipients: 'De Belastingdienst',
        transfers: '',
        securityMeasures: 'Vier ogen',
      },
    });
    const activity = (await service.getRegister({ actor: officer })).activities.find(
      (a) => a.purpose === 'bookkeeping',
    );
    expect(activity).toMatchObject({
      description: 'Facturen.',
      recipients: 'De Belastingdienst',
      securityMeasures: 'Vier ogen',
    });
    const tenant = await createOrg(kluis, 'tenant');
    const other = (await service.getRegister({ actor: staff(tenant, ['owner']) })).activities.find(
      (a) => a.purpose === 'bookkeeping',
    );
    expect(other?.description).toBe('');
    expect(
      (await rejection(service.updateActivity({ actor: officer, purpose: 'profiling', values: {} }))).code,
    ).toBe('ERR_NOT_FOUND');
  });

  it('exports every activity as CSV that parses back, and as JSON', async () => {
    const service = kluis.services.register;
    await service.createSubprocessor({
      actor: officer,
      values: {
        ...hosting,
        country: 'US',
        name: 'Cloudy Inc.',
        transferMechanism: 'scc',
        sccDate: '2029-10-01',
        transferAssessment: 'Encrypted at rest with keys held in the EEA.',
      },
    });
    await service.updateActivity({
      actor: officer,
      purpose: 'handle_requests',
      values: {
        description: '=HYPERLINK("https://evil.example")',
        recipients: '',
        transfers: '',
        securityMeasures: '',
      },
    });
    const snapshot = await service.getRegister({ actor: officer });
    const expected = deriveActivities(fieldCatalogue().fields);
    for (const locale of ['nl', 'en'] as const) {
      const t = translator(locale);
      const csv = registerCsv(snapshot, t, locale, retentionValuesOf(kluis.config));
      const rows = parse(csv, { bom: true }) as string[][];
      expect(rows.length).toBe(expected.length + 1);
      for (const [i, activity] of expected.entries()) {
        const row = rows[i + 1] ?? [];
        expect(row[0]).toBe(label(t, 'purpose', activity.purpose));
        for (const c of activity.categories) expect(row[3]).toContain(label(t, 'category', c));
        // The legal basis column (Art. 30(1)(b) with Art. 6): every basis named, nothing else.
        expect(activity.legalBases.length).toBeGreaterThan(0);
        for (const b of activity.legalBases) expect(row[2]).toContain(label(t, 'basis', b));
        const others = (['contract', 'legal_obligation', 'legitimate_interest', 'consent'] as const).filter(
          (b) => !activity.legalBases.includes(b),
        );
        for (const b of others) expect(row[2]).not.toContain(label(t, 'basis', b));
      }
      expect(rows[0]?.[2]).toBe(t('register.activity.legalBasis'));
      // A cell a spreadsheet would run as a formula is neutralised.
      expect(rows[1]?.[9]).toBe(`'=HYPERLINK("https://evil.example")`);
      // The US sub-processor is a recipient and a transfer outside the EEA.
      expect(rows[1]?.[5]).toContain('Cloudy Inc.');
      expect(rows[1]?.[6]).toContain('Cloudy Inc.');
      const json = registerJson(
        snapshot,
        t,
        locale,
        retentionValuesOf(kluis.config),
        clock.now().toISOString(),
      ) as {
        activities: { id: string; transfersOutsideEea: { subprocessors: { name: string }[] } }[];
      };
      expect(json.activities.map((a) => a.id)).toEqual(expected.map((a) => a.purpose));
      expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    }
    expect(csvSafe('-1+1')).toBe("'-1+1");
    expect(csvSafe('Hostnet')).toBe('Hostnet');
  });

  it('lets only the privacy officer change the register; owners and admins may read it; others may not', async () => {
    const service = kluis.services.register;
    for (const role of ['owner', 'admin', 'support', 'finance', 'security'] as const) {
      const actor = staff(operator, [role]);
      expect((await rejection(service.createSubprocessor({ actor, values: hosting }))).code).toBe(
        'ERR_FORBIDDEN',
      );
      expect((await rejection(service.updateSettings({ actor, values: {} }))).code).toBe('ERR_FORBIDDEN');
      expect(
        (await rejection(service.updateActivity({ actor, purpose: 'bookkeeping', values: {} }))).code,
      ).toBe('ERR_FORBIDDEN');
    }
    for (const role of ['support', 'finance', 'security'] as const) {
      expect((await rejection(service.getRegister({ actor: staff(operator, [role]) }))).code).toBe(
        'ERR_FORBIDDEN',
      );
    }
    await expect(service.getRegister({ actor: staff(operator, ['admin']) })).resolves.toBeDefined();
    expect(await service.listSubprocessors({ actor: officer })).toEqual([]);
  });

  it('treats another organisation’s sub-processors and agreements as not found', async () => {
    const service = kluis.services.register;
    const { subprocessor } = await service.createSubprocessor({ actor: officer, values: hosting });
    const tenant = await createOrg(kluis, 'tenant');
    const intruder = staff(tenant, ['privacy_officer']);
    expect((await rejection(service.getSubprocessor({ actor: intruder, id: subprocessor.id }))).code).toBe(
      'ERR_NOT_FOUND',
    );
    expect(
      (await rejection(service.updateSubprocessor({ actor: intruder, id: subprocessor.id, values: hosting })))
        .code,
    ).toBe('ERR_NOT_FOUND');
    const agreementId = subprocessor.agreement?.id ?? '';
    expect((await rejection(service.getAgreement({ actor: intruder, id: agreementId }))).code).toBe(
      'ERR_NOT_FOUND',
    );
    expect(
      (
        await rejection(
          service.updateAgreement({
            actor: intruder,
            id: agreementId,
            values: { version: '9', signedOn: '2030-01-01' },
          }),
        )
      ).code,
    ).toBe('ERR_NOT_FOUND');
    // A tenant cannot name the operator's sub-processor (or another tenant) as its counterparty.
    const error = await rejection(
      service.createAgreement({
        actor: intruder,
        values: { counterparty: `subprocessor:${subprocessor.id}`, version: '1', signedOn: '2030-01-01' },
      }),
    );
    expect(error.fields).toEqual({ counterparty: 'register.ag.chooseCounterparty' });
    expect((await service.getSubprocessor({ actor: officer, id: subprocessor.id })).name).toBe(
      'Hostnet B.V.',
    );
  });

  it('keeps agreement versions as history and shows a tenant only its own agreement', async () => {
    const service = kluis.services.register;
    const { subprocessor } = await service.createSubprocessor({ actor: officer, values: hosting });
    await service.updateSubprocessor({
      actor: officer,
      id: subprocessor.id,
      values: { ...hosting, agreementVersion: '3.0', agreementSignedOn: '2030-02-01' },
    });
    const updated = await service.getSubprocessor({ actor: officer, id: subprocessor.id });
    expect(updated.agreement).toMatchObject({ version: '3.0', signedOn: '2030-02-01' });
    const acme = await createOrg(kluis, 'tenant', 'Acme');
    const other = await createOrg(kluis, 'tenant', 'Other');
    const agreement = await service.createAgreement({
      actor: officer,
      values: {
        counterparty: `client:${acme.id}`,
        version: '1.0',
        signedOn: '2030-01-15',
        parties: 'Ambrix; Acme',
      },
      document: {
        filename: '../../etc/verwerkersovereenkomst acme.pdf',
        contentType: 'application/pdf',
        data: pdf('acme'),
      },
    });
    expect(agreement.document?.filename).toBe('verwerkersovereenkomst acme.pdf');
    const held = await service.listAgreements({ actor: officer });
    expect(held.held.map((a) => a.version).sort()).toEqual(['1.0', '2.1', '3.0']);

    const acmeOwner = staff(acme, ['owner']);
    const seen = await service.listAgreements({ actor: acmeOwner });
    expect(seen.held).toEqual([]);
    expect(seen.withUs.map((a) => a.id)).toEqual([agreement.id]);
    const doc = await service.readAgreementDocument({ actor: acmeOwner, id: agreement.id });
    expect(doc.data.toString('latin1')).toContain('% acme');
    expect((await service.listAgreements({ actor: staff(other, ['owner']) })).withUs).toEqual([]);
    expect(
      (await rejection(service.readAgreementDocument({ actor: staff(other, ['owner']), id: agreement.id })))
        .code,
    ).toBe('ERR_NOT_FOUND');
    // Reading a signed document is audited; the document is stored sealed, never in clear.
    const reads = await kluis.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'register.agreement.document.read')
      .execute();
    expect(reads).toHaveLength(1);
    const stored = await kluis.db.selectFrom('register_documents').select('content').execute();
    expect(Buffer.concat(stored.map((r) => Buffer.from(r.content))).toString('latin1')).not.toContain(
      '% acme',
    );
  });

  it('accepts only PDF documents within the size limit', async () => {
    const service = kluis.services.register;
    const html = { filename: 'x.pdf', contentType: 'application/pdf', data: Buffer.from('<html><script>') };
    expect(
      (await rejection(service.createSubprocessor({ actor: officer, values: hosting, document: html })))
        .fields,
    ).toEqual({
      document: 'register.document.notPdf',
    });
    const big = {
      filename: 'x.pdf',
      contentType: 'application/pdf',
      data: Buffer.concat([pdf('x'), Buffer.alloc(5 * 1024 * 1024)]),
    };
    expect(
      (await rejection(service.createSubprocessor({ actor: officer, values: hosting, document: big })))
        .fields,
    ).toEqual({
      document: 'register.document.tooLarge',
    });
    expect(await service.listSubprocessors({ actor: officer })).toEqual([]);
  });

  it('validates the sub-processor form: required fields, a known country, a date with a version', async () => {
    const service = kluis.services.register;
    const error = await rejection(
      service.createSubprocessor({
        actor: officer,
        values: { name: ' ', service: '', country: 'XX', agreementVersion: '1', agreementSignedOn: '' },
      }),
    );
    expect(error.fields).toMatchObject({
      name: 'field.required',
      service: 'field.required',
      country: 'register.field.invalidCountry',
      agreementSignedOn: 'field.required',
    });
  });
});

describe('announcing sub-processor changes to tenants (P14)', () => {
  let kluis: TestKluis;
  let sink: MailSink;

  beforeEach(async () => {
    clock.set('2030-03-04T09:00:00.000Z');
    sink = await createMailSink({ port: 0, host: '127.0.0.1' });
    kluis = await createTestKluis({ clock, env: { KLUIS_SMTP_URL: sink.url } });
  });
  afterEach(async () => {
    await kluis.destroy();
    await sink.close();
  });

  it('announces a new sub-processor ahead to every tenant’s owners and privacy officers over SMTP, then mails changes', async () => {
    const operator = await createOrg(kluis, 'operator', 'Ambrix');
    const acme = await createOrg(kluis, 'tenant', 'Acme');
    const beta = await createOrg(kluis, 'tenant', 'Beta');
    const acmeOwner = await createStaffUser(kluis, { orgId: acme.id, roles: ['owner'] });
    const acmeAdmin = await createStaffUser(kluis, { orgId: acme.id, roles: ['admin'] });
    const acmeSupport = await createStaffUser(kluis, { orgId: acme.id, roles: ['support'] });
    const betaOfficer = await createStaffUser(kluis, { orgId: beta.id, roles: ['privacy_officer'] });
    const betaGone = await createStaffUser(kluis, { orgId: beta.id, roles: ['privacy_officer'] });
    await kluis.services.auth.disableUser({
      actor: { kind: 'system', orgId: beta.id, orgKind: 'tenant', reason: 'test', roles: ['owner'] },
      userId: betaGone.user.id,
    });
    const operatorAdmin = await createStaffUser(kluis, { orgId: operator.id, roles: ['owner'] });
    const officer = staff(operator, ['privacy_officer']);

    const service = kluis.services.register;
    // With clients, a new sub-processor cannot start at once: it is proposed, then announced.
    const direct = await rejection(service.createSubprocessor({ actor: officer, values: hosting }));
    expect(direct.fields).toEqual({ status: 'register.sp.activeNeedsNotice' });
    const { subprocessor, announced } = await service.createSubprocessor({
      actor: officer,
      values: { ...hosting, status: 'proposed' },
    });
    expect(announced).toBe(0);
    expect(await kluis.db.selectFrom('jobs').selectAll().where('type', '=', 'mail.send').execute()).toEqual(
      [],
    );

    const notice = await service.announceSubprocessor({ actor: officer, id: subprocessor.id, values: {} });
    expect(notice.announced).toBe(2);
    expect(notice.subprocessor).toMatchObject({ status: 'announced', effectiveOn: '2030-04-03' });
    // The queue holds sealed envelopes only: no address in clear.
    const jobs = await kluis.db.selectFrom('jobs').selectAll().where('type', '=', 'mail.send').execute();
    expect(jobs).toHaveLength(2);
    expect(JSON.stringify(jobs)).not.toContain('@example.test');

    const registry = createJobRegistry();
    registerMailJobs(registry, kluis);
    const worker = createWorker({ kluis, registry, scheduler: false });
    expect(await worker.runOnce()).toMatchObject({ done: 2 });
    const mails = sink.messages();
    expect(mails.flatMap((m) => m.to).sort()).toEqual([acmeOwner.email, betaOfficer.email].sort());
    for (const m of mails) {
      expect(m.subject).toBe('Aankondiging nieuwe subverwerker bij Ambrix: Hostnet B.V. (vanaf 2030-04-03)');
      expect(m.text).toContain('Hostnet B.V. (Hosting van servers)');
      expect(m.text).toContain('will be used from 2030-04-03');
      expect(m.text).toContain(`${kluis.config.publicOrigin}/staff/subprocessor-notices/${subprocessor.id}`);
    }
    for (const excluded of [acmeAdmin.email, acmeSupport.email, betaGone.email, operatorAdmin.email]) {
      expect(mails.flatMap((m) => m.to)).not.toContain(excluded);
    }

    // Activation waits for the end of the notice period.
    const early = await rejection(
      service.updateSubprocessor({ actor: officer, id: subprocessor.id, values: hosting }),
    );
    expect(early.fields).toEqual({ status: 'register.sp.activeBeforeDate' });
    clock.set('2030-04-03T08:00:00.000Z');
    sink.clear();
    const active = await service.updateSubprocessor({ actor: officer, id: subprocessor.id, values: hosting });
    expect(active.subprocessor.status).toBe('active');
    expect(active.announced).toBe(0);

    // A change the public sees is mailed; re-saving the same details is not.
    const again = await service.updateSubprocessor({ actor: officer, id: subprocessor.id, values: hosting });
    expect(again.announced).toBe(0);
    const ended = await service.updateSubprocessor({
      actor: officer,
      id: subprocessor.id,
      values: { ...hosting, status: 'ended' },
    });
    expect(ended.announced).toBe(2);
    expect(await worker.runOnce()).toMatchObject({ done: 2 });
    expect(sink.messages().every((m) => m.subject.startsWith('Wijziging subverwerker bij Ambrix'))).toBe(
      true,
    );

    // A tenant's own sub-processors concern its own statement: nobody else is mailed.
    const tenantOfficer = staff(acme, ['privacy_officer']);
    expect((await service.createSubprocessor({ actor: tenantOfficer, values: hosting })).announced).toBe(0);
    const audit = await kluis.db
      .selectFrom('audit_log')
      .select(['action', 'meta'])
      .where('action', 'like', 'register.subprocessor.%')
      .execute();
    expect(audit.map((a) => a.action)).toEqual([
      'register.subprocessor.create',
      'register.subprocessor.announce',
      'register.subprocessor.update',
      'register.subprocessor.update',
      'register.subprocessor.update',
      'register.subprocessor.create',
    ]);
  });
});
