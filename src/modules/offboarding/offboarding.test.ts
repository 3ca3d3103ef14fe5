/**
 * Tenant offboarding (issue 12 item 5, Art. 28(3)(g), P10): the owner starts it and gets the full
 * export (JSON and CSV per table, documents, register); nothing is destroyed during the notice
 * period; then the tenant's rows go, its org key and every subject key under it are destroyed, the
 * certificate verifies with plain node:crypto and the published key (and fails when a byte
 * changes), no seeded value is left in the SQLite file or its WAL, another tenant keeps its data,
 * and a backup from before keeps the tenant erased once restored (the ledger replay).
 */
import { createPublicKey, verify } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCli } from '../../../test/cli.js';
import { createTestKluis, type TestKluis, testDialect } from '../../../test/dialects.js';
import { createOrg } from '../../../test/factories.js';
import { decryptSqlcipherPages, decryptSqlcipherWal, fileBytes } from '../../../test/retention-fixtures.js';
import { unzip } from '../../../test/zip.js';
import { buildApp } from '../../app.js';
import { keystoreEncryptionKey } from '../../config/env.js';
import { rawSqlcipherKey } from '../../db/database.js';
import type { Actor, Role } from '../../shared/actor.js';
import { canonicalJson } from '../../shared/canonical-json.js';
import { createFixedClock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { createBackup } from '../ops/ops-backup.js';
import { restoreBackup } from '../ops/ops-restore.js';
import { openSqliteFile } from '../ops/ops-sqlite.js';
import type { Org } from '../orgs/index.js';
import { registerOffboardingCommands } from './offboarding-commands.js';

const sqlite = testDialect === 'sqlite';
const FAMILY = 'Vertrekkers-Offboardia';
const COMPANY = `${FAMILY} Holding BV`;

function actorOf(org: Org, ...roles: Role[]): Actor {
  return { kind: 'user', orgId: org.id, orgKind: org.kind, userId: `u-${roles.join('-')}`, roles };
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
  throw new Error('expected a refusal');
}

async function seedRelations(kluis: TestKluis, org: Org, family: string): Promise<string> {
  const support = actorOf(org, 'support');
  const relations = kluis.services.relations;
  const { id } = await relations.createRelation({
    actor: support,
    values: {
      kind: 'person',
      formOfAddress: 'ms',
      givenName: 'Olga',
      familyName: family,
      email: `${family.toLowerCase()}@example.nl`,
      phone: '+31 6 4444 5555',
      status: 'active',
      startedAt: '2030-01-01',
    },
  });
  await relations.setAddress({
    actor: support,
    relationId: id,
    values: {
      country: 'NL',
      city: 'Zaltbommel',
      postcode: '5301 AB',
      street: 'Vertrekstraat',
      houseNumber: '9',
    },
  });
  const company = await relations.createRelation({
    actor: support,
    values: {
      kind: 'organisation',
      organisationName: `${family} Holding BV`,
      status: 'active',
      startedAt: '2030-01-01',
    },
  });
  await relations.addContact({
    actor: support,
    relationId: company.id,
    values: {
      formOfAddress: 'mr',
      givenName: 'Piet',
      familyName: `${family}-Contact`,
      email: 'piet.contact@example.nl',
      role: 'billing',
    },
  });
  return id;
}

describe('tenant offboarding (Art. 28(3)(g))', () => {
  const clock = createFixedClock('2031-03-01T10:00:00.000Z');
  let kluis: TestKluis;
  let tenant: Org;
  let other: Org;
  let operator: Org;
  let relationId: string;
  let certificate = '';

  beforeAll(async () => {
    kluis = await createTestKluis({ clock });
    tenant = await createOrg(kluis, 'tenant', 'Vertrekkende Klant');
    other = await createOrg(kluis, 'tenant', 'Blijvende Klant');
    operator = await createOrg(kluis, 'operator', 'Beheerder');
    relationId = await seedRelations(kluis, tenant, FAMILY);
    await seedRelations(kluis, other, 'Blijvers-Control');
  });
  afterAll(async () => {
    await kluis.destroy();
  });

  const count = async (orgId: string) =>
    Number(
      (
        await kluis.db
          .selectFrom('relations')
          .select((eb) => eb.fn.countAll<number | string>().as('n'))
          .where('org_id', '=', orgId)
          .executeTakeFirst()
      )?.n ?? 0,
    );

  it('refuses anyone but an owner, and the operator without an ended agreement', async () => {
    const offboarding = kluis.services.offboarding;
    expect(await refusal(offboarding.start({ actor: actorOf(tenant, 'admin', 'support') }))).toBe(
      'ERR_FORBIDDEN',
    );
    expect(await refusal(offboarding.start({ actor: actorOf(operator, 'owner'), tenantId: tenant.id }))).toBe(
      'ERR_VALIDATION',
    );
    expect(
      await refusal(
        offboarding.start({
          actor: actorOf(operator, 'owner'),
          tenantId: tenant.id,
          agreementEndedOn: '2031-04-01',
        }),
      ),
    ).toBe('ERR_VALIDATION');
    // A tenant's owner cannot offboard another tenant.
    expect(await refusal(offboarding.start({ actor: actorOf(other, 'owner'), tenantId: tenant.id }))).toBe(
      'ERR_NOT_FOUND',
    );
    expect(await kluis.db.selectFrom('offboardings').selectAll().execute()).toEqual([]);
  });

  it('gives the owner the full export and destroys nothing during the notice period', async () => {
    const owner = actorOf(tenant, 'owner');
    const view = await kluis.services.offboarding.start({ actor: owner });
    expect(view.noticeEndsAt).toBe('2031-03-31T10:00:00.000Z');
    // Its pages and inbound mail stop at once (only an active org is served).
    expect((await kluis.services.orgs.findById(tenant.id))?.status).toBe('offboarding');
    const file = await kluis.services.offboarding.downloadExport(owner);
    const entries = await unzip(file.content);
    const text = (name: string) => entries.get(name)?.toString('utf8') ?? '';
    expect([...entries.keys()]).toEqual(
      expect.arrayContaining([
        'manifest.json',
        'tables/relations.json',
        'tables/relations.csv',
        'tables/relation_contacts.csv',
        'tables/relation_addresses.json',
        'register.json',
      ]),
    );
    expect(text('tables/relations.json')).toContain(FAMILY);
    expect(text('tables/relations.csv')).toContain(FAMILY);
    expect(text('tables/relation_addresses.csv')).toContain('Vertrekstraat');
    expect(text('tables/relation_contacts.json')).toContain(`${FAMILY}-Contact`);
    // Only this tenant's data.
    expect([...entries.values()].some((b) => b.includes('Blijvers-Control'))).toBe(false);
    expect(JSON.parse(text('manifest.json'))).toMatchObject({ org: tenant.id, tables: { relations: 2 } });

    expect(await refusal(kluis.services.offboarding.finish({ actor: owner }))).toBe('ERR_CONFLICT');
    expect(await kluis.services.offboarding.finishDue()).toEqual({ finished: 0 });
    expect(await count(tenant.id)).toBe(2);
  });

  it('destroys the tenant after the notice period, certifies it, and a restored older backup stays erased', async () => {
    const dbFile = kluis.dbFile ?? '';
    const dbKey = rawSqlcipherKey(kluis.config.databaseKey?.value ?? '');
    const sealed = await kluis.db
      .selectFrom('relations')
      .select(['family_name', 'email'])
      .where('id', '=', relationId)
      .executeTakeFirstOrThrow();
    const probes = [sealed.family_name, sealed.email].flatMap((b) => (b === null ? [] : [b.subarray(1, 29)]));
    expect(probes).toHaveLength(2);
    const dbBackup = join(kluis.dir, 'backup-db');
    const ksBackup = join(kluis.dir, 'backup-keys');
    if (sqlite) {
      await createBackup({ kluis, kind: 'database', outDir: dbBackup });
      await createBackup({ kluis, kind: 'keystore', outDir: ksBackup });
      await kluis.checkpoint();
      // Positive control: the decrypted pages hold the values before.
      const before = decryptSqlcipherPages(fileBytes(dbFile), dbKey);
      for (const p of probes) expect(before.includes(p)).toBe(true);
      expect(before.includes(COMPANY)).toBe(true);
    }

    clock.set('2031-03-31T10:00:01.000Z');
    expect(await kluis.services.offboarding.finishDue()).toEqual({ finished: 1 });
    expect((await kluis.services.orgs.findById(tenant.id))?.status).toBe('offboarded');
    certificate = await kluis.services.offboarding.certificate(actorOf(tenant, 'owner'));

    expect(await count(tenant.id)).toBe(0);
    expect(await count(other.id)).toBe(2);
    const keys = await kluis.keystore.selectFrom('org_keys').select('org_id').execute();
    expect(keys.map((k) => k.org_id)).not.toContain(tenant.id);
    expect(
      await kluis.keystore
        .selectFrom('subject_keys')
        .select('subject_id')
        .where('org_id', '=', tenant.id)
        .execute(),
    ).toEqual([]);
    // No fresh key can be minted for the offboarded org.
    expect(
      await refusal(kluis.keyring.encryptForOrg(tenant.id, { table: 't', column: 'c', rowId: 'r' }, 'x')),
    ).toBe('ERR_CRYPTO_KEY_DESTROYED');
    const actions = await kluis.db
      .selectFrom('audit_log')
      .select('action')
      .where('org_id', '=', tenant.id)
      .where('action', 'like', 'offboarding.%')
      .orderBy('seq')
      .execute();
    expect(actions.map((a) => a.action)).toEqual([
      'offboarding.started',
      'offboarding.export.downloaded',
      'offboarding.data_deleted',
      'offboarding.keys_destroyed',
    ]);

    if (!sqlite) return;
    const after = decryptSqlcipherPages(fileBytes(dbFile), dbKey);
    const wal = decryptSqlcipherWal(fileBytes(`${dbFile}-wal`), dbKey);
    for (const p of probes) {
      expect(after.includes(p), 'sealed value in the file').toBe(false);
      expect(wal.includes(p), 'sealed value in the WAL').toBe(false);
    }
    expect(after.includes(COMPANY) || wal.includes(COMPANY)).toBe(false);

    mkdirSync(join(kluis.dir, 'restored'));
    const dbTarget = join(kluis.dir, 'restored', 'kluis.db');
    const restored = await restoreBackup({ dir: dbBackup, to: dbTarget, config: kluis.config, clock });
    expect(restored.steps.find((x) => x.name === 'replay the erasure ledger')?.result).toMatch(/2 erasures/);
    const handle = openSqliteFile(dbTarget, kluis.config.databaseKey?.value, { readonly: true });
    const n = (orgId: string) =>
      (handle.prepare('select count(*) as n from relations where org_id = ?').get(orgId) as { n: number }).n;
    const counts = [n(tenant.id), n(other.id)];
    handle.close();
    expect(counts).toEqual([0, 2]);

    const ksTarget = join(kluis.dir, 'restored', 'kluis-keys.db');
    await restoreBackup({ dir: ksBackup, to: ksTarget, config: kluis.config, clock });
    const ks = openSqliteFile(ksTarget, keystoreEncryptionKey(kluis.config), { readonly: true });
    const keyCount = (table: string, orgId: string) =>
      (ks.prepare(`select count(*) as n from ${table} where org_id = ?`).get(orgId) as { n: number }).n;
    const restoredKeys = [
      keyCount('org_keys', tenant.id),
      keyCount('subject_keys', tenant.id),
      keyCount('org_key_tombstones', tenant.id),
      keyCount('org_keys', other.id),
    ];
    ks.close();
    expect(restoredKeys).toEqual([0, 0, 1, 1]);
  });

  it('issues a certificate that plain node:crypto verifies with the published key, and a changed byte fails', async () => {
    expect(certificate).not.toBe('');
    const app = await buildApp(kluis);
    try {
      const res = await app.inject({ method: 'GET', url: '/.well-known/kluis-audit-key' });
      expect(res.statusCode, res.body).toBe(200);
      const published = JSON.parse(res.body) as { publicKey: string; keyId: string };
      const publicKey = createPublicKey({
        key: Buffer.concat([
          Buffer.from('302a300506032b6570032100', 'hex'),
          Buffer.from(published.publicKey, 'base64'),
        ]),
        format: 'der',
        type: 'spki',
      });
      const check = (text: string) => {
        try {
          const file = JSON.parse(text) as { certificate: unknown; signature: string; key_id: string };
          return (
            file.key_id === published.keyId &&
            verify(
              null,
              Buffer.from(canonicalJson(file.certificate)),
              publicKey,
              Buffer.from(file.signature, 'base64'),
            )
          );
        } catch {
          return false;
        }
      };
      expect(check(certificate)).toBe(true);
      const parsed = JSON.parse(certificate) as {
        certificate: {
          tenant: { id: string };
          deleted: Record<string, number>;
          destroyed_keys: { org: string };
        };
      };
      expect(parsed.certificate.tenant.id).toBe(tenant.id);
      expect(parsed.certificate.deleted.relations).toBe(2);
      expect(parsed.certificate.destroyed_keys.org).toBe(tenant.id);
      const at = certificate.indexOf('"relations":2') + '"relations":'.length;
      const changed = `${certificate.slice(0, at)}3${certificate.slice(at + 1)}`;
      expect(changed).not.toBe(certificate);
      expect(check(changed)).toBe(false);

      // `kluis certificate verify <file>`: OK for the file, INVALID (exit 1) for a changed byte.
      const good = join(kluis.dir, 'certificate.json');
      const bad = join(kluis.dir, 'certificate-changed.json');
      writeFileSync(good, certificate);
      writeFileSync(bad, changed);
      const run = async (file: string) => {
        const cli = testCli({ kluis });
        const { Command } = await import('commander');
        const program = new Command().exitOverride();
        registerOffboardingCommands(program, cli.io);
        await program.parseAsync(['node', 'kluis', 'certificate', 'verify', file]);
        return { out: cli.out.text(), code: cli.code() };
      };
      expect(await run(good)).toMatchObject({
        code: 0,
        out: expect.stringContaining('OK deletion certificate'),
      });
      expect(await run(bad)).toMatchObject({ code: 1, out: expect.stringContaining('INVALID') });
    } finally {
      await app.close();
    }
  });
});
