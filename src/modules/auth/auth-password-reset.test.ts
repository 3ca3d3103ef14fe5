import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Browser } from '../../../test/browser.js';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg, createStaffUser, type StaffCredentials, systemActor } from '../../../test/factories.js';
import { buildApp } from '../../app.js';
import { createFixedClock, MINUTE } from '../../shared/clock.js';
import { createLogger } from '../../shared/logger.js';
import { createWorker } from '../jobs/jobs-worker.js';
import { createMailSink, type MailSink, type SinkMessage } from '../mail/mail-sink.js';
import type { Org } from '../orgs/orgs-repository.js';
import { SESSION_COOKIE } from './auth-sessions.js';

const NEW_PASSWORD = 'kompas vuurtoren augustus pannenkoek';

describe('password reset by email', () => {
  const clock = createFixedClock('2030-09-02T12:00:00.000Z');
  const logLines: string[] = [];
  let sink: MailSink;
  let kluis: TestKluis;
  let app: FastifyInstance;
  let org: Org;

  beforeAll(async () => {
    sink = await createMailSink({ port: 0, host: '127.0.0.1' });
    const logSink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    kluis = await createTestKluis({
      clock,
      logger: createLogger('trace', logSink),
      env: { KLUIS_SMTP_URL: sink.url, KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE: '100000' },
    });
    app = await buildApp(kluis);
    org = await createOrg(kluis, 'tenant', 'Bakkerij Jansen');
  });
  beforeEach(() => {
    sink.clear();
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
    await sink.close();
  });

  /** Runs the queued mail jobs (as the worker in `kluis serve` does) and returns how many ran. */
  async function deliver(): Promise<number> {
    const worker = createWorker({ kluis, registry: kluis.jobRegistry, scheduler: false });
    return (await worker.runOnce()).done;
  }

  async function queuedMailJobs(): Promise<number> {
    const rows = await kluis.db
      .selectFrom('jobs')
      .select('id')
      .where('type', '=', 'mail.send')
      .where('status', '=', 'queued')
      .execute();
    return rows.length;
  }

  async function askForLink(email: string, b = new Browser(app)) {
    await b.get('/login/forgot');
    return b.post('/login/forgot', { email });
  }

  async function linkFor(user: StaffCredentials): Promise<{ mail: SinkMessage; token: string; url: string }> {
    const asked = await askForLink(user.email);
    expect(asked.statusCode).toBe(303);
    expect(await deliver()).toBe(1);
    const mail = await sink.waitFor((m) => m.to.includes(user.email));
    const url = /(http:\/\/\S+\/login\/reset\?token=[A-Za-z0-9_-]{43})/.exec(mail.text)?.[1] ?? '';
    const token = new URL(url).searchParams.get('token') ?? '';
    expect(token).toHaveLength(43);
    return { mail, token, url };
  }

  const resetPage = (token: string) => new Browser(app).get(`/login/reset?token=${token}`);

  async function submitReset(token: string, password = NEW_PASSWORD, b = new Browser(app)) {
    await b.get(`/login/reset?token=${token}`);
    return b.post('/login/reset', { token, newPassword: password, confirmPassword: password });
  }

  const passwordHash = async (userId: string) =>
    (
      await kluis.db
        .selectFrom('users')
        .select('password_hash')
        .where('id', '=', userId)
        .executeTakeFirstOrThrow()
    ).password_hash;

  it('sends a link over SMTP that sets a new password once, ends every session and still asks for TOTP', async () => {
    const anna = await createStaffUser(kluis, {
      orgId: org.id,
      roles: ['support'],
      totp: true,
      displayName: 'Anna de Wit',
    });
    const laptop = new Browser(app);
    await laptop.login(anna.email, anna.password, () => anna.totp());
    expect((await laptop.get('/staff')).statusCode).toBe(200);

    const visitor = new Browser(app);
    const login = await visitor.get('/login');
    expect(login.body).toContain('href="/login/forgot"');
    const form = await visitor.get('/login/forgot');
    expect(form.statusCode).toBe(200);
    expect(form.body).toContain('name="email"');
    const asked = await visitor.post('/login/forgot', { email: ` ${anna.email.toUpperCase()} ` });
    expect(asked.statusCode).toBe(303);
    expect(asked.headers.location).toBe('/login/forgot/sent');
    const sent = await visitor.get('/login/forgot/sent');
    expect(sent.body).toContain('Als het adres bij ons bekend is, hebben we een link gestuurd');

    // Queued with the address and the link sealed, then sent over real SMTP by the worker.
    const job = await kluis.db
      .selectFrom('jobs')
      .selectAll()
      .where('type', '=', 'mail.send')
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(job)).not.toContain(anna.email);
    expect(JSON.stringify(job)).not.toContain('token');
    expect(await deliver()).toBe(1);
    const mail = await sink.waitFor((m) => m.to.includes(anna.email));
    expect(mail.subject).toBe('Nieuw wachtwoord instellen');
    expect(mail.text).toContain('Beste Anna de Wit,');
    expect(mail.text).toContain('30 minuten');
    const url = /(http:\/\/localhost:\d+\/login\/reset\?token=[A-Za-z0-9_-]{43})/.exec(mail.text)?.[1] ?? '';
    expect(url).not.toBe('');
    expect(mail.html).toContain(`href="${url}"`);
    const token = new URL(url).searchParams.get('token') ?? '';
    const stored = await kluis.db
      .selectFrom('password_reset_tokens')
      .selectAll()
      .where('user_id', '=', anna.user.id)
      .executeTakeFirstOrThrow();
    expect(stored.token_hash).not.toContain(token);
    expect(stored.expires_at).toBe('2030-09-02T12:30:00.000Z');

    const b = new Browser(app);
    const page = await b.get(`${new URL(url).pathname}${new URL(url).search}`);
    expect(page.statusCode).toBe(200);
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.body).toContain(`name="token" value="${token}"`);
    const weak = await b.post('/login/reset', {
      token,
      newPassword: 'wachtwoord123',
      confirmPassword: 'wachtwoord123',
    });
    expect(weak.statusCode).toBe(400);
    expect(weak.body).toContain('makkelijk te raden');
    const mismatch = await b.post('/login/reset', {
      token,
      newPassword: NEW_PASSWORD,
      confirmPassword: 'iets anders',
    });
    expect(mismatch.statusCode).toBe(400);
    const done = await b.post('/login/reset', {
      token,
      newPassword: NEW_PASSWORD,
      confirmPassword: NEW_PASSWORD,
    });
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toBe('/login?done=reset');
    expect((await b.get('/login?done=reset')).body).toContain('Uw wachtwoord is gewijzigd.');

    // Every session of the user has ended.
    expect((await laptop.get('/staff')).statusCode).toBe(303);
    expect(
      await kluis.db.selectFrom('sessions').select('id').where('user_id', '=', anna.user.id).execute(),
    ).toEqual([]);
    // The link works once.
    const again = await resetPage(token);
    expect(again.statusCode).toBe(400);
    expect(again.body).toContain('Deze link is ongeldig, verlopen of al gebruikt.');
    const replay = await submitReset(token, 'een heel ander wachtwoord voor later');
    expect(replay.statusCode).toBe(400);
    // The old password is gone; the new one still needs the second factor.
    expect((await new Browser(app).login(anna.email, anna.password)).statusCode).toBe(401);
    const fresh = new Browser(app);
    const step1 = await fresh.login(anna.email, NEW_PASSWORD);
    expect(step1.headers.location).toBe('/login/totp');
    expect((await fresh.get('/staff')).headers.location).toBe('/login/totp');
    clock.advance(30_000);
    expect((await fresh.post('/login/totp', { code: anna.totp() })).statusCode).toBe(303);
    expect((await fresh.get('/staff')).statusCode).toBe(200);

    const audit = await kluis.db
      .selectFrom('audit_log')
      .selectAll()
      .where('target_id', '=', anna.user.id)
      .where('action', 'like', 'auth.password_reset.%')
      .orderBy('seq')
      .execute();
    expect(audit.map((a) => a.action)).toEqual([
      'auth.password_reset.requested',
      'auth.password_reset.completed',
    ]);
    expect(JSON.parse(audit[1]?.meta ?? '{}')).toMatchObject({ sessions_ended: 1 });
    const auditText = JSON.stringify(await kluis.db.selectFrom('audit_log').selectAll().execute());
    expect(auditText).not.toContain(token);
    expect(auditText).not.toContain(anna.email);
  });

  it('expires a link after 30 minutes', async () => {
    const bert = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    const before = await passwordHash(bert.user.id);
    const { token } = await linkFor(bert);
    clock.advance(29 * MINUTE + 59_000);
    expect((await resetPage(token)).statusCode).toBe(200);
    clock.advance(1000);
    const expired = await resetPage(token);
    expect(expired.statusCode).toBe(400);
    expect(expired.body).toContain('Deze link is ongeldig, verlopen of al gebruikt.');
    expect(expired.body).toContain('href="/login/forgot"');
    expect((await submitReset(token)).statusCode).toBe(400);
    expect(await passwordHash(bert.user.id)).toBe(before);
    expect((await new Browser(app).login(bert.email, bert.password)).statusCode).toBe(303);
  });

  it('answers an unknown or disabled address exactly like a known one and sends nothing', async () => {
    const known = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    const disabled = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    await kluis.services.auth.disableUser({ actor: systemActor(org), userId: disabled.user.id });

    const answers = [];
    for (const email of [known.email, 'niemand@example.test', disabled.email]) {
      const b = new Browser(app);
      const res = await askForLink(email, b);
      const page = await b.get(res.headers.location ?? '/');
      answers.push({ status: res.statusCode, location: res.headers.location, page: page.body });
    }
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
    // Only the known, enabled address gets a mail.
    expect(await queuedMailJobs()).toBe(1);
    expect(await deliver()).toBe(1);
    await sink.waitFor((m) => m.to.includes(known.email));
    expect(sink.messages().map((m) => m.to)).toEqual([[known.email]]);
    const tokens = await kluis.db
      .selectFrom('password_reset_tokens')
      .select('user_id')
      .where('user_id', 'in', [known.user.id, disabled.user.id])
      .execute();
    expect(tokens).toEqual([{ user_id: known.user.id }]);
  });

  it('ends earlier links when a new one is sent, and an invalid or missing token gets a clear page', async () => {
    const carla = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    const first = await linkFor(carla);
    sink.clear();
    const second = await linkFor(carla);
    expect(second.token).not.toBe(first.token);
    expect((await resetPage(first.token)).statusCode).toBe(400);
    expect((await resetPage(second.token)).statusCode).toBe(200);
    for (const bad of ['', 'x', `${second.token.slice(0, -1)}${second.token.endsWith('A') ? 'B' : 'A'}`]) {
      const res = await resetPage(bad);
      expect(res.statusCode, bad).toBe(400);
      expect(res.body).toContain('Deze link werkt niet');
    }
    expect((await new Browser(app).get('/login/reset')).statusCode).toBe(400);
    expect((await submitReset(second.token)).statusCode).toBe(303);
  });

  it('throttles requests per address (known or not) and per IP address', async () => {
    const dirk = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    for (const email of [dirk.email, 'onbekend-adres@example.test']) {
      for (let i = 0; i < 3; i++) expect((await askForLink(email)).statusCode).toBe(303);
      const refused = await askForLink(email);
      expect(refused.statusCode).toBe(429);
      expect(refused.body).toContain('Te veel verzoeken');
    }
    expect(await queuedMailJobs()).toBe(3);
    await deliver();

    const attacker = new Browser(app);
    for (let i = 0; i < 10; i++) {
      expect((await askForLink(`gok-${i}@example.test`, attacker)).statusCode).toBe(303);
    }
    expect((await askForLink('nog-een@example.test', attacker)).statusCode).toBe(429);
    // The limits are windows, not bans.
    clock.advance(16 * MINUTE);
    expect((await askForLink('nog-een@example.test', attacker)).statusCode).toBe(303);
    expect((await askForLink(dirk.email)).statusCode).toBe(303);
    await deliver();
  });

  it('writes the mail in the language the user last signed in with, otherwise in the page’s', async () => {
    const emma = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    const english = new Browser(app);
    await english.get('/login?lang=en');
    await english.post('/login', { email: emma.email, password: emma.password });
    const { mail } = await linkFor(emma);
    expect(mail.subject).toBe('Set a new password');

    const frits = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    const b = new Browser(app);
    await b.get('/login/forgot?lang=en');
    expect((await b.post('/login/forgot', { email: frits.email })).statusCode).toBe(303);
    await deliver();
    const sent = await sink.waitFor((m) => m.to.includes(frits.email));
    expect(sent.subject).toBe('Set a new password');
    expect(sent.text).toContain('30 minutes');
  });

  it('asks for the organisation when the address has accounts in two organisations', async () => {
    const other = await createOrg(kluis, 'tenant');
    const email = `gedeeld-${Date.now()}@example.test`;
    await createStaffUser(kluis, { orgId: org.id, roles: ['support'], email });
    const inOther = await createStaffUser(kluis, { orgId: other.id, roles: ['support'], email });
    const b = new Browser(app);
    const ask = await askForLink(email, b);
    expect(ask.statusCode).toBe(400);
    expect(ask.body).toContain('name="org"');
    expect(await queuedMailJobs()).toBe(0);
    const ok = await b.post('/login/forgot', { email, org: other.slug });
    expect(ok.statusCode).toBe(303);
    expect(await deliver()).toBe(1);
    await sink.waitFor((m) => m.to.includes(email));
    const tokens = await kluis.db
      .selectFrom('password_reset_tokens')
      .select('user_id')
      .where('user_id', '=', inOther.user.id)
      .execute();
    expect(tokens).toHaveLength(1);
  });

  it('keeps the token out of the access log and the application log', async () => {
    const gijs = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    const { token } = await linkFor(gijs);
    const b = new Browser(app);
    await b.get(`/login/reset?token=${token}`);
    await b.post('/login/reset', { token, newPassword: 'x', confirmPassword: 'x' });
    expect((await submitReset(token)).statusCode).toBe(303);
    await resetPage(token);
    await app.accessLogWriter?.flush();
    const rows = await kluis.db
      .selectFrom('access_log')
      .selectAll()
      .where('route', 'like', '/login/reset%')
      .execute();
    expect(rows.length).toBeGreaterThanOrEqual(4);
    expect(new Set(rows.map((r) => r.route))).toEqual(new Set(['/login/reset']));
    expect(JSON.stringify(await kluis.db.selectFrom('access_log').selectAll().execute())).not.toContain(
      token,
    );
    const log = logLines.join('');
    expect(log).toContain('"route":"/login/reset"');
    expect(log).not.toContain(token);
    expect(log).not.toContain(gijs.email);
    expect(b.cookies.get(SESSION_COOKIE) ?? '').toBe('');
  });
});
