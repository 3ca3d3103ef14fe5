/**
 * The relations pages and API over HTTP (P4, P5): forms refuse invalid input with clear messages
 * and keep it, support never receives a full IBAN (pages or API), finance does and the read is
 * audited, the agreement upload checks type and size, the pain.008 download validates against
 * the XSD, and another org's relation is a 404.
 */

import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import {
  createOrg,
  createStaffUser,
  type LoggedIn,
  loginAs,
  staffRequests,
} from '../../../test/factories.js';
import { multipartBody } from '../../../test/multipart.js';
import { validatePain008 } from '../../../test/sepa-xsd.js';
import { buildApp } from '../../app.js';
import { createFixedClock } from '../../shared/clock.js';
import type { Org } from '../orgs/orgs-repository.js';
import { creditorIdCheckDigits } from './relations-sepa.js';

const IBAN = 'NL91ABNA0417164300';

/** The relations forms upload their PDF in the field `document`. */
function multipart(fields: Record<string, string>, file?: { name: string; content: Buffer; type?: string }) {
  return multipartBody(fields, file === undefined ? undefined : { field: 'document', ...file });
}

describe('relations over HTTP', () => {
  const clock = createFixedClock('2030-06-01T09:00:00.000Z');
  let kluis: TestKluis;
  let app: FastifyInstance;
  let org: Org;
  let support: LoggedIn;
  let finance: LoggedIn;
  let admin: LoggedIn;
  let outsider: LoggedIn;

  beforeAll(async () => {
    kluis = await createTestKluis({ clock, env: { KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE: '100000' } });
    app = await buildApp(kluis);
    org = await createOrg(kluis, 'tenant');
    const other = await createOrg(kluis, 'tenant');
    support = await loginAs(app, await createStaffUser(kluis, { orgId: org.id, roles: ['support'] }));
    finance = await loginAs(app, await createStaffUser(kluis, { orgId: org.id, roles: ['finance'] }));
    admin = await loginAs(app, await createStaffUser(kluis, { orgId: org.id, roles: ['owner', 'admin'] }));
    outsider = await loginAs(
      app,
      await createStaffUser(kluis, { orgId: other.id, roles: ['finance', 'support'] }),
    );
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  const get = (who: LoggedIn, url: string, accept = 'text/html') => staffRequests(app).get(who, url, accept);
  const post = (who: LoggedIn, url: string, fields: Record<string, string>) =>
    staffRequests(app).post(who, url, fields, 'text/html');

  async function createPerson(): Promise<string> {
    const res = await post(support, '/staff/relations', {
      kind: 'person',
      formOfAddress: 'mr',
      givenName: 'Jan',
      familyName: 'van der Wiel',
      email: `jan.${Math.random().toString(16).slice(2)}@example.nl`,
      phone: '',
      status: 'active',
      startedAt: '2029-01-01',
      endedAt: '',
    });
    expect(res.statusCode).toBe(303);
    const id = /\/staff\/relations\/([0-9a-f-]{36})/.exec(res.headers.location ?? '')?.[1];
    if (id === undefined) throw new Error('no relation id');
    return id;
  }

  const mandateForm = {
    reference: 'AMB-HTTP-1',
    scheme: 'CORE',
    sequence: 'recurrent',
    accountHolder: 'J. van der Wiel',
    iban: 'NL91 ABNA 0417 1643 00',
    bic: '',
    signedAt: '2030-05-01',
    signatureName: 'Jan van der Wiel',
    signatureChannel: 'paper',
  };

  it('creates a relation from the form, lists it and shows its salutation', async () => {
    const id = await createPerson();
    const page = await get(support, `/staff/relations/${id}?done=created`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Jan van der Wiel');
    expect(page.body).toContain('Geachte heer Van der Wiel,');
    const english = await get(support, `/staff/relations/${id}?lang=en`);
    expect(english.body).toContain('Dear Mr Van der Wiel,');
    const list = await get(support, '/staff/relations?sort=name&status=active');
    expect(list.body).toContain(`/staff/relations/${id}`);
  });

  it('keeps the input and explains each problem when the relation form is wrong', async () => {
    const res = await post(support, '/staff/relations', {
      kind: 'person',
      givenName: 'Jan',
      familyName: '',
      email: 'geen-adres',
      phone: 'bel me',
      status: 'ended',
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('class="error-summary"');
    expect(res.body).toContain('Kies een aanhef: dhr., mevr. of neutraal.');
    expect(res.body).toContain('Vul de achternaam in.');
    expect(res.body).toContain('Vul een geldig e-mailadres in');
    expect(res.body).toContain('Vul de einddatum in');
    expect(res.body).toContain('value="Jan"');
  });

  it('refuses an invalid IBAN in the mandate form with a clear message, stores nothing and keeps the input', async () => {
    const id = await createPerson();
    const form = await get(finance, `/staff/relations/${id}/mandates/new`);
    expect(form.statusCode).toBe(200);
    const res = await post(finance, `/staff/relations/${id}/mandates`, {
      ...mandateForm,
      iban: 'NL91 ABNA 0417 1643 01',
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('Het IBAN klopt niet: controleer de cijfers.');
    expect(res.body).toContain('value="NL91 ABNA 0417 1643 01"');
    const bic = await post(finance, `/staff/relations/${id}/mandates`, { ...mandateForm, bic: 'XYZ' });
    expect(bic.body).toContain('Deze BIC is niet geldig');
    const stored = await kluis.db
      .selectFrom('relation_mandates')
      .selectAll()
      .where('relation_id', '=', id)
      .execute();
    expect(stored).toEqual([]);
    const postcode = await post(support, `/staff/relations/${id}/address`, {
      country: 'NL',
      postcode: '0123 AB',
      houseNumber: '1',
      street: 'Dorpsstraat',
      city: 'Ergens',
    });
    expect(postcode.statusCode).toBe(400);
    expect(postcode.body).toContain('Deze postcode bestaat niet');
  });

  it('never sends support the full IBAN, on pages or in the API; finance sees it and the read is audited', async () => {
    const id = await createPerson();
    const created = await post(finance, `/staff/relations/${id}/mandates`, {
      ...mandateForm,
      reference: 'AMB-HTTP-2',
    });
    expect(created.statusCode).toBe(303);
    const mandate = await kluis.db
      .selectFrom('relation_mandates')
      .selectAll()
      .where('relation_id', '=', id)
      .executeTakeFirstOrThrow();

    const pages = [
      await get(support, `/staff/relations/${id}`),
      await get(support, `/api/v1/relations/${id}`, 'application/json'),
      await get(support, '/staff/relations'),
    ];
    for (const page of pages) {
      expect(page.statusCode).toBe(200);
      expect(page.body).not.toContain('0417164300');
      expect(page.body).not.toContain('0417 1643 00');
      expect(page.body).not.toContain('ABNANL2A');
    }
    expect(pages[0]?.body).toContain('NL** **** **** **** 4300');
    expect((await get(support, `/staff/relations/${id}/mandates/${mandate.id}`)).statusCode).toBe(403);
    expect(
      (await get(support, `/api/v1/relations/${id}/mandates/${mandate.id}`, 'application/json')).statusCode,
    ).toBe(403);
    expect((await get(support, '/staff/direct-debits')).statusCode).toBe(403);

    const before = await kluis.db
      .selectFrom('audit_log')
      .select('seq')
      .where('action', '=', 'relations.mandate.read')
      .execute();
    const full = await get(finance, `/staff/relations/${id}/mandates/${mandate.id}`);
    expect(full.statusCode).toBe(200);
    expect(full.body).toContain('NL91 ABNA 0417 1643 00');
    expect(full.body).toContain('ABNANL2A');
    const api = await get(finance, `/api/v1/relations/${id}/mandates/${mandate.id}`, 'application/json');
    expect(JSON.parse(api.body).iban).toBe(IBAN);
    const after = await kluis.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'relations.mandate.read')
      .execute();
    expect(after.length - before.length).toBe(2);
    expect(after.at(-1)?.purpose).toBe('direct_debit_collection');
  });

  it('shows an admin without support or finance no relation data', async () => {
    const id = await createPerson();
    expect((await get(admin, '/staff/relations')).statusCode).toBe(403);
    expect((await get(admin, `/staff/relations/${id}`)).statusCode).toBe(403);
    expect((await get(admin, `/api/v1/relations/${id}`, 'application/json')).statusCode).toBe(403);
    const nav = await get(admin, '/staff');
    expect(nav.body).not.toContain('href="/staff/relations"');
  });

  it('answers another organisation’s relation with 404 on pages and API', async () => {
    const id = await createPerson();
    expect((await get(outsider, `/staff/relations/${id}`)).statusCode).toBe(404);
    expect((await get(outsider, `/staff/relations/${id}/edit`)).statusCode).toBe(404);
    expect((await get(outsider, `/api/v1/relations/${id}`, 'application/json')).statusCode).toBe(404);
    const change = await post(outsider, `/staff/relations/${id}/address`, {
      country: 'NL',
      postcode: '1234 AB',
      houseNumber: '1',
      street: 'Dorpsstraat',
      city: 'Ergens',
    });
    expect(change.statusCode).toBe(404);
    expect(
      (await kluis.db.selectFrom('relation_addresses').selectAll().where('relation_id', '=', id).execute())
        .length,
    ).toBe(0);
  });

  it('uploads a signed PDF through the multipart form, and refuses other types, oversized files and a missing CSRF token', async () => {
    const id = await createPerson();
    await get(support, `/staff/relations/${id}/agreements/new`);
    const fields = {
      _csrf: support.csrfToken,
      title: 'Hostingovereenkomst',
      version: '3',
      effectiveFrom: '2030-01-01',
    };
    const send = (f: Record<string, string>, file?: { name: string; content: Buffer }) => {
      const body = multipart(f, file);
      return app.inject({
        method: 'POST',
        url: `/staff/relations/${id}/agreements`,
        headers: { cookie: support.cookie, 'content-type': body.contentType, accept: 'text/html' },
        payload: body.payload,
      });
    };
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n');
    const exe = await send(fields, { name: 'contract.pdf', content: Buffer.from('MZ this is not a pdf') });
    expect(exe.statusCode).toBe(400);
    expect(exe.body).toContain('Dit is geen PDF.');
    expect(exe.body).toContain('value="Hostingovereenkomst"');
    const big = await send(fields, {
      name: 'groot.pdf',
      content: Buffer.concat([pdf, Buffer.alloc(10 * 1024 * 1024)]),
    });
    expect(big.statusCode).toBe(400);
    expect(big.body).toContain('Het bestand is te groot');
    const forged = await send({ ...fields, _csrf: 'forged' }, { name: 'c.pdf', content: pdf });
    expect(forged.statusCode).toBe(403);
    expect(
      await kluis.db.selectFrom('relation_agreements').selectAll().where('relation_id', '=', id).execute(),
    ).toEqual([]);

    const ok = await send(fields, { name: 'Contract van der Wiel.pdf', content: pdf });
    expect(ok.statusCode).toBe(303);
    const agreement = await kluis.db
      .selectFrom('relation_agreements')
      .selectAll()
      .where('relation_id', '=', id)
      .executeTakeFirstOrThrow();
    const view = await get(support, `/staff/relations/${id}/agreements/${agreement.id}`);
    expect(view.body).toContain('Alleen Financiën ziet wie heeft getekend.');
    expect(
      (await get(support, `/staff/relations/${id}/agreements/${agreement.id}/document`)).statusCode,
    ).toBe(403);
    const download = await get(finance, `/staff/relations/${id}/agreements/${agreement.id}/document`);
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-type']).toBe('application/pdf');
    expect(download.rawPayload.equals(pdf)).toBe(true);
    expect(download.headers['content-disposition']).toContain('attachment');
  });

  it('lets finance download a pain.008 file that validates against the XSD', async () => {
    const id = await createPerson();
    expect(
      (await post(finance, `/staff/relations/${id}/mandates`, { ...mandateForm, reference: 'AMB-HTTP-3' }))
        .statusCode,
    ).toBe(303);
    const creditor = await post(finance, '/staff/direct-debits/creditor', {
      name: 'Ambrix B.V.',
      creditorId: `NL${creditorIdCheckDigits('NL', '123456780000')}ZZZ123456780000`,
      iban: 'NL20 INGB 0001 2345 67',
      bic: 'INGBNL2A',
    });
    expect(creditor.statusCode).toBe(303);
    const page = await get(finance, '/staff/direct-debits');
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain('0417164300');
    const mandateId = (
      await kluis.db
        .selectFrom('relation_mandates')
        .select('id')
        .where('reference', '=', 'AMB-HTTP-3')
        .executeTakeFirstOrThrow()
    ).id;
    const wrong = await post(finance, '/staff/direct-debits/export', {
      requestedDate: '2030-06-05',
      [`amount.${mandateId}`]: 'twaalf',
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.body).toContain('Vul een bedrag in euro in, zoals 12,50 of 12345,00');
    const res = await post(finance, '/staff/direct-debits/export', {
      requestedDate: '2030-06-05',
      [`amount.${mandateId}`]: '49,95',
      [`remittance.${mandateId}`]: 'Factuur 2030-0007',
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('application/xml');
    expect(res.headers['content-disposition']).toMatch(
      /attachment; filename="KLUIS-20300601-[0-9A-F]+\.xml"/,
    );
    const result = await validatePain008(res.body);
    expect(result.errors).toEqual([]);
    expect(res.body).toContain('<InstdAmt Ccy="EUR">49.95</InstdAmt>');
    expect(res.body).toContain(`<IBAN>${IBAN}</IBAN>`);
  });
});
