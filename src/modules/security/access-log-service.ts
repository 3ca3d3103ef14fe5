/**
 * The access log's use cases (P12): the retention sweep (IP addresses cut to their network after
 * N days, rows deleted after M days) and reading the log, which only the security role may do
 * and which is itself audited. The log holds no user id and is never joined to people or users.
 */
import { type Kysely, sql } from 'kysely';
import type { DB } from '../../db/schema.js';
import { type Actor, hasRole } from '../../shared/actor.js';
import { type Clock, DAY } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { localMidnight } from '../../shared/i18n/dates.js';
import { truncateIp } from './access-log-ip.js';
import {
  type AccessLogQuery,
  type AccessLogRow,
  type AccessLogScope,
  createAccessLogRepository,
} from './access-log-repository.js';
import { type AuditEvent, appendAudit } from './audit-chain.js';

export interface AccessLogSweepOptions {
  /** Addresses in rows older than this many days are cut to /24 (IPv4) or /48 (IPv6). */
  readonly truncateIpAfterDays: number;
  /** Rows older than this many days are deleted. */
  readonly deleteAfterDays: number;
  /** Rows per transaction (each batch is audited in its own transaction). */
  readonly batchSize?: number;
  /** Who runs the sweep, for the audit trail (default: the scheduled system job). */
  readonly actor?: AuditEvent['actor'];
}

export interface AccessLogSweepResult {
  readonly truncated: number;
  readonly deleted: number;
  readonly batches: number;
}

const sweepActor: AuditEvent['actor'] = { kind: 'anonymous', orgId: null, ref: 'system:access-log-sweep' };

/**
 * The retention sweep for the access log; meant to run as a recurring job. "Older than N days"
 * means strictly older than N × 24 hours at the moment the sweep starts. Each batch is one
 * transaction that also appends `security.access_log.swept` with its counts, so nothing is
 * removed without a trace (and nothing is removed if the trace cannot be written).
 */
export async function sweepAccessLog(
  db: Kysely<DB>,
  clock: Clock,
  options: AccessLogSweepOptions,
): Promise<AccessLogSweepResult> {
  const batchSize = options.batchSize ?? 5000;
  const now = clock.now().getTime();
  const truncateBefore = new Date(now - options.truncateIpAfterDays * DAY).toISOString();
  const deleteBefore = new Date(now - options.deleteAfterDays * DAY).toISOString();
  let truncated = 0;
  let deleted = 0;
  let batches = 0;
  for (;;) {
    const step = await db.transaction().execute(async (trx) => {
      const repo = createAccessLogRepository(trx);
      const gone = await repo.deleteOlderThan(deleteBefore, batchSize);
      const rows = await repo.findUntruncatedBetween(deleteBefore, truncateBefore, batchSize);
      const byNetwork = new Map<string | null, number[]>();
      for (const row of rows) {
        const network = truncateIp(row.ip);
        byNetwork.set(network, [...(byNetwork.get(network) ?? []), row.id]);
      }
      for (const [network, ids] of byNetwork) await repo.setTruncatedIp(ids, network);
      await appendAudit(trx, clock, {
        actor: options.actor ?? sweepActor,
        action: 'security.access_log.swept',
        fields: rows.length > 0 ? ['ip'] : [],
        meta: {
          deleted: gone,
          truncated: rows.length,
          truncateIpAfterDays: options.truncateIpAfterDays,
          deleteAfterDays: options.deleteAfterDays,
        },
      });
      return { gone, cut: rows.length };
    });
    deleted += step.gone;
    truncated += step.cut;
    batches++;
    if (step.gone < batchSize && step.cut < batchSize) break;
  }
  return { truncated, deleted, batches };
}

export const ACCESS_LOG_PAGE_SIZE = 50;
/** Deep offsets get slow; a bookmarked filter narrows instead. */
export const ACCESS_LOG_MAX_PAGE = 2000;

export interface AccessLogFilter {
  /** `YYYY-MM-DD`, inclusive, UTC. */
  readonly from?: string | undefined;
  /** `YYYY-MM-DD`, inclusive, UTC. */
  readonly to?: string | undefined;
  readonly status?: number | undefined;
  readonly route?: string | undefined;
  readonly page: number;
}

export interface AccessLogPage {
  readonly rows: readonly AccessLogRow[];
  readonly total: number;
  readonly page: number;
  readonly pageSize: number;
  readonly pages: number;
}

/** Whose access-log rows an actor may read: none without the security role (P12). */
export function accessLogScopeOf(actor: Actor): AccessLogScope {
  if (!hasRole(actor, 'security')) {
    throw new AppError('ERR_FORBIDDEN', { message: 'the access log is readable by the security role only' });
  }
  return actor.orgKind === 'operator' ? { kind: 'installation' } : { kind: 'org', orgId: actor.orgId };
}

/** The access log's periods (P12): addresses cut after N days, rows deleted after M days. */
export type AccessLogPeriods = Pick<AccessLogSweepOptions, 'truncateIpAfterDays' | 'deleteAfterDays'>;

export function createAccessLogService(deps: { db: Kysely<DB>; clock: Clock }) {
  const { db, clock } = deps;
  return {
    /** The retention engine's access-log step (see `sweepAccessLog`). */
    sweep: (options: AccessLogSweepOptions): Promise<AccessLogSweepResult> =>
      sweepAccessLog(db, clock, options),

    /** What a sweep would do now (the dry run): rows to delete, addresses to cut; one org or all. */
    async due(periods: AccessLogPeriods, orgId?: string): Promise<{ deleted: number; truncated: number }> {
      const now = clock.now().getTime();
      const deleteBefore = new Date(now - periods.deleteAfterDays * DAY).toISOString();
      const truncateBefore = new Date(now - periods.truncateIpAfterDays * DAY).toISOString();
      let base = db.selectFrom('access_log');
      if (orgId !== undefined) base = base.where('org_id', '=', orgId);
      const count = (q: typeof base) =>
        q.select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirst();
      const deleted = await count(base.where('at', '<', deleteBefore));
      const truncated = await count(
        base.where('ip_truncated', '=', 0).where('at', '>=', deleteBefore).where('at', '<', truncateBefore),
      );
      return { deleted: Number(deleted?.n ?? 0), truncated: Number(truncated?.n ?? 0) };
    },

    /** Rows per day (`YYYY-MM-DD`) for the retention forecast; one org or the installation. */
    async rowsPerDay(orgId?: string): Promise<{ day: string; n: number | string }[]> {
      const day = sql<string>`substr(at, 1, 10)`;
      let query = db
        .selectFrom('access_log')
        .select([day.as('day'), (eb) => eb.fn.countAll<number | string>().as('n')])
        .groupBy(day);
      if (orgId !== undefined) query = query.where('org_id', '=', orgId);
      return query.execute();
    },

    /** One page of the access log, newest first; the read is audited (P12). */
    async list(actor: Actor, filter: AccessLogFilter): Promise<AccessLogPage> {
      const scope = accessLogScopeOf(actor);
      const page = Math.min(Math.max(1, filter.page), ACCESS_LOG_MAX_PAGE);
      const query: AccessLogQuery = {
        // Days on the Amsterdam clock, as the page shows the times.
        fromAt: filter.from === undefined ? undefined : localMidnight(filter.from),
        toAt: filter.to === undefined ? undefined : localMidnight(nextDay(filter.to)),
        status: filter.status,
        routePrefix: filter.route,
      };
      return db.transaction().execute(async (trx) => {
        await appendAudit(trx, clock, {
          actor,
          action: 'security.access_log.read',
          target: { type: 'access_log', id: scope.kind === 'org' ? scope.orgId : 'installation' },
          purpose: 'security',
          fields: ['ip', 'user_agent'],
          meta: {
            from: filter.from ?? null,
            to: filter.to ?? null,
            status: filter.status ?? null,
            route: filter.route ?? null,
            page,
          },
        });
        const repo = createAccessLogRepository(trx);
        const total = await repo.count(scope, query);
        const rows = await repo.list(scope, query, ACCESS_LOG_PAGE_SIZE, (page - 1) * ACCESS_LOG_PAGE_SIZE);
        return {
          rows,
          total,
          page,
          pageSize: ACCESS_LOG_PAGE_SIZE,
          pages: Math.max(1, Math.ceil(total / ACCESS_LOG_PAGE_SIZE)),
        };
      });
    },
  };
}

export type AccessLogService = ReturnType<typeof createAccessLogService>;

/** The calendar day after `date` (both `YYYY-MM-DD`). */
function nextDay(date: string): string {
  return new Date(new Date(`${date}T00:00:00.000Z`).getTime() + DAY).toISOString().slice(0, 10);
}
