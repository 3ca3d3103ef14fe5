/**
 * How passwords are taken (ASVS 6.2.7, 6.2.8, 6.2.10, 6.2.12), attacked over HTTP:
 *
 * - 6.2.7: every page with a password field lets a password manager and paste work: no paste,
 *   copy or drop handlers, no `autocomplete="off"`, only the standard autocomplete tokens, and no
 *   script at all (the CSP allows only /assets, which hold none).
 * - 6.2.8: the password is checked exactly as sent: trailing spaces, case and length matter.
 * - 6.2.10: a password does not expire; years later it still signs in without a forced change.
 * - 6.2.12: every password of the offline breached/common list that the length rule would let
 *   through is refused for a new password.
 */
import { readdirSync } from 'node:fs';
import * as zxcvbnCommon from '@zxcvbn-ts/language-common';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../../../test/browser.js';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg, createStaffUser, type StaffCredentials } from '../../../test/factories.js';
import { buildApp, publicDir } from '../../app.js';
import { createFixedClock, DAY } from '../../shared/clock.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, passwordProblem } from './auth-passwords.js';
import { currentTotp } from './auth-totp.js';
import { createUsersRepository } from './auth-users-repository.js';

/** What a page must not do to a password field. */
function pasteProblems(url: string, body: string): string[] {
  const problems: string[] = [];
  const fields = [...body.matchAll(/<input\b[^>]*type="password"[^>]*>/g)].map((m) => m[0]);
  if (fields.length === 0) problems.push(`${url}: no password field`);
  for (const field of fields) {
    const autocomplete = /autocomplete="([^"]*)"/.exec(field)?.[1];
    if (autocomplete !== 'current-password' && autocomplete !== 'new-password')
      problems.push(`${url}: ${field} has autocomplete=${autocomplete ?? '(none)'}`);
  }
  if (/\bon(paste|copy|cut|drop|beforepaste|contextmenu)\s*=/i.test(body))
    problems.push(`${url}: a paste/copy/drop handler`);
  if (/<script\b/i.test(body)) problems.push(`${url}: a script`);
  return problems;
}

describe('taking passwords', () => {
  const clock = createFixedClock('2030-05-01T09:00:00.000Z');
  let kluis: TestKluis;
  let app: FastifyInstance;
  let alice: StaffCredentials;

  beforeAll(async () => {
    kluis = await createTestKluis({ clock });
    app = await buildApp(kluis);
    const org = await createOrg(kluis, 'tenant');
    alice = await createStaffUser(kluis, { orgId: org.id, roles: ['admin'] });
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  async function setPassword(password: string): Promise<void> {
    await createUsersRepository(kluis.db).updateUser({ orgId: alice.user.orgId }, alice.user.id, {
      password_hash: await kluis.services.auth.hasher.hash(password),
      updated_at: clock.now().toISOString(),
    });
  }

  it('lets paste and password managers work on every page with a password field (6.2.7)', async () => {
    const visitor = new Browser(app);
    const pages = [['/login', (await visitor.get('/login')).body]];
    const b = new Browser(app);
    expect((await b.login(alice.email, alice.password)).statusCode).toBe(303);
    const change = await b.get('/staff/account/password');
    expect(change.statusCode).toBe(200);
    pages.push(['/staff/account/password', change.body]);
    expect(pages.flatMap(([url, body]) => pasteProblems(url ?? '', body ?? ''))).toEqual([]);
    // The only scripts a page may load are files in /assets (CSP script-src 'self'): there are none.
    expect(readdirSync(publicDir).filter((f) => /\.(m?js|cjs)$/.test(f))).toEqual([]);
    // The check itself sees each way of getting in the way.
    expect(pasteProblems('x', '<input type="password" autocomplete="off">')).toHaveLength(1);
    expect(
      pasteProblems('x', '<input type="password" autocomplete="current-password" onpaste="return false">'),
    ).toHaveLength(1);
    expect(
      pasteProblems('x', '<input type="password" autocomplete="new-password"><script>x</script>'),
    ).toHaveLength(1);
  });

  it('checks the password exactly as sent: trailing spaces, case and every character count (6.2.8)', async () => {
    const password = `  Spaties voor en na, ÜBER-lang: ${'x'.repeat(80)} einde  `;
    await setPassword(password);
    const attempt = async (p: string) => {
      const res = await new Browser(app).login(alice.email, p);
      return `${res.statusCode} ${res.headers.location ?? ''}`;
    };
    expect(await attempt(password.trim())).toBe('401 ');
    expect(await attempt(password.toLowerCase())).toBe('401 ');
    expect(await attempt(password.slice(0, 72))).toBe('401 ');
    expect(await attempt(password)).toBe('303 /staff');
    await setPassword(alice.password);
  });

  it('never expires a password: three years on it still signs in without a forced change (6.2.10)', async () => {
    clock.advance(3 * 365 * DAY);
    const b = new Browser(app);
    const login = await b.login(alice.email, alice.password);
    expect(`${login.statusCode} ${login.headers.location}`).toBe('303 /staff');
    expect((await b.get('/staff')).statusCode).toBe(200);
    const row = await kluis.db
      .selectFrom('users')
      .select('must_change_password')
      .where('id', '=', alice.user.id)
      .executeTakeFirstOrThrow();
    expect(row.must_change_password).toBe(0);
  });
});

describe('two factors for tenant staff (6.3.3)', () => {
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

  it('makes a tenant’s staff enrol TOTP before anything else while the tenant requires it (the onboarding default)', async () => {
    const org = await createOrg(kluis, 'tenant');
    await kluis.db.updateTable('orgs').set({ require_totp: 1 }).where('id', '=', org.id).execute();
    const bob = await createStaffUser(kluis, { orgId: org.id, roles: ['admin', 'support'] });
    const b = new Browser(app);
    const login = await b.login(bob.email, bob.password);
    expect(login.headers.location).toBe('/staff/account/totp');
    for (const url of ['/staff', '/staff/users', '/staff/conversations']) {
      expect((await b.get(url)).headers.location, url).toBe('/staff/account/totp');
    }
    // Once enrolled, every sign-in asks for the code after the password.
    const enrolled = await createStaffUser(kluis, { orgId: org.id, roles: ['support'], totp: true });
    const second = new Browser(app);
    expect((await second.login(enrolled.email, enrolled.password)).headers.location).toMatch(
      /^\/login\/totp/,
    );
    expect((await second.get('/staff')).statusCode).not.toBe(200);
    expect((await second.post('/login/totp', { code: enrolled.totp() })).headers.location).toBe('/staff');
    // Without the requirement the same kind of account signs in with its password alone.
    await kluis.db.updateTable('orgs').set({ require_totp: 0 }).where('id', '=', org.id).execute();
    expect((await new Browser(app).login(bob.email, bob.password)).headers.location).toBe('/staff');
  });
});

describe('re-authentication for own-account changes (7.5.1)', () => {
  const clock = createFixedClock('2030-05-01T09:00:00.000Z');
  let kluis: TestKluis;
  let app: FastifyInstance;

  beforeAll(async () => {
    kluis = await createTestKluis({ clock });
    app = await buildApp(kluis);
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  it('asks the current password before a second factor is added by choice, and refuses without it', async () => {
    const org = await createOrg(kluis, 'tenant');
    const carol = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    const b = new Browser(app);
    expect((await b.login(carol.email, carol.password)).headers.location).toBe('/staff');
    const page = await b.get('/staff/account/totp');
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(
      /<input[^>]*name="password"[^>]*type="password"|<input[^>]*type="password"[^>]*name="password"/,
    );
    const secret = /id="totp-secret">([^<]+)</.exec(page.body)?.[1]?.replace(/\s+/g, '') ?? '';
    expect(secret).toMatch(/^[A-Z2-7]+$/);
    const enabled = async () =>
      (
        await kluis.db
          .selectFrom('users')
          .select('totp_enabled')
          .where('id', '=', carol.user.id)
          .executeTakeFirstOrThrow()
      ).totp_enabled;

    const noPassword = await b.post('/staff/account/totp', { code: currentTotp(secret, clock.now()) });
    expect(noPassword.statusCode).toBe(401);
    expect(noPassword.body).toContain('Het wachtwoord klopt niet.');
    const wrong = await b.post('/staff/account/totp', {
      code: currentTotp(secret, clock.now()),
      password: `${carol.password}x`,
    });
    expect(wrong.statusCode).toBe(401);
    expect(await enabled()).toBe(0);

    const right = await b.post('/staff/account/totp', {
      code: currentTotp(secret, clock.now()),
      password: carol.password,
    });
    expect(right.statusCode).toBe(200);
    expect(await enabled()).toBe(1);
  });

  it('asks no password while enrolment is the set-up step right after signing in with it', async () => {
    const org = await createOrg(kluis, 'tenant');
    await kluis.db.updateTable('orgs').set({ require_totp: 1 }).where('id', '=', org.id).execute();
    const dave = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    const b = new Browser(app);
    expect((await b.login(dave.email, dave.password)).headers.location).toBe('/staff/account/totp');
    const page = await b.get('/staff/account/totp');
    expect(page.body).not.toContain('name="password"');
    const secret = /id="totp-secret">([^<]+)</.exec(page.body)?.[1]?.replace(/\s+/g, '') ?? '';
    clock.advance(60_000);
    const done = await b.post('/staff/account/totp', { code: currentTotp(secret, clock.now()) });
    expect(done.statusCode).toBe(200);
  });
});

describe('the offline breached-password list (6.2.12)', () => {
  it('refuses every listed password the length rule would let through', () => {
    const listed = (zxcvbnCommon.dictionary as Record<string, readonly string[]>)['passwords-common'] ?? [];
    // The list of the most common passwords from breach corpora that ships with zxcvbn-ts.
    expect(listed.length).toBeGreaterThan(40_000);
    const candidates = listed.filter((p) => {
      const n = [...p].length;
      return n >= PASSWORD_MIN_LENGTH && n <= PASSWORD_MAX_LENGTH;
    });
    expect(candidates.length).toBeGreaterThan(250);
    // Every third one (zxcvbn takes tens of milliseconds per long password); the list is ranked,
    // so the sample covers its whole range.
    const context = { email: 'someone@example.test', displayName: 'Someone Else' };
    const accepted = candidates
      .filter((_, i) => i % 3 === 0)
      .filter((p) => passwordProblem(p, context) === undefined);
    expect(accepted).toEqual([]);
    // The same length, not on the list, is accepted: the refusal is the list's, not the length's.
    expect(passwordProblem('vlinder trapleuning oktober kaasschaaf', context)).toBeUndefined();
  }, 60_000);
});
