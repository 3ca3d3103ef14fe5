/**
 * The forecast (P6): how many records expire per month over the next 24 months, per category,
 * from the same policies and calendar arithmetic the sweep uses. Shown on the retention page as
 * a chart with a table as its text alternative.
 */
import type { OrgKind } from '../../shared/actor.js';
import { contextOf, policiesOf, type RetentionEngineDeps } from './retention-engine.js';
import { monthsFrom } from './retention-policies.js';
import { ACCESS_LOG_TARGET, retentionCategories, sweepTargets } from './retention-registry.js';
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
  /** Every category the engine runs, in its order (a category keeps its colour in the chart). */
  readonly categories: readonly string[];
}

export async function forecastRetention(
  deps: Pick<RetentionEngineDeps, 'db' | 'dialect' | 'clock' | 'config' | 'personalData' | 'accessLog'>,
  org: { readonly id: string; readonly kind: OrgKind },
  options: { months?: number; targets?: readonly RetentionTarget[] } = {},
): Promise<Forecast> {
  const now = deps.clock.now();
  const months = monthsFrom(now, options.months ?? 24);
  const policies = await policiesOf(deps, deps.db, org.id);
  const ctx = contextOf(deps, org.id, now, policies);
  const series: ForecastSeries[] = [];
  for (const target of options.targets ?? sweepTargets(ctx.providers)) {
    const byMonth = await target.countExpiringByMonth(deps.db, ctx, months);
    series.push({ category: target.id, counts: months.map((m) => byMonth.get(m) ?? 0) });
  }
  // The access log: the operator sees the installation's rows, a tenant its own (P12).
  const days = await deps.accessLog.rowsPerDay(org.kind === 'operator' ? undefined : org.id);
  const p = policies.access_log;
  const byMonth = bucketByExpiry(days, p, p.value, months);
  series.push({ category: ACCESS_LOG_TARGET, counts: months.map((m) => byMonth.get(m) ?? 0) });
  return {
    months,
    series: series.filter((s) => s.counts.some((n) => n > 0)),
    categories: retentionCategories(ctx.providers),
  };
}
