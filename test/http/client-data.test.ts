/**
 * What a browser, a proxy or a stranger can keep or fetch (ASVS 13.4.1, 14.2.2, 14.3.1): no
 * response of the app may be stored by a cache on the way (every GET route walked as a signed-in
 * user holding every role, and the API with a key); signing out tells the browser to drop what it
 * kept; Kluis ships no script that could keep anything in client storage; and no source-control
 * metadata or source file is reachable over HTTP, however the path is spelled.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, publicDir } from '../../src/app.js';
import { roles } from '../../src/shared/actor.js';
import { createTestKluis, type TestKluis } from '../dialects.js';
import { createOrg, createStaffUser, type LoggedIn, loginAs } from '../factories.js';

const root = join(import.meta.dirname, '..', '..');

function concrete(url: string): string {
  return url.replace(/:slug/g, 'nope').replace(/:[A-Za-z_]+/g, randomUUID());
}

describe('what clients and caches keep, and what strangers fetch', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;
  let everyRole: LoggedIn;
  let apiToken: string;

  beforeAll(async () => {
    kluis = await createTestKluis();
    app = await buildApp(kluis);
    await app.ready();
    const org = await createOrg(kluis, 'tenant');
    const user = await createStaffUser(kluis, { orgId: org.id, roles: [...roles] });
    everyRole = await loginAs(app, user);
    apiToken = (
      await kluis.services.auth.createApiKey({
        actor: { kind: 'user', orgId: org.id, orgKind: org.kind, userId: user.user.id, roles: [...roles] },
        name: 'walk',
        roles: ['support', 'finance'],
      })
    ).token;
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  it('forbids every cache on the way to store any GET response, signed in or not (ASVS 14.2.2)', async () => {
    let walked = 0;
    for (const route of app.routeTable.filter((r) => r.method === 'GET')) {
      const url = concrete(route.url);
      const headers =
        route.access.kind === 'api' ? { authorization: `Bearer ${apiToken}` } : { cookie: everyRole.cookie };
      const res = await app.inject({ method: 'GET', url, headers });
      expect(res.headers['cache-control'], `${route.url} (${res.statusCode})`).toBe('no-store');
      walked++;
    }
    expect(walked).toBeGreaterThan(40);
    // The proxy shipped in deploy/ caches nothing either (Caddy stores responses only with a
    // cache directive or plugin).
    const caddyfile = readFileSync(join(root, 'deploy', 'caddy', 'Caddyfile'), 'utf8');
    expect(caddyfile).not.toMatch(/^\s*(cache|souin|cache_handler)\b/m);
  });

  it('tells the browser to drop its cache and storage when signing out (ASVS 14.3.1)', async () => {
    const user = await createStaffUser(kluis, {
      orgId: (await createOrg(kluis, 'tenant')).id,
      roles: ['support'],
    });
    const session = await loginAs(app, user);
    const res = await app.inject({
      method: 'POST',
      url: '/logout',
      headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: session.csrfToken }).toString(),
    });
    expect(res.statusCode).toBe(303);
    const clear = String(res.headers['clear-site-data'] ?? '');
    expect(clear).toContain('"cache"');
    expect(clear).toContain('"storage"');
    const after = await app.inject({ method: 'GET', url: '/staff', headers: { cookie: session.cookie } });
    expect(after.statusCode).toBe(303);
  });

  it('ships no script that could keep data in the browser (ASVS 14.3.1)', async () => {
    const files = readdirSync(publicDir, { recursive: true }).map(String);
    expect(files.length).toBeGreaterThan(0);
    expect(files.filter((f) => /\.(m?js|wasm)$/.test(f))).toEqual([]);
    for (const url of ['/staff', '/login', '/', '/staff/account']) {
      const res = await app.inject({ method: 'GET', url, headers: { cookie: everyRole.cookie } });
      expect(res.body, url).not.toMatch(/<script|localStorage|sessionStorage|indexedDB/i);
    }
  });

  it('serves no source-control metadata, configuration or source, however the path is spelled (ASVS 13.4.1)', async () => {
    for (const url of [
      '/.git/HEAD',
      '/.git/config',
      '/assets/.git/HEAD',
      '/assets/../.git/HEAD',
      '/assets/%2e%2e/.git/HEAD',
      '/assets/..%2f.git%2fHEAD',
      '/assets/%2e%2e%2f%2e%2e%2f.git/config',
      '/.env',
      '/kluis.env',
      '/package.json',
      '/assets/../package.json',
      '/assets/..%2fsrc%2fapp.ts',
      '/src/app.ts',
      '/data/dev-secrets.json',
      '/assets/..%2fdata%2fdev-secrets.json',
    ]) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.body, url).not.toMatch(/ref: refs\/|\[core\]|"dependencies"|masterKey|import /);
    }
    // The one folder served as files holds no dotfiles.
    expect(readdirSync(publicDir).filter((f) => f.startsWith('.'))).toEqual([]);
  });
});
