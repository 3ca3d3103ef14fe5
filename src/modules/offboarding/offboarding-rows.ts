/**
 * Deleting every row of an offboarded tenant (Art. 28(3)(g), P10). A generic mechanism over the
 * tables the module manifests declare, like the access export's reads: each table is deleted on
 * behalf of the module that owns it, children first (module order and each manifest's order,
 * reversed). What stays is named with its reason, and holds no personal value:
 *
 * - the organisation row itself (its id, kind, name and slug: the certificate and the audit trail
 *   name it), and this module's own record of the offboarding;
 * - the audit trail (hash-chained, append-only: ids and field names only, never values);
 * - published statement versions (immutable public text, no personal data);
 * - the job queue (ids only; a finishing job is itself one of its rows).
 *
 * Unconditional and idempotent: the erasure-ledger replay after a backup restore runs it again
 * (`tenantRowsTarget`), so a restored copy keeps the tenant erased.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { installedPersonalData, type PersonalDataRegistry } from '../personal-data.js';
import type { RetentionTarget } from '../retention/index.js';

/** The ledger's names for a tenant's offboarding (ids are organisation ids). */
export const OFFBOARDING_ROWS_TARGET = 'offboarding.tenant_rows';
export const OFFBOARDING_KEYS_TARGET = 'offboarding.org_key';

/** The tables whose rows of the tenant stay, with the reason (in the certificate too). */
export const keptTables: Readonly<Record<string, string>> = {
  orgs: 'the organisation row (id, kind, name, slug): the certificate and the audit trail name it',
  offboardings: 'the record of the offboarding and its certificate (ids, counts, dates)',
  audit_log: 'the hash-chained audit trail: ids and field names only, never values',
  audit_head: 'head of the audit chain',
  audit_checkpoints: 'signed checkpoints of the audit chain',
  statement_versions: 'published privacy statements: immutable public text, no personal data',
  jobs: 'the job queue: ids only (the finishing job is one of its rows)',
};

type LooseDB = Record<string, Record<string, unknown>>;

/** The tables that hold rows per organisation (an `org_id` column), children first. */
export async function orgTables(db: Kysely<DB>, registry: PersonalDataRegistry): Promise<string[]> {
  const withOrg = new Set(
    (await db.introspection.getTables())
      .filter((t) => t.columns.some((c) => c.name === 'org_id'))
      .map((t) => t.name),
  );
  return [...registry.tables()].reverse().filter((t) => withOrg.has(t) && !Object.hasOwn(keptTables, t));
}

/** What would go: rows per table of the tenant (for the page and the certificate's counts). */
export async function countOrgRows(
  db: Kysely<DB>,
  orgId: string,
  registry: PersonalDataRegistry = installedPersonalData(),
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const loose = db as unknown as Kysely<LooseDB>;
  for (const table of await orgTables(db, registry)) {
    const row = await loose
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    const n = Number(row?.n ?? 0);
    if (n > 0) counts[table] = n;
  }
  return counts;
}

/** Deletes every row of `orgId` outside the kept tables, in the caller's transaction; rows per table. */
export async function deleteOrgRows(
  trx: Kysely<DB>,
  orgId: string,
  registry: PersonalDataRegistry = installedPersonalData(),
): Promise<Record<string, number>> {
  const deleted: Record<string, number> = {};
  const loose = trx as unknown as Kysely<LooseDB>;
  for (const table of await orgTables(trx, registry)) {
    const result = await loose.deleteFrom(table).where('org_id', '=', orgId).executeTakeFirst();
    const n = Number(result.numDeletedRows);
    if (n > 0) deleted[table] = n;
  }
  return deleted;
}

const replayOnly = {
  phase: 'subjects',
  policy: 'data_subject',
  action: 'delete',
  table: 'orgs',
  covers: [],
  listExpired: async () => [],
  countExpired: async () => 0,
  countExpiringByMonth: async (_db, _ctx, months) => new Map(months.map((m) => [m, 0])),
} satisfies Omit<RetentionTarget, 'id' | 'apply'>;

/** The ledger replay of an offboarding: every row of the tenant deleted again. */
export const tenantRowsTarget: RetentionTarget = {
  ...replayOnly,
  id: OFFBOARDING_ROWS_TARGET,
  async apply(trx, _ctx, ids) {
    let applied = 0;
    for (const orgId of ids) {
      const deleted = await deleteOrgRows(trx, orgId);
      applied += Object.values(deleted).reduce((a, b) => a + b, 0);
    }
    return { applied };
  },
};

/** The key store's replay of an offboarding: the org key and every subject key under it destroyed again. */
export const tenantKeysTarget: RetentionTarget = {
  ...replayOnly,
  id: OFFBOARDING_KEYS_TARGET,
  shredsOrgKey: true,
  apply: async () => ({ applied: 0 }),
};
