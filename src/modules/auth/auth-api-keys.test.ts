import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../../../test/browser.js';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg, createStaffUser, type StaffCredentials, systemActor } from '../../../test/factories.js';
import { buildApp } from '../../app.js';
import type { Actor, Role } from '../../shared/actor.js';
import { createFixedClock, DAY, MINUTE } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import type { Org } from '../orgs/orgs-repository.js';
import { apiKeySecretHash, parseApiKeyToken } from './auth-api-keys.js';

const tokenOf = (body: string) => /id="api-key-token">([^<]+)</.exec(body)?.[1] ?? '';

function userActor(org: Org, user: StaffCredentials, roles: readonly Role[]): Actor {
  return { kind: 'user', orgId: org.id, orgKind: org.kind, userId: user.user.id, roles };
}

/** The same token with one character of the secret changed. */
function tamper(token: string): string {
  const last = token.at(-5) === 'A' ? 'B' : 'A';
  return `${token.slice(0, -5)}${last}${token.slice(-4)}`;
}

describe('API keys', () => {
  const clock = createFixedClock('2030-07-01T10:00:00.000Z');
  let kluis: TestKluis;
  let app: FastifyInstance;
  let org: Org;
  let admin: StaffCredentials;

  beforeAll(async () => {
    kluis = await createTestKluis({ clock, env: { KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE: '100000' } });
    app = await buildApp(kluis);
    org = await createOrg(kluis, 'tenant');
    admin = await createStaffUser(kluis, { orgId: org.id, roles: ['admin', 'support'] });
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  const whoami = (token: string, extra: Record<string, string> = {}) =>
    app.inject({
      method: 'GET',
      url: '/api/v1/whoami',
      headers: { authorization: `Bearer ${token}`, ...extra },
    });

  async function makeKey(roles: readonly Role[], expiresAt?: Date): Promise<{ id: string; token: string }> {
    const { key, token } = await kluis.services.auth.createApiKey({
      actor: userActor(org, admin, ['admin', 'support']),
      name: 'Koppeling',
      roles,
      expiresAt,
    });
    return { id: key.id, token };
  }

  it('makes a key on the page, shows its token once and stores only a hash of the secret', async () => {
    const b = new Browser(app);
    await b.login(admin.email, admin.password);
    const form = await b.get('/staff/api-keys/new');
    expect(form.statusCode).toBe(200);
    // Only the creator's own roles are offered.
    expect(form.body).toContain('value="support"');
    expect(form.body).not.toContain('value="finance"');
    const made = await b.post('/staff/api-keys', {
      name: 'Boekhouding',
      roles: 'support',
      expires: '2030-12-31',
    });
    expect(made.statusCode).toBe(200);
    const token = tokenOf(made.body);
    expect(token).toMatch(/^kluis_[0-9a-f-]{36}_[A-Za-z0-9_-]{43}$/);
    const parsed = parseApiKeyToken(token);
    if (parsed === undefined) throw new Error('token does not parse');

    const row = await kluis.db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', parsed.keyId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      org_id: org.id,
      name: 'Boekhouding',
      roles: '["support"]',
      created_by: admin.user.id,
      expires_at: '2030-12-31T23:59:59.999Z',
      revoked_at: null,
    });
    expect(row.secret_hash).toBe(apiKeySecretHash(parsed.keyId, parsed.secret));
    expect(token.startsWith(row.prefix)).toBe(true);
    expect(row.prefix.length).toBeLessThan(20);
    // Nowhere in the database: not in the keys, not in the audit trail, not in any other table.
    for (const table of await kluis.db.introspection.getTables()) {
      const rows = await sql`select * from ${sql.table(table.name)}`.execute(kluis.db);
      const text = JSON.stringify(rows.rows);
      expect(text, table.name).not.toContain(parsed.secret);
      expect(text, table.name).not.toContain(token);
    }
    if (kluis.dbFile !== undefined) {
      await kluis.checkpoint();
      const { readFileSync } = await import('node:fs');
      expect(readFileSync(kluis.dbFile).includes(Buffer.from(parsed.secret))).toBe(false);
    }
    const list = await b.get('/staff/api-keys');
    expect(list.body).toContain('Boekhouding');
    expect(list.body).toContain(row.prefix);
    expect(list.body).not.toContain(parsed.secret);
    const audit = await kluis.db
      .selectFrom('audit_log')
      .select(['action', 'actor'])
      .where('target_id', '=', parsed.keyId)
      .execute();
    expect(audit).toEqual([{ action: 'auth.api_key.created', actor: `user:${admin.user.id}` }]);
  });

  it('makes a key for the OpenDSR endpoint only on the page: the REST API refuses it', async () => {
    const b = new Browser(app);
    await b.login(admin.email, admin.password);
    const form = await b.get('/staff/api-keys/new');
    // A new key is for the REST API unless chosen otherwise.
    expect(form.body).toMatch(/name="scopes" value="api" checked/);
    expect(form.body).toMatch(/name="scopes" value="opendsr">/);
    const made = await b.post('/staff/api-keys', { name: 'Privacytool', roles: 'admin', scopes: 'opendsr' });
    expect(made.statusCode).toBe(200);
    const parsed = parseApiKeyToken(tokenOf(made.body));
    if (parsed === undefined) throw new Error('token does not parse');
    const row = await kluis.db
      .selectFrom('api_keys')
      .select('scopes')
      .where('id', '=', parsed.keyId)
      .executeTakeFirstOrThrow();
    expect(row.scopes).toBe('["opendsr"]');
    const res = await whoami(tokenOf(made.body));
    expect(res.statusCode).toBe(403);
    expect((await b.get('/staff/api-keys')).body).toContain('OpenDSR-verzoeken');
    // A scope that does not exist is refused, and no key is made.
    const before = await kluis.db.selectFrom('api_keys').select('id').execute();
    const bad = await b.post('/staff/api-keys', { name: 'Anders', roles: 'admin', scopes: 'everything' });
    expect(bad.statusCode).toBe(400);
    expect(await kluis.db.selectFrom('api_keys').select('id').execute()).toHaveLength(before.length);
  });

  it('answers /api/v1/whoami for a key with its org, the key and its roles, and for a staff session', async () => {
    const { id, token } = await makeKey(['support']);
    const res = await whoami(token);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      org: { id: org.id, kind: 'tenant' },
      actor: { kind: 'api_key', id },
      roles: ['support'],
    });
    const b = new Browser(app);
    await b.login(admin.email, admin.password);
    const bySession = await b.get('/api/v1/whoami', { accept: 'application/json' });
    expect(bySession.statusCode).toBe(200);
    expect(bySession.json()).toMatchObject({ actor: { kind: 'user', id: admin.user.id } });
    expect((await app.inject({ method: 'GET', url: '/api/v1/whoami' })).statusCode).toBe(401);
  });

  it('refuses a revoked, expired, tampered, unknown or malformed key with 401 ERR_AUTH_API_KEY_INVALID', async () => {
    const revoked = await makeKey(['support']);
    const expiring = await makeKey(['support'], new Date(clock.now().getTime() + DAY));
    const good = await makeKey(['support']);
    expect((await whoami(revoked.token)).statusCode).toBe(200);
    expect((await whoami(expiring.token)).statusCode).toBe(200);

    const b = new Browser(app);
    await b.login(admin.email, admin.password);
    await b.get('/staff/api-keys');
    const revoke = await b.post(`/staff/api-keys/${revoked.id}/revoke`);
    expect(revoke.statusCode).toBe(303);
    expect((await b.get('/staff/api-keys?done=revoked')).body).toContain('Ingetrokken');
    clock.advance(DAY);
    try {
      const unknownId = `kluis_00000000-0000-4000-8000-000000000000_${'A'.repeat(43)}`;
      const other = parseApiKeyToken(good.token);
      const swapped = `kluis_${revoked.id}_${other?.secret ?? ''}`;
      const cases: [string, string][] = [
        ['revoked', revoked.token],
        ['expired', expiring.token],
        ['tampered', tamper(good.token)],
        ['unknown', unknownId],
        ['secret of another key', swapped],
        ['malformed', 'kluis_nope_nope'],
        ['empty', ''],
      ];
      for (const [label, token] of cases) {
        const res = await whoami(token);
        expect(res.statusCode, label).toBe(401);
        expect(res.json().error.code, label).toBe('ERR_AUTH_API_KEY_INVALID');
        expect(res.headers['www-authenticate'], label).toContain('Bearer');
      }
      expect((await whoami(good.token)).statusCode).toBe(200);
    } finally {
      clock.advance(-DAY);
    }
    const audit = await kluis.db
      .selectFrom('audit_log')
      .select('actor')
      .where('action', '=', 'auth.api_key.revoked')
      .where('target_id', '=', revoked.id)
      .execute();
    expect(audit).toEqual([{ actor: `user:${admin.user.id}` }]);
  });

  it('refuses a key on staff pages with 401 and never falls back to the session cookie', async () => {
    const { token } = await makeKey(['admin', 'support']);
    for (const url of ['/staff', '/staff/users', '/staff/api-keys', '/staff/account']) {
      const res = await app.inject({
        method: 'GET',
        url,
        headers: { authorization: `Bearer ${token}`, accept: 'text/html' },
      });
      expect(res.statusCode, url).toBe(401);
    }
    const post = await app.inject({
      method: 'POST',
      url: '/staff/api-keys',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'name=sneaky&roles=admin',
    });
    expect(post.statusCode).toBe(401);
    // A valid session cookie next to an invalid bearer token does not rescue the request.
    const b = new Browser(app);
    await b.login(admin.email, admin.password);
    const both = await b.get('/api/v1/whoami', {
      authorization: 'Bearer kluis_invalid',
      accept: 'application/json',
    });
    expect(both.statusCode).toBe(401);
    const onStaff = await b.get('/staff', { authorization: `Bearer ${token}` });
    expect(onStaff.statusCode).toBe(401);
    expect(await kluis.db.selectFrom('api_keys').select('id').where('name', '=', 'sneaky').execute()).toEqual(
      [],
    );
  });

  it('never gives a key a role its creator does not hold, also after the creator loses it', async () => {
    const auth = kluis.services.auth;
    const creator = await createStaffUser(kluis, { orgId: org.id, roles: ['admin', 'finance'] });
    const actor = userActor(org, creator, ['admin', 'finance']);
    await expect(auth.createApiKey({ actor, name: 'x', roles: ['security'] })).rejects.toSatisfy(
      (e) =>
        e instanceof AppError &&
        e.code === 'ERR_VALIDATION' &&
        e.fields?.roles === 'auth.apiKeys.rolesExceed',
    );
    await expect(auth.createApiKey({ actor, name: 'x', roles: ['owner', 'finance'] })).rejects.toSatisfy(
      (e) => e instanceof AppError && e.code === 'ERR_VALIDATION',
    );
    const b = new Browser(app);
    await b.login(creator.email, creator.password);
    await b.get('/staff/api-keys/new');
    const forged = await b.post('/staff/api-keys', { name: 'Te veel', roles: ['finance', 'owner'] });
    expect(forged.statusCode).toBe(400);
    expect(forged.body).toContain('Een API-sleutel kan alleen rollen krijgen die u zelf hebt.');
    expect(forged.body).toContain('value="Te veel"');
    expect(
      await kluis.db.selectFrom('api_keys').select('id').where('created_by', '=', creator.user.id).execute(),
    ).toEqual([]);

    const { token } = await auth.createApiKey({ actor, name: 'Financiën', roles: ['admin', 'finance'] });
    expect((await whoami(token)).json().roles).toEqual(['admin', 'finance']);
    await auth.setRoles({ actor: systemActor(org), userId: creator.user.id, roles: ['finance'] });
    expect((await whoami(token)).json().roles).toEqual(['finance']);
    // A disabled creator's keys stop working.
    await auth.disableUser({ actor: systemActor(org), userId: creator.user.id });
    expect((await whoami(token)).statusCode).toBe(401);
  });

  it('refuses an expiry in the past and keys for support staff, and revokes only keys of the own org', async () => {
    const auth = kluis.services.auth;
    await expect(
      auth.createApiKey({
        actor: userActor(org, admin, ['admin', 'support']),
        name: 'Oud',
        roles: ['support'],
        expiresAt: new Date(clock.now().getTime() - MINUTE),
      }),
    ).rejects.toSatisfy((e) => e instanceof AppError && e.fields?.expires === 'auth.apiKeys.expiryPast');
    const support = await createStaffUser(kluis, { orgId: org.id, roles: ['support'] });
    await expect(
      auth.createApiKey({ actor: userActor(org, support, ['support']), name: 'x', roles: ['support'] }),
    ).rejects.toSatisfy((e) => e instanceof AppError && e.code === 'ERR_FORBIDDEN');

    const { id, token } = await makeKey(['support']);
    const otherOrg = await createOrg(kluis, 'tenant');
    const otherAdmin = await createStaffUser(kluis, { orgId: otherOrg.id, roles: ['admin'] });
    const b = new Browser(app);
    await b.login(otherAdmin.email, otherAdmin.password);
    const list = await b.get('/staff/api-keys');
    expect(list.body).not.toContain(id);
    expect((await b.post(`/staff/api-keys/${id}/revoke`)).statusCode).toBe(404);
    expect((await whoami(token)).statusCode).toBe(200);
  });

  it('records the last use of a key at most once a minute', async () => {
    const { id, token } = await makeKey(['support']);
    const lastUsed = async () =>
      (
        await kluis.db
          .selectFrom('api_keys')
          .select('last_used_at')
          .where('id', '=', id)
          .executeTakeFirstOrThrow()
      ).last_used_at;
    expect(await lastUsed()).toBeNull();
    const start = clock.now().toISOString();
    await whoami(token);
    expect(await lastUsed()).toBe(start);
    clock.advance(30_000);
    await whoami(token);
    expect(await lastUsed()).toBe(start);
    clock.advance(30_000);
    await whoami(token);
    expect(await lastUsed()).toBe(clock.now().toISOString());
    clock.advance(-60_000);
  });
});
