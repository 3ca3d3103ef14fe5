import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createTestKluis, type TestKluis } from '../dialects.js';

describe('the HTTP shell', () => {
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

  it('sends a strict CSP, no-sniff, frame denial and a request id on every page', async () => {
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body).toContain('<html lang="nl">');
    // ASVS 3.4.5 and 14.3.2: same-origin referrers only; nothing cached.
    expect(res.headers['referrer-policy']).toBe('same-origin');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('lists no directories, answers no TRACE, and masks password fields (ASVS 13.4.3, 13.4.4, 6.2.6)', async () => {
    expect((await app.inject({ method: 'GET', url: '/assets/' })).statusCode).toBe(404);
    const trace = await app.inject({ method: 'TRACE' as 'GET', url: '/' });
    expect(trace.statusCode).toBeGreaterThanOrEqual(400);
    expect(trace.body).not.toContain('TRACE / HTTP');
    const login = await app.inject({ method: 'GET', url: '/login' });
    expect(login.body).toMatch(
      /<input[^>]*type="password"[^>]*name="password"|<input[^>]*name="password"[^>]*type="password"/,
    );
  });

  it('serves English when asked and remembers nothing it was not told', async () => {
    const res = await app.inject({ method: 'GET', url: '/?lang=en' });
    expect(res.body).toContain('<html lang="en">');
  });

  it('switches languages without losing the page: the /en prefix is dropped, the query is kept', async () => {
    const en = await app.inject({ method: 'GET', url: '/en/privacy' });
    expect(en.body).toContain('<html lang="en">');
    expect(en.body).toContain('href="/privacy?lang=nl"');
    const nl = await app.inject({ method: 'GET', url: '/login/reset?token=abc' });
    expect(nl.body).toContain('href="/login/reset?token=abc&amp;lang=en"');
  });

  it('answers an unknown path with a 404 page that shows the request id and no stack trace', async () => {
    const res = await app.inject({ method: 'GET', url: '/no-such-page', headers: { accept: 'text/html' } });
    expect(res.statusCode).toBe(404);
    expect(res.body).toContain(String(res.headers['x-request-id']));
    expect(res.body).not.toMatch(/at .*\.ts:\d+/);
  });

  it('answers API clients with a JSON error carrying a stable code', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/nothing' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({
      error: { code: 'ERR_NOT_FOUND', requestId: res.headers['x-request-id'] },
    });
  });

  it('refuses a form post without a CSRF token', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/logout',
      payload: 'x=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect([403, 404]).toContain(res.statusCode);
  });

  it('redirects a visitor without a session away from staff pages to the login page', async () => {
    const res = await app.inject({ method: 'GET', url: '/staff' });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/login?next=%2Fstaff');
  });

  it('answers a body over the limit with 413 and a clear message', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/echo',
      payload: JSON.stringify({ x: 'a'.repeat(kluis.config.bodyLimitBytes + 10) }),
      headers: { 'content-type': 'application/json', authorization: 'Bearer x' },
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('ERR_PAYLOAD_TOO_LARGE');
  });
});
