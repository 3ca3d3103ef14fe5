/**
 * Organisations are sealed off from each other (P8's default, P11): staff of the operator and of
 * another tenant, each holding every role, aim every staff and API route at every record id of a
 * tenant (its conversations, subjects, relations, users, …). No answer may carry the tenant's
 * data, no GET may find the record, and nothing in the database may change. List pages and API
 * lists must not show the tenant's records either.
 *
 * What this does not cover yet: the tenant-granted, time-limited access of P8 (not built), under
 * which operator staff would see a tenant's data on purpose.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { type Actor, roles } from '../../src/shared/actor.js';
import type { DeclaredRoute } from '../../src/shared/http/access.js';
import { createTestKluis, type TestKluis } from '../dialects.js';
import { createOrg, createStaffUser, type LoggedIn, loginAs } from '../factories.js';
import { snapshot } from './db-snapshot.js';

/** Values only the tenant's records hold: none may reach another org's staff. */
const markers = {
  name: 'Marieke Kruisorg-Q7',
  email: 'marieke.kruisorg-q7@example.nl',
  message: 'Vraag marker-crossorg-5d1e',
  relation: 'Kruisorgbedrijf-Q7 B.V.',
};

function leaks(body: string): string[] {
  return Object.values(markers).filter((m) => body.includes(m));
}

describe('no organisation reaches another’s records', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;
  let routes: DeclaredRoute[];
  /** Every id of a tenant row an attacker might put in a URL. */
  const tenantIds: string[] = [];
  const attackers = new Map<string, LoggedIn>();
  /** The tenant's own staff: the control that the ids and markers are real. */
  let own: LoggedIn;
  let conversationId: string;
  let relationId: string;

  beforeAll(async () => {
    kluis = await createTestKluis({ env: { KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE: '100000' } });
    app = await buildApp(kluis);
    await app.ready();
    routes = app.routeTable.filter(
      // The development mail sink shows every message the installation sent, by design (dev only).
      (r) => r.access.kind !== 'public' && !r.url.startsWith('/staff/dev/'),
    );

    const tenant = await createOrg(kluis, 'tenant', 'Huurder Kruisorg');
    const tenantStaff = await createStaffUser(kluis, { orgId: tenant.id, roles: [...roles] });
    own = await loginAs(app, tenantStaff);
    const finance: Actor = {
      kind: 'user',
      orgId: tenant.id,
      orgKind: 'tenant',
      userId: tenantStaff.user.id,
      roles: ['finance', 'support'],
    };
    const submitted = await kluis.services.intake.submitContactRequest({
      actor: { kind: 'anonymous', orgId: tenant.id, ref: 'ip:test' },
      channel: 'web',
      request: { name: markers.name, email: markers.email, phone: undefined, message: markers.message },
      locale: 'nl',
    });
    conversationId = submitted.conversationId;
    const relations = kluis.services.relations;
    relationId = (
      await relations.createRelation({
        actor: finance,
        values: { kind: 'organisation', organisationName: markers.relation, status: 'active' },
      })
    ).id;
    await relations.createRelation({
      actor: finance,
      values: {
        kind: 'person',
        formOfAddress: 'ms',
        givenName: 'Marieke',
        familyName: 'Kruisorg-Q7',
        email: markers.email,
        status: 'active',
      },
    });
    for (const table of [
      'conversations',
      'conversation_entries',
      'data_subjects',
      'relations',
      'users',
    ] as const) {
      const rows = await kluis.db.selectFrom(table).select('id').where('org_id', '=', tenant.id).execute();
      tenantIds.push(...rows.map((r) => r.id));
    }

    const operator = await createOrg(kluis, 'operator', 'Beheerder');
    const otherTenant = await createOrg(kluis, 'tenant', 'Andere Huurder');
    for (const [name, org] of [
      ['operator', operator],
      ['other tenant', otherTenant],
    ] as const) {
      const user = await createStaffUser(kluis, { orgId: org.id, roles: [...roles] });
      attackers.set(name, await loginAs(app, user));
    }
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  it('has the tenant’s records and routes with ids to aim at them', () => {
    expect(tenantIds.length).toBeGreaterThanOrEqual(6);
    expect(routes.filter((r) => r.url.includes('/:')).length).toBeGreaterThan(20);
  });

  it('shows the tenant’s own staff its records (the control: ids and markers are real)', async () => {
    const get = (url: string) => app.inject({ method: 'GET', url, headers: { cookie: own.cookie } });
    const conversation = await get(`/staff/conversations/${conversationId}`);
    expect(conversation.statusCode).toBe(200);
    expect(leaks(conversation.body)).toEqual(expect.arrayContaining([markers.name, markers.message]));
    const relation = await get(`/staff/relations/${relationId}`);
    expect(relation.statusCode).toBe(200);
    expect(leaks(relation.body)).toContain(markers.relation);
    expect(leaks((await get('/staff/relations')).body)).toContain(markers.relation);
  });

  it('answers every route aimed at a tenant record with a refusal, no data, and no change', async () => {
    const before = await snapshot(kluis);
    let attacks = 0;
    for (const [who, session] of attackers) {
      for (const route of routes.filter((r) => r.url.includes('/:'))) {
        for (const id of tenantIds) {
          const url = route.url.replace(/:[A-Za-z_]+/g, id);
          const isGet = route.method === 'GET';
          const res = await app.inject({
            method: route.method as 'GET',
            url,
            headers: {
              cookie: session.cookie,
              ...(isGet ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
            },
            ...(isGet ? {} : { payload: new URLSearchParams({ _csrf: session.csrfToken }).toString() }),
          });
          const label = `${who}: ${route.method} ${url}`;
          expect(leaks(res.body), label).toEqual([]);
          expect(res.statusCode, label).not.toBe(200);
          if (isGet) expect([403, 404], label).toContain(res.statusCode);
          attacks++;
        }
      }
    }
    expect(attacks).toBeGreaterThan(200);
    expect(await snapshot(kluis)).toEqual(before);
  });

  it('shows none of the tenant’s records on any list page or API list', async () => {
    let pages = 0;
    for (const [who, session] of attackers) {
      for (const route of routes.filter((r) => r.method === 'GET' && !r.url.includes('/:'))) {
        const res = await app.inject({ method: 'GET', url: route.url, headers: { cookie: session.cookie } });
        expect(leaks(res.body), `${who}: GET ${route.url}`).toEqual([]);
        if (res.statusCode === 200) pages++;
      }
    }
    expect(pages).toBeGreaterThan(10);
  });
});
