/**
 * A tenant's own settings (issue 12, self-service): its owners and admins set the name its pages
 * show, its languages, its terms link, its contact and privacy addresses and its retention
 * periods. A period outside the legal bounds is refused (in Dutch or English) and nothing of the
 * form is saved; the wrong tenant, the operator and a tenant user without the role get nothing.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshot } from '../../../test/authz/db-snapshot.js';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import {
  createOrg,
  createStaffUser,
  type LoggedIn,
  loginAs,
  staffRequests,
} from '../../../test/factories.js';
import { buildApp } from '../../app.js';
import type { Org } from '../orgs/index.js';

describe('a tenant’s own settings', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;
  let tenant: Org;
  const who = new Map<string, LoggedIn>();
  const http = () => staffRequests(app);
  const as = (name: string): LoggedIn => {
    const s = who.get(name);
    if (s === undefined) throw new Error(name);
    return s;
  };

  const form = (over: Record<string, string> = {}) => ({
    displayName: 'Bakkerij Zelfbeheer',
    languages: 'nl,en',
    termsUrl: 'https://zelfbeheer.example/voorwaarden',
    contactEmail: 'contact@zelfbeheer.example',
    privacyEmail: 'privacy@zelfbeheer.example',
    retention_contact_request: '6',
    retention_fiscal_7y: '84',
    ...over,
  });

  beforeAll(async () => {
    kluis = await createTestKluis({ env: { KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE: '100000' } });
    app = await buildApp(kluis);
    const operator = await createOrg(kluis, 'operator', 'Beheerder');
    tenant = await createOrg(kluis, 'tenant', 'Bakkerij Zelfbeheer B.V.');
    const other = await createOrg(kluis, 'tenant', 'Andere Bakkerij');
    for (const [name, orgId, roles] of [
      ['admin', tenant.id, ['admin']],
      ['support', tenant.id, ['support', 'privacy_officer']],
      ['other admin', other.id, ['owner', 'admin']],
      ['operator', operator.id, ['owner', 'admin', 'privacy_officer']],
    ] as const) {
      const user = await createStaffUser(kluis, { orgId, roles });
      who.set(name, await loginAs(app, user));
    }
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  const policy = async (orgId: string, id: string) =>
    (await kluis.services.retention.policiesOf(orgId))[id as 'contact_request'].value;

  it('saves name, languages, terms, addresses and a retention period for the tenant’s admin', async () => {
    const page = await http().get(as('admin'), '/staff/organisation/settings');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('name="retention_contact_request"');
    const saved = await http().post(as('admin'), '/staff/organisation/settings', form());
    expect(saved.statusCode).toBe(303);
    const org = await kluis.services.register.findPublicOrg(tenant.slug);
    expect(org?.name).toBe('Bakkerij Zelfbeheer');
    const profile = await kluis.db
      .selectFrom('tenant_profiles')
      .select('languages')
      .where('org_id', '=', tenant.id)
      .executeTakeFirst();
    expect(JSON.parse(profile?.languages ?? '[]')).toEqual(['nl', 'en']);
    expect(await policy(tenant.id, 'contact_request')).toBe(6);
    const again = await http().get(as('admin'), '/staff/organisation/settings');
    expect(again.body).toContain('privacy@zelfbeheer.example');
    expect(again.body).toContain('https://zelfbeheer.example/voorwaarden');
  });

  it('refuses a period outside the legal bounds, in the page’s language, and saves nothing of the form', async () => {
    const before = await snapshot(kluis);
    const short = await http().post(
      as('admin'),
      '/staff/organisation/settings',
      form({ displayName: 'Niet Opgeslagen', retention_fiscal_7y: '12' }),
    );
    expect(short.statusCode).toBe(400);
    expect(short.body).toContain('Korter dan de wettelijke minimumtermijn');
    expect(short.body).toContain('href="#f-retention_fiscal_7y"');
    const long = await http().post(
      as('admin'),
      '/staff/organisation/settings?lang=en',
      form({ retention_contact_request: '999' }),
    );
    expect(long.statusCode).toBe(400);
    expect(long.body).toContain('Longer than allowed');
    const notNumber = await http().post(
      as('admin'),
      '/staff/organisation/settings',
      form({ retention_contact_request: '-3' }),
    );
    expect(notNumber.statusCode).toBe(400);
    const badMail = await http().post(
      as('admin'),
      '/staff/organisation/settings',
      form({ privacyEmail: 'geen adres' }),
    );
    expect(badMail.statusCode).toBe(400);
    expect(await snapshot(kluis)).toEqual(before);
    expect((await kluis.services.register.findPublicOrg(tenant.slug))?.name).toBe('Bakkerij Zelfbeheer');
    expect(await policy(tenant.id, 'fiscal_7y')).toBe(84);
  });

  it('gives the wrong tenant and the operator a 404, and a tenant user without the role a 403', async () => {
    const before = await snapshot(kluis);
    for (const name of ['other admin', 'operator']) {
      const page = await http().get(as(name), '/staff/organisation/settings');
      // The other tenant's admin sees its own settings, never this tenant's.
      if (name === 'other admin') {
        expect(page.statusCode).toBe(200);
        expect(page.body).not.toContain('zelfbeheer.example');
      } else {
        expect(page.statusCode).toBe(404);
        const post = await http().post(
          as(name),
          '/staff/organisation/settings',
          form({ displayName: 'Overname' }),
        );
        expect(post.statusCode).toBe(404);
      }
    }
    expect((await http().get(as('support'), '/staff/organisation/settings')).statusCode).toBe(403);
    expect(
      (await http().post(as('support'), '/staff/organisation/settings', form({ displayName: 'Overname' })))
        .statusCode,
    ).toBe(403);
    expect(await snapshot(kluis)).toEqual(before);
    // The other tenant's admin saving changes its own org only.
    expect(
      (
        await http().post(
          as('other admin'),
          '/staff/organisation/settings',
          form({ displayName: 'Andere Naam' }),
        )
      ).statusCode,
    ).toBe(303);
    expect((await kluis.services.register.findPublicOrg(tenant.slug))?.name).toBe('Bakkerij Zelfbeheer');
  });
});
