/**
 * `/staff/tenants` over HTTP: the operator's owners and admins onboard (form with the signed PDF
 * or the standard agreement), list (metadata and counts, never the owner's address), suspend and
 * assign host names and addresses; a tenant's own owner — who holds `tenants.manage` in its org —
 * gets a 404 everywhere, operator staff without the permission a 403, and nothing changes.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import {
  createOrg,
  createStaffUser,
  type LoggedIn,
  loginAs,
  type StaffCredentials,
} from '../../../test/factories.js';
import { multipartBody } from '../../../test/multipart.js';
import { buildApp } from '../../app.js';
import type { Org } from '../orgs/index.js';

describe('the operator’s tenant pages', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;
  let operator: Org;
  let tenant: Org;
  let admin: LoggedIn;
  let tenantOwner: LoggedIn;
  let ownerCredentials: StaffCredentials;
  let support: LoggedIn;

  beforeAll(async () => {
    kluis = await createTestKluis({ env: { KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE: '100000' } });
    app = await buildApp(kluis);
    operator = await createOrg(kluis, 'operator', 'Ambrix');
    tenant = await createOrg(kluis, 'tenant', 'Bestaande Klant');
    admin = await loginAs(app, await createStaffUser(kluis, { orgId: operator.id, roles: ['admin'] }));
    support = await loginAs(app, await createStaffUser(kluis, { orgId: operator.id, roles: ['support'] }));
    ownerCredentials = await createStaffUser(kluis, { orgId: tenant.id, roles: ['owner', 'admin'] });
    tenantOwner = await loginAs(app, ownerCredentials);
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  const get = (who: LoggedIn, url: string) =>
    app.inject({ method: 'GET', url, headers: { cookie: who.cookie, accept: 'text/html' } });
  const post = (who: LoggedIn, url: string, fields: Record<string, string>) =>
    app.inject({
      method: 'POST',
      url,
      headers: { cookie: who.cookie, accept: 'text/html' },
      payload: { _csrf: who.csrfToken, ...fields },
    });
  const postMultipart = (who: LoggedIn, fields: Record<string, string>, pdf?: Buffer) => {
    const body = multipartBody(
      { _csrf: who.csrfToken, ...fields },
      pdf === undefined ? undefined : { field: 'document', name: 'dpa.pdf', content: pdf },
    );
    return app.inject({
      method: 'POST',
      url: '/staff/tenants',
      headers: { cookie: who.cookie, accept: 'text/html', 'content-type': body.contentType },
      payload: body.payload,
    });
  };

  const form = (slug: string) => ({
    name: `Klant ${slug}`,
    slug,
    ownerEmail: `eigenaar@${slug}.example`,
    agreementVersion: '1.0',
    languages: 'nl',
    country: 'NL',
  });

  it('onboards a tenant with the standard agreement and lists it without the owner’s address', async () => {
    expect((await get(admin, '/staff/tenants/new')).statusCode).toBe(200);
    const res = await post(admin, '/staff/tenants', { ...form('webklant'), agreementKind: 'standard' });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/staff/tenants?done=created');
    const created = await kluis.services.orgs.findBySlug('webklant');
    expect(created).toMatchObject({ kind: 'tenant', status: 'active' });
    const list = await get(admin, '/staff/tenants');
    expect(list.statusCode).toBe(200);
    expect(list.body).toContain('Klant webklant');
    expect(list.body).not.toContain('eigenaar@webklant.example');
    const page = await get(admin, `/staff/tenants/${created?.id}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain('eigenaar@webklant.example');
  });

  it('onboards with an uploaded signed PDF and refuses a file that is not one', async () => {
    const refused = await postMultipart(
      admin,
      { ...form('nep-pdf'), agreementKind: 'document' },
      Buffer.from('MZ not a pdf'),
    );
    expect(refused.statusCode).toBe(400);
    expect(await kluis.services.orgs.findBySlug('nep-pdf')).toBeUndefined();
    const missing = await postMultipart(admin, { ...form('geen-bestand'), agreementKind: 'document' });
    expect(missing.statusCode).toBe(400);
    expect(await kluis.services.orgs.findBySlug('geen-bestand')).toBeUndefined();
    const ok = await postMultipart(
      admin,
      { ...form('echte-pdf'), agreementKind: 'document', signedOn: '2030-01-02' },
      Buffer.from('%PDF-1.7\n%%EOF'),
    );
    expect(ok.statusCode).toBe(303);
    expect(await kluis.services.orgs.findBySlug('echte-pdf')).toMatchObject({ status: 'active' });
  });

  it('assigns host names and addresses, and suspends', async () => {
    const base = `/staff/tenants/${tenant.id}`;
    expect((await post(admin, `${base}/hosts`, { host: 'privacy.klant.example' })).statusCode).toBe(303);
    expect((await post(admin, `${base}/hosts`, { host: 'not a host' })).statusCode).toBe(400);
    expect(
      (await post(admin, `${base}/addresses`, { address: 'privacy@klant.example', mailbox: 'privacy' }))
        .statusCode,
    ).toBe(303);
    const page = await get(admin, base);
    expect(page.body).toContain('privacy.klant.example');
    expect(page.body).toContain('privacy@klant.example');
    expect((await post(admin, `${base}/suspend`, {})).statusCode).toBe(303);
    expect((await kluis.services.orgs.getById(tenant.id)).status).toBe('suspended');
    expect((await post(admin, `${base}/activate`, {})).statusCode).toBe(303);
    expect((await kluis.services.orgs.getById(tenant.id)).status).toBe('active');
    // Suspension ended the tenant's sessions: its owner signs in again.
    expect((await get(tenantOwner, '/staff')).statusCode).not.toBe(200);
    tenantOwner = await loginAs(app, ownerCredentials);
  });

  it('answers a tenant’s own owner with 404 on every tenant route, and changes nothing', async () => {
    const base = `/staff/tenants/${tenant.id}`;
    for (const url of ['/staff/tenants', '/staff/tenants/new', base]) {
      expect((await get(tenantOwner, url)).statusCode, url).toBe(404);
    }
    for (const url of [`${base}/suspend`, `${base}/hosts`, `${base}/addresses`]) {
      const res = await post(tenantOwner, url, {
        host: 'evil.example',
        address: 'x@evil.example',
        mailbox: 'contact',
      });
      expect(res.statusCode, url).toBe(404);
    }
    const created = await post(tenantOwner, '/staff/tenants', {
      ...form('door-tenant'),
      agreementKind: 'standard',
    });
    expect(created.statusCode).toBe(404);
    expect(await kluis.services.orgs.findBySlug('door-tenant')).toBeUndefined();
    expect((await kluis.services.orgs.getById(tenant.id)).status).toBe('active');
    expect(await kluis.services.orgs.orgOfHost('evil.example')).toBeUndefined();
  });

  it('refuses operator staff without tenants.manage (403)', async () => {
    expect((await get(support, '/staff/tenants')).statusCode).toBe(403);
    const res = await post(support, `/staff/tenants/${tenant.id}/suspend`, {});
    expect(res.statusCode).toBe(403);
    expect((await kluis.services.orgs.getById(tenant.id)).status).toBe('active');
  });

  it('lets a tenant’s owner set its TOTP policy on its own organisation page; the operator gets a 404', async () => {
    const page = await get(tenantOwner, '/staff/organisation');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('/staff/users');
    // Its public pages on the host name the operator assigned, with this installation's scheme and port.
    const origin = new URL(kluis.config.publicOrigin);
    origin.hostname = 'privacy.klant.example';
    expect(page.body).toContain(`href="${origin.origin}/privacy"`);
    expect((await post(tenantOwner, '/staff/organisation/totp', { required: '1' })).statusCode).toBe(303);
    expect((await kluis.services.orgs.getById(tenant.id)).require_totp).toBe(1);
    expect((await get(admin, '/staff/organisation')).statusCode).toBe(404);
    expect((await post(admin, '/staff/organisation/totp', { required: '1' })).statusCode).toBe(404);
    expect((await kluis.services.orgs.getById(operator.id)).require_totp).toBe(0);
    expect((await post(tenantOwner, '/staff/organisation/totp', { required: '0' })).statusCode).toBe(303);
    expect((await kluis.services.orgs.getById(tenant.id)).require_totp).toBe(0);
  });
});
