/**
 * The data-subject target (P6, P15's erasure mechanics): a subject about whom nothing is left in
 * any table that references subjects (as the modules' providers declare them) is erased — its
 * blind indexes cleared (derived data must go too), `erased_at` set, and its key destroyed by the engine (crypto-shredding with a tombstone,
 * so no later call can mint a new key for it). The row stays as a tombstone, because released
 * legal holds and the ledger still name its id.
 */
import { type Kysely, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { DB } from '../../db/schema.js';
import {
  countOf,
  firstKeptDay,
  inOrg,
  nextBatch,
  type RetentionTarget,
  type SubjectReference,
  type TargetContext,
} from '../retention/index.js';

/** The ledger's (and the report's) name of this target. */
export const SUBJECTS_ERASE_TARGET = 'subjects.erase';

/**
 * `data_subjects.id` appears in none of `refs` — the rows every provider says keep a subject (one
 * anti-join per table, org-scoped).
 */
export function nothingLeft(orgId: string, refs: readonly SubjectReference[]): RawBuilder<SqlBool> {
  // `is not null`: one null in a NOT IN list makes the test unknown for every subject.
  const parts = refs.map(
    (r) =>
      sql`data_subjects.id not in (select ${sql.ref(r.column)} from ${sql.table(r.table)} where org_id = ${orgId} and ${sql.ref(r.column)} is not null${
        r.while === undefined ? sql`` : sql` and ${r.while}`
      })`,
  );
  return parts.length === 0 ? sql<SqlBool>`1 = 1` : sql<SqlBool>`(${sql.join(parts, sql` and `)})`;
}

function referencesOf(ctx: TargetContext): SubjectReference[] {
  return ctx.providers.flatMap((p) => p.subjectReferences ?? []);
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
    .where(nothingLeft(ctx.orgId, referencesOf(ctx)));
}

export const subjectsTarget: RetentionTarget = {
  id: SUBJECTS_ERASE_TARGET,
  phase: 'subjects',
  shredsKeys: true,
  policy: 'data_subject',
  action: 'delete',
  table: 'data_subjects',
  covers: ['data_subjects.email_bidx', 'data_subjects.phone_bidx'],

  async listExpired(db, ctx, limit, after) {
    const rows = await nextBatch(
      erasable(db, ctx).select('id'),
      ctx,
      'data_subjects',
      after,
      limit,
    ).execute();
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
        .where(nothingLeft(ctx.orgId, referencesOf(ctx)));
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
