import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis, testDialect } from '../../../test/dialects.js';
import {
  createOrg,
  createStaffUser,
  csrfTokenOf,
  formPost,
  type LoggedIn,
  loginAs,
} from '../../../test/factories.js';
import { buildApp } from '../../app.js';
import { createFixedClock } from '../../shared/clock.js';
import { createJobRegistry, createWorker, enqueue, ensureSchedule } from './index.js';
import { createJobsRepository } from './jobs-repository.js';

describe('the staff health page', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;
  let admin: LoggedIn;
  let security: LoggedIn;
  let support: LoggedIn;
  let tenantAdmin: LoggedIn;
  let failedId: string;
  const clock = createFixedClock('2030-06-01T10:00:00.000Z');

  const jobRow = (id: string) => createJobsRepository(kluis.db).findById(id);

  beforeAll(async () => {
    kluis = await createTestKluis({ clock });
    app = await buildApp(kluis);
    const operator = await createOrg(kluis, 'operator');
    const tenant = await createOrg(kluis, 'tenant');
    admin = await loginAs(app, await createStaffUser(kluis, { orgId: operator.id, roles: ['admin'] }));
    security = await loginAs(app, await createStaffUser(kluis, { orgId: operator.id, roles: ['security'] }));
    support = await loginAs(app, await createStaffUser(kluis, { orgId: operator.id, roles: ['support'] }));
    tenantAdmin = await loginAs(
      app,
      await createStaffUser(kluis, { orgId: tenant.id, roles: ['owner', 'admin'] }),
    );

    await ensureSchedule(kluis.db, clock, { name: 'test.sweep', type: 'test.sweep', dailyAt: '02:00' });
    await enqueue(kluis.db, clock, {
      type: 'test.waiting',
      payload: {},
      runAt: new Date('2030-06-02T00:00:00Z'),
    });
    failedId = (await enqueue(kluis.db, clock, { type: 'test.orphan', payload: {} })).id;
    await createWorker({ kluis, registry: createJobRegistry(), scheduler: false }).runOnce();
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  const get = (who: LoggedIn | undefined, url = '/staff/health') =>
    app.inject({
      method: 'GET',
      url,
      headers: { accept: 'text/html', ...(who ? { cookie: who.cookie } : {}) },
    });

  /** `csrf: null` posts without a token. */
  const retry = (who: LoggedIn, id: string, csrf: string | null = who.csrfToken) =>
    app.inject({
      method: 'POST',
      url: `/staff/health/jobs/${id}/retry`,
      ...formPost(who.cookie, csrf === null ? {} : { _csrf: csrf }),
    });

  it('shows the operator’s admin the version, dialect, queue depth, failed jobs and schedules', async () => {
    const res = await get(admin);
    expect(res.statusCode).toBe(200);
    const body = res.body;
    expect(body).toContain('<h1>Systeemstatus</h1>');
    expect(body).toContain(testDialect === 'postgres' ? 'PostgreSQL' : 'SQLite (versleuteld bestand)');
    expect(body).toMatch(/<dd class="mono">\d+\.\d+\.\d+ \(test\)<\/dd>/);
    expect(body).toContain(
      '<th scope="row" class="mono">test.waiting</th><td>1</td><td>0</td><td>0</td><td>0</td>',
    );
    expect(body).toContain('test.orphan');
    expect(body).toContain('ERR_JOB_UNKNOWN_TYPE: no handler registered for test.orphan');
    expect(body).toContain(`action="/staff/health/jobs/${failedId}/retry"`);
    expect(body).toContain('dagelijks om 02:00 (UTC)');
    expect(body).toContain('datetime="2030-06-02T02:00:00.000Z"');
    expect(body).toContain('href="/staff/health" aria-current="page"');
    const en = await get(admin, '/staff/health?lang=en');
    expect(en.body).toContain('<h1>System health</h1>');
    expect(en.body).toContain('daily at 02:00 (UTC)');
  });

  it('lets security staff in, refuses support staff, hides the page from a tenant and sends visitors to login', async () => {
    expect((await get(security)).statusCode).toBe(200);
    expect((await get(support)).statusCode).toBe(403);
    const tenant = await get(tenantAdmin);
    expect(tenant.statusCode).toBe(404);
    expect(tenant.body).not.toContain('test.orphan');
    const anonymous = await get(undefined);
    expect(anonymous.statusCode).toBe(303);
    expect(anonymous.headers.location).toBe('/login?next=%2Fstaff%2Fhealth');
  });

  it('refuses a retry without a valid CSRF token, from the wrong role or from a tenant, and changes nothing', async () => {
    expect((await retry(admin, failedId, null)).statusCode).toBe(403);
    expect((await retry(admin, failedId, 'forged')).statusCode).toBe(403);
    expect((await retry(support, failedId)).statusCode).toBe(403);
    expect((await retry(tenantAdmin, failedId)).statusCode).toBe(404);
    expect(await jobRow(failedId)).toMatchObject({ status: 'failed', attempts: 1 });
    const audited = await kluis.db
      .selectFrom('audit_log')
      .select('seq')
      .where('action', '=', 'jobs.retry')
      .execute();
    expect(audited).toEqual([]);
  });

  it('answers a malformed or unknown job id with 400 and 404', async () => {
    expect((await retry(admin, 'not-a-uuid')).statusCode).toBe(400);
    expect((await retry(admin, randomUUID())).statusCode).toBe(404);
  });

  it('puts a failed job back in the queue from the retry button, audited, and says so', async () => {
    const page = await get(admin);
    const res = await retry(admin, failedId, csrfTokenOf(page.body));
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/staff/health?retried=1');
    expect(await jobRow(failedId)).toMatchObject({ status: 'queued', attempts: 0 });
    const audit = await kluis.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'jobs.retry')
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ target_type: 'job', target_id: failedId });
    expect(JSON.parse(audit[0]?.meta ?? '{}')).toEqual({ attempts: 1, type: 'test.orphan' });
    const after = await get(admin, '/staff/health?retried=1');
    expect(after.body).toContain('De taak staat weer in de wachtrij.');
    // Not failed any more: a second retry is a conflict.
    expect((await retry(admin, failedId)).statusCode).toBe(409);
  });

  it('keeps /healthz public and minimal, and says when the queue stalls', async () => {
    const ok = await app.inject({ method: 'GET', url: '/healthz' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ status: 'ok', jobs: 'ok' });
    clock.advance(16 * 60_000);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({
      status: 'ok',
      jobs: 'stalled',
    });
    expect((await get(admin)).body).toContain('Controleer of er een worker draait');
  });
});
