import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, freshIp } from '../../../test/browser.js';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import {
  cookieHeader,
  createOrg,
  createStaffUser,
  loginAs,
  setCookies,
  systemActor,
} from '../../../test/factories.js';
import { buildApp } from '../../app.js';
import { createFixedClock, MINUTE } from '../../shared/clock.js';
import { SESSION_COOKIE, sessionIdOf } from './auth-sessions.js';
import { currentTotp } from './auth-totp.js';

describe('sign-in over HTTP', () => {
  const clock = createFixedClock('2030-03-04T09:00:00.000Z');
  let kluis: TestKluis;
  let app: FastifyInstance;
  let orgId: string;

  beforeAll(async () => {
    kluis = await createTestKluis({ clock, env: { KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE: '100000' } });
    app = await buildApp(kluis);
    orgId = (await createOrg(kluis, 'tenant')).id;
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  it('signs in with the right password and sets an httpOnly, SameSite=Lax session cookie', async () => {
    const alice = await createStaffUser(kluis, { orgId, roles: ['admin'] });
    const b = new Browser(app, freshIp());
    const res = await b.login(alice.email.toUpperCase(), alice.password);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/staff');
    const cookie = res.cookies.find((c) => c.name === SESSION_COOKIE);
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Lax');
    expect(cookie?.path).toBe('/');
    expect(cookie?.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Only the hash of the token is stored.
    const stored = await kluis.db
      .selectFrom('sessions')
      .select('id')
      .where('user_id', '=', alice.user.id)
      .execute();
    expect(stored.map((s) => s.id)).toEqual([sessionIdOf(cookie?.value ?? '')]);
    expect((await b.get('/staff')).statusCode).toBe(200);
  });

  it('refuses a wrong password with the generic message and starts no session', async () => {
    const alice = await createStaffUser(kluis, { orgId, roles: ['admin'] });
    const b = new Browser(app, freshIp());
    const res = await b.login(alice.email, `${alice.password}x`);
    expect(res.statusCode).toBe(401);
    expect(res.body).toContain('Het e-mailadres of wachtwoord klopt niet.');
    expect(res.body).toContain('class="error-summary"');
    expect(res.body).toContain(`value="${alice.email}"`);
    expect(res.body).not.toContain(alice.password);
    expect(b.session).toBeUndefined();
    const unknown = await b.login('nobody@example.test', alice.password);
    expect(unknown.statusCode).toBe(401);
    expect(unknown.body).toContain('Het e-mailadres of wachtwoord klopt niet.');
  });

  it('refuses POST /login without a valid CSRF token', async () => {
    const alice = await createStaffUser(kluis, { orgId, roles: ['admin'] });
    const b = new Browser(app, freshIp());
    await b.get('/login');
    const missing = await b.post('/login', { email: alice.email, password: alice.password }, { csrf: false });
    expect(missing.statusCode).toBe(403);
    const forged = await b.post(
      '/login',
      { _csrf: 'forged-token', email: alice.email, password: alice.password },
      { csrf: false },
    );
    expect(forged.statusCode).toBe(403);
    // A token without the matching cookie is refused too.
    const noCookie = await app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        _csrf: b.csrf,
        email: alice.email,
        password: alice.password,
      }).toString(),
    });
    expect(noCookie.statusCode).toBe(403);
    expect(b.session).toBeUndefined();
    expect(setCookies(noCookie).get(SESSION_COOKIE)).toBeUndefined();
  });

  it('locks the account after 5 failures, even for the right password, and unlocks after 15 minutes', async () => {
    const alice = await createStaffUser(kluis, { orgId, roles: ['admin'] });
    const b = new Browser(app, freshIp());
    for (let i = 0; i < 4; i++)
      expect((await b.login(alice.email, 'wrong-password-123')).statusCode).toBe(401);
    const fifth = await b.login(alice.email, 'wrong-password-123');
    expect(fifth.statusCode).toBe(423);
    const right = await b.login(alice.email, alice.password);
    expect(right.statusCode).toBe(423);
    expect(right.body).toContain('tijdelijk geblokkeerd');
    expect(b.session).toBeUndefined();
    clock.advance(14 * MINUTE);
    expect((await b.login(alice.email, alice.password)).statusCode).toBe(423);
    clock.advance(MINUTE + 1000);
    expect((await b.login(alice.email, alice.password)).statusCode).toBe(303);
    expect(b.session).toBeDefined();
  });

  it('refuses sign-in from an address after 20 failures across accounts, and allows it again later', async () => {
    const alice = await createStaffUser(kluis, { orgId, roles: ['admin'] });
    const attacker = new Browser(app, freshIp());
    for (let i = 0; i < 20; i++) {
      const res = await attacker.login(`victim${i}@example.test`, 'Password-guess-1');
      expect(res.statusCode).toBe(401);
    }
    const refused = await attacker.login(alice.email, alice.password);
    expect(refused.statusCode).toBe(429);
    expect(attacker.session).toBeUndefined();
    // Refused before the password is looked at: alice's account is untouched.
    const row = await kluis.db
      .selectFrom('users')
      .select('failed_logins')
      .where('id', '=', alice.user.id)
      .executeTakeFirstOrThrow();
    expect(row.failed_logins).toBe(0);
    expect((await new Browser(app, freshIp()).login(alice.email, alice.password)).statusCode).toBe(303);
    clock.advance(16 * MINUTE);
    expect((await attacker.login(alice.email, alice.password)).statusCode).toBe(303);
  });

  it('refuses a TOTP code that was already used, and accepts the next one', async () => {
    const bob = await createStaffUser(kluis, { orgId, roles: ['support'], totp: true });
    const code = bob.totp();
    const first = new Browser(app, freshIp());
    const step1 = await first.login(bob.email, bob.password);
    expect(step1.headers.location).toBe('/login/totp');
    expect((await first.get('/staff')).headers.location).toBe('/login/totp');
    const ok = await first.post('/login/totp', { code });
    expect(ok.statusCode).toBe(303);
    expect((await first.get('/staff')).statusCode).toBe(200);

    const replay = new Browser(app, freshIp());
    await replay.login(bob.email, bob.password);
    const refused = await replay.post('/login/totp', { code });
    expect(refused.statusCode).toBe(401);
    expect((await replay.get('/staff')).statusCode).toBe(303);
    clock.advance(30_000);
    const next = await replay.post('/login/totp', { code: bob.totp() });
    expect(next.statusCode).toBe(303);
    expect((await replay.get('/staff')).statusCode).toBe(200);
  });

  it('makes recovery codes on the account page and accepts each one once', async () => {
    const bob = await createStaffUser(kluis, { orgId, roles: ['support'], totp: true });
    const session = await loginAs(app, bob);
    const page = await app.inject({
      method: 'GET',
      url: '/staff/account',
      headers: { cookie: session.cookie },
    });
    expect(page.body).toContain('0 ongebruikte herstelcodes');
    const post = (password: string) =>
      app.inject({
        method: 'POST',
        url: '/staff/account/recovery-codes',
        headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: session.csrfToken, password }).toString(),
      });
    const wrong = await post('not-my-password');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).toContain('Het wachtwoord klopt niet.');
    const made = await post(bob.password);
    expect(made.statusCode).toBe(200);
    const codes = [...made.body.matchAll(/<li>([a-z0-9]{5}-[a-z0-9]{5})<\/li>/g)].map((m) => m[1] ?? '');
    expect(codes).toHaveLength(10);

    const code = codes[3] ?? '';
    const b1 = new Browser(app, freshIp());
    await b1.login(bob.email, bob.password);
    expect((await b1.post('/login/totp', { code: ` ${code.toUpperCase()} ` })).statusCode).toBe(303);
    expect((await b1.get('/staff')).statusCode).toBe(200);
    const b2 = new Browser(app, freshIp());
    await b2.login(bob.email, bob.password);
    expect((await b2.post('/login/totp', { code })).statusCode).toBe(401);
    expect((await b2.post('/login/totp', { code: codes[4] ?? '' })).statusCode).toBe(303);
    const left = await b2.get('/staff/account');
    expect(left.body).toContain('8 ongebruikte herstelcodes');
  });

  it('never adopts a session cookie set before sign-in (session fixation)', async () => {
    const alice = await createStaffUser(kluis, { orgId, roles: ['admin'] });
    const b = new Browser(app, freshIp());
    const planted = 'A'.repeat(43);
    b.cookies.set(SESSION_COOKIE, planted);
    const page = await b.get('/login');
    expect(page.statusCode).toBe(200);
    // An unknown token is cleared, never adopted.
    expect(setCookies(page).get(SESSION_COOKIE)).toBe('');
    b.cookies.set(SESSION_COOKIE, planted);
    await b.post('/login', { email: alice.email, password: alice.password });
    expect(b.session).toBeDefined();
    expect(b.session).not.toBe(planted);
    const withPlanted = await app.inject({
      method: 'GET',
      url: '/staff',
      headers: { cookie: `${SESSION_COOKIE}=${planted}` },
    });
    expect(withPlanted.statusCode).toBe(303);

    // A session the attacker obtained earlier (their own) is replaced too, not upgraded.
    const before = b.session ?? '';
    await b.post('/login', { email: alice.email, password: alice.password });
    expect(b.session).not.toBe(before);
    const old = await app.inject({
      method: 'GET',
      url: '/staff',
      headers: { cookie: `${SESSION_COOKIE}=${before}` },
    });
    expect(old.statusCode).toBe(303);
  });

  it('ends a session after 30 idle minutes, slides with use, and ends it 12 hours after sign-in', async () => {
    const alice = await createStaffUser(kluis, { orgId, roles: ['admin'] });
    const b = new Browser(app, freshIp());
    await b.login(alice.email, alice.password);
    clock.advance(29 * MINUTE);
    expect((await b.get('/staff')).statusCode).toBe(200);
    clock.advance(29 * MINUTE);
    expect((await b.get('/staff')).statusCode).toBe(200);
    clock.advance(30 * MINUTE);
    const idle = await b.get('/staff');
    expect(idle.statusCode).toBe(303);
    expect(idle.headers.location).toBe('/login?next=%2Fstaff');
    expect(b.session).toBeUndefined();

    await b.login(alice.email, alice.password);
    for (let i = 0; i < 24; i++) {
      clock.advance(29 * MINUTE);
      expect((await b.get('/staff')).statusCode).toBe(200);
    }
    clock.advance(29 * MINUTE); // 24 × 29 min = 11h 36m in use; 29 more minutes pass 12 hours
    expect((await b.get('/staff')).statusCode).toBe(303);
    expect(b.session).toBeUndefined();
  });

  it('logs out one session, and "log out everywhere" ends every session of the user', async () => {
    const alice = await createStaffUser(kluis, { orgId, roles: ['admin'] });
    const laptop = new Browser(app, freshIp());
    const phone = new Browser(app, freshIp());
    const tablet = new Browser(app, freshIp());
    await laptop.login(alice.email, alice.password);
    await phone.login(alice.email, alice.password);
    await tablet.login(alice.email, alice.password);

    await tablet.get('/staff');
    const out = await tablet.post('/logout', {});
    expect(out.statusCode).toBe(303);
    expect(tablet.session).toBeUndefined();
    expect((await tablet.get('/staff')).statusCode).toBe(303);
    expect((await phone.get('/staff')).statusCode).toBe(200);

    const account = await laptop.get('/staff/account');
    expect(account.statusCode).toBe(200);
    expect(account.body).toContain('Deze sessie');
    const all = await laptop.post('/staff/account/sessions/logout-all', {});
    expect(all.statusCode).toBe(303);
    expect((await laptop.get('/staff')).statusCode).toBe(303);
    expect((await phone.get('/staff')).statusCode).toBe(303);
    const left = await kluis.db
      .selectFrom('sessions')
      .select('id')
      .where('user_id', '=', alice.user.id)
      .execute();
    expect(left).toEqual([]);
    const audit = await kluis.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'auth.session.logout_all')
      .where('target_id', '=', alice.user.id)
      .execute();
    expect(audit).toHaveLength(1);
  });

  it('requires a new password after a one-time password before anything else', async () => {
    const org = await createOrg(kluis, 'tenant');
    const auth = kluis.services.auth;
    const { user, oneTimePassword } = await auth.createUser({
      actor: systemActor(org),
      orgId: org.id,
      email: 'Nieuw.Lid@Example.test',
      displayName: 'Nieuw Lid',
      roles: ['admin'],
    });
    const b = new Browser(app, freshIp());
    const login = await b.login('nieuw.lid@example.test', oneTimePassword);
    expect(login.headers.location).toBe('/staff/account/password');
    expect((await b.get('/staff')).headers.location).toBe('/staff/account/password');
    expect((await b.get('/staff/account')).headers.location).toBe('/staff/account/password');
    const post = await b.post('/staff/account/sessions/logout-all', {});
    expect(post.statusCode).toBe(403);
    const page = await b.get('/staff/account/password');
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain('name="currentPassword"');

    const reused = await b.post('/staff/account/password', {
      newPassword: oneTimePassword,
      confirmPassword: oneTimePassword,
    });
    expect(reused.statusCode).toBe(400);
    const strong = 'vlinder trapleuning oktober kaasschaaf';
    const before = b.session;
    const changed = await b.post('/staff/account/password', { newPassword: strong, confirmPassword: strong });
    expect(changed.statusCode).toBe(303);
    expect(changed.headers.location).toBe('/staff');
    expect(b.session).not.toBe(before);
    expect((await b.get('/staff')).statusCode).toBe(200);
    const row = await kluis.db
      .selectFrom('users')
      .select('must_change_password')
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(row.must_change_password).toBe(0);
    // The old session id (before the change) is gone.
    const old = await app.inject({
      method: 'GET',
      url: '/staff',
      headers: { cookie: `${SESSION_COOKIE}=${before}` },
    });
    expect(old.statusCode).toBe(303);
  });

  it('refuses a weak password, one with the user’s name or email, and a mismatched confirmation', async () => {
    const alice = await createStaffUser(kluis, {
      orgId,
      roles: ['admin'],
      email: `marieke.jansen.${Date.now()}@example.test`,
      displayName: 'Marieke Jansen',
    });
    const b = new Browser(app, freshIp());
    await b.login(alice.email, alice.password);
    await b.get('/staff/account/password');
    const cases: [string, string][] = [
      ['wachtwoord123456', 'makkelijk te raden'],
      ['Password1234!', 'makkelijk te raden'],
      ['short-pw1!', 'minstens 12 tekens'],
      ['MariekeIsGeweldig2030!', 'niet uw naam'],
    ];
    for (const [pw, message] of cases) {
      const res = await b.post('/staff/account/password', {
        currentPassword: alice.password,
        newPassword: pw,
        confirmPassword: pw,
      });
      expect(res.statusCode, pw).toBe(400);
      expect(res.body).toContain(message);
      expect(res.body).not.toContain(pw);
    }
    const mismatch = await b.post('/staff/account/password', {
      currentPassword: alice.password,
      newPassword: 'vlinder trapleuning oktober kaasschaaf',
      confirmPassword: 'vlinder trapleuning oktober kaasschaa',
    });
    expect(mismatch.statusCode).toBe(400);
    const wrongCurrent = await b.post('/staff/account/password', {
      currentPassword: 'not-the-password',
      newPassword: 'vlinder trapleuning oktober kaasschaaf',
      confirmPassword: 'vlinder trapleuning oktober kaasschaaf',
    });
    expect(wrongCurrent.statusCode).toBe(401);
    const ok = await b.post('/staff/account/password', {
      currentPassword: alice.password,
      newPassword: 'vlinder trapleuning oktober kaasschaaf',
      confirmPassword: 'vlinder trapleuning oktober kaasschaaf',
    });
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe('/staff/account?done=password');
  });

  it('refuses sign-in for a disabled user with the generic message', async () => {
    const alice = await createStaffUser(kluis, { orgId, roles: ['admin'] });
    const org = await kluis.db
      .selectFrom('orgs')
      .selectAll()
      .where('id', '=', orgId)
      .executeTakeFirstOrThrow();
    const b = new Browser(app, freshIp());
    await b.login(alice.email, alice.password);
    await kluis.services.auth.setDisabled({
      actor: systemActor(org),
      userId: alice.user.id,
      disabled: true,
    });
    expect((await b.get('/staff')).statusCode).toBe(303);
    const again = await new Browser(app, freshIp()).login(alice.email, alice.password);
    expect(again.statusCode).toBe(401);
    expect(again.body).toContain('Het e-mailadres of wachtwoord klopt niet.');
  });

  it('keeps a session that waits for its second factor away from set-up and staff pages', async () => {
    const bob = await createStaffUser(kluis, { orgId, roles: ['owner'], totp: true });
    const b = new Browser(app, freshIp());
    await b.login(bob.email, bob.password);
    expect((await b.get('/staff/account/password')).headers.location).toBe('/login/totp');
    expect((await b.get('/staff/account/totp')).headers.location).toBe('/login/totp');
    const change = await b.post('/staff/account/password', {
      newPassword: 'vlinder trapleuning oktober kaasschaaf',
      confirmPassword: 'vlinder trapleuning oktober kaasschaaf',
    });
    expect(change.statusCode).toBe(403);
    const api = await app.inject({
      method: 'GET',
      url: '/api/v1/anything',
      headers: { cookie: cookieHeader(b.cookies) },
    });
    expect([403, 404]).toContain(api.statusCode);
  });

  it('locks the account after 5 wrong TOTP codes and ends the half-finished session', async () => {
    const bob = await createStaffUser(kluis, { orgId, roles: ['support'], totp: true });
    const b = new Browser(app, freshIp());
    await b.login(bob.email, bob.password);
    const wrong = bob.totp() === '000000' ? '111111' : '000000';
    for (let i = 0; i < 4; i++) expect((await b.post('/login/totp', { code: wrong })).statusCode).toBe(401);
    // Signing in with the password again must not reset the count.
    await b.login(bob.email, bob.password);
    const locked = await b.post('/login/totp', { code: wrong });
    expect(locked.statusCode).toBe(423);
    expect(b.session).toBeUndefined();
    expect((await b.login(bob.email, bob.password)).statusCode).toBe(423);
  });

  it('follows only local next= paths after sign-in', async () => {
    const alice = await createStaffUser(kluis, { orgId, roles: ['admin'] });
    const b = new Browser(app, freshIp());
    await b.get('/login');
    const local = await b.post('/login', {
      email: alice.email,
      password: alice.password,
      next: '/staff/account',
    });
    expect(local.headers.location).toBe('/staff/account');
    for (const evil of ['//evil.example/x', 'https://evil.example/', '/\\evil.example']) {
      const res = await b.post('/login', { email: alice.email, password: alice.password, next: evil });
      expect(res.headers.location, evil).toBe('/staff');
    }
  });

  it('asks for the organisation when the email exists in two organisations', async () => {
    const orgA = await createOrg(kluis, 'tenant');
    const orgB = await createOrg(kluis, 'tenant');
    const email = `shared-${Date.now()}@example.test`;
    const a = await createStaffUser(kluis, { orgId: orgA.id, roles: ['admin'], email });
    const bUser = await createStaffUser(kluis, { orgId: orgB.id, roles: ['support'], email });
    const b = new Browser(app, freshIp());
    const ask = await b.login(email, a.password);
    expect(ask.statusCode).toBe(400);
    expect(ask.body).toContain('name="org"');
    expect(b.session).toBeUndefined();
    const wrongOrg = await b.post('/login', { email, password: a.password, org: orgB.slug });
    expect(wrongOrg.statusCode).toBe(401);
    const ok = await b.post('/login', { email, password: bUser.password, org: orgB.slug.toUpperCase() });
    expect(ok.statusCode).toBe(303);
    const row = await kluis.db
      .selectFrom('sessions')
      .select('org_id')
      .where('id', '=', sessionIdOf(b.session ?? ''))
      .executeTakeFirstOrThrow();
    expect(row.org_id).toBe(orgB.id);
  });

  it('writes sign-in audit entries that hold ids but no email address', async () => {
    const alice = await createStaffUser(kluis, { orgId, roles: ['admin'] });
    const b = new Browser(app, freshIp());
    await b.login(alice.email, 'wrong-password-123');
    await b.login('ghost@example.test', 'wrong-password-123');
    await b.login(alice.email, alice.password);
    const rows = await kluis.db.selectFrom('audit_log').selectAll().execute();
    const text = JSON.stringify(rows);
    expect(text).not.toContain('@');
    expect(text).not.toContain(b.ip);
    const mine = rows.filter((r) => r.target_id === alice.user.id);
    expect(mine.map((r) => r.action)).toEqual(
      expect.arrayContaining(['auth.user.created', 'auth.login.failure', 'auth.login.success']),
    );
    expect(rows.some((r) => r.action === 'auth.login.failure' && r.target_id === null)).toBe(true);
  });

  it('serves the sign-in page in English on request', async () => {
    const res = await app.inject({ method: 'GET', url: '/login?lang=en' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<html lang="en">');
    expect(res.body).toContain('Sign in');
    expect(res.body).toContain('autocomplete="current-password"');
  });
});

describe('two-step verification enrolment for operator staff', () => {
  const clock = createFixedClock('2030-05-06T10:00:00.000Z');
  let kluis: TestKluis;
  let app: FastifyInstance;

  beforeAll(async () => {
    kluis = await createTestKluis({
      clock,
      env: { KLUIS_REQUIRE_TOTP_OPERATOR: 'true', KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE: '100000' },
    });
    app = await buildApp(kluis);
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  it('makes operator staff enrol TOTP first, shows an inline SVG QR code, and shows recovery codes once', async () => {
    const operator = await createOrg(kluis, 'operator');
    const olga = await createStaffUser(kluis, { orgId: operator.id, roles: ['admin'] });
    const b = new Browser(app, freshIp());
    const login = await b.login(olga.email, olga.password);
    expect(login.headers.location).toBe('/staff/account/totp');
    expect((await b.get('/staff')).headers.location).toBe('/staff/account/totp');
    const page = await b.get('/staff/account/totp');
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(/<svg role="img" aria-label="[^"]+"/);
    expect(page.body).not.toContain('<script');
    const secret = /id="totp-secret">([A-Z2-7 ]+)</.exec(page.body)?.[1]?.replace(/ /g, '') ?? '';
    expect(secret.length).toBeGreaterThanOrEqual(32);
    // Reloading keeps the same secret (the app was already scanned).
    expect((await b.get('/staff/account/totp')).body).toContain(
      page.body.match(/id="totp-secret">[^<]+/)?.[0],
    );

    const wrong = await b.post('/staff/account/totp', {
      code: '000000' === currentTotp(secret, clock.now()) ? '111111' : '000000',
    });
    expect(wrong.statusCode).toBe(401);
    const before = b.session;
    const done = await b.post('/staff/account/totp', { code: currentTotp(secret, clock.now()) });
    expect(done.statusCode).toBe(200);
    const codes = [...done.body.matchAll(/<li>([a-z0-9]{5}-[a-z0-9]{5})<\/li>/g)].map((m) => m[1]);
    expect(codes).toHaveLength(10);
    expect(b.session).not.toBe(before);
    expect((await b.get('/staff')).statusCode).toBe(200);
    const account = await b.get('/staff/account');
    expect(account.body).toContain('10 ongebruikte herstelcodes');
    expect(account.body).not.toContain(codes[0] ?? 'x');

    // The next sign-in asks for the second factor; the enrolment code cannot be replayed.
    clock.advance(31 * MINUTE);
    const again = new Browser(app, freshIp());
    expect((await again.login(olga.email, olga.password)).headers.location).toBe('/login/totp');
    clock.advance(30_000);
    expect((await again.post('/login/totp', { code: currentTotp(secret, clock.now()) })).statusCode).toBe(
      303,
    );
  });
});
