/**
 * The offboarding export holds every table of the tenant (issue 12, Art. 28(3)(g)): not only the
 * rows linked to a data subject, but also its staff accounts, roles, sessions, API keys, register
 * settings and whatever else carries its `org_id` — each table the deletion would empty appears
 * in the zip. Credentials never do: no password hash, TOTP secret, key or token hash, session id.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg, createStaffUser, loginAs, type StaffCredentials } from '../../../test/factories.js';
import { unzip } from '../../../test/zip.js';
import { buildApp } from '../../app.js';
import type { Actor } from '../../shared/actor.js';
import { createFixedClock } from '../../shared/clock.js';
import type { Org } from '../orgs/index.js';
import { countOrgRows } from './offboarding-rows.js';

describe('the offboarding export holds every table of the tenant', () => {
  const clock = createFixedClock('2031-05-01T10:00:00.000Z');
  let kluis: TestKluis;
  let app: FastifyInstance;
  let tenant: Org;
  let owner: StaffCredentials;
  let apiToken = '';

  beforeAll(async () => {
    kluis = await createTestKluis({ clock, env: { KLUIS_LOGIN_RATE_LIMIT_PER_MINUTE: '100000' } });
    app = await buildApp(kluis);
    tenant = await createOrg(kluis, 'tenant', 'Volledig Vertrek');
    const other = await createOrg(kluis, 'tenant', 'Andere Blijver');
    owner = await createStaffUser(kluis, {
      orgId: tenant.id,
      roles: ['owner', 'admin'],
      totp: true,
      email: 'eigenaar@volledig-vertrek.example',
      displayName: 'Eigenaar Vertrekstra',
    });
    await createStaffUser(kluis, { orgId: other.id, roles: ['owner'], email: 'blijver@andere.example' });
    // A session (sign-in) and an API key of the tenant's own staff.
    await loginAs(app, { ...owner, totp: () => owner.totp() });
    const ownerActor: Actor = {
      kind: 'user',
      orgId: tenant.id,
      orgKind: 'tenant',
      userId: owner.user.id,
      roles: ['owner', 'admin'],
    };
    apiToken = (
      await kluis.services.auth.createApiKey({ actor: ownerActor, name: 'boekhouding', roles: ['admin'] })
    ).token;
    await kluis.services.register.updateSettings({
      actor: { ...ownerActor, roles: ['privacy_officer'] },
      values: { displayName: 'Volledig Vertrek', privacyEmail: 'privacy@volledig-vertrek.example' },
    });
    await kluis.services.intake.submitContactRequest({
      actor: { kind: 'anonymous', orgId: tenant.id, ref: 'ip:test' },
      channel: 'web',
      request: {
        name: 'Vera Vraagsteller',
        email: 'vera@example.nl',
        phone: undefined,
        message: 'Een vraag',
      },
      locale: 'nl',
    });
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  it('has every table the deletion would empty, staff accounts included, and no credential', async () => {
    const tables = Object.keys(await countOrgRows(kluis.db, tenant.id));
    expect(tables).toEqual(
      expect.arrayContaining(['users', 'user_roles', 'sessions', 'api_keys', 'register_settings']),
    );
    const actor: Actor = {
      kind: 'user',
      orgId: tenant.id,
      orgKind: 'tenant',
      userId: owner.user.id,
      roles: ['owner'],
    };
    await kluis.services.offboarding.start({ actor });
    const entries = await unzip((await kluis.services.offboarding.downloadExport(actor)).content);
    const names = [...entries.keys()];
    for (const table of tables) {
      expect(
        names.includes(`tables/${table}.json`) || names.includes(`org/${table}.json`),
        `${table} is in the export`,
      ).toBe(true);
    }
    const text = (name: string) => entries.get(name)?.toString('utf8') ?? '';
    expect(text('org/users.json')).toContain('eigenaar@volledig-vertrek.example');
    expect(text('org/users.csv')).toContain('Eigenaar Vertrekstra');
    const users = JSON.parse(text('org/users.json')) as { columns: string[]; withheld: string[] };
    expect(users.columns).not.toContain('password_hash');
    expect(users.columns).not.toContain('totp_secret');
    expect(users.withheld).toEqual(expect.arrayContaining(['password_hash', 'totp_secret']));
    const sessions = JSON.parse(text('org/sessions.json')) as { columns: string[] };
    expect(sessions.columns).not.toContain('id');
    const keys = JSON.parse(text('org/api_keys.json')) as { columns: string[]; withheld: string[] };
    expect(keys.columns).not.toContain('secret_hash');
    expect(keys.withheld).toContain('secret_hash');

    // No credential anywhere in the zip: the stored hashes and the TOTP secret's ciphertext.
    const secrets = [
      ...(
        await kluis.db.selectFrom('users').select('password_hash').where('org_id', '=', tenant.id).execute()
      ).map((r) => r.password_hash),
      ...(
        await kluis.db.selectFrom('api_keys').select('secret_hash').where('org_id', '=', tenant.id).execute()
      ).map((r) => r.secret_hash),
      ...(await kluis.db.selectFrom('sessions').select('id').where('org_id', '=', tenant.id).execute()).map(
        (r) => r.id,
      ),
      apiToken,
      owner.password,
    ];
    expect(secrets.length).toBeGreaterThanOrEqual(4);
    const all = [...entries.values()].map((b) => b.toString('utf8')).join('\n');
    for (const secret of secrets) expect(all.includes(secret), 'a credential in the export').toBe(false);
    // Only this tenant's rows.
    expect(all).not.toContain('blijver@andere.example');
    const manifest = JSON.parse(text('manifest.json')) as { org_tables: Record<string, { rows: number }> };
    expect(manifest.org_tables.users?.rows).toBe(1);
  });
});
