/**
 * A crawl of the whole application as it is used (ASVS 3.5.3, 4.1.1, 7.4.4). With the demo data
 * loaded, a user holding every role in the operator organisation and one in a tenant start from
 * every GET route the app declares and follow every link they are shown, so real records (a
 * relation, a conversation, an attachment, a download) are reached, not only 404s. Then:
 *
 * - 3.5.3: GET changes nothing. Every row of every table is compared before and after the walk
 *   (only the logs and the session bookkeeping, which change on every request by design, are left
 *   out), so an update in place is caught, not only an insert.
 * - 4.1.1: every response with a body says what it is (Content-Type), and every text type names
 *   its character set.
 * - 7.4.4: every staff page shown to a signed-in user carries the log-out form.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { seedDemo } from '../../src/cli/demo-seed.js';
import { roles } from '../../src/shared/actor.js';
import { createTestKluis, type TestKluis } from '../dialects.js';
import { createOrg, createStaffUser, type LoggedIn, loginAs } from '../factories.js';

/** Tables written on every request by design: the access log, the audit trail, sessions. */
const volatileTables = new Set([
  'access_log',
  'audit_log',
  'audit_head',
  'sessions',
  'login_attempts',
  'kysely_migration',
  'kysely_migration_lock',
]);

/** Every row of every other table, as text, so any insert, update or delete shows. */
async function contents(kluis: TestKluis): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of await kluis.db.introspection.getTables()) {
    if (volatileTables.has(t.name)) continue;
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(t.name)}`.execute(kluis.db);
    out[t.name] = rows.rows
      .map((r) =>
        JSON.stringify(r, (_k, v: unknown) =>
          v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v,
        ),
      )
      .sort();
  }
  return out;
}

type Row = Record<string, unknown>;

/**
 * The one write a GET may make: opening the TOTP set-up page of an account without TOTP stores
 * the not-yet-active secret it shows (sealed), so that a reload or a second device shows the
 * same QR code until the POST with a code turns it on. Such rows are compared without that
 * secret and their `updated_at`; `pendingSecretsKept` checks a pending secret is never replaced.
 */
function withoutPendingTotp(c: Record<string, string[]>): Record<string, string[]> {
  const users = (c.users ?? []).map((r) => {
    const row = JSON.parse(r) as Row;
    if (row.totp_enabled !== 0) return r;
    const { totp_secret: _s, updated_at: _u, ...rest } = row;
    return JSON.stringify(rest);
  });
  return { ...c, users: users.sort() };
}

function pendingSecretsKept(before: Record<string, string[]>, after: Record<string, string[]>): string[] {
  const secrets = (c: Record<string, string[]>) =>
    new Map(
      (c.users ?? []).map((r) => JSON.parse(r) as Row).map((u) => [u.id, JSON.stringify(u.totp_secret)]),
    );
  const now = secrets(after);
  return [...secrets(before)]
    .filter(([id, secret]) => secret !== 'null' && now.get(id) !== secret)
    .map(([id]) => String(id));
}

function concrete(url: string): string {
  return url.replace(/:[A-Za-z_]+/g, randomUUID()).replace(/\*$/, 'x');
}

/** Same-site links of a page (not the assets, not the language switch, which only sets a cookie). */
function linksOf(body: string): string[] {
  return [...body.matchAll(/href="(\/[^"]*)"/g)]
    .map((m) => (m[1] ?? '').replace(/&amp;/g, '&'))
    .filter((href) => !href.startsWith('/assets/') && !/[?&]lang=/.test(href) && !href.startsWith('//'));
}

const textTypes = /^(text\/|application\/(json|xml|javascript)|image\/svg\+xml)/;

interface Visit {
  readonly url: string;
  readonly res: LightMyRequestResponse;
}

/** Breadth-first from `start`, following links, each URL once, at most `limit` requests. */
async function crawl(
  app: FastifyInstance,
  who: LoggedIn | undefined,
  start: readonly string[],
  limit: number,
): Promise<Visit[]> {
  const seen = new Set<string>(start);
  const queue = [...start];
  const visits: Visit[] = [];
  while (queue.length > 0 && visits.length < limit) {
    const url = queue.shift() ?? '/';
    const res = await app.inject({
      method: 'GET',
      url,
      headers: { accept: 'text/html', ...(who === undefined ? {} : { cookie: who.cookie }) },
    });
    visits.push({ url, res });
    if (!String(res.headers['content-type'] ?? '').startsWith('text/html')) continue;
    for (const link of linksOf(res.body)) {
      if (seen.has(link)) continue;
      seen.add(link);
      queue.push(link);
    }
  }
  return visits;
}

/** What is wrong with a response's Content-Type (ASVS 4.1.1), or undefined. */
function contentTypeProblem(visit: Visit): string | undefined {
  const { res, url } = visit;
  if (res.rawPayload.length === 0) return undefined;
  const type = res.headers['content-type'];
  if (typeof type !== 'string' || type === '')
    return `${url}: ${res.statusCode} with a body but no Content-Type`;
  if (textTypes.test(type) && !/;\s*charset=utf-8/i.test(type))
    return `${url}: ${type} without charset=utf-8`;
  return undefined;
}

describe('a walk of every page as staff and as a visitor', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;
  let operatorStaff: LoggedIn;
  let tenantStaff: LoggedIn;

  beforeAll(async () => {
    kluis = await createTestKluis();
    await seedDemo(kluis);
    app = await buildApp(kluis);
    await app.ready();
    const operator = await createOrg(kluis, 'operator');
    const tenant = await createOrg(kluis, 'tenant');
    operatorStaff = await loginAs(
      app,
      await createStaffUser(kluis, { orgId: operator.id, roles: [...roles] }),
    );
    tenantStaff = await loginAs(app, await createStaffUser(kluis, { orgId: tenant.id, roles: [...roles] }));
  }, 120_000);
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  it('changes nothing by GET, labels every body, and offers log out on every staff page', async () => {
    const gets = app.routeTable.filter((r) => r.method === 'GET').map((r) => concrete(r.url));
    const before = await contents(kluis);
    const visits = [
      ...(await crawl(app, operatorStaff, ['/staff', ...gets], 1500)),
      ...(await crawl(app, tenantStaff, ['/staff', ...gets], 1500)),
      ...(await crawl(app, undefined, ['/', ...gets], 1500)),
    ];
    // The walk reached real records, not only the routes' 404s.
    const ok = visits.filter((v) => v.res.statusCode === 200);
    expect(ok.length).toBeGreaterThan(100);
    expect(ok.some((v) => /^\/staff\/relations\/[0-9a-f-]{36}$/.test(v.url))).toBe(true);
    expect(ok.some((v) => /^\/staff\/conversations\/[0-9a-f-]{36}$/.test(v.url))).toBe(true);
    expect(ok.some((v) => String(v.res.headers['content-disposition']).startsWith('attachment'))).toBe(true);

    expect(visits.filter((v) => v.res.statusCode >= 500).map((v) => `${v.url}: ${v.res.statusCode}`)).toEqual(
      [],
    );
    expect(visits.flatMap((v) => contentTypeProblem(v) ?? [])).toEqual([]);

    const staffPages = visits.filter(
      (v) =>
        v.url.startsWith('/staff') &&
        v.res.statusCode === 200 &&
        String(v.res.headers['content-type']).startsWith('text/html'),
    );
    expect(staffPages.length).toBeGreaterThan(50);
    const withoutLogout = staffPages.filter((v) => !/<form method="post" action="\/logout"/.test(v.res.body));
    expect(withoutLogout.map((v) => v.url)).toEqual([]);

    const after = await contents(kluis);
    expect(withoutPendingTotp(after)).toEqual(withoutPendingTotp(before));
    expect(pendingSecretsKept(before, after)).toEqual([]);
  }, 300_000);

  it('would notice a GET that writes, and a body without a character set', async () => {
    const before = await contents(kluis);
    await kluis.db.updateTable('orgs').set({ name: 'Changed by GET' }).where('kind', '=', 'tenant').execute();
    const after = await contents(kluis);
    expect(withoutPendingTotp(after)).not.toEqual(withoutPendingTotp(before));
    await kluis.db
      .updateTable('users')
      .set({ totp_secret: Buffer.from('replaced') })
      .execute();
    expect(pendingSecretsKept(after, await contents(kluis))).not.toEqual([]);
    const fake = (headers: Record<string, string>, payload: string) =>
      ({
        url: '/x',
        res: { rawPayload: Buffer.from(payload), headers, statusCode: 200 },
      }) as unknown as Visit;
    expect(contentTypeProblem(fake({ 'content-type': 'text/html' }, '<p>'))).toContain('without charset');
    expect(contentTypeProblem(fake({}, 'x'))).toContain('no Content-Type');
    expect(contentTypeProblem(fake({ 'content-type': 'application/pdf' }, '%PDF-'))).toBeUndefined();
  });
});
