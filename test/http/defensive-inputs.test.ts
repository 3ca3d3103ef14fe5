/**
 * Defensive coding at the HTTP edge (ASVS 15.3.6, 15.3.7, 16.3.2), attacked through the real app:
 * prototype-pollution keys in JSON and form bodies and in the query string; the same parameter
 * repeated, or placed in a source the route does not read; and a refused authorisation, which
 * must leave an `auth.access.refused` entry in the audit trail naming who was refused where.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { Org } from '../../src/modules/orgs/orgs-repository.js';
import type { Actor } from '../../src/shared/actor.js';
import { createTestKluis, type TestKluis } from '../dialects.js';
import { createOrg, createStaffUser, type LoggedIn, loginAs, type StaffCredentials } from '../factories.js';

function polluted(): boolean {
  const probe: Record<string, unknown> = {};
  return 'polluted' in probe || Object.hasOwn(Object.prototype, 'polluted');
}

describe('defensive input handling at the HTTP edge', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;
  let org: Org;
  let support: StaffCredentials;
  let supportSession: LoggedIn;
  let supportKey: { id: string; token: string };

  beforeAll(async () => {
    kluis = await createTestKluis();
    app = await buildApp(kluis);
    org = await createOrg(kluis, 'tenant', 'Bakkerij Jansen');
    const admin = await createStaffUser(kluis, { orgId: org.id, roles: ['admin', 'support'] });
    support = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    supportSession = await loginAs(app, support);
    const creator: Actor = {
      kind: 'user',
      orgId: org.id,
      orgKind: org.kind,
      userId: admin.user.id,
      roles: ['admin', 'support'],
    };
    const made = await kluis.services.auth.createApiKey({ actor: creator, name: 'chat', roles: ['support'] });
    supportKey = { id: made.key.id, token: made.token };
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  const refusals = () =>
    kluis.db
      .selectFrom('audit_log')
      .select(['actor', 'org_id', 'meta'])
      .where('action', '=', 'auth.access.refused')
      .orderBy('seq')
      .execute();

  describe('a refused authorisation is audited (ASVS 16.3.2)', () => {
    it('records a signed-in user refused a page, with the route pattern and method', async () => {
      const before = (await refusals()).length;
      const res = await app.inject({
        method: 'GET',
        url: '/staff/security/audit?q=secret-search',
        headers: { cookie: supportSession.cookie },
      });
      expect(res.statusCode).toBe(403);
      const after = await refusals();
      expect(after.length).toBe(before + 1);
      const entry = after.at(-1);
      expect(entry?.actor).toBe(`user:${support.user.id}`);
      expect(entry?.org_id).toBe(org.id);
      const meta = JSON.parse(String(entry?.meta)) as Record<string, unknown>;
      expect(meta).toMatchObject({ method: 'GET', route: '/staff/security/audit' });
      expect(meta.requestId).toBe(res.headers['x-request-id']);
      // The route pattern only: never the query string a refused caller sent.
      expect(String(entry?.meta)).not.toContain('secret-search');
    });

    it('records an API key calling beyond its roles', async () => {
      const before = (await refusals()).length;
      const res = await app.inject({
        method: 'GET',
        url: `/api/v1/relations/${crypto.randomUUID()}/mandates/${crypto.randomUUID()}`,
        headers: { authorization: `Bearer ${supportKey.token}` },
      });
      expect(res.statusCode).toBe(403);
      const after = await refusals();
      expect(after.length).toBe(before + 1);
      expect(after.at(-1)?.actor).toBe(`api_key:${supportKey.id}`);
      expect(JSON.parse(String(after.at(-1)?.meta))).toMatchObject({
        route: '/api/v1/relations/:id/mandates/:mandateId',
      });
    });

    it('writes nothing for anonymous callers (401 and the access log) nor for allowed requests', async () => {
      const before = (await refusals()).length;
      const anonymous = await app.inject({ method: 'GET', url: '/api/v1/relations' });
      expect(anonymous.statusCode).toBe(401);
      const badKey = await app.inject({
        method: 'GET',
        url: '/api/v1/relations',
        headers: { authorization: 'Bearer kluis_nope_nope' },
      });
      expect(badKey.statusCode).toBe(401);
      const allowed = await app.inject({
        method: 'GET',
        url: '/staff',
        headers: { cookie: supportSession.cookie },
      });
      expect(allowed.statusCode).toBe(200);
      expect((await refusals()).length).toBe(before);
    });
  });

  describe('prototype pollution (ASVS 15.3.6)', () => {
    const postJson = (payload: string) =>
      app.inject({
        method: 'POST',
        url: '/api/v1/contact-requests',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${supportKey.token}` },
        payload,
      });

    it('refuses __proto__ and constructor.prototype in a JSON body, stores nothing and pollutes nothing', async () => {
      const count = async () =>
        Number(
          (
            await kluis.db
              .selectFrom('conversations')
              .select((eb) => eb.fn.countAll().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        );
      const before = await count();
      const fields = '"name":"Eva","email":"eva@example.test","message":"hallo"';
      for (const body of [
        `{${fields},"__proto__":{"polluted":"yes"}}`,
        `{${fields},"constructor":{"prototype":{"polluted":"yes"}}}`,
        `{"__proto__":{"polluted":"yes"},${fields}}`,
        `{${fields},"nested":{"__proto__":{"polluted":"yes"}}}`,
      ]) {
        const res = await postJson(body);
        expect(res.statusCode, body).toBe(400);
        expect(polluted(), body).toBe(false);
      }
      expect(await count()).toBe(before);
      // The same body without the poison is accepted: the refusals above are for the keys.
      expect((await postJson(`{${fields}}`)).statusCode).toBe(201);
    });

    it('takes form and query fields named __proto__ or constructor as plain data', async () => {
      const contact = `/o/${org.slug}/contact`;
      const page = await app.inject({ method: 'GET', url: contact });
      expect(page.statusCode).toBe(200);
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
      const cookie = (page.cookies as { name: string; value: string }[])
        .map((c) => `${c.name}=${c.value}`)
        .join('; ');
      for (const payload of [
        `_csrf=${encodeURIComponent(csrf)}&__proto__%5Bpolluted%5D=yes&name=Eva`,
        `_csrf=${encodeURIComponent(csrf)}&__proto__=polluted&constructor%5Bprototype%5D%5Bpolluted%5D=yes`,
      ]) {
        const res = await app.inject({
          method: 'POST',
          url: contact,
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
          payload,
        });
        // Past the CSRF check, into the form's own validation: a page with its errors.
        expect(res.statusCode, payload).toBe(400);
        expect(polluted(), payload).toBe(false);
      }
      for (const url of [
        '/?__proto__[polluted]=yes',
        '/?constructor[prototype][polluted]=yes',
        '/api/v1/relations?__proto__=x&constructor=y',
      ]) {
        const res = await app.inject({
          method: 'GET',
          url,
          headers: { authorization: `Bearer ${supportKey.token}` },
        });
        expect(res.statusCode, url).toBeLessThan(500);
        expect(polluted(), url).toBe(false);
      }
    });
  });

  describe('HTTP parameter pollution (ASVS 15.3.7)', () => {
    it('never combines a repeated query parameter: a typed one is refused or ignored, not merged', async () => {
      const api = (url: string) =>
        app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${supportKey.token}` } });
      const single = await api('/api/v1/relations?status=active');
      expect(single.statusCode).toBe(200);
      const repeated = await api('/api/v1/relations?status=active&status=ended&page=1&page=2');
      expect(repeated.statusCode).toBe(200);
      // A list of values is no status: the filter falls back to none, the page to the first.
      const unfiltered = await api('/api/v1/relations');
      expect(repeated.json()).toEqual(unfiltered.json());
      const page = await app.inject({
        method: 'GET',
        url: '/staff/security/access-log?page=1&page=2',
        headers: { cookie: supportSession.cookie },
      });
      expect(page.statusCode).toBeLessThan(500);
    });

    it('refuses a repeated field in a form instead of choosing one of the values', async () => {
      const form = await app.inject({ method: 'GET', url: '/login', remoteAddress: '127.200.0.1' });
      const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
      const cookie = (form.cookies as { name: string; value: string }[])
        .map((c) => `${c.name}=${c.value}`)
        .join('; ');
      const payload = new URLSearchParams([
        ['_csrf', csrf],
        ['email', 'someone-else@example.test'],
        ['email', support.email],
        ['password', support.password],
      ]).toString();
      const res = await app.inject({
        method: 'POST',
        url: '/login',
        remoteAddress: '127.200.0.1',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload,
      });
      expect(res.statusCode).not.toBe(303);
      expect(res.statusCode).toBeLessThan(500);
      expect(res.cookies.some((c) => c.name.includes('session') && c.value !== '')).toBe(false);
    });

    it('reads the CSRF token from the body or its header only: the query string does not count', async () => {
      const fromQuery = await app.inject({
        method: 'POST',
        url: `/logout?_csrf=${encodeURIComponent(supportSession.csrfToken)}`,
        headers: { cookie: supportSession.cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'x=1',
      });
      expect(fromQuery.statusCode).toBe(403);
      // Still signed in: the refused logout did nothing.
      const still = await app.inject({
        method: 'GET',
        url: '/staff',
        headers: { cookie: supportSession.cookie },
      });
      expect(still.statusCode).toBe(200);
    });

    it('does not let a repeated CSRF token pass with one forged value', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/logout',
        headers: { cookie: supportSession.cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams([
          ['_csrf', 'forged'],
          ['_csrf', supportSession.csrfToken],
        ]).toString(),
      });
      expect(res.statusCode).toBe(403);
    });
  });
});
