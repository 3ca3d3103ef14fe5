/**
 * The forecast (P6): how many records expire per month over the next 24 months, per category,
 * from the same policies and calendar arithmetic the sweep uses. Shown on the retention page as
 * a chart with a table as its text alternative.
 */
import type { OrgKind } from '../../shared/actor.js';
import { DAY } from '../../shared/clock.js';
import { contextOf, policiesOf, type RetentionEngineDeps } from './retention-engine.js';
import { dayOf, expiresOn, monthsFrom } from './retention-policies.js';
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

/** Days ahead the dashboard's "expiring data" panel looks (issue 16). */
export const EXPIRING_HORIZONS = [7, 30] as const;

export interface ExpiringSoon {
  readonly horizons: readonly number[];
  /** Per category with anything expiring: the count per horizon (same order), before holds. */
  readonly rows: readonly { readonly category: string; readonly counts: readonly number[] }[];
}

/**
 * What the sweep will have erased, anonymised or restricted within each horizon (days from now):
 * each target's own expiry query with the reference time moved ahead, so the panel and the sweep
 * cannot disagree. Counts only, per category; records already due and not swept yet are included,
 * legal holds are not subtracted.
 */
export async function expiringSoon(
  deps: Pick<RetentionEngineDeps, 'db' | 'dialect' | 'clock' | 'config' | 'personalData' | 'accessLog'>,
  org: { readonly id: string; readonly kind: OrgKind },
  horizons: readonly number[] = EXPIRING_HORIZONS,
): Promise<ExpiringSoon> {
  const now = deps.clock.now();
  const policies = await policiesOf(deps, deps.db, org.id);
  const targets = sweepTargets(deps.personalData.all());
  const counts = new Map<string, number[]>();
  const add = (category: string, i: number, n: number) => {
    const row = counts.get(category) ?? horizons.map(() => 0);
    row[i] = (row[i] ?? 0) + n;
    counts.set(category, row);
  };
  const days = await deps.accessLog.rowsPerDay(org.kind === 'operator' ? undefined : org.id);
  const p = policies.access_log;
  for (const [i, h] of horizons.entries()) {
    const asOf = new Date(now.getTime() + h * DAY);
    const ctx = contextOf(deps, org.id, asOf, policies);
    for (const target of targets) add(target.id, i, await target.countExpired(deps.db, ctx));
    // The access log is the engine's own sweep, not a provider's target (P12).
    const until = dayOf(asOf);
    for (const d of days) {
      if (expiresOn(p, p.value, d.day) <= until) add(ACCESS_LOG_TARGET, i, Number(d.n));
    }
  }
  const order = retentionCategories(deps.personalData.all());
  return {
    horizons,
    rows: order.flatMap((category) => {
      const row = counts.get(category);
      return row === undefined || row.every((n) => n === 0) ? [] : [{ category, counts: row }];
    }),
  };
}
