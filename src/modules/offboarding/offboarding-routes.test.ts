/**
 * The offboarding pages: only a tenant's owner starts it and downloads the export (an admin gets
 * 403, another tenant's owner sees nothing of it); the operator's owner starts it by slug only
 * with an ended agreement; the audit key is published for anyone to check certificates.
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
import { unzip } from '../../../test/zip.js';
import { buildApp } from '../../app.js';
import { createFixedClock } from '../../shared/clock.js';
import type { Org } from '../orgs/index.js';
import { auditSigningKeyOf } from '../security/index.js';

describe('offboarding pages', () => {
  const clock = createFixedClock('2031-03-01T10:00:00.000Z');
  let kluis: TestKluis;
  let app: FastifyInstance;
  let tenant: Org;
  let owner: LoggedIn;
  let admin: LoggedIn;
  let otherOwner: LoggedIn;
  let operatorOwner: LoggedIn;

  beforeAll(async () => {
    kluis = await createTestKluis({ clock, env: { KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE: '100000' } });
    app = await buildApp(kluis);
    tenant = await createOrg(kluis, 'tenant', 'Vertrekt Via Pagina');
    const other = await createOrg(kluis, 'tenant', 'Blijft');
    const operator = await createOrg(kluis, 'operator', 'Beheerder');
    owner = await loginAs(app, await createStaffUser(kluis, { orgId: tenant.id, roles: ['owner'] }));
    admin = await loginAs(app, await createStaffUser(kluis, { orgId: tenant.id, roles: ['admin'] }));
    otherOwner = await loginAs(app, await createStaffUser(kluis, { orgId: other.id, roles: ['owner'] }));
    operatorOwner = await loginAs(
      app,
      await createStaffUser(kluis, { orgId: operator.id, roles: ['owner'], totp: true }),
    );
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  it('lets only the tenant’s owner start it and download the export', async () => {
    const http = staffRequests(app);
    expect((await http.get(admin, '/staff/offboarding')).statusCode).toBe(403);
    expect((await http.post(admin, '/staff/offboarding/start', { confirm: 'yes' })).statusCode).toBe(403);
    // Without the confirmation nothing starts.
    expect((await http.post(owner, '/staff/offboarding/start', {})).statusCode).toBe(400);
    expect(await kluis.db.selectFrom('offboardings').selectAll().execute()).toEqual([]);

    const started = await http.post(owner, '/staff/offboarding/start', { confirm: 'yes' });
    expect(started.statusCode).toBe(303);
    const page = await http.get(owner, '/staff/offboarding');
    expect(page.body).toContain('/staff/offboarding/export');
    const download = await http.get(owner, '/staff/offboarding/export');
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-type']).toBe('application/zip');
    const entries = await unzip(download.rawPayload);
    expect([...entries.keys()]).toContain('manifest.json');

    // Another tenant's owner sees no export, and cannot reach this one's.
    expect((await http.get(otherOwner, '/staff/offboarding/export')).statusCode).toBe(404);
    expect((await http.get(otherOwner, '/staff/offboarding')).body).not.toContain(
      '/staff/offboarding/export',
    );
  });

  it('lets the operator’s owner start it only with an ended agreement', async () => {
    const http = staffRequests(app);
    const other = await createOrg(kluis, 'tenant', 'Overeenkomst Beeindigd');
    expect(
      (await http.post(operatorOwner, '/staff/offboarding/start', { tenant: other.slug })).statusCode,
    ).toBe(400);
    const res = await http.post(operatorOwner, '/staff/offboarding/start', {
      tenant: other.slug,
      agreementEnded: '2031-02-28',
    });
    expect(res.statusCode).toBe(303);
    const rows = await kluis.db
      .selectFrom('offboardings')
      .select('org_id')
      .where('org_id', '=', other.id)
      .execute();
    expect(rows).toHaveLength(1);
    // The operator never downloads a tenant's export.
    expect((await http.get(operatorOwner, '/staff/offboarding/export')).statusCode).toBe(400);
  });

  it('publishes the audit key that verifies certificates', async () => {
    const res = await app.inject({ method: 'GET', url: '/.well-known/kluis-audit-key' });
    expect(res.statusCode).toBe(200);
    const key = auditSigningKeyOf(kluis.config);
    expect(JSON.parse(res.body)).toMatchObject({
      keyId: key.keyId,
      publicKey: key.publicKeyBase64,
      algorithm: 'Ed25519',
    });
  });
});
