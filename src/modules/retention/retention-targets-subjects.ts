/**
 * The data-subject target (P6, P15's erasure mechanics): a subject about whom nothing is left in
 * any table that references subjects is erased — its blind indexes cleared (derived data must go
 * too), `erased_at` set, and its key destroyed by the engine (crypto-shredding with a tombstone,
 * so no later call can mint a new key for it). The row stays as a tombstone, because released
 * legal holds and the ledger still name its id.
 */
import { type Kysely, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { DB } from '../../db/schema.js';
import { openStatuses } from '../rights/rights-schema.js';
import { firstKeptDay } from './retention-policies.js';
import {
  countOf,
  inOrg,
  type RetentionTarget,
  type SubjectReference,
  type TargetContext,
  walkAfter,
  walkKey,
} from './retention-target.js';

/**
 * A subject with any row in one of these tables still has something left. The catalogue test
 * (`retention-registry.test.ts`) fails when a table gains a `subject_id` column not listed here.
 */
export const subjectReferences: readonly SubjectReference[] = [
  { table: 'conversations', column: 'subject_id' },
  { table: 'relations', column: 'subject_id' },
  { table: 'relation_contacts', column: 'subject_id' },
  // A request still being handled needs its subject: an access request compiles what is kept
  // about them, and its reply is due within the legal deadline. Closed requests do not count.
  {
    table: 'rights_requests',
    column: 'subject_id',
    while: sql<SqlBool>`status in (${sql.join(openStatuses.map((s) => sql.lit(s)))})`,
  },
  // A prepared export is sealed with the subject's key: destroying the key before the download
  // would make it unreadable. Once downloaded or expired its content is gone.
  { table: 'rights_exports', column: 'subject_id', while: sql<SqlBool>`content is not null` },
];

/** Tables with a `subject_id` that do not keep a subject alive. */
export const subjectReferencesIgnored: readonly string[] = ['legal_holds', 'consent_records'];

/** `data_subjects.id` appears in none of the references (one anti-join per table, org-scoped). */
export function nothingLeft(
  orgId: string,
  refs: readonly SubjectReference[] = subjectReferences,
): RawBuilder<SqlBool> {
  // `is not null`: one null in a NOT IN list makes the test unknown for every subject.
  const parts = refs.map(
    (r) =>
      sql`data_subjects.id not in (select ${sql.ref(r.column)} from ${sql.table(r.table)} where org_id = ${orgId} and ${sql.ref(r.column)} is not null${
        r.while === undefined ? sql`` : sql` and ${r.while}`
      })`,
  );
  return sql<SqlBool>`(${sql.join(parts, sql` and `)})`;
}

function cutoff(ctx: TargetContext): string {
  const p = ctx.policies.data_subject;
  return firstKeptDay(p, p.value, ctx.asOf);
}

function erasable(db: Kysely<DB>, ctx: TargetContext) {
  return db
    .selectFrom('data_subjects')
    .where(inOrg(ctx, 'data_subjects.org_id'))
    .where('erased_at', 'is', null)
    .where('created_at', '<', cutoff(ctx))
    .where(nothingLeft(ctx.orgId));
}

export const subjectsTarget: RetentionTarget = {
  id: 'subjects.erase',
  policy: 'data_subject',
  action: 'delete',
  table: 'data_subjects',
  covers: ['data_subjects.email_bidx', 'data_subjects.phone_bidx'],

  async listExpired(db, ctx, limit, after) {
    const rows = await erasable(db, ctx)
      .select(['id', walkKey(ctx, 'data_subjects').as('cursor')])
      .where(walkAfter(ctx, 'data_subjects', after))
      .orderBy(walkKey(ctx, 'data_subjects'))
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: r.id, cursor: String(r.cursor), subjectIds: [r.id], parents: [] }));
  },

  countExpired: (db, ctx) => countOf(erasable(db, ctx)),

  async apply(trx, ctx, ids, mode) {
    if (ids.length === 0) return { applied: 0 };
    let query = trx
      .updateTable('data_subjects')
      .set({ erased_at: ctx.asOf.toISOString(), email_bidx: null, phone_bidx: null })
      .where(inOrg(ctx, 'data_subjects.org_id'))
      .where('id', 'in', ids);
    // A sweep re-checks inside the transaction that nothing arrived for the subject meanwhile.
    if (mode === 'sweep') {
      query = query
        .where('erased_at', 'is', null)
        .where('created_at', '<', cutoff(ctx))
        .where(nothingLeft(ctx.orgId));
    }
    const erased = await query.returning('id').execute();
    return {
      applied: erased.length,
      destroyKeysOf: mode === 'sweep' ? erased.map((r) => r.id) : [...ids],
    };
  },

  async countExpiringByMonth(_db, _ctx, months) {
    // A subject expires when its last record does; that is counted under the record's category.
    return new Map(months.map((m) => [m, 0]));
  },
};
