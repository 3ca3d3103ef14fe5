/**
 * The access log's table (P12). There is deliberately no user id, no join and no look-up by
 * person: the log is read as a list of requests, filtered by date, status and route. Reads are
 * scoped: the operator's security role sees the whole installation (the operator runs the
 * infrastructure this metadata is about, P12); a tenant's security role sees its own org's rows.
 */
import { type Kysely, type Selectable, sql } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { AccessLogTable } from './security-schema.js';

/** A stored row. */
export type AccessLogRow = Selectable<AccessLogTable>;
/** A row to store: the database numbers it. */
export type NewAccessLogRow = Omit<AccessLogRow, 'id'>;

/**
 * A new row as the writer queues it, by position: `at, org_id, ip, user_agent, method, route,
 * status, request_id` (the address is complete, `ip_truncated` = 0). Arrays cost half as much as
 * objects to post to the worker thread, and bind by position there.
 */
export type AccessLogTuple = readonly [
  at: string,
  orgId: string | null,
  ip: string | null,
  userAgent: string | null,
  method: string,
  route: string,
  status: number,
  requestId: string,
];

/** The INSERT for one tuple, with `?` placeholders in tuple order (the worker's statement). */
export const insertTupleSql = `INSERT INTO access_log (at, org_id, ip, user_agent, method, route, status, request_id, ip_truncated)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)`;

export function rowOfTuple(t: AccessLogTuple): NewAccessLogRow {
  const [at, org_id, ip, user_agent, method, route, status, request_id] = t;
  return { at, org_id, ip, ip_truncated: 0, user_agent, method, route, status, request_id };
}

/** Whose rows a reader may see. */
export type AccessLogScope =
  | { readonly kind: 'installation' }
  | { readonly kind: 'org'; readonly orgId: string };

export interface AccessLogQuery {
  /** Inclusive lower bound (ISO time). */
  readonly fromAt?: string | undefined;
  /** Exclusive upper bound (ISO time). */
  readonly toAt?: string | undefined;
  readonly status?: number | undefined;
  /** Route pattern prefix, e.g. `/staff` or `/login`. */
  readonly routePrefix?: string | undefined;
}

/** Rows per INSERT statement: stays far below SQLite's and PostgreSQL's bound-parameter limits. */
const ROWS_PER_INSERT = 1000;

export function createAccessLogRepository(db: Kysely<DB>) {
  function filtered(scope: AccessLogScope, q: AccessLogQuery) {
    let query = db.selectFrom('access_log');
    if (scope.kind === 'org') query = query.where('org_id', '=', scope.orgId);
    if (q.fromAt !== undefined) query = query.where('at', '>=', q.fromAt);
    if (q.toAt !== undefined) query = query.where('at', '<', q.toAt);
    if (q.status !== undefined) query = query.where('status', '=', q.status);
    if (q.routePrefix !== undefined && q.routePrefix !== '') {
      // substr instead of LIKE: no wildcard escaping, and the same case rules on both dialects.
      const prefix = q.routePrefix;
      query = query.where(sql<string>`substr(route, 1, ${prefix.length})`, '=', prefix);
    }
    return query;
  }

  return {
    /** Multi-row inserts, one statement per up to 1000 rows. */
    async insertMany(rows: readonly NewAccessLogRow[]): Promise<void> {
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        await db
          .insertInto('access_log')
          .values(rows.slice(i, i + ROWS_PER_INSERT))
          .execute();
      }
    },

    /** Newest first; `offset` pagination (bounded by the caller). */
    list(scope: AccessLogScope, q: AccessLogQuery, limit: number, offset: number): Promise<AccessLogRow[]> {
      return filtered(scope, q)
        .selectAll()
        .orderBy('at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .offset(offset)
        .execute();
    },

    async count(scope: AccessLogScope, q: AccessLogQuery): Promise<number> {
      const row = await filtered(scope, q)
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },

    /** Deletes up to `limit` of the oldest rows older than `cutoff`; returns how many. */
    async deleteOlderThan(cutoff: string, limit: number): Promise<number> {
      const result = await db
        .deleteFrom('access_log')
        .where('id', 'in', (eb) =>
          eb.selectFrom('access_log').select('id').where('at', '<', cutoff).orderBy('at').limit(limit),
        )
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    /**
     * Up to `limit` rows from `notBefore` up to (not including) `cutoff` whose address is still
     * complete. (Rows before `notBefore` are due for deletion; cutting them first is wasted work.)
     */
    findUntruncatedBetween(
      notBefore: string,
      cutoff: string,
      limit: number,
    ): Promise<Pick<AccessLogRow, 'id' | 'ip'>[]> {
      return db
        .selectFrom('access_log')
        .select(['id', 'ip'])
        .where('ip_truncated', '=', 0)
        .where('at', '>=', notBefore)
        .where('at', '<', cutoff)
        .orderBy('at')
        .limit(limit)
        .execute();
    },

    async setTruncatedIp(ids: readonly number[], ip: string | null): Promise<void> {
      if (ids.length === 0) return;
      await db.updateTable('access_log').set({ ip, ip_truncated: 1 }).where('id', 'in', ids).execute();
    },
  };
}
