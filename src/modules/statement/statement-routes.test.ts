import { randomBytes } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg, createStaffUser, formPost, type LoggedIn, loginAs } from '../../../test/factories.js';
import { buildApp } from '../../app.js';
import { createFixedClock } from '../../shared/clock.js';
import type { Org } from '../orgs/orgs-repository.js';

const clock = createFixedClock('2030-03-04T09:00:00.000Z');

type Fields = Record<string, string | readonly string[]>;

/** A multipart/form-data body, as a browser sends a form with a file input. */
function multipart(
  fields: Fields,
  file?: { name: string; filename: string; type: string; data: Buffer },
): { body: Buffer; contentType: string } {
  const boundary = `----kluis${randomBytes(8).toString('hex')}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    for (const v of typeof value === 'string' ? [value] : value) {
      parts.push(
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${v}\r\n`),
      );
    }
  }
  if (file !== undefined) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${file.name}"; filename="${file.filename}"\r\nContent-Type: ${file.type}\r\n\r\n`,
      ),
      file.data,
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

describe('register and statement over HTTP', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;
  let operator: Org;
  let tenant: Org;
  let officer: LoggedIn;
  let admin: LoggedIn;
  let support: LoggedIn;
  let tenantOfficer: LoggedIn;

  const get = (url: string, who?: LoggedIn) =>
    app.inject({ method: 'GET', url, headers: who === undefined ? {} : { cookie: who.cookie } });
  const post = (url: string, who: LoggedIn, fields: Record<string, string>) =>
    app.inject({ method: 'POST', url, ...formPost(who.cookie, { _csrf: who.csrfToken, ...fields }) });
  const postMultipart = (
    url: string,
    who: LoggedIn,
    fields: Fields,
    file?: Parameters<typeof multipart>[1],
  ) => {
    const { body, contentType } = multipart({ _csrf: who.csrfToken, ...fields }, file);
    return app.inject({
      method: 'POST',
      url,
      headers: { cookie: who.cookie, 'content-type': contentType },
      payload: body,
    });
  };
  const publish = (summary: string) =>
    post('/staff/statement/publish', officer, { changeSummaryNl: summary });

  beforeAll(async () => {
    // No notice period here: a new sub-processor is announced and started on the same day.
    kluis = await createTestKluis({ clock, env: { KLUIS_SUBPROCESSOR_NOTICE_DAYS: '0' } });
    app = await buildApp(kluis);
    operator = await createOrg(kluis, 'operator', 'Ambrix');
    tenant = await createOrg(kluis, 'tenant', 'Bakkerij Jansen');
    const login = async (org: Org, roles: Parameters<typeof createStaffUser>[1]['roles']) =>
      loginAs(app, { ...(await createStaffUser(kluis, { orgId: org.id, roles })), org: org.slug });
    officer = await login(operator, ['privacy_officer']);
    admin = await login(operator, ['admin']);
    support = await login(operator, ['support']);
    tenantOfficer = await login(tenant, ['privacy_officer']);
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  it('has no public statement before the first publication', async () => {
    for (const url of ['/privacy', '/en/privacy', `/o/${tenant.slug}/privacy`]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(404);
    }
    expect((await get('/privacy')).body).toContain('Er is nog geen privacyverklaring gepubliceerd.');
    expect((await get('/o/no-such-org/privacy')).statusCode).toBe(404);
  });

  it('flags the statement as out of date on the dashboard until it is published', async () => {
    const before = await get('/staff', officer);
    expect(before.body).toContain('Er is nog geen privacyverklaring gepubliceerd.');
    expect(before.body).toContain('data-statement-status="out-of-date"');
    // Support staff do not get the panel.
    expect((await get('/staff', support)).body).not.toContain('data-statement-status');
  });

  it('refuses publication by support staff (403) and changes nothing', async () => {
    const res = await post('/staff/statement/publish', support, { changeSummaryNl: 'Mag niet' });
    expect(res.statusCode).toBe(403);
    expect((await get('/privacy')).statusCode).toBe(404);
    expect((await post('/staff/statement/publish', admin, { changeSummaryNl: 'Ook niet' })).statusCode).toBe(
      403,
    );
  });

  it('publishes version 1 and serves it at the stable URL in both languages', async () => {
    const res = await publish('Eerste versie');
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/staff/statement?done=published');
    const nl = await get('/privacy');
    expect(nl.statusCode).toBe(200);
    expect(nl.body).toContain('<html lang="nl">');
    expect(nl.body).toContain('<h1>Privacyverklaring Ambrix</h1>');
    expect(nl.body).toContain('Versie 1, gepubliceerd op 4 maart 2030.');
    expect(nl.body).toContain('href="/privacy/versions"');
    const en = await get('/en/privacy');
    expect(en.body).toContain('<html lang="en">');
    expect(en.body).toContain('<h1>Privacy statement Ambrix</h1>');
    expect(en.body).toContain('href="/en/privacy/versions"');
    expect((await get('/privacy/v/1')).statusCode).toBe(200);
    expect((await get('/privacy/v/2')).statusCode).toBe(404);
    expect((await get('/privacy/v/abc')).statusCode).toBe(404);
    const dashboard = await get('/staff', officer);
    expect(dashboard.body).toContain('data-statement-status="up-to-date"');
  });

  it('adds a sub-processor with its agreement document (multipart, CSRF-checked), shown on the public page', async () => {
    const pdf = Buffer.from('%PDF-1.4\n% hostnet\n%%EOF\n', 'latin1');
    const fields = {
      name: 'Hostnet B.V.',
      service: 'Hosting van servers',
      location: 'Amsterdam',
      country: 'NL',
      dataCategories: ['contact_details', 'message_content'],
      status: 'active',
      agreementVersion: '2.1',
      agreementSignedOn: '2029-11-01',
    };
    const forgedBody = multipart({ ...fields, _csrf: 'forged' });
    const forged = await app.inject({
      method: 'POST',
      url: '/staff/subprocessors',
      headers: { cookie: officer.cookie, 'content-type': forgedBody.contentType },
      payload: forgedBody.body,
    });
    expect(forged.statusCode).toBe(403);
    const broken = await app.inject({
      method: 'POST',
      url: '/staff/subprocessors',
      headers: { cookie: officer.cookie, 'content-type': 'multipart/form-data; boundary=nope' },
      payload: '--nope\r\nContent-Disposition: form-data; name="x"\r\n\r\nunterminated',
    });
    expect(broken.statusCode).toBe(400);
    const invalid = await postMultipart('/staff/subprocessors', officer, { ...fields, name: '' });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.body).toContain('error-summary');
    expect(invalid.body).toContain('value="Amsterdam"');

    // With a client, a new sub-processor is proposed and announced before it starts.
    const direct = await postMultipart('/staff/subprocessors', officer, fields);
    expect(direct.statusCode).toBe(400);
    const res = await postMultipart(
      '/staff/subprocessors',
      officer,
      { ...fields, status: 'proposed' },
      {
        name: 'document',
        filename: 'hostnet.pdf',
        type: 'application/pdf',
        data: pdf,
      },
    );
    expect(res.statusCode).toBe(303);
    const proposed = await get('/staff/subprocessors', officer);
    const proposedId = /href="\/staff\/subprocessors\/([0-9a-f-]{36})"/.exec(proposed.body)?.[1] ?? '';
    expect(
      (await post(`/staff/subprocessors/${proposedId}/announce`, officer, { effectiveOn: '' })).statusCode,
    ).toBe(303);
    expect((await postMultipart(`/staff/subprocessors/${proposedId}`, officer, fields)).statusCode).toBe(303);
    const list = await get('/staff/subprocessors', officer);
    expect(list.body).toContain('Hostnet B.V.');
    expect(list.body).toContain('versie 2.1, getekend op 1 november 2029');
    const pub = await get('/subprocessors');
    expect(pub.statusCode).toBe(200);
    expect(pub.body).toContain('<h2>Hostnet B.V.</h2>');
    expect(pub.body).toContain('Amsterdam, Nederland (binnen de EER)');
    expect((await get('/en/subprocessors')).body).toContain('Amsterdam, Netherlands (inside the EEA)');
    const agreements = await get('/staff/agreements', officer);
    const docLink = /href="(\/staff\/agreements\/[0-9a-f-]{36}\/document)"/.exec(agreements.body)?.[1] ?? '';
    const doc = await get(docLink, officer);
    expect(doc.statusCode).toBe(200);
    expect(doc.headers['content-type']).toBe('application/pdf');
    expect(doc.headers['content-disposition']).toContain('attachment; filename="hostnet.pdf"');
    expect(doc.rawPayload.equals(pdf)).toBe(true);
    // Another org's document, sub-processor and agreement are simply not there.
    expect((await get(docLink, tenantOfficer)).statusCode).toBe(404);
    const spId = /href="\/staff\/subprocessors\/([0-9a-f-]{36})"/.exec(list.body)?.[1] ?? '';
    expect((await get(`/staff/subprocessors/${spId}`, tenantOfficer)).statusCode).toBe(404);
    expect((await postMultipart(`/staff/subprocessors/${spId}`, tenantOfficer, fields)).statusCode).toBe(404);
    expect((await get(`/staff/subprocessors/${spId}`, officer)).statusCode).toBe(200);
  });

  it('shows the change on the dashboard, publishes version 2 and shows the difference accessibly', async () => {
    expect((await get('/staff', officer)).body).toContain('Privacyverklaring verouderd');
    expect((await get('/staff', admin)).body).toContain('data-statement-status="out-of-date"');
    expect((await publish('Hostnet als subverwerker toegevoegd')).statusCode).toBe(303);
    const latest = await get('/privacy');
    expect(latest.body).toContain('Versie 2, gepubliceerd op 4 maart 2030.');
    expect(latest.body).toContain('Hostnet B.V.');
    const v1 = await get('/privacy/v/1');
    expect(v1.body).not.toContain('Hostnet B.V.');
    expect(v1.body).toContain(
      'Dit is een eerdere versie van de privacyverklaring. De nieuwste versie is versie 2.',
    );
    const archive = await get('/privacy/versions');
    expect(archive.body).toContain('href="/privacy/v/1"');
    expect(archive.body).toContain('href="/privacy/v/2"');
    expect(archive.body).toContain('Hostnet als subverwerker toegevoegd');
    const diff = await get('/privacy/diff?from=1&to=2');
    expect(diff.statusCode).toBe(200);
    expect(diff.body).toMatch(
      /<ins class="diff-added"><span class="visually-hidden">toegevoegd: <\/span>[\s\S]*Hostnet B\.V\.[\s\S]*?<\/ins>/,
    );
    expect((await get('/en/privacy/diff?from=1&to=2')).body).toContain(
      '<span class="visually-hidden">added: </span>',
    );
    expect((await get('/privacy/diff?from=1&to=7')).statusCode).toBe(404);
    expect((await get('/staff', officer)).body).toContain('data-statement-status="up-to-date"');
  });

  it('renders the register with its data map, a text alternative and exports', async () => {
    const page = await get('/staff/register', admin);
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(/<svg [^>]*role="img" aria-labelledby="datamap-title datamap-desc"/);
    expect(page.body).toContain('<title id="datamap-title">Datakaart</title>');
    expect(page.body).toContain('class="data-map-text"');
    expect(page.body).toContain('Hostnet B.V.');
    // Admins view; only the privacy officer gets the edit links.
    expect(page.body).not.toContain('/staff/register/activities/');
    expect((await get('/staff/register', officer)).body).toContain(
      '/staff/register/activities/handle_requests',
    );
    expect((await get('/staff/register', support)).statusCode).toBe(403);
    const csv = await get('/staff/register/export.csv', admin);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="register-/);
    const rows = parse(csv.body, { bom: true }) as string[][];
    expect(rows[0]?.[0]).toBe('Naam');
    expect(rows.length).toBeGreaterThan(3);
    const json = await get('/staff/register/export.json', admin);
    expect((JSON.parse(json.body) as { activities: unknown[] }).activities.length).toBe(rows.length - 1);
    expect((await get('/staff/register/print', admin)).body).toContain(
      'Register van verwerkingsactiviteiten',
    );
  });

  it('keeps the privacy officer’s markdown harmless in the preview', async () => {
    const res = await post('/staff/statement/sections', officer, {
      intro_nl: '<script>alert(1)</script> [klik](javascript:alert(1))',
      intro_en: 'Intro',
    });
    expect(res.statusCode).toBe(303);
    const preview = await get('/staff/statement/preview?show=nl', officer);
    expect(preview.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(preview.body).not.toContain('<script>alert(1)');
    expect(preview.body).not.toMatch(/href="javascript:/i);
    expect((await get('/staff/statement', admin)).body).toContain('De verklaring is verouderd');
  });

  it('gives each tenant its own statement at /o/:slug/privacy', async () => {
    const res = await post('/staff/statement/publish', tenantOfficer, {
      changeSummaryNl: 'Onze eerste versie',
    });
    expect(res.statusCode).toBe(303);
    const page = await get(`/o/${tenant.slug}/privacy`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<h1>Privacyverklaring Bakkerij Jansen</h1>');
    expect(page.body).toContain(`href="/o/${tenant.slug}/privacy/versions"`);
    expect((await get(`/en/o/${tenant.slug}/privacy`)).body).toContain(
      '<h1>Privacy statement Bakkerij Jansen</h1>',
    );
    expect((await get(`/o/${tenant.slug}/privacy/versions`)).body).toContain('Onze eerste versie');
    // The operator's archive is untouched.
    expect((await get('/privacy/versions')).body).not.toContain('Onze eerste versie');
    // On a host name the operator assigned to the tenant, the same pages link without /o/<slug>.
    const host = 'privacy.jansen.example';
    await kluis.services.orgs.addHost(tenant.id, host, clock.now().toISOString());
    const onHost = (url: string) => app.inject({ method: 'GET', url, headers: { host } });
    const hosted = await onHost('/privacy');
    expect(hosted.body).toContain('<h1>Privacyverklaring Bakkerij Jansen</h1>');
    expect(hosted.body).toContain('href="/privacy/versions"');
    // (The published text itself keeps the `/o/<slug>` links it was generated with; they work there too.)
    expect(hosted.body).not.toContain(`href="/o/${tenant.slug}/privacy/versions"`);
    expect((await onHost('/en/privacy')).body).toContain('href="/en/privacy/versions"');
    expect((await onHost('/privacy/versions')).body).toContain('href="/privacy/v/1"');
  });

  it('saves the organisation’s details from the form, one ticked channel or several, and shows a refused form again as typed', async () => {
    expect((await post('/staff/register/settings', admin, { channels: 'email' })).statusCode).toBe(403);
    const refused = await post('/staff/register/settings', tenantOfficer, {
      contactEmail: 'geen-adres',
      phone: '020 123 45 67',
      channels: 'email',
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('error-summary');
    expect(refused.body).toContain('value="020 123 45 67"');
    expect(refused.body).toMatch(/value="email" checked/);
    expect(refused.body).not.toMatch(/value="phone" checked/);

    const one = await post('/staff/register/settings', tenantOfficer, { channels: 'email' });
    expect(one.statusCode).toBe(303);
    const afterOne = await get('/staff/register/settings?done=saved', tenantOfficer);
    expect(afterOne.body).toMatch(/value="email" checked/);
    expect(afterOne.body).not.toMatch(/value="web_form" checked/);

    const several = await app.inject({
      method: 'POST',
      url: '/staff/register/settings',
      headers: { cookie: tenantOfficer.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams([
        ['_csrf', tenantOfficer.csrfToken],
        ['channels', 'phone'],
        ['channels', 'api'],
      ]).toString(),
    });
    expect(several.statusCode).toBe(303);
    const afterSeveral = (await get('/staff/register/settings', tenantOfficer)).body;
    expect(afterSeveral).toMatch(/value="phone" checked/);
    expect(afterSeveral).toMatch(/value="api" checked/);
    expect(afterSeveral).not.toMatch(/value="email" checked/);
  });
});
