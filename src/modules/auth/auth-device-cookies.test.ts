/**
 * Device cookies over HTTP (issue 15): an attacker without one locks the account, the user with
 * one still signs in; forged, tampered, another user's, expired and outdated cookies give no
 * trust; a cookie's own failures end its trust; a full work budget refuses untrusted sign-ins
 * at once (429, Retry-After) and still serves a trusted one.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser as FormBrowser, freshIp } from '../../../test/browser.js';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg, createStaffUser, systemActor } from '../../../test/factories.js';
import { buildApp } from '../../app.js';
import type { Secret } from '../../config/env.js';
import { createFixedClock, DAY, MINUTE } from '../../shared/clock.js';
import { createDeviceCookies, DEVICE_MAX_FAILURES, deviceCookieName } from './auth-device-cookies.js';

const DEVICE = deviceCookieName({ cookieSecure: false });

/** A browser that can sign out while keeping its device cookie. */
class Browser extends FormBrowser {
  /** A fresh browser session (signed out, no session cookie) that keeps only the device cookie. */
  signedOut(): this {
    for (const name of [...this.cookies.keys()]) if (name !== DEVICE) this.cookies.delete(name);
    this.csrf = '';
    return this;
  }
}

describe('device cookies: sign-in while an attacker guesses', () => {
  const clock = createFixedClock('2030-05-06T09:00:00.000Z');
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

  /** A user who signed in once (calmly) in `browser`, which now holds their device cookie. */
  async function trustedBrowser() {
    const user = await createStaffUser(kluis, { orgId, roles: ['support'] });
    const browser = new Browser(app, freshIp());
    const first = await browser.login(user.email, user.password);
    expect(first.statusCode).toBe(303);
    expect(browser.cookies.get(DEVICE)).toMatch(/^v1\./);
    return { user, browser: browser.signedOut() };
  }

  /** Five wrong passwords from five addresses: the account is locked for untrusted clients. */
  async function lockOut(email: string): Promise<void> {
    for (let i = 0; i < 5; i++) await new Browser(app, freshIp()).login(email, `Wrong-${i}-guess`);
    const user = await kluis.db
      .selectFrom('users')
      .select('locked_until')
      .where('email', '=', email)
      .executeTakeFirst();
    expect(user?.locked_until).not.toBeNull();
  }

  it('sets the device cookie after a complete sign-in: HttpOnly, SameSite=Strict, the user id, 180 days', async () => {
    const user = await createStaffUser(kluis, { orgId, roles: ['support'] });
    const res = await new Browser(app, freshIp()).login(user.email, user.password);
    const cookie = res.cookies.find((c) => c.name === DEVICE);
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Strict');
    expect(cookie?.value.split('.')[1]).toBe(user.user.id);
    expect(cookie?.value).not.toContain(user.email);
    expect(new Date(cookie?.expires ?? 0).getTime()).toBe(clock.now().getTime() + 180 * DAY);
    // Sign-out keeps it: it names the browser, not the session.
    const b = new Browser(app, freshIp());
    await b.login(user.email, user.password);
    const out = await b.post('/logout', {});
    expect(out.cookies.some((c) => c.name === DEVICE)).toBe(false);
  });

  it('lets the user with a device cookie sign in while the attacker has locked the account', async () => {
    const { user, browser } = await trustedBrowser();
    await lockOut(user.email);
    // Without the cookie, even the right password is refused as locked.
    expect((await new Browser(app, freshIp()).login(user.email, user.password)).statusCode).toBe(423);
    const res = await browser.login(user.email, user.password);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/staff');
    expect((await browser.get('/staff')).statusCode).toBe(200);
    // The untrusted lane stays locked: the trusted sign-in did not lift the attacker's lock.
    expect((await new Browser(app, freshIp()).login(user.email, user.password)).statusCode).toBe(423);
    // Every failure against the real account is in the audit trail.
    const failures = await kluis.db
      .selectFrom('audit_log')
      .select(['meta'])
      .where('action', '=', 'auth.login.failure')
      .where('target_id', '=', user.user.id)
      .execute();
    expect(failures.filter((f) => f.meta.includes('bad_password'))).toHaveLength(5);
    expect(failures.filter((f) => f.meta.includes('"locked"'))).toHaveLength(2);
    const success = await kluis.db
      .selectFrom('audit_log')
      .select('meta')
      .where('action', '=', 'auth.login.success')
      .where('target_id', '=', user.user.id)
      .orderBy('seq', 'desc')
      .executeTakeFirst();
    expect(success?.meta).toContain('"device_cookie":true');
  });

  it('gives no trust to a forged, tampered, expired, or another user’s cookie', async () => {
    const { user, browser } = await trustedBrowser();
    const other = await trustedBrowser();
    await lockOut(user.email);
    const real = browser.cookies.get(DEVICE) ?? '';
    const parts = real.split('.');
    const otherKey: Secret = { value: randomBytes(32).toString('base64url'), source: 'env' };
    const forger = createDeviceCookies({ masterKey: otherKey, previousMasterKeys: [] });
    const ours = createDeviceCookies(kluis.config);
    const attempts: Record<string, string> = {
      'signed with another key': forger.issue(user.user.id, 0, clock.now()).value,
      'another user’s id in a real cookie': [parts[0], other.user.user.id, ...parts.slice(2)].join('.'),
      'a later epoch in a real cookie': [...parts.slice(0, 2), '1', ...parts.slice(3)].join('.'),
      'a longer life in a real cookie': [
        ...parts.slice(0, 3),
        String(Number(parts[3]) + DAY),
        ...parts.slice(4),
      ].join('.'),
      'another user’s valid cookie': other.browser.cookies.get(DEVICE) ?? '',
      'expired (issued 181 days ago)': ours.issue(
        user.user.id,
        0,
        new Date(clock.now().getTime() - 181 * DAY),
      ).value,
      garbage: 'v1.x.y.z',
    };
    for (const [what, value] of Object.entries(attempts)) {
      const b = new Browser(app, freshIp());
      b.cookies.set(DEVICE, value);
      expect((await b.login(user.email, user.password)).statusCode, what).toBe(423);
    }
    // The genuine one still works: the refusals above were about the cookies.
    expect((await browser.login(user.email, user.password)).statusCode).toBe(303);
  });

  it('ends a cookie’s trust after its own failures, without touching the untrusted lane', async () => {
    const { user, browser } = await trustedBrowser();
    for (let i = 0; i < DEVICE_MAX_FAILURES; i++) {
      expect((await browser.signedOut().login(user.email, `Wrong-${i}`)).statusCode).toBe(401);
    }
    const row = await kluis.db
      .selectFrom('users')
      .select(['failed_logins', 'locked_until'])
      .where('id', '=', user.user.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ failed_logins: 0, locked_until: null });
    await lockOut(user.email);
    // Now the cookie is spent: the right password with it is refused like anyone's.
    expect((await browser.signedOut().login(user.email, user.password)).statusCode).toBe(423);
    // Its failures age out with the throttle window; the lock lasts 15 minutes too.
    clock.advance(16 * MINUTE);
    expect((await browser.signedOut().login(user.email, user.password)).statusCode).toBe(303);
  });

  it('stops trusting every device cookie of a user after a password reset or disabling', async () => {
    const { user, browser } = await trustedBrowser();
    const admin = systemActor(await kluis.services.orgs.getById(orgId));
    await kluis.services.auth.resetPassword({ actor: admin, userId: user.user.id });
    // The password the cookie knew is gone too; what matters is the epoch: set it back by hand.
    const { hasher } = kluis.services.auth;
    await kluis.db
      .updateTable('users')
      .set({ password_hash: await hasher.hash(user.password), must_change_password: 0 })
      .where('id', '=', user.user.id)
      .execute();
    await lockOut(user.email);
    expect((await browser.signedOut().login(user.email, user.password)).statusCode).toBe(423);

    const second = await trustedBrowser();
    await kluis.services.auth.disableUser({ actor: admin, userId: second.user.user.id });
    await kluis.services.auth.enableUser({ actor: admin, userId: second.user.user.id });
    await lockOut(second.user.email);
    expect((await second.browser.signedOut().login(second.user.email, second.user.password)).statusCode).toBe(
      423,
    );
  });

  it('stops trusting the cookie after the user changes their own password', async () => {
    const { user, browser } = await trustedBrowser();
    await browser.login(user.email, user.password);
    await browser.get('/staff/account/password');
    const newPassword = `Another-${randomBytes(9).toString('base64url')}-pass`;
    const changed = await browser.post('/staff/account/password', {
      currentPassword: user.password,
      newPassword,
      confirmPassword: newPassword,
    });
    expect(changed.statusCode).toBe(303);
    await lockOut(user.email);
    expect((await browser.signedOut().login(user.email, newPassword)).statusCode).toBe(423);
  });

  it('carries the trust through the second factor while the account is locked', async () => {
    const user = await createStaffUser(kluis, { orgId, roles: ['support'], totp: true });
    const browser = new Browser(app, freshIp());
    expect((await browser.login(user.email, user.password)).headers.location).toBe('/login/totp');
    // The cookie comes with the complete sign-in, not with the password alone.
    expect(browser.cookies.has(DEVICE)).toBe(false);
    expect((await browser.post('/login/totp', { code: user.totp() })).statusCode).toBe(303);
    expect(browser.cookies.get(DEVICE)).toMatch(/^v1\./);
    await lockOut(user.email);
    clock.advance(MINUTE);
    expect((await browser.signedOut().login(user.email, user.password)).headers.location).toBe('/login/totp');
    const done = await browser.post('/login/totp', { code: user.totp() });
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toBe('/staff');
  });
});

describe('the sign-in work budget over HTTP', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;
  let orgId: string;

  beforeAll(async () => {
    kluis = await createTestKluis({
      env: {
        KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE: '100000',
        KLUIS_LOGIN_CONCURRENCY: '1',
        KLUIS_LOGIN_TRUSTED_CONCURRENCY: '1',
        KLUIS_LOGIN_QUEUE_MS: '1',
      },
    });
    app = await buildApp(kluis);
    orgId = (await createOrg(kluis, 'tenant')).id;
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  it('refuses an untrusted sign-in at once with 429 and Retry-After while the budget is full, and serves a trusted one', async () => {
    const user = await createStaffUser(kluis, { orgId, roles: ['support'] });
    const trusted = new Browser(app, freshIp());
    expect((await trusted.login(user.email, user.password)).statusCode).toBe(303);
    trusted.signedOut();
    const { auth } = kluis.services;
    await auth.reportLoginRefusals();
    const auditBefore = await kluis.db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const attemptsBefore = await kluis.db.selectFrom('login_attempts').selectAll().execute();
    // The flood holds the one untrusted slot (and its queue is one waiting attempt long at most).
    const held = await auth.loginBudget.acquire('untrusted');
    try {
      const refused = await new Browser(app, freshIp()).login(user.email, user.password);
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.body).toContain('name="password"');
      // Nothing was written for it.
      expect(await kluis.db.selectFrom('login_attempts').selectAll().execute()).toEqual(attemptsBefore);
      const auditNow = await kluis.db
        .selectFrom('audit_log')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      expect(Number(auditNow.n)).toBe(Number(auditBefore.n));
      // The trusted lane is not the flood's.
      expect((await trusted.login(user.email, user.password)).statusCode).toBe(303);
    } finally {
      held();
    }
    // Once the slot is free, untrusted sign-ins are served again.
    expect((await new Browser(app, freshIp()).login(user.email, user.password)).statusCode).toBe(303);
    // The refusal is summed up in one audit entry.
    expect(await auth.reportLoginRefusals()).toBe(1);
    const summary = await kluis.db
      .selectFrom('audit_log')
      .select('meta')
      .where('action', '=', 'auth.login.refused_busy')
      .executeTakeFirstOrThrow();
    expect(JSON.parse(summary.meta)).toEqual({ trusted: 0, untrusted: 1 });
  });
});

describe('the sign-in work budget refuses before the body is read once its queue is full', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;

  beforeAll(async () => {
    kluis = await createTestKluis({
      env: {
        KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE: '100000',
        KLUIS_LOGIN_CONCURRENCY: '1',
        KLUIS_LOGIN_QUEUE_MS: '60000',
      },
    });
    app = await buildApp(kluis);
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  it('answers 429 with Retry-After 1 without checking the form (no CSRF token needed to be refused)', async () => {
    const budget = kluis.services.auth.loginBudget;
    const held = await budget.acquire('untrusted');
    const waiters = [1, 2, 3].map(() => budget.acquire('untrusted'));
    const post = (accept: string) =>
      app.inject({
        method: 'POST',
        url: '/login',
        remoteAddress: freshIp(),
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept },
        payload: 'email=a%40b.test&password=x',
      });
    // Three waiting: there is room in the queue, so the form is checked (and has no CSRF token).
    expect((await post('text/html')).statusCode).toBe(403);
    const fourth = budget.acquire('untrusted');
    const html = await post('text/html');
    expect(html.statusCode).toBe(429);
    expect(html.headers['retry-after']).toBe('1');
    const json = await post('application/json');
    expect(json.statusCode).toBe(429);
    expect(json.json()).toMatchObject({ error: { code: 'ERR_RATE_LIMITED' } });
    held();
    for (const w of [...waiters, fourth]) (await w)();
    expect(budget.usage('untrusted')).toEqual({ active: 0, waiting: 0 });
    expect(await kluis.services.auth.reportLoginRefusals()).toBe(2);
  });
});
