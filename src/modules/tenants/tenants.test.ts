/**
 * Onboarding a tenant (P7, P9): `kluis tenant create` with its processor agreement, the invitation
 * mailed to the first owner (single-use, expiring, only its hash stored), the owner's first
 * sign-in with TOTP enrolment required, suspension, and the operator's limits: no tenant user
 * made or reset from the CLI, no tenant audit entry on the operator's audit page.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../../../test/browser.js';
import { runCommands, testCli } from '../../../test/cli.js';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg, createStaffUser, loginAs, systemActor } from '../../../test/factories.js';
import { buildApp } from '../../app.js';
import { createFixedClock } from '../../shared/clock.js';
import { registerAuthCommands } from '../auth/auth-cli.js';
import { createWorker } from '../jobs/jobs-worker.js';
import { createMailSink, type MailSink } from '../mail/mail-sink.js';
import type { Org } from '../orgs/index.js';
import { registerTenantCommands } from './tenants-cli.js';

const NEW_PASSWORD = 'kompas vuurtoren augustus pannenkoek';

describe('onboarding a tenant', () => {
  const clock = createFixedClock('2030-09-02T12:00:00.000Z');
  let sink: MailSink;
  let kluis: TestKluis;
  let app: FastifyInstance;
  let operator: Org;

  beforeAll(async () => {
    sink = await createMailSink({ port: 0, host: '127.0.0.1' });
    kluis = await createTestKluis({
      clock,
      env: { KLUIS_SMTP_URL: sink.url, KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE: '100000' },
    });
    app = await buildApp(kluis);
    operator = await createOrg(kluis, 'operator');
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
    await sink.close();
  });

  async function cli(...args: string[]) {
    const run = testCli({ kluis });
    return runCommands(run, [registerTenantCommands, registerAuthCommands], args);
  }

  async function deliver(): Promise<number> {
    const worker = createWorker({ kluis, registry: kluis.jobRegistry, scheduler: false });
    return (await worker.runOnce()).done;
  }

  it('creates an active tenant with the standard agreement and mails a single-use invitation', async () => {
    const created = await cli(
      'tenant',
      'create',
      '--slug',
      'bakkerij-jansen',
      '--name',
      'Bakkerij Jansen B.V.',
      '--owner-email',
      'eigenaar@jansen.example',
      '--standard-agreement',
      '--agreement-version',
      '2.1',
      '--kvk',
      '12345678',
    );
    expect(created.error).toBeUndefined();
    expect(created.out).toContain('status:     active');
    expect(created.out).toContain('agreement:  standard, version 2.1');
    expect(created.out).not.toContain('eigenaar@jansen.example');
    const tenant = await kluis.services.orgs.findBySlug('bakkerij-jansen');
    expect(tenant).toMatchObject({ kind: 'tenant', status: 'active', require_totp: 1 });

    // The agreement is on record as a client agreement in the operator's register.
    const agreements = await kluis.db
      .selectFrom('processor_agreements')
      .selectAll()
      .where('client_org_id', '=', tenant?.id ?? '')
      .execute();
    expect(agreements).toHaveLength(1);
    expect(agreements[0]).toMatchObject({ org_id: operator.id, version: 'standard 2.1' });

    expect(await deliver()).toBe(1);
    const mail = await sink.waitFor((m) => m.to.includes('eigenaar@jansen.example'));
    expect(mail.subject).toContain('Bakkerij Jansen B.V.');
    const url = /(http:\/\/\S+\/login\/reset\?token=[A-Za-z0-9_-]{43})/.exec(mail.text)?.[1] ?? '';
    const token = new URL(url).searchParams.get('token') ?? '';
    expect(token).toHaveLength(43);
    // Only the hash is stored; the link lasts 7 days.
    const rows = await kluis.db.selectFrom('password_reset_tokens').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(token);
    const row = rows.find((r) => r.org_id === tenant?.id);
    expect(row?.expires_at).toBe('2030-09-09T12:00:00.000Z');

    // The owner sets a password with the link (once), then must enrol TOTP at sign-in.
    const b = new Browser(app);
    await b.get(`/login/reset?token=${token}`);
    const set = await b.post('/login/reset', {
      token,
      newPassword: NEW_PASSWORD,
      confirmPassword: NEW_PASSWORD,
    });
    expect(set.statusCode).toBe(303);
    const again = await new Browser(app).post('/login/reset', {
      token,
      newPassword: `${NEW_PASSWORD} x`,
      confirmPassword: `${NEW_PASSWORD} x`,
    });
    expect(again.statusCode).toBe(400);
    const signIn = new Browser(app);
    await signIn.get('/login');
    const login = await signIn.post('/login', { email: 'eigenaar@jansen.example', password: NEW_PASSWORD });
    expect(login.statusCode).toBe(303);
    expect(login.headers.location).toContain('/account/totp');
    const staff = await signIn.get('/staff/users');
    expect(staff.statusCode).not.toBe(200);
  });

  it('refuses an agreement file that is not a PDF, and creates nothing', async () => {
    const file = join(kluis.dir, 'not-a.pdf');
    writeFileSync(file, 'MZ this is no pdf');
    const result = await cli(
      'tenant',
      'create',
      '--slug',
      'geen-pdf',
      '--name',
      'Geen PDF',
      '--owner-email',
      'o@geen.example',
      '--agreement',
      file,
    );
    expect(result.error?.message).toContain('ERR_VALIDATION');
    expect(await kluis.services.orgs.findBySlug('geen-pdf')).toBeUndefined();
  });

  it('keeps an uploaded signed PDF as the agreement document, sealed', async () => {
    const file = join(kluis.dir, 'signed.pdf');
    const pdf = Buffer.from('%PDF-1.7\nsigned by Jansen and Ambrix\n%%EOF');
    writeFileSync(file, pdf);
    const result = await cli(
      'tenant',
      'create',
      '--slug',
      'met-pdf',
      '--name',
      'Met PDF B.V.',
      '--owner-email',
      'o@metpdf.example',
      '--agreement',
      file,
      '--signed-on',
      '2030-08-30',
    );
    expect(result.error).toBeUndefined();
    expect(result.out).toContain('agreement:  document, version 1.0');
    const doc = await kluis.db.selectFrom('register_documents').selectAll().executeTakeFirstOrThrow();
    expect(doc.sha256).toBe(createHash('sha256').update(pdf).digest('hex'));
    expect(doc.content.includes(Buffer.from('signed by Jansen'))).toBe(false);
  });

  it('refuses both or neither agreement option', async () => {
    const neither = await cli(
      'tenant',
      'create',
      '--slug',
      'x-y',
      '--name',
      'X',
      '--owner-email',
      'a@b.example',
    );
    expect(neither.error?.message).toContain('exactly one');
    expect(await kluis.services.orgs.findBySlug('x-y')).toBeUndefined();
  });

  it('lists and shows metadata and counts, never the owner’s address', async () => {
    const list = await cli('tenant', 'list');
    expect(list.out).toMatch(/bakkerij-jansen\tactive\tBakkerij Jansen B\.V\.\tstaff 1\t/);
    expect(list.out).not.toContain('@');
    const shown = await cli('tenant', 'show', '--slug', 'bakkerij-jansen');
    expect(shown.out).toContain('staff:      1');
    expect(shown.out).not.toContain('eigenaar@');
  });

  it('refuses `kluis user create|reset` in a tenant (its accounts are its own), not in the operator', async () => {
    const create = await cli(
      'user',
      'create',
      '--org',
      'bakkerij-jansen',
      '--email',
      'indringer@ambrix.example',
      '--name',
      'X',
      '--role',
      'owner',
    );
    expect(create.error?.message).toContain('ERR_FORBIDDEN');
    const reset = await cli(
      'user',
      'reset',
      '--org',
      'bakkerij-jansen',
      '--email',
      'eigenaar@jansen.example',
    );
    expect(reset.error?.message).toContain('ERR_FORBIDDEN');
    expect(reset.out).not.toContain('One-time password');
    const tenant = await kluis.services.orgs.findBySlug('bakkerij-jansen');
    const users = await kluis.db
      .selectFrom('users')
      .select('email')
      .where('org_id', '=', tenant?.id ?? '')
      .execute();
    expect(users.map((u) => u.email)).toEqual(['eigenaar@jansen.example']);
    const ok = await cli(
      'user',
      'create',
      '--org',
      operator.slug,
      '--email',
      'nieuw@ambrix.example',
      '--name',
      'N',
      '--role',
      'support',
    );
    expect(ok.error).toBeUndefined();
  });

  it('suspends a tenant: its staff can no longer sign in and their sessions end', async () => {
    const tenant = await createOrg(kluis, 'tenant');
    const owner = await createStaffUser(kluis, { orgId: tenant.id, roles: ['owner', 'admin'] });
    const session = await loginAs(app, owner);
    const before = await app.inject({ method: 'GET', url: '/staff', headers: { cookie: session.cookie } });
    expect(before.statusCode).toBe(200);
    const result = await cli('tenant', 'suspend', '--slug', tenant.slug);
    expect(result.error).toBeUndefined();
    const after = await app.inject({ method: 'GET', url: '/staff', headers: { cookie: session.cookie } });
    expect(after.statusCode).not.toBe(200);
    await expect(loginAs(app, owner)).rejects.toThrow('login failed: 403');
    expect(await cli('tenant', 'activate', '--slug', tenant.slug)).toMatchObject({ error: undefined });
    await expect(loginAs(app, owner)).resolves.toBeDefined();
  });

  it('shows the operator’s security staff no tenant audit entries', async () => {
    const tenant = await createOrg(kluis, 'tenant');
    await kluis.services.audit.append(kluis.db, {
      actor: systemActor(tenant),
      action: 'test.tenant_secret_event',
    });
    await kluis.services.audit.append(kluis.db, {
      actor: systemActor(operator),
      action: 'test.operator_event',
    });
    const security = await createStaffUser(kluis, { orgId: operator.id, roles: ['security'] });
    const overview = await kluis.services.security.auditOverview(
      {
        kind: 'user',
        orgId: operator.id,
        orgKind: 'operator',
        userId: security.user.id,
        roles: ['security'],
      },
      500,
    );
    const actions = overview.entries.map((e) => e.action);
    expect(actions).toContain('test.operator_event');
    expect(actions).not.toContain('test.tenant_secret_event');
    expect(overview.entries.every((e) => e.org_id === operator.id || e.org_id === null)).toBe(true);
  });
});
