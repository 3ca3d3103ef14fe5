/**
 * How Kluis reads a request, attacked (ASVS 1.1.1, 1.5.2, 4.1.3, 4.2.1):
 *
 * - 1.1.1: input is decoded once, by the body parser, and stored as decoded; text that looks
 *   percent- or entity-encoded is kept as it was sent, never decoded a second time.
 * - 1.5.2: `__proto__` and `constructor.prototype` in JSON bodies are refused before any handler,
 *   form fields of those names pollute nothing, a repeated parameter is refused rather than one
 *   copy silently chosen, and a job payload is checked against its schema before its handler runs.
 * - 4.1.3: X-Forwarded-For is believed only from the addresses in KLUIS_TRUST_PROXY; a client
 *   that forges it still counts against its own address's rate limit.
 * - 4.2.1: a request framed ambiguously (Content-Length with Transfer-Encoding, two different
 *   Content-Lengths, an obfuscated Transfer-Encoding) is refused and its connection closed, so a
 *   request smuggled inside its body is never answered.
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildApp } from '../../src/app.js';
import { createJobRegistry, createWorker, enqueue } from '../../src/modules/jobs/index.js';
import type { Actor } from '../../src/shared/actor.js';
import { createTestKluis, type TestKluis } from '../dialects.js';
import { createOrg, createStaffUser, loginAs, staffRequests } from '../factories.js';

const polluted = () => Object.hasOwn(Object.prototype, 'polluted');

describe('reading requests', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;
  let token: string;
  let support: Awaited<ReturnType<typeof loginAs>>;

  beforeAll(async () => {
    kluis = await createTestKluis();
    app = await buildApp(kluis);
    const org = await createOrg(kluis, 'tenant');
    const admin = await createStaffUser(kluis, { orgId: org.id, roles: ['admin', 'support'] });
    const actor: Actor = {
      kind: 'user',
      orgId: org.id,
      orgKind: org.kind,
      userId: admin.user.id,
      roles: ['admin', 'support'],
    };
    ({ token } = await kluis.services.auth.createApiKey({
      actor,
      name: 'Koppeling',
      roles: ['support'],
      expiresAt: undefined,
    }));
    support = await loginAs(app, admin);
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  const api = (payload: string, contentType = 'application/json') =>
    app.inject({
      method: 'POST',
      url: '/api/v1/contact-requests',
      headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
      payload,
    });

  it('stores text exactly as decoded once: encoded-looking input is never decoded again (1.1.1)', async () => {
    const message = 'Zie %3Cscript%3E en &lt;b&gt; en %2525 en \\u003c — niet decoderen';
    const res = await api(JSON.stringify({ name: 'Dubbel', email: 'dubbel@example.test', message }));
    expect(res.statusCode).toBe(201);
    const page = await staffRequests(app).get(support, `/staff/conversations/${res.json().id}`);
    expect(page.statusCode).toBe(200);
    // Escaped once for HTML, from the text as sent: `&lt;` shows as `&amp;lt;`, `%3C` stays.
    expect(page.body).toContain('Zie %3Cscript%3E en &amp;lt;b&amp;gt; en %2525 en \\u003c');
    expect(page.body).not.toContain('<script>');

    // A form field is decoded by the body parser, once: %253C arrives as %3C and stays so.
    const form = await app.inject({
      method: 'POST',
      url: '/api/v1/contact-requests',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'name=Form&email=form%40example.test&message=Twee%20keer%20%253Cb%253E%20niet',
    });
    expect(form.statusCode).toBe(201);
    const formPage = await staffRequests(app).get(support, `/staff/conversations/${form.json().id}`);
    expect(formPage.body).toContain('Twee keer %3Cb%3E niet');
  });

  it('refuses __proto__ and constructor.prototype in JSON bodies before any handler (1.5.2)', async () => {
    const before = await kluis.db.selectFrom('conversations').select('id').execute();
    for (const body of [
      '{"name":"A","email":"a@example.test","message":"x","__proto__":{"polluted":true}}',
      '{"name":"A","email":"a@example.test","message":"x","constructor":{"prototype":{"polluted":true}}}',
      '{"name":"A","email":"a@example.test","message":"x","nested":{"__proto__":{"polluted":true}}}',
    ]) {
      const res = await api(body);
      expect(res.statusCode, body).toBe(400);
      expect(res.json().error.code, body).toMatch(/^ERR_/);
    }
    expect(polluted()).toBe(false);
    expect(await kluis.db.selectFrom('conversations').select('id').execute()).toEqual(before);
  });

  it('pollutes nothing through form fields named __proto__ or constructor (1.5.2)', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/contact-requests',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload:
        'name=A&email=a%40example.test&message=x&__proto__%5Bpolluted%5D=1&__proto__=1&constructor%5Bprototype%5D%5Bpolluted%5D=1',
    });
    // Unknown fields are refused by the strict schema (P2: nothing else is accepted).
    expect(res.statusCode).toBe(400);
    expect(polluted()).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a repeated parameter instead of choosing one copy (1.5.2)', async () => {
    const form = await app.inject({
      method: 'POST',
      url: '/api/v1/contact-requests',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'name=A&email=a%40example.test&email=b%40example.test&message=x',
    });
    expect(form.statusCode).toBe(400);
    expect(form.json().error.fields).toHaveProperty('email');
    // The inbox's filters fall back to their defaults on nonsense, a repeated one included.
    const query = await staffRequests(app).get(support, '/staff/conversations?status=open&status=closed');
    expect(query.statusCode).toBe(200);
    const json = await api('{"name":"A","email":"a@example.test","email":"b@example.test","message":"x"}');
    // JSON keeps the last of duplicate keys (RFC 8259 leaves it open); the value is still one string.
    expect([201, 400]).toContain(json.statusCode);
  });

  it('checks a job payload against its schema before the handler sees it (1.5.2)', async () => {
    const registry = createJobRegistry();
    const seen: unknown[] = [];
    registry.register('test.deserialise', z.object({ n: z.number() }), async (payload) => {
      seen.push(payload);
    });
    const hostile = await enqueue(kluis.db, kluis.clock, {
      type: 'test.deserialise',
      payload: JSON.parse('{"n":"1","__proto__":{"polluted":true}}') as Record<string, unknown>,
    });
    const extra = await enqueue(kluis.db, kluis.clock, {
      type: 'test.deserialise',
      payload: JSON.parse('{"n":2,"constructor":{"prototype":{"polluted":true}}}') as Record<string, unknown>,
    });
    const summary = await createWorker({ kluis, registry, concurrency: 2 }).runOnce();
    expect(summary).toMatchObject({ claimed: 2, done: 1, failed: 1 });
    const rows = await kluis.db
      .selectFrom('jobs')
      .select(['id', 'status', 'last_error'])
      .where('id', 'in', [hostile.id, extra.id])
      .execute();
    expect(rows.find((r) => r.id === hostile.id)).toMatchObject({ status: 'failed' });
    expect(rows.find((r) => r.id === hostile.id)?.last_error).toContain('ERR_VALIDATION');
    // The handler got only what the schema names: the extra keys are gone.
    expect(seen).toEqual([{ n: 2 }]);
    expect(Object.keys(seen[0] as object)).toEqual(['n']);
    expect(polluted()).toBe(false);
  });
});

describe('forwarded headers from an untrusted address (4.1.3)', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;

  beforeAll(async () => {
    kluis = await createTestKluis({
      env: { KLUIS_TRUST_PROXY: '10.0.0.1', KLUIS_RATE_LIMIT_PER_MINUTE: '3' },
    });
    app = await buildApp(kluis);
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  const get = (remoteAddress: string, forwardedFor: string) =>
    app.inject({ method: 'GET', url: '/', remoteAddress, headers: { 'x-forwarded-for': forwardedFor } });

  it('counts a client that forges X-Forwarded-For against its own address', async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= 5; i++) statuses.push((await get('203.0.113.7', `198.51.100.${i}`)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });

  it('believes the header from the configured proxy: each forwarded client has its own budget', async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= 5; i++) statuses.push((await get('10.0.0.1', `198.51.100.${i}`)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    // …and a client behind the proxy still cannot escape its own budget.
    const same: number[] = [];
    for (let i = 1; i <= 4; i++) same.push((await get('10.0.0.1', '192.0.2.50')).statusCode);
    expect(same).toEqual([200, 200, 200, 429]);
  });
});

describe('ambiguous request framing (4.2.1)', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;
  let port: number;

  beforeAll(async () => {
    kluis = await createTestKluis();
    app = await buildApp(kluis);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    port = address.port;
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  const responsesIn = (text: string) => text.match(/HTTP\/1\.1 \d{3}(?= )/g) ?? [];

  /**
   * Sends raw bytes on one connection, keeping it open, and resolves with everything received
   * once the server closes it or `expected` responses have arrived.
   */
  async function raw(bytes: string, expected = Number.POSITIVE_INFINITY): Promise<string> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    let text = '';
    const closed = once(socket, 'close');
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      if (responsesIn(text).length >= expected) socket.destroy();
    });
    socket.write(bytes);
    await closed;
    return text;
  }

  const smuggled = 'GET /smuggled-request HTTP/1.1\r\nHost: x\r\n\r\n';

  it('answers a plain request followed by a second one on the same connection (the probe works)', async () => {
    const text = await raw(`GET / HTTP/1.1\r\nHost: x\r\n\r\n${smuggled}`, 2);
    expect(responsesIn(text)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 404']);
  });

  it('refuses Content-Length with Transfer-Encoding, two Content-Lengths and an obfuscated Transfer-Encoding', async () => {
    const attacks = [
      `POST /contact HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
      `POST /contact HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
      `POST /contact HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n${smuggled}`,
      `POST /contact HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 0\r\n\r\n${smuggled}`,
      `POST /contact HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${smuggled}`,
    ];
    for (const attack of attacks) {
      const text = await raw(attack);
      const label = attack.split('\r\n').slice(2, 4).join(' | ');
      expect(responsesIn(text), label).toEqual(['HTTP/1.1 400']);
      expect(text, label).not.toContain('smuggled');
    }
  });
});
