import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis, testConfig } from '../../../test/dialects.js';
import { createOrg, createStaffUser, type LoggedIn, loginAs } from '../../../test/factories.js';
import { buildApp } from '../../app.js';
import { modules } from '../index.js';
import { startDevMail } from './mail-dev.js';
import { createDevMailModule } from './mail-routes.js';
import { createMailSink, type MailSink } from './mail-sink.js';

describe('the development mail page', () => {
  let sink: MailSink;
  let kluis: TestKluis;
  let app: FastifyInstance;
  let owner: LoggedIn;
  let support: LoggedIn;
  let tenantAdmin: LoggedIn;

  beforeAll(async () => {
    sink = await createMailSink({ port: 0 });
    kluis = await createTestKluis({ env: { KLUIS_SMTP_URL: sink.url } });
    app = await buildApp(kluis, { modules: [...modules, createDevMailModule(sink)] });
    const operator = await createOrg(kluis, 'operator');
    const tenant = await createOrg(kluis, 'tenant');
    owner = await loginAs(app, await createStaffUser(kluis, { orgId: operator.id, roles: ['owner'] }));
    support = await loginAs(app, await createStaffUser(kluis, { orgId: operator.id, roles: ['support'] }));
    tenantAdmin = await loginAs(app, await createStaffUser(kluis, { orgId: tenant.id, roles: ['admin'] }));
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
    await sink.close();
  });

  const get = (who: LoggedIn) =>
    app.inject({
      method: 'GET',
      url: '/staff/dev/mail',
      headers: { cookie: who.cookie, accept: 'text/html' },
    });

  it('lists what the sink received, newest first, with the text escaped', async () => {
    await kluis.mailer.send({ to: 'first@example.nl', subject: 'Eerste', text: 'Een' });
    await kluis.mailer.send({
      to: 'second@example.nl',
      subject: 'Tweede <script>alert(1)</script>',
      text: 'Klik <a href="javascript:alert(1)">hier</a>',
    });
    await sink.waitFor((m) => m.to.includes('second@example.nl'));
    const res = await get(owner);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Ontvangen e-mail (ontwikkeling)');
    expect(res.body).toContain(`127.0.0.1:${sink.port}`);
    expect(res.body).not.toContain('<script>alert(1)</script>');
    expect(res.body).toContain('Tweede &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(res.body).toContain('Klik &lt;a href=&quot;javascript:alert(1)&quot;&gt;hier&lt;/a&gt;');
    expect(res.body.indexOf('Tweede')).toBeLessThan(res.body.indexOf('Eerste'));
    expect(res.body).toContain('second@example.nl');
  });

  it('is for the operator’s owners and admins only', async () => {
    expect((await get(support)).statusCode).toBe(403);
    const tenant = await get(tenantAdmin);
    expect(tenant.statusCode).toBe(404);
    expect(tenant.body).not.toContain('first@example.nl');
  });
});

describe('development mail wiring', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kluis-devmail-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts the sink outside production without KLUIS_SMTP_URL, and never otherwise', async () => {
    const warnings: string[] = [];
    const dev = await startDevMail(testConfig(dir, { KLUIS_DEV_MAIL_SINK_PORT: '0' }), (l) =>
      warnings.push(l),
    );
    expect(dev).toBeDefined();
    expect(dev?.sink.host).toBe('127.0.0.1');
    await dev?.mailer.send({ to: 'x@example.nl', subject: 'zero config', text: 'works' });
    expect((await dev?.sink.waitFor((m) => m.subject === 'zero config'))?.text.trim()).toBe('works');
    dev?.mailer.close();
    await dev?.sink.close();

    expect(await startDevMail(testConfig(dir, { KLUIS_SMTP_URL: 'smtp://127.0.0.1:1' }))).toBeUndefined();
    const production = testConfig(dir, {
      NODE_ENV: 'production',
      KLUIS_PUBLIC_ORIGIN: 'https://kluis.example.nl',
      KLUIS_TRUST_PROXY: '127.0.0.1',
      KLUIS_REQUIRE_TOTP_OPERATOR: 'true',
      KLUIS_SMTP_URL: 'smtps://relay.example.nl:465',
    });
    expect(await startDevMail(production)).toBeUndefined();
    expect(warnings).toEqual([]);
  });

  it('reports a taken port instead of failing the start', async () => {
    const taken = await createMailSink({ port: 0 });
    const warnings: string[] = [];
    const dev = await startDevMail(testConfig(dir, { KLUIS_DEV_MAIL_SINK_PORT: String(taken.port) }), (l) =>
      warnings.push(l),
    );
    expect(dev).toBeUndefined();
    expect(warnings[0]).toContain('EADDRINUSE');
    await taken.close();
  });

  it('registers no dev mail route in production', async () => {
    const sink = await createMailSink({ port: 0 });
    const kluis = await createTestKluis({
      env: {
        NODE_ENV: 'production',
        KLUIS_PUBLIC_ORIGIN: 'https://kluis.example.nl',
        KLUIS_TRUST_PROXY: '127.0.0.1',
        KLUIS_REQUIRE_TOTP_OPERATOR: 'true',
        // The test's sink on loopback speaks plain SMTP: production needs the named exception.
        KLUIS_SMTP_URL: sink.url,
        KLUIS_ALLOW_INSECURE: 'smtp-relay-without-tls',
      },
    });
    try {
      const app = await buildApp(kluis, { modules: [...modules, createDevMailModule(sink)] });
      expect(app.hasRoute({ method: 'GET', url: '/staff/dev/mail' })).toBe(false);
      expect((await app.inject({ method: 'GET', url: '/staff/dev/mail' })).statusCode).toBe(404);
      await app.close();
    } finally {
      await kluis.destroy();
      await sink.close();
    }
  });
});
