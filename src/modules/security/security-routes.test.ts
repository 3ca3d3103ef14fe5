import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis, testDialect } from '../../../test/dialects.js';
import { createOrg, createStaffUser, type LoggedIn, loginAs } from '../../../test/factories.js';
import { dropAppendOnlyGuards } from '../../../test/security/audit-attacker.js';
import { InsertCounter } from '../../../test/security/insert-counter.js';
import { buildApp } from '../../app.js';
import type { Org } from '../orgs/orgs-repository.js';
import { createCheckpoint } from './audit-checkpoint.js';
import { createSecurityModule } from './index.js';

async function flush(app: FastifyInstance): Promise<void> {
  await app.accessLogWriter?.flush();
}

describe('the access log of every request', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;
  beforeAll(async () => {
    kluis = await createTestKluis();
    app = await buildApp(kluis);
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  it('writes a row with IP, user agent, method, route pattern and status once the writer flushes', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/?lang=en&email=someone%40example.nl',
      remoteAddress: '203.0.113.9',
      headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux) Test/1.0' },
    });
    const requestId = String(res.headers['x-request-id']);
    await flush(app);
    const row = await kluis.db
      .selectFrom('access_log')
      .selectAll()
      .where('request_id', '=', requestId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      ip: '203.0.113.9',
      ip_truncated: 0,
      user_agent: 'Mozilla/5.0 (X11; Linux) Test/1.0',
      method: 'GET',
      route: '/',
      status: 200,
      org_id: null,
    });
  });

  it('logs the route pattern, never the raw path or query string, also for unknown paths', async () => {
    const res = await app.inject({ method: 'GET', url: '/reset/secret-token-123?email=a%40b.nl' });
    expect(res.statusCode).toBe(404);
    await flush(app);
    const row = await kluis.db
      .selectFrom('access_log')
      .selectAll()
      .where('request_id', '=', String(res.headers['x-request-id']))
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ route: '(unmatched)', status: 404 });
    const all = await kluis.db.selectFrom('access_log').select(['route', 'user_agent']).execute();
    expect(JSON.stringify(all)).not.toContain('secret-token-123');
    expect(JSON.stringify(all)).not.toContain('a@b.nl');
  });

  it('cuts an overlong user agent to 512 characters', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'user-agent': 'u'.repeat(5000) },
    });
    await flush(app);
    const row = await kluis.db
      .selectFrom('access_log')
      .select('user_agent')
      .where('request_id', '=', String(res.headers['x-request-id']))
      .executeTakeFirstOrThrow();
    expect(row.user_agent).toHaveLength(512);
  });

  it('records the signed-in user’s org, but no user id', async () => {
    const org = await createOrg(kluis, 'tenant');
    const user = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    const session = await loginAs(app, user);
    const res = await app.inject({ method: 'GET', url: '/staff', headers: { cookie: session.cookie } });
    expect(res.statusCode).toBe(200);
    await flush(app);
    const row = await kluis.db
      .selectFrom('access_log')
      .selectAll()
      .where('request_id', '=', String(res.headers['x-request-id']))
      .executeTakeFirstOrThrow();
    expect(row.org_id).toBe(org.id);
    expect(JSON.stringify(row)).not.toContain(user.user.id);
  });
});

describe('the access log behind a trusted proxy', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;
  beforeAll(async () => {
    kluis = await createTestKluis({ env: { KLUIS_TRUST_PROXY: '127.0.0.1' } });
    app = await buildApp(kluis);
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  it('takes the client address from X-Forwarded-For only when the proxy is trusted', async () => {
    const viaProxy = await app.inject({
      method: 'GET',
      url: '/',
      remoteAddress: '127.0.0.1',
      headers: { 'x-forwarded-for': '2001:db8:1:2::3' },
    });
    const spoofed = await app.inject({
      method: 'GET',
      url: '/',
      remoteAddress: '198.51.100.50',
      headers: { 'x-forwarded-for': '192.0.2.1' },
    });
    await flush(app);
    const ipOf = async (res: typeof viaProxy) =>
      (
        await kluis.db
          .selectFrom('access_log')
          .select('ip')
          .where('request_id', '=', String(res.headers['x-request-id']))
          .executeTakeFirstOrThrow()
      ).ip;
    expect(await ipOf(viaProxy)).toBe('2001:db8:1:2::3');
    expect(await ipOf(spoofed)).toBe('198.51.100.50');
  });
});

describe('the access-log writer under load', () => {
  let kluis: TestKluis;
  beforeAll(async () => {
    kluis = await createTestKluis();
  });
  afterAll(async () => {
    await kluis.destroy();
  });

  it('does not write per request: 100 requests become one multi-row INSERT', async () => {
    const counter = new InsertCounter('access_log');
    const app = await buildApp(
      { ...kluis, db: kluis.db.withPlugin(counter) },
      { modules: [createSecurityModule({ accessLog: { flushEveryMs: 3_600_000 } })] },
    );
    for (let i = 0; i < 100; i++) {
      const res = await app.inject({ method: 'GET', url: `/nothing-${i}` });
      expect(res.statusCode).toBe(404);
    }
    expect(counter.inserts).toBe(0);
    await app.close();
    // On SQLite the batch is inserted by the writer's worker thread through its own connection:
    // the request thread's connection sees no INSERT at all.
    expect(counter.inserts).toBe(testDialect === 'sqlite' ? 0 : 1);
    const rows = await kluis.db.selectFrom('access_log').select('id').execute();
    expect(rows).toHaveLength(100);
  });
});

describe('the security pages', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;
  let operator: Org;
  let security: LoggedIn;
  beforeAll(async () => {
    kluis = await createTestKluis();
    app = await buildApp(kluis);
    operator = await createOrg(kluis, 'operator');
    security = await loginAs(
      app,
      await createStaffUser(kluis, {
        orgId: operator.id,
        roles: ['security'],
        displayName: 'Sietske Veilig',
      }),
    );
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  const pages = ['/staff/security/access-log', '/staff/security/audit'];

  it('sends a visitor without a session to the login page', async () => {
    for (const url of pages) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe(`/login?next=${encodeURIComponent(url)}`);
    }
  });

  it('refuses staff without the security role with 403, however senior', async () => {
    const tenant = await createOrg(kluis, 'tenant');
    for (const [orgId, roles] of [
      [operator.id, ['owner', 'admin']],
      [operator.id, ['support', 'finance', 'privacy_officer']],
      [tenant.id, ['admin']],
    ] as const) {
      const session = await loginAs(app, await createStaffUser(kluis, { orgId, roles: [...roles] }));
      for (const url of pages) {
        const res = await app.inject({ method: 'GET', url, headers: { cookie: session.cookie } });
        expect(res.statusCode, `${roles.join(',')} ${url}`).toBe(403);
        expect(res.body).not.toContain('<table');
      }
      const dashboard = await app.inject({
        method: 'GET',
        url: '/staff',
        headers: { cookie: session.cookie },
      });
      expect(dashboard.body).not.toContain('href="/staff/security/audit"');
    }
  });

  it('shows the security role the access log, filtered on the server, and audits the read', async () => {
    await app.inject({ method: 'GET', url: '/missing-page', remoteAddress: '192.0.2.77' });
    await flush(app);
    const res = await app.inject({
      method: 'GET',
      url: '/staff/security/access-log?status=404&route=%28unmatched',
      headers: { cookie: security.cookie },
    });
    expect(res.statusCode).toBe(400);
    const ok = await app.inject({
      method: 'GET',
      url: '/staff/security/access-log?status=404',
      headers: { cookie: security.cookie },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('192.0.2.77');
    expect(ok.body).toContain('(unmatched)');
    expect(ok.body).not.toContain('>200<');
    expect(ok.body).toContain('href="/staff/security/audit"');
    const read = await kluis.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'security.access_log.read')
      .executeTakeFirst();
    expect(read).toMatchObject({ org_id: operator.id });
    expect(JSON.parse(read?.meta ?? '{}')).toMatchObject({ status: 404 });
  });

  it('answers a malformed filter with the form and a clear message, and reads nothing', async () => {
    const before = await kluis.db.selectFrom('audit_log').select('seq').execute();
    const res = await app.inject({
      method: 'GET',
      url: '/staff/security/access-log?from=yesterday&status=abc&page=-1',
      headers: { cookie: security.cookie },
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('error-summary');
    expect(res.body).toContain('value="yesterday"');
    const after = await kluis.db.selectFrom('audit_log').select('seq').execute();
    expect(after.length).toBe(before.length);
  });

  it('shows the audit chain as intact with its latest checkpoint, and as broken after tampering', async () => {
    await createCheckpoint(kluis);
    const ok = await app.inject({
      method: 'GET',
      url: '/staff/security/audit',
      headers: { cookie: security.cookie },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('status-ok');
    expect(ok.body).toContain('security.access_log.read');
    expect(ok.body).not.toContain('Nog geen controlepunt');
    // Issue 16: the action and its kind in words, the actor by the name of the org's staff member
    // (the raw reference only in a title), and the table in a scroll region so the page keeps to
    // the screen's width.
    expect(ok.body).toContain(
      'Toegangslog ingezien <small>(Persoonsgegevens ingezien)</small><br><small class="mono wrap">security.access_log.read</small>',
    );
    expect(ok.body).toMatch(/<span title="user:[0-9a-f-]{36}">Sietske Veilig<\/span>/);
    expect(ok.body).not.toMatch(/>user:[0-9a-f-]{36}</);
    const en = await app.inject({
      method: 'GET',
      url: '/staff/security/audit?lang=en',
      headers: { cookie: security.cookie },
    });
    expect(en.body).toContain('Access log opened <small>(Personal data opened)</small>');
    // A staff member of another organisation is never named here, not even by id lookup.
    const tenant = await createOrg(kluis, 'tenant');
    const outsider = await createStaffUser(kluis, {
      orgId: tenant.id,
      roles: ['security'],
      displayName: 'Tina Elders',
    });
    await loginAs(app, outsider);
    const again = await app.inject({
      method: 'GET',
      url: '/staff/security/audit',
      headers: { cookie: security.cookie },
    });
    expect(again.body).not.toContain('Tina Elders');
    expect(ok.body).toContain('<div class="table-scroll" role="region"');

    await dropAppendOnlyGuards(kluis.db);
    await kluis.db.updateTable('audit_log').set({ action: 'test.tampered' }).where('seq', '=', 1).execute();
    const broken = await app.inject({
      method: 'GET',
      url: '/staff/security/audit?lang=en',
      headers: { cookie: security.cookie },
    });
    expect(broken.statusCode).toBe(200);
    expect(broken.body).toContain('status-bad');
    expect(broken.body).toContain('The chain is broken at entry #1');
  });
});
