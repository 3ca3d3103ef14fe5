/**
 * Host-name routing (P7): a host the operator assigned serves that tenant's public pages with its
 * name; an unknown host, another tenant's slug on it, and a tenant that is not active get a 404.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg } from '../../../test/factories.js';
import { buildApp } from '../../app.js';
import type { Org } from './index.js';

describe('public pages on a tenant’s own host name', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;
  let jansen: Org;
  let fenna: Org;
  const HOST = 'privacy.bakkerij-jansen.example';

  beforeAll(async () => {
    kluis = await createTestKluis();
    app = await buildApp(kluis);
    await createOrg(kluis, 'operator', 'Ambrix Hosting');
    jansen = await createOrg(kluis, 'tenant', 'Bakkerij Jansen');
    fenna = await createOrg(kluis, 'tenant', 'Fietsen Fenna');
    await kluis.services.orgs.addHost(jansen.id, HOST, kluis.clock.now().toISOString());
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  const get = (url: string, host: string) => app.inject({ method: 'GET', url, headers: { host } });

  it('serves the tenant’s contact form, rights portal and sub-processors with the tenant’s name', async () => {
    for (const url of ['/contact', '/rights', '/subprocessors', '/en/contact']) {
      const res = await get(url, `${HOST}:443`);
      expect(res.statusCode, url).toBe(200);
      expect(res.body, url).toContain('Bakkerij Jansen');
      expect(res.body, url).not.toContain('Ambrix Hosting');
    }
    // Its own /o/<slug>/ paths work there too.
    expect((await get(`/o/${jansen.slug}/contact`, HOST)).statusCode).toBe(200);
  });

  it('keeps links and redirects on the tenant’s host free of /o/<slug> (the host names the tenant)', async () => {
    const form = await get('/contact', HOST);
    expect(form.body).toContain('action="/contact"');
    expect(form.body).not.toContain(`/o/${jansen.slug}`);
    const portal = await get('/rights', HOST);
    expect(portal.body).toContain('action="/rights"');
    expect(portal.body).not.toContain(`/o/${jansen.slug}`);
    const subprocessors = await get('/subprocessors', HOST);
    expect(subprocessors.body).toContain('href="/privacy"');
    expect(subprocessors.body).not.toContain(`/o/${jansen.slug}`);
    // A path that names the slug keeps it.
    expect((await get(`/o/${jansen.slug}/contact`, HOST)).body).toContain(
      `action="/o/${jansen.slug}/contact"`,
    );
  });

  it('refuses another tenant’s pages on the tenant’s host', async () => {
    const res = await get(`/o/${fenna.slug}/contact`, HOST);
    expect(res.statusCode).toBe(404);
    expect(res.body).not.toContain('Fietsen Fenna');
  });

  it('refuses a host name nobody assigned (no fallback to the operator or a tenant)', async () => {
    for (const host of ['evil.example', `${jansen.slug}.evil.example`, 'bakkerij-jansen.example']) {
      const res = await get('/contact', host);
      expect(res.statusCode, host).toBe(404);
      expect(res.body).not.toContain('Bakkerij Jansen');
    }
  });

  it('keeps the operator’s pages on the installation’s own host', async () => {
    const res = await get('/contact', 'localhost:3000');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Ambrix Hosting');
  });

  it('serves nothing for a tenant that is not active, on its host or under /o/<slug>', async () => {
    await kluis.services.orgs.setStatus(jansen.id, 'suspended');
    try {
      expect((await get('/contact', HOST)).statusCode).toBe(404);
      expect((await get(`/o/${jansen.slug}/contact`, 'localhost')).statusCode).toBe(404);
    } finally {
      await kluis.services.orgs.setStatus(jansen.id, 'active');
    }
  });

  it('refuses to assign an IP address, a malformed name or a taken one', async () => {
    const now = kluis.clock.now().toISOString();
    await expect(kluis.services.orgs.addHost(fenna.id, '10.0.0.1', now)).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
    });
    await expect(kluis.services.orgs.addHost(fenna.id, 'bad host', now)).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
    });
    await expect(kluis.services.orgs.addHost(fenna.id, HOST.toUpperCase(), now)).rejects.toMatchObject({
      code: 'ERR_CONFLICT',
    });
  });
});
