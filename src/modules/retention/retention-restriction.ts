/**
 * Restriction of processing (P6, Art. 18 GDPR): a record kept only because a legal duty still
 * needs it (the fiscal retention duty) is marked restricted when its ordinary purpose ends. It
 * then disappears from ordinary views and searches, stays readable by finance only, and is
 * deleted when the duty ends.
 *
 * How other modules use it: every list, search or detail query over a table that can hold
 * restricted records (those a provider declares `restrictable`) adds
 *
 *     .where(visibleTo(actor, 'relation_mandates', 'relation_mandates.id'))
 *
 * which is `true` for finance and `not exists (restriction)` for everyone else; a detail page
 * that finds nothing answers 404, as for another org's record. Code that must never show a
 * restricted record, whoever asks (e.g. a mail merge), uses `notRestricted(table, idRef)`.
 */
import { type Kysely, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Actor, OrgScope } from '../../shared/actor.js';
import { can } from '../../shared/permissions.js';

/**
 * A where-condition: the record whose id is `idRef` (e.g. `'relation_mandates.id'`) in `table`
 * is not restricted.
 */
export function notRestricted(table: string, idRef: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`not exists (select 1 from retention_restrictions rr where rr.table_name = ${table} and rr.record_id = ${sql.ref(idRef)})`;
}

/** A where-condition: the record may be shown to `actor` (finance sees restricted records too). */
export function visibleTo(actor: Actor, table: string, idRef: string): RawBuilder<SqlBool> {
  return canReadRestricted(actor) ? sql<SqlBool>`1 = 1` : notRestricted(table, idRef);
}

/** May `actor` read restricted records (`records.read_restricted`: finance)? */
export function canReadRestricted(actor: Pick<Actor, 'roles'>): boolean {
  return can(actor, 'records.read_restricted');
}

/** Is this one record restricted? */
export async function isRestricted(db: Kysely<DB>, table: string, id: string): Promise<boolean> {
  const row = await db
    .selectFrom('retention_restrictions')
    .select('record_id')
    .where('table_name', '=', table)
    .where('record_id', '=', id)
    .executeTakeFirst();
  return row !== undefined;
}

/** Which of `ids` are restricted (for list pages that mark them instead of hiding them). */
export async function restrictedAmong(
  db: Kysely<DB>,
  scope: OrgScope,
  table: string,
  ids: readonly string[],
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .selectFrom('retention_restrictions')
    .select('record_id')
    .where('org_id', '=', scope.orgId)
    .where('table_name', '=', table)
    .where('record_id', 'in', ids)
    .execute();
  return new Set(rows.map((r) => r.record_id));
}

export interface RestrictionRow {
  readonly table: string;
  readonly id: string;
  readonly restrictedUntil: string | null;
}

/** Marks records restricted (idempotent: a record already restricted keeps its first mark). */
export async function restrict(
  trx: Kysely<DB>,
  orgId: string,
  policyId: string,
  at: string,
  rows: readonly RestrictionRow[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    await trx
      .insertInto('retention_restrictions')
      .values(
        rows.slice(i, i + 500).map((r) => ({
          org_id: orgId,
          table_name: r.table,
          record_id: r.id,
          policy_id: policyId,
          restricted_at: at,
          restricted_until: r.restrictedUntil,
        })),
      )
      .onConflict((oc) => oc.columns(['table_name', 'record_id']).doNothing())
      .execute();
  }
}

/** Removes the marks of deleted records. */
export async function unrestrict(
  trx: Kysely<DB>,
  orgId: string,
  table: string,
  ids: readonly string[],
): Promise<void> {
  for (let i = 0; i < ids.length; i += 1000) {
    await trx
      .deleteFrom('retention_restrictions')
      .where('org_id', '=', orgId)
      .where('table_name', '=', table)
      .where('record_id', 'in', ids.slice(i, i + 1000))
      .execute();
  }
}

/** A restricted record's mark: since when, and until when if known. */
export interface RestrictionMark {
  readonly since: string;
  readonly until: string | null;
}

/** The marks of those of `ids` that are restricted (for the access export: Art. 18 per record). */
export async function restrictionMarks(
  db: Kysely<DB>,
  scope: OrgScope,
  table: string,
  ids: readonly string[],
): Promise<Map<string, RestrictionMark>> {
  const out = new Map<string, RestrictionMark>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db
      .selectFrom('retention_restrictions')
      .select(['record_id', 'restricted_at', 'restricted_until'])
      .where('org_id', '=', scope.orgId)
      .where('table_name', '=', table)
      .where('record_id', 'in', ids.slice(i, i + 500))
      .execute();
    for (const r of rows) out.set(r.record_id, { since: r.restricted_at, until: r.restricted_until });
  }
  return out;
}
