/**
 * Vault's rule: if the audit trail cannot be written, the action does not happen. A use case
 * appends its audit entry inside its own transaction, so a failed append rolls the whole
 * transaction back.
 */
import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { isPostgres } from '../../db/dialect.js';
import type { DB } from '../../db/schema.js';
import { createFixedClock } from '../../shared/clock.js';
import { isAppError } from '../../shared/errors.js';
import { createOrgsRepository } from '../orgs/orgs-repository.js';
import { appendAudit } from './audit-chain.js';

const clock = createFixedClock('2025-02-01T09:00:00.000Z');

/** A small use case: creates a tenant and audits it in the same transaction. */
async function createTenantAudited(db: Kysely<DB>, slug: string): Promise<string> {
  return db.transaction().execute(async (trx) => {
    const org = await createOrgsRepository(trx).insert({
      kind: 'tenant',
      name: slug,
      slug,
      now: clock.now().toISOString(),
    });
    await appendAudit(trx, clock, {
      actor: { kind: 'anonymous', orgId: org.id, ref: 'system:test' },
      action: 'orgs.created',
      target: { type: 'org', id: org.id },
    });
    return org.id;
  });
}

async function refuseAuditInserts(db: Kysely<DB>): Promise<void> {
  if (isPostgres(db as Kysely<unknown>)) {
    await sql`create function refuse_insert() returns trigger language plpgsql as $$
      begin raise exception 'audit storage unavailable'; end $$`.execute(db);
    await sql`create trigger audit_log_refuse_insert before insert on audit_log
      for each row execute function refuse_insert()`.execute(db);
  } else {
    await sql`create trigger audit_log_refuse_insert before insert on audit_log
      begin select raise(abort, 'audit storage unavailable'); end`.execute(db);
  }
}

describe('vault’s rule', () => {
  let kluis: TestKluis;
  beforeEach(async () => {
    kluis = await createTestKluis({ clock });
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  const slug = () => `t-${randomUUID().slice(0, 8)}`;
  const orgCount = async () => (await kluis.db.selectFrom('orgs').select('id').execute()).length;
  const auditCount = async () => (await kluis.db.selectFrom('audit_log').select('seq').execute()).length;

  it('commits the action together with its audit entry when the trail can be written', async () => {
    const id = await createTenantAudited(kluis.db, slug());
    expect(await orgCount()).toBe(1);
    const entry = await kluis.db.selectFrom('audit_log').selectAll().executeTakeFirstOrThrow();
    expect(entry).toMatchObject({ action: 'orgs.created', target_id: id, seq: 1 });
  });

  it('undoes the action when the audit head is gone', async () => {
    await kluis.db.deleteFrom('audit_head').execute();
    const error = await createTenantAudited(kluis.db, slug()).catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe('ERR_AUDIT_WRITE_FAILED');
    expect(await orgCount()).toBe(0);
  });

  it('undoes the action when the audit table refuses writes', async () => {
    await refuseAuditInserts(kluis.db);
    const error = await createTenantAudited(kluis.db, slug()).catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe('ERR_AUDIT_WRITE_FAILED');
    expect(await orgCount()).toBe(0);
    expect(await auditCount()).toBe(0);
  });

  it('leaves the head untouched when a stand-alone append fails half-way', async () => {
    await refuseAuditInserts(kluis.db);
    const error = await appendAudit(kluis.db, clock, {
      actor: { kind: 'anonymous', orgId: null },
      action: 'test.standalone',
    }).catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe('ERR_AUDIT_WRITE_FAILED');
    const head = await kluis.db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
    expect(Number(head.seq)).toBe(0);
  });
});
