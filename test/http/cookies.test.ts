/**
 * ASVS 3.3.1: with Secure cookies (production) every Kluis cookie has the `__Host-` prefix — Secure,
 * Path=/, no Domain — and the session is read only under that name. API calls without credentials
 * are answered 401 by the access check, not 403 ERR_CSRF.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { Browser } from '../browser.js';
import { createTestKluis, type TestKluis } from '../dialects.js';
import { createOrg, createStaffUser } from '../factories.js';

function setCookieLines(headers: Record<string, unknown>): string[] {
  const raw = headers['set-cookie'];
  return Array.isArray(raw) ? raw.map(String) : raw === undefined ? [] : [String(raw)];
}

describe('cookies over HTTPS carry the __Host- prefix (ASVS 3.3.1)', () => {
  let kluis: TestKluis;
  let app: Awaited<ReturnType<typeof buildApp>>;
  beforeAll(async () => {
    kluis = await createTestKluis({ env: { KLUIS_COOKIE_SECURE: 'true' } });
    app = await buildApp(kluis);
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  it('sets the session, CSRF, language and device cookies as __Host- cookies and reads the session only under that name', async () => {
    const org = await createOrg(kluis, 'operator', 'Ambrix');
    const staff = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    const browser = new Browser(app);
    const lang = await browser.get('/?lang=en');
    const login = await browser.login(staff.email, staff.password);
    const lines = [...setCookieLines(lang.headers), ...setCookieLines(login.headers)];
    expect(lines.some((l) => l.startsWith('__Host-kluis_lang='))).toBe(true);
    expect(lines.some((l) => l.startsWith('__Host-kluis_session='))).toBe(true);
    // The device cookie of a complete sign-in (issue 15): same-site requests only.
    expect(lines.find((l) => l.startsWith('__Host-kluis_device='))).toMatch(/; SameSite=Strict/);
    expect([...browser.cookies.keys()].sort()).toEqual([
      '__Host-kluis_csrf',
      '__Host-kluis_device',
      '__Host-kluis_lang',
      '__Host-kluis_session',
    ]);
    for (const line of lines) {
      expect(line, line).toMatch(/^__Host-/);
      expect(line).toMatch(/; Secure/);
      expect(line).toMatch(/; Path=\//);
      expect(line).not.toMatch(/Domain=/i);
      // ASVS 3.3.2 and 3.3.4: each cookie limited to same-site use and hidden from scripts.
      expect(line).toMatch(/; SameSite=(Lax|Strict)/);
      expect(line).toMatch(/; HttpOnly/);
    }
    // ASVS 3.4.2: no cross-origin sharing is granted to anyone.
    expect(login.headers['access-control-allow-origin']).toBeUndefined();
    expect((await browser.get('/staff')).statusCode).toBe(200);

    // The same token under the unprefixed name (as a sibling subdomain could set it) is no session.
    const token = browser.cookies.get('__Host-kluis_session') ?? '';
    const bare = await app.inject({
      method: 'GET',
      url: '/staff',
      headers: { cookie: `kluis_session=${token}`, accept: 'text/html' },
    });
    expect(bare.statusCode).toBe(303);
    expect(bare.headers.location).toMatch(/^\/login/);
  });
});

describe('an API call without credentials', () => {
  let kluis: TestKluis;
  let app: Awaited<ReturnType<typeof buildApp>>;
  beforeAll(async () => {
    kluis = await createTestKluis();
    app = await buildApp(kluis);
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  it('is answered 401 (not 403 ERR_CSRF); with a forged cookie it is refused too, and nothing is stored', async () => {
    const body = { name: 'Petra', email: 'petra@example.nl', message: 'Hallo' };
    const bare = await app.inject({ method: 'POST', url: '/api/v1/contact-requests', payload: body });
    expect(bare.statusCode).toBe(401);
    expect(bare.json().error.code).toBe('ERR_UNAUTHENTICATED');
    // Nor is any other API path answered with a CSRF refusal when no credentials come with it.
    const unknown = await app.inject({ method: 'POST', url: '/api/v1/no-such-thing', payload: body });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('ERR_NOT_FOUND');
    const withCookie = await app.inject({
      method: 'POST',
      url: '/api/v1/contact-requests',
      payload: body,
      headers: { cookie: 'kluis_session=forged' },
    });
    expect([401, 403]).toContain(withCookie.statusCode);
    expect(await kluis.db.selectFrom('conversations').select('id').execute()).toEqual([]);
  });
});
