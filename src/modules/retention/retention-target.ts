/**
 * What a data-owning module gives the retention engine (P6): how to find its expired records,
 * how to delete, anonymise or restrict them, and how many expire in the months ahead. Modules
 * declare their targets in their personal-data provider (`../personal-data.ts`); the engine runs
 * them per organisation, records first and the subjects they free last (`phase`), and within a
 * phase in module order and the order each provider lists them.
 *
 * Rules for a target:
 * - `listExpired` returns records in `walkKey` order after `after` (the engine's cursor), at
 *   most `limit`, org-scoped, with the data subjects they belong to (for legal holds).
 * - `apply` in mode `sweep` re-checks expiry inside the transaction (a record reopened meanwhile
 *   is left alone); in mode `replay` (after a backup restore) it applies unconditionally, because
 *   the restored copy may predate the very event that made the record expire.
 * - Everything is idempotent: applying twice leaves the same state.
 */
import { type Kysely, type RawBuilder, type SelectQueryBuilder, type SqlBool, sql } from 'kysely';
import type { DialectName } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import { AppError } from '../../shared/errors.js';
import type { PersonalDataProvider } from '../personal-data.js';
import {
  type EffectivePolicies,
  expiresOn,
  firstKeptDay,
  type ManagedPolicyId,
  monthOf,
  type PolicyDefinition,
} from './retention-policies.js';
import type { RetentionAction } from './retention-schema.js';

export interface TargetContext {
  readonly orgId: string;
  readonly dialect: DialectName;
  /** The run's reference time. */
  readonly asOf: Date;
  readonly policies: EffectivePolicies;
  /** Every module's personal-data provider (a target that depends on the others reads them here). */
  readonly providers: readonly PersonalDataProvider[];
  /** On a ledger replay: the line's `carry`, by module (what an erasure on request carried). */
  readonly ledgerCarry?: Readonly<Record<string, unknown>> | undefined;
}

export interface Candidate {
  readonly id: string;
  /** Where the walk stands after this record (see `walkKey`). */
  readonly cursor: string;
  /** The data subjects this record is about: a hold on any of them holds the record. */
  readonly subjectIds: readonly string[];
  /** Other records (`table:id`) whose hold also holds this one, e.g. a mandate's relation. */
  readonly parents: readonly string[];
}

export type ApplyMode = 'sweep' | 'replay';

export interface ApplyResult {
  /** Records deleted, anonymised or restricted. */
  readonly applied: number;
  /** Subjects whose key the engine must destroy now (crypto-shredding). */
  readonly destroyKeysOf?: readonly string[];
}

/** The records one sweep batch listed, as a range of the walk (see `applyWalked`). */
export interface WalkedBatch {
  /** The cursor before the batch (`''`: from the start). */
  readonly after: string;
  /** The walk key of the batch's last listed record. */
  readonly through: string;
  /** Ids of listed records a legal hold protects: they stay. */
  readonly held: readonly string[];
}

/**
 * `records` run first; `subjects` last, so that a subject whose last record goes in a run is
 * erased in the same run.
 */
export type TargetPhase = 'records' | 'subjects';

export interface RetentionTarget {
  /** Stable id, `module.what`; also the category shown in reports and the forecast. */
  readonly id: string;
  readonly phase: TargetPhase;
  /** The ids this target applies to are data subjects whose keys it destroys (the key store's replay). */
  readonly shredsKeys?: boolean;
  /** The ids this target applies to are organisations whose org key (and every subject key) it destroys. */
  readonly shredsOrgKey?: boolean;
  readonly policy: ManagedPolicyId;
  readonly action: RetentionAction;
  /** The table of the record a candidate id names (for holds and the ledger). */
  readonly table: string;
  /** Catalogue fields (table.column) this target removes: checked against the catalogue in tests. */
  readonly covers: readonly string[];
  listExpired(db: Kysely<DB>, ctx: TargetContext, limit: number, after: string): Promise<Candidate[]>;
  /** Expired records ignoring holds (a cheap count for progress bars). */
  countExpired(db: Kysely<DB>, ctx: TargetContext): Promise<number>;
  apply(trx: Kysely<DB>, ctx: TargetContext, ids: readonly string[], mode: ApplyMode): Promise<ApplyResult>;
  /**
   * Optional, for targets with many small records: the sweep of exactly the records `listExpired`
   * returned in this same transaction — every record its filter selects with a walk key in
   * (`after`, `through`] — except the held ones, addressed by that key range instead of by
   * thousands of bound ids looked up one by one. Same effect as `apply(ids, 'sweep')`; the
   * engine refuses a result that touched more records than were listed.
   */
  applyWalked?(trx: Kysely<DB>, ctx: TargetContext, batch: WalkedBatch): Promise<ApplyResult>;
  /** Records expiring per month (`YYYY-MM` → count) for `months`; overdue ones count in the first. */
  countExpiringByMonth(
    db: Kysely<DB>,
    ctx: TargetContext,
    months: readonly string[],
  ): Promise<Map<string, number>>;
}

/** Where data subjects are referenced: a subject is erased only when none of these rows remain. */
export interface SubjectReference {
  readonly table: keyof DB & string;
  readonly column: string;
  /**
   * Only rows matching this keep a subject (e.g. an open request); without it, every row does.
   * Plain SQL on the table's own columns.
   */
  readonly while?: RawBuilder<SqlBool>;
}

/**
 * Buckets counts per reference day (or any prefix of an ISO date) by the month they expire in.
 * Days already expired fall into the first month; days expiring after the last month are dropped.
 */
export function bucketByExpiry(
  rows: readonly { day: string | null; n: number | string | bigint }[],
  policy: Pick<PolicyDefinition, 'trigger' | 'unit'>,
  value: number,
  months: readonly string[],
): Map<string, number> {
  const out = new Map<string, number>(months.map((m) => [m, 0]));
  const first = months[0];
  const last = months[months.length - 1];
  if (first === undefined || last === undefined) return out;
  for (const row of rows) {
    if (row.day === null) continue;
    const day = row.day.length === 4 ? `${row.day}-12-31` : row.day.length === 7 ? `${row.day}-01` : row.day;
    const month = monthOf(expiresOn(policy, value, day));
    if (month > last) continue;
    // Already expired (not swept yet): counted in the first month.
    let bucket = month;
    if (bucket < first) bucket = first;
    out.set(bucket, (out.get(bucket) ?? 0) + Number(row.n));
  }
  return out;
}

/**
 * The first day `policy` (as this organisation set it) still keeps at the run's time: a record
 * whose reference day sorts before it has expired.
 */
export function policyCutoff(ctx: Pick<TargetContext, 'policies' | 'asOf'>, policy: ManagedPolicyId): string {
  const p = ctx.policies[policy];
  return firstKeptDay(p, p.value, ctx.asOf);
}

/**
 * `countExpiringByMonth` of a target: `query`'s records counted per reference day (`from`, the
 * date their period runs from; per year where the period runs from the end of a fiscal year) and
 * bucketed by the month they expire in under `period` (by default the policy's own trigger).
 * The day expression is inlined (no bound length), so select and group by are the same SQL on
 * PostgreSQL.
 */
export async function expiringByMonth<TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  o: {
    readonly from: string | RawBuilder<unknown>;
    readonly perYear?: boolean;
    readonly period: Pick<PolicyDefinition, 'trigger' | 'unit'>;
    readonly value: number;
    readonly months: readonly string[];
  },
): Promise<Map<string, number>> {
  const from = typeof o.from === 'string' ? sql.ref(o.from) : o.from;
  const day = sql<string | null>`substr(${from}, 1, ${sql.lit(o.perYear === true ? 4 : 10)})`;
  const rows = await query
    .select([day.as('day'), (eb) => eb.fn.countAll<number | string>().as('n')])
    .groupBy(day)
    .execute();
  return bucketByExpiry(rows, o.period, o.value, o.months);
}

/** Splits `ids` into chunks that stay under every driver's bound-parameter limit. */
export function chunks<T>(items: readonly T[], size = 1000): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** `count(*)` of a query's rows. */
export async function countOf<TB extends keyof DB>(
  query: SelectQueryBuilder<DB, TB, object>,
): Promise<number> {
  const row = await query.select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * `<column> = ctx.orgId`. On SQLite written so that the planner does not take it as its access
 * path: sweeps walk the rowid (the cursor) or an index on the id list, and left alone SQLite
 * picks any `(org_id, ...)` index instead and sorts the whole organisation for every batch,
 * which makes a sweep quadratic. PostgreSQL plans the plain comparison well (with statistics).
 * The filter applies to every row either way.
 */
export function inOrg(ctx: Pick<TargetContext, 'dialect' | 'orgId'>, column: string): RawBuilder<SqlBool> {
  return ctx.dialect === 'sqlite'
    ? sql<SqlBool>`${sql.ref(column)} || '' = ${ctx.orgId}`
    : sql<SqlBool>`${sql.ref(column)} = ${ctx.orgId}`;
}

/**
 * The order a sweep walks a table in. On SQLite the rowid: physical order, so the rows of one
 * batch share pages and a batch rewrites (and re-encrypts) few pages instead of one per row, as
 * walking random UUIDs would. On PostgreSQL the id (a delete only marks heap tuples there).
 * A VACUUM may renumber SQLite rowids; a run resumed after one may then leave some records to
 * the next run, never touch a record twice in a harmful way (everything is idempotent).
 */
export function walkKey(ctx: Pick<TargetContext, 'dialect'>, table: string): RawBuilder<string | number> {
  return ctx.dialect === 'sqlite' ? sql`${sql.table(table)}.rowid` : sql`${sql.ref(`${table}.id`)}`;
}

/** Rows after the cursor `after` in `walkKey` order (`''`: from the start). */
export function walkAfter(
  ctx: Pick<TargetContext, 'dialect'>,
  table: string,
  after: string,
): RawBuilder<SqlBool> {
  if (ctx.dialect === 'sqlite') {
    const n = after === '' ? 0 : Number(after);
    return sql<SqlBool>`${sql.table(table)}.rowid > ${Number.isFinite(n) ? n : 0}`;
  }
  return sql<SqlBool>`${sql.ref(`${table}.id`)} > ${after}`;
}

/** Rows with a walk key in (`after`, `through`]: the range one batch listed. */
export function walkWithin(
  ctx: Pick<TargetContext, 'dialect'>,
  table: string,
  after: string,
  through: string,
): RawBuilder<SqlBool> {
  if (ctx.dialect === 'sqlite') {
    const last = Number(through);
    if (!Number.isSafeInteger(last)) {
      throw new AppError('ERR_INTERNAL', { message: `not a rowid cursor: ${through}` });
    }
    return sql<SqlBool>`(${walkAfter(ctx, table, after)} and ${sql.table(table)}.rowid <= ${last})`;
  }
  return sql<SqlBool>`(${walkAfter(ctx, table, after)} and ${sql.ref(`${table}.id`)} <= ${through})`;
}

/**
 * One batch of a walk over `table`: `query`'s rows after the cursor `after`, in walk order, at most
 * `limit`, each with the `cursor` the walk stands at after it.
 */
export function nextBatch<D, TB extends keyof D, O>(
  query: SelectQueryBuilder<D, TB, O>,
  ctx: Pick<TargetContext, 'dialect'>,
  table: string,
  after: string,
  limit: number,
) {
  return query
    .select(walkKey(ctx, table).as('cursor'))
    .where(walkAfter(ctx, table, after))
    .orderBy(walkKey(ctx, table))
    .limit(limit);
}

/**
 * `listExpired` of a target whose records each name (at most) one data subject: the next batch of
 * `query` (see `nextBatch`) as candidates, without parents.
 */
export async function subjectBatch<TB extends keyof DB>(
  query: SelectQueryBuilder<DB, TB, { id: string; subject_id: string | null }>,
  ctx: Pick<TargetContext, 'dialect'>,
  table: string,
  after: string,
  limit: number,
): Promise<Candidate[]> {
  const rows = await nextBatch(query, ctx, table, after, limit).execute();
  return rows.map((r) => ({
    id: r.id,
    cursor: String(r.cursor),
    subjectIds: r.subject_id === null ? [] : [r.subject_id],
    parents: [],
  }));
}

/**
 * The ids a batch may change: in a sweep only those `expiredAmong` still selects inside its
 * transaction (a record reopened meanwhile stays); on a replay every one of them.
 */
export async function stillExpired(
  mode: ApplyMode,
  ids: readonly string[],
  expiredAmong: (ids: readonly string[]) => Promise<readonly { id: string }[]>,
): Promise<string[]> {
  return mode === 'sweep' ? (await expiredAmong(ids)).map((r) => r.id) : [...ids];
}

/**
 * The parts of a target whose records each name (at most) one data subject in `subject_id`, all
 * from the one definition of an expired record (`expired`, a query over `table`): the sweep's
 * batches (`list`), the dry run's count (`count`) and `apply`'s re-check (`still`) can then never
 * disagree on what has expired.
 */
export function subjectRecords<TB extends keyof DB & string>(
  table: TB,
  expired: (db: Kysely<DB>, ctx: TargetContext) => SelectQueryBuilder<DB, TB, object>,
) {
  const id = sql.ref<string>(`${table}.id`);
  const subject = sql.ref<string | null>(`${table}.subject_id`);
  return {
    list: (db: Kysely<DB>, ctx: TargetContext, limit: number, after: string): Promise<Candidate[]> =>
      subjectBatch(
        expired(db, ctx).select([id.as('id'), subject.as('subject_id')]),
        ctx,
        table,
        after,
        limit,
      ),
    count: (db: Kysely<DB>, ctx: TargetContext): Promise<number> => countOf(expired(db, ctx)),
    still: (
      trx: Kysely<DB>,
      ctx: TargetContext,
      mode: ApplyMode,
      ids: readonly string[],
    ): Promise<string[]> =>
      stillExpired(mode, ids, (some) =>
        expired(trx, ctx).select(id.as('id')).where(id, 'in', some).execute(),
      ),
  };
}
