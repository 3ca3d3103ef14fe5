import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createLogger } from '../../src/shared/logger.js';
import { createTestKluis, type TestKluis } from '../dialects.js';
import { createOrg, createStaffUser, csrfTokenOf, formPost, setCookies } from '../factories.js';

describe('application logs (P12: no addresses, agents or personal data)', () => {
  const lines: string[] = [];
  let kluis: TestKluis;
  let app: Awaited<ReturnType<typeof buildApp>>;
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    kluis = await createTestKluis({ logger: createLogger('trace', sink) });
    app = await buildApp(kluis);
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  it('logs requests with id, route and status, but never the IP, user agent, email or password', async () => {
    const org = await createOrg(kluis, 'tenant');
    const user = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    const remoteAddress = '203.0.113.77';
    const agent = 'Mozilla/5.0 (LogProbe-UA-9f3c)';
    const form = await app.inject({
      method: 'GET',
      url: '/login',
      remoteAddress,
      headers: { 'user-agent': agent },
    });
    const post = formPost(setCookies(form), {
      _csrf: csrfTokenOf(form.body),
      email: user.email,
      password: 'Wrong-Password-Probe-42',
    });
    await app.inject({
      method: 'POST',
      url: '/login',
      remoteAddress,
      headers: { ...post.headers, 'user-agent': agent },
      payload: post.payload,
    });
    await app.inject({
      method: 'GET',
      url: `/no-such-page?email=${encodeURIComponent(user.email)}`,
      remoteAddress,
    });
    const log = lines.join('');
    expect(log).toContain('"route":"/login"');
    expect(log).toContain('"status":');
    expect(log).not.toContain(remoteAddress);
    expect(log).not.toContain('LogProbe-UA-9f3c');
    expect(log).not.toContain(user.email);
    expect(log).not.toContain('Wrong-Password-Probe-42');
  });
});
