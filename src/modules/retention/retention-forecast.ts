/**
 * The forecast (P6): how many records expire per month over the next 24 months, per category,
 * from the same policies and calendar arithmetic the sweep uses. Shown on the retention page as
 * a chart with a table as its text alternative.
 */
import { sql } from 'kysely';
import type { OrgKind } from '../../shared/actor.js';
import { effectivePolicies, monthsFrom, policyDefinitions } from './retention-policies.js';
import { ACCESS_LOG_TARGET, retentionTargets } from './retention-registry.js';
import { createRetentionRepository } from './retention-repository.js';
import type { RetentionKluis } from './retention-sweep.js';
import { bucketByExpiry, type RetentionTarget } from './retention-target.js';

export interface ForecastSeries {
  readonly category: string;
  /** One count per month, in the order of `months`. */
  readonly counts: readonly number[];
}

export interface Forecast {
  /** `YYYY-MM`, starting with the current month. */
  readonly months: readonly string[];
  /** Only categories with at least one expiring record. */
  readonly series: readonly ForecastSeries[];
}

export async function forecastRetention(
  kluis: Pick<RetentionKluis, 'db' | 'dialect' | 'clock' | 'config'>,
  org: { readonly id: string; readonly kind: OrgKind },
  options: { months?: number; targets?: readonly RetentionTarget[] } = {},
): Promise<Forecast> {
  const { db, clock, config } = kluis;
  const now = clock.now();
  const months = monthsFrom(now, options.months ?? 24);
  const policies = effectivePolicies(
    policyDefinitions(config),
    await createRetentionRepository(db).listPolicyRows({ orgId: org.id }),
  );
  const ctx = { orgId: org.id, dialect: kluis.dialect, asOf: now, policies };
  const series: ForecastSeries[] = [];
  for (const target of options.targets ?? retentionTargets) {
    const byMonth = await target.countExpiringByMonth(db, ctx, months);
    series.push({ category: target.id, counts: months.map((m) => byMonth.get(m) ?? 0) });
  }
  // The access log: the operator sees the installation's rows, a tenant its own (P12).
  let accessLog = db
    .selectFrom('access_log')
    .select([sql<string>`substr(at, 1, 10)`.as('day'), (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy(sql`substr(at, 1, 10)`);
  if (org.kind !== 'operator') accessLog = accessLog.where('org_id', '=', org.id);
  const p = policies.access_log;
  const byMonth = bucketByExpiry(await accessLog.execute(), p, p.value, months);
  series.push({ category: ACCESS_LOG_TARGET, counts: months.map((m) => byMonth.get(m) ?? 0) });
  return { months, series: series.filter((s) => s.counts.some((n) => n > 0)) };
}
