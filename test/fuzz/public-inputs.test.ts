/**
 * Property-based fuzzing (issue 16) of every public form handler and the public API body: each
 * public POST route of the route table, and POST /api/v1/contact-requests with a valid key, gets
 * hostile field values (any Unicode, control and bidi characters, markup, SQL and header
 * injection, wrong types, huge and empty values) on top of a genuine form's hidden fields. For
 * every case: no 5xx, no row stored unless the answer is a success, and nothing reflected
 * unescaped. A few hundred seeded cases per run; set KLUIS_FUZZ_RUNS for more per route.
 */
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createFixedClock } from '../../src/shared/clock.js';
import { formBody, freshIp } from '../browser.js';
import { createTestKluis, type TestKluis } from '../dialects.js';
import { createOrg, createStaffUser } from '../factories.js';

const RUNS = Number(process.env.KLUIS_FUZZ_RUNS ?? 20);
const SEED = Number(process.env.KLUIS_FUZZ_SEED ?? 16_2030);
/** Every hostile string carries this marker: reflected raw, it would open an element. */
const MARK = '<x-fz a="1">';

const hostile = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    "' OR 1=1 --",
    '"; DROP TABLE conversations; --',
    '<script>alert(1)</script>',
    'javascript:alert(1)',
    '\u202eevil\u202c',
    'a\u0000b\u001bc',
    'x\r\nBcc: victim@example.org',
    '{{7*7}}\u0024{7*7}',
    '../../etc/passwd',
    'a'.repeat(30_000),
    '',
    '   ',
    'petra@example.nl',
    '+31 6 12345678',
    'access',
    'erasure',
  ),
);
const value = fc.oneof(
  hostile.map((s) => `${s}${MARK}`),
  hostile,
  fc.array(hostile, { maxLength: 3 }),
);
const fieldNames = [
  'name',
  'email',
  'phone',
  'message',
  'right',
  'details',
  'password',
  'token',
  'org',
  'website',
];
const fields = fc.dictionary(fc.oneof(fc.constantFrom(...fieldNames), fc.string({ maxLength: 8 })), value, {
  maxKeys: 8,
});

describe('fuzzing every public input (no 5xx, no row from rejected input, no unescaped reflection)', () => {
  const clock = createFixedClock('2030-05-01T09:00:00.000Z');
  let kluis: TestKluis;
  let app: FastifyInstance;
  let slug = '';

  beforeAll(async () => {
    kluis = await createTestKluis({ clock });
    app = await buildApp(kluis);
    await createOrg(kluis, 'operator', 'Ambrix');
    const tenant = await createOrg(kluis, 'tenant', 'Bakkerij Fuzz');
    slug = tenant.slug;
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  async function rowCount(): Promise<number> {
    let total = 0;
    for (const table of [
      'conversations',
      'conversation_entries',
      'rights_requests',
      'users',
      'sessions',
    ] as const) {
      const r = await kluis.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      total += Number(r.n);
    }
    return total;
  }

  /** A genuine visit of the form page: its cookies and hidden fields (CSRF, fill-time token). */
  async function visit(url: string, ip: string): Promise<{ cookie: string; hidden: Record<string, string> }> {
    const page = await app.inject({
      method: 'GET',
      url,
      remoteAddress: ip,
      headers: { accept: 'text/html' },
    });
    const raw = page.headers['set-cookie'];
    const lines = Array.isArray(raw) ? raw : raw === undefined ? [] : [String(raw)];
    const cookie = lines.map((l) => l.split(';')[0]).join('; ');
    const hidden: Record<string, string> = {};
    for (const m of page.body.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
      const name = /name="([^"]+)"/.exec(m[0])?.[1];
      const v = /value="([^"]*)"/.exec(m[0])?.[1];
      if (name !== undefined) hidden[name] = (v ?? '').replace(/&amp;/g, '&');
    }
    return { cookie, hidden };
  }

  function check(status: number, body: string, before: number, after: number, where: string): void {
    expect(status, where).toBeLessThan(500);
    expect(body.includes(MARK), `${where}: reflected unescaped`).toBe(false);
    const success = status === 201 || status === 303 || status === 302;
    if (!success) expect(after, `${where}: a row from rejected input`).toBe(before);
  }

  it('answers every public form post without a 5xx, storing nothing it refused and reflecting nothing raw', async () => {
    const routes = app.routeTable.filter((r) => r.method === 'POST' && r.access.kind === 'public');
    expect(routes.length).toBeGreaterThan(3);
    for (const route of routes) {
      const url = route.url
        .replace(':slug', slug)
        .replace(/:[a-zA-Z]+/g, '00000000-0000-4000-8000-000000000000');
      await fc.assert(
        fc.asyncProperty(fields, fc.boolean(), async (f, keepHidden) => {
          const ip = freshIp();
          const { cookie, hidden } = await visit(url, ip);
          clock.advance(60_000); // slower than a bot, so the fill-time check lets the values through
          const before = await rowCount();
          const res = await app.inject({
            method: 'POST',
            url,
            remoteAddress: ip,
            headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
            payload: formBody(keepHidden ? { ...f, ...hidden, ...pick(f) } : { ...hidden, ...f }),
          });
          check(res.statusCode, res.body, before, await rowCount(), `POST ${route.url}`);
        }),
        { numRuns: RUNS, seed: SEED },
      );
    }
  });

  it('answers every hostile JSON body of the public API without a 5xx, storing only what it accepts', async () => {
    const org = await createOrg(kluis, 'tenant', 'Api Fuzz');
    const admin = await createStaffUser(kluis, { orgId: org.id, roles: ['admin', 'support'] });
    const { token } = await kluis.services.auth.createApiKey({
      actor: {
        kind: 'user',
        orgId: org.id,
        orgKind: org.kind,
        userId: admin.user.id,
        roles: ['admin', 'support'],
      },
      name: 'fuzz',
      roles: ['support'],
    });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fields, fc.jsonValue()), async (body) => {
        const before = await rowCount();
        const res = await app.inject({
          method: 'POST',
          url: '/api/v1/contact-requests',
          remoteAddress: freshIp(),
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          payload: JSON.stringify(body),
        });
        check(res.statusCode, res.body, before, await rowCount(), 'POST /api/v1/contact-requests');
      }),
      { numRuns: RUNS * 4, seed: SEED },
    );
  });
});

/** The fuzzed values win over the hidden ones for the visible fields only. */
function pick(f: Record<string, unknown>): Record<string, string | readonly string[]> {
  const out: Record<string, string | readonly string[]> = {};
  for (const [k, v] of Object.entries(f)) {
    if (k.startsWith('_') || k === 'website') continue;
    if (typeof v === 'string' || Array.isArray(v)) out[k] = v as string | readonly string[];
  }
  return out;
}
