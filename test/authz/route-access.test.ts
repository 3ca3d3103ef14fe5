/**
 * The authorization suite: walks every route the app declares (app.routeTable) and attacks it
 * as nobody, as a signed-in user holding none of the allowed roles, and with an invalid API key.
 * After the attacks it re-reads the database: nothing may have changed but the log tables.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { type Role, roles } from '../../src/shared/actor.js';
import type { DeclaredRoute } from '../../src/shared/http/access.js';
import { purposeRoles, rolesFor } from '../../src/shared/permissions.js';
import { createTestKluis, type TestKluis } from '../dialects.js';
import { createOrg, createStaffUser, type LoggedIn, loginAs } from '../factories.js';
import { snapshot } from './db-snapshot.js';

async function countRefusals(kluis: TestKluis): Promise<number> {
  const row = await kluis.db
    .selectFrom('audit_log')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('action', '=', 'auth.access.refused')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

function concrete(url: string): string {
  return url.replace(/:[A-Za-z_]+/g, randomUUID()).replace(/\*$/, 'x');
}

describe('every route refuses callers it does not declare', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;
  let routes: DeclaredRoute[];
  const sessions = new Map<Role, LoggedIn>();
  const userIds = new Map<Role, string>();

  beforeAll(async () => {
    kluis = await createTestKluis();
    app = await buildApp(kluis);
    await app.ready();
    routes = app.routeTable;
    const org = await createOrg(kluis, 'tenant');
    for (const role of roles) {
      const user = await createStaffUser(kluis, { orgId: org.id, roles: [role] });
      sessions.set(role, await loginAs(app, user));
      userIds.set(role, user.user.id);
    }
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  it('has routes of every kind to attack', () => {
    expect(routes.filter((r) => r.access.kind === 'staff').length).toBeGreaterThan(5);
    expect(
      routes.filter((r) => r.access.kind === 'staff' && r.access.permission !== undefined).length,
    ).toBeGreaterThan(2);
  });

  it('sends a visitor without a session to the login page (GET) or refuses (other methods)', async () => {
    const before = await snapshot(kluis);
    for (const route of routes.filter((r) => r.access.kind !== 'public')) {
      const res = await app.inject({ method: route.method as 'GET', url: concrete(route.url) });
      const label = `${route.method} ${route.url}`;
      if (route.access.kind === 'api' || route.method !== 'GET') {
        expect([401, 403], label).toContain(res.statusCode);
      } else {
        expect(res.statusCode, label).toBe(303);
        expect(res.headers.location, label).toMatch(/^\/login\?next=/);
      }
    }
    expect(await snapshot(kluis)).toEqual(before);
  });

  it('refuses a signed-in user whose roles lack the route’s permission with 403, and changes nothing', async () => {
    const before = await snapshot(kluis);
    const refusalsBefore = await countRefusals(kluis);
    let attacks = 0;
    for (const route of routes) {
      if (route.access.kind === 'public' || route.access.permission === undefined) continue;
      const allowed = rolesFor(route.access.permission);
      for (const role of roles.filter((r) => !allowed.includes(r))) {
        const session = sessions.get(role);
        if (session === undefined) throw new Error(`no session for ${role}`);
        const isGet = route.method === 'GET';
        const res = await app.inject({
          method: route.method as 'GET',
          url: concrete(route.url),
          headers: {
            cookie: session.cookie,
            ...(isGet ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
          },
          ...(isGet ? {} : { payload: new URLSearchParams({ _csrf: session.csrfToken }).toString() }),
        });
        expect(res.statusCode, `${role} on ${route.method} ${route.url}`).toBe(403);
        attacks++;
      }
    }
    expect(attacks).toBeGreaterThan(10);
    expect(await snapshot(kluis)).toEqual(before);
    // ASVS 16.3.2: every one of those refusals is in the audit trail.
    expect((await countRefusals(kluis)) - refusalsBefore).toBe(attacks);
  });

  it('refuses every user who may manage users giving themself a purpose role, and changes nothing', async () => {
    const before = await snapshot(kluis);
    const rolesRoute = routes.find((r) => r.method === 'POST' && r.url === '/staff/users/:id/roles');
    expect(rolesRoute?.access).toMatchObject({ kind: 'staff', permission: 'users.manage' });
    let attacks = 0;
    for (const role of rolesFor('users.manage')) {
      const session = sessions.get(role);
      const userId = userIds.get(role);
      if (session === undefined || userId === undefined) throw new Error(`no session for ${role}`);
      for (const purpose of purposeRoles) {
        const res = await app.inject({
          method: 'POST',
          url: `/staff/users/${userId}/roles`,
          headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams([
            ['_csrf', session.csrfToken],
            ['roles', role],
            ['roles', purpose],
          ]).toString(),
        });
        expect(res.statusCode, `${role} giving themself ${purpose}`).toBe(403);
        attacks++;
      }
      const held = await kluis.db
        .selectFrom('user_roles')
        .select('role')
        .where('user_id', '=', userId)
        .execute();
      expect(held.map((r) => r.role)).toEqual([role]);
    }
    expect(attacks).toBe(rolesFor('users.manage').length * purposeRoles.length);
    expect(await snapshot(kluis)).toEqual(before);
  });

  it('refuses every unsafe staff request that lacks a valid CSRF token, even from an allowed user', async () => {
    const owner = sessions.get('owner');
    if (owner === undefined) throw new Error('no owner session');
    const before = await snapshot(kluis);
    for (const route of routes.filter((r) => r.method !== 'GET' && r.access.kind === 'staff')) {
      const res = await app.inject({
        method: route.method as 'POST',
        url: concrete(route.url),
        headers: { cookie: owner.cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: 'forged' }).toString(),
      });
      expect(res.statusCode, `${route.method} ${route.url}`).toBe(403);
    }
    expect(await snapshot(kluis)).toEqual(before);
  });

  it('refuses an invalid API key on every API route with 401', async () => {
    for (const route of routes.filter((r) => r.access.kind === 'api')) {
      const res = await app.inject({
        method: route.method as 'GET',
        url: concrete(route.url),
        headers: { authorization: 'Bearer kluis_nope_nope' },
      });
      expect(res.statusCode, `${route.method} ${route.url}`).toBe(401);
    }
  });
});
