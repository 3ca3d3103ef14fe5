/**
 * Retention policies (P6, P12): the defaults in code, their legal bounds, an organisation's own
 * tighter setting, and the calendar arithmetic every sweep, dry run and forecast shares.
 *
 * Defaults (documented in docs/decisions/0008-retention-engine.md and shown in the statement):
 * - contact requests: deleted 12 months after the request was closed (at most 24);
 * - client data: kept while the relationship lasts, anonymised 3 months after it ends (at most
 *   12); what a legal duty still needs is restricted at that moment;
 * - invoices, mandates, collections, agreements: 7 years after the end of the fiscal year
 *   (Dutch fiscal duty, AWR art. 52 — never less; at most 10 years, art. 52(5));
 * - data subjects: erased (key destroyed) once nothing is left about them and they are a day old;
 * - rights requests: deleted 24 months after they were closed (1 to 60), as proof of handling;
 * - access log: IPs truncated after KLUIS_ACCESS_LOG_TRUNCATE_DAYS, rows deleted after
 *   KLUIS_ACCESS_LOG_RETENTION_DAYS (installation-wide configuration, not per organisation).
 *
 * Periods are whole calendar days: a record whose period ends on day D is removed by the first
 * sweep on or after D (00:00 UTC); on D − 1 it is still there.
 */
import type { Config } from '../../config/env.js';
import type { RetentionPolicyId } from '../../shared/catalogue.js';
import { AppError } from '../../shared/errors.js';
import type {
  PeriodUnit,
  RetentionAction,
  RetentionPoliciesTable,
  RetentionTrigger,
} from './retention-schema.js';

/** The policies the engine executes (the other catalogue policies are kept by their own modules). */
export const managedPolicyIds = [
  'contact_request',
  'client_relation',
  'fiscal_7y',
  'data_subject',
  'access_log',
  'rights_request',
] as const satisfies readonly RetentionPolicyId[];
export type ManagedPolicyId = (typeof managedPolicyIds)[number];

export interface PolicyDefinition {
  readonly id: ManagedPolicyId;
  readonly trigger: RetentionTrigger;
  readonly unit: PeriodUnit;
  readonly defaultValue: number;
  /** The law (or the statement's promise) allows no shorter period ... */
  readonly legalMin: number;
  /** ... and no longer one. */
  readonly legalMax: number;
  readonly action: RetentionAction;
  /** Set by installation configuration, not editable per organisation. */
  readonly configured: boolean;
}

/** The defaults. `access_log` is overwritten from configuration by `policyDefinitions(config)`. */
export const defaultPolicies: Readonly<Record<ManagedPolicyId, PolicyDefinition>> = {
  contact_request: {
    id: 'contact_request',
    trigger: 'request_closed',
    unit: 'months',
    defaultValue: 12,
    legalMin: 0,
    legalMax: 24,
    action: 'delete',
    configured: false,
  },
  client_relation: {
    id: 'client_relation',
    trigger: 'relationship_ended',
    unit: 'months',
    defaultValue: 3,
    legalMin: 0,
    legalMax: 12,
    action: 'anonymise',
    configured: false,
  },
  fiscal_7y: {
    id: 'fiscal_7y',
    trigger: 'fiscal_year_end',
    unit: 'months',
    defaultValue: 84,
    legalMin: 84,
    legalMax: 120,
    action: 'delete',
    configured: false,
  },
  data_subject: {
    id: 'data_subject',
    trigger: 'record_created',
    unit: 'days',
    defaultValue: 1,
    legalMin: 0,
    legalMax: 30,
    action: 'delete',
    configured: false,
  },
  rights_request: {
    id: 'rights_request',
    trigger: 'request_closed',
    unit: 'months',
    defaultValue: 24,
    legalMin: 1,
    legalMax: 60,
    action: 'delete',
    configured: false,
  },
  access_log: {
    id: 'access_log',
    trigger: 'record_created',
    unit: 'days',
    defaultValue: 90,
    legalMin: 1,
    legalMax: 365,
    action: 'delete',
    configured: true,
  },
};

export function policyDefinitions(
  config: Pick<Config, 'accessLog'>,
): Readonly<Record<ManagedPolicyId, PolicyDefinition>> {
  return {
    ...defaultPolicies,
    access_log: { ...defaultPolicies.access_log, defaultValue: config.accessLog.deleteAfterDays },
  };
}

export function isManagedPolicy(id: string): id is ManagedPolicyId {
  return (managedPolicyIds as readonly string[]).includes(id);
}

/** A policy as it applies to one organisation. */
export interface EffectivePolicy extends PolicyDefinition {
  readonly value: number;
  /** True when the organisation changed it (a row in retention_policies). */
  readonly customised: boolean;
  readonly updatedAt: string | null;
  readonly updatedById: string | null;
}

export type EffectivePolicies = Readonly<Record<ManagedPolicyId, EffectivePolicy>>;

/** Merges an organisation's rows into the definitions; the code's legal bounds always win. */
export function effectivePolicies(
  definitions: Readonly<Record<ManagedPolicyId, PolicyDefinition>>,
  rows: readonly Pick<
    RetentionPoliciesTable,
    'policy_id' | 'period_value' | 'updated_at' | 'updated_by_id'
  >[],
): EffectivePolicies {
  const out = {} as Record<ManagedPolicyId, EffectivePolicy>;
  for (const id of managedPolicyIds) {
    const def = definitions[id];
    const row = def.configured ? undefined : rows.find((r) => r.policy_id === id);
    const value =
      row === undefined ? def.defaultValue : Math.min(def.legalMax, Math.max(def.legalMin, row.period_value));
    out[id] = {
      ...def,
      value,
      customised: row !== undefined,
      updatedAt: row?.updated_at ?? null,
      updatedById: row?.updated_by_id ?? null,
    };
  }
  return out;
}

export type PolicyChangeProblem = 'configured' | 'below_legal_min' | 'above_legal_max' | 'not_whole';

/**
 * Whether `value` may replace the current setting: every whole value within the legal bounds
 * (shorter is tighter; longer is allowed only back up to the legal maximum).
 */
export function checkPolicyChange(def: PolicyDefinition, value: number): PolicyChangeProblem | undefined {
  if (def.configured) return 'configured';
  if (!Number.isInteger(value) || value < 0) return 'not_whole';
  if (value < def.legalMin) return 'below_legal_min';
  if (value > def.legalMax) return 'above_legal_max';
  return undefined;
}

export function assertPolicyChange(def: PolicyDefinition, value: number): void {
  const problem = checkPolicyChange(def, value);
  if (problem === undefined) return;
  throw new AppError(problem === 'configured' ? 'ERR_VALIDATION' : 'ERR_RETENTION_POLICY_OUT_OF_BOUNDS', {
    message: `policy ${def.id}: ${value} ${def.unit} refused (${problem}; allowed ${def.legalMin}..${def.legalMax})`,
    fields: {
      value:
        problem === 'below_legal_min'
          ? 'retention.policy.belowLegalMin'
          : problem === 'above_legal_max'
            ? 'retention.policy.aboveLegalMax'
            : problem === 'configured'
              ? 'retention.policy.configured'
              : 'retention.policy.notWhole',
    },
    details: { policy: def.id, min: def.legalMin, max: def.legalMax, unit: def.unit },
  });
}

// --- Calendar arithmetic on ISO dates (YYYY-MM-DD), UTC -------------------------------------

const DAY_MS = 86_400_000;

/** The UTC calendar day of an ISO date or date-time. */
export function dayOf(iso: string | Date): string {
  return (typeof iso === 'string' ? iso : iso.toISOString()).slice(0, 10);
}

function parts(day: string): { y: number; m: number; d: number } {
  return { y: Number(day.slice(0, 4)), m: Number(day.slice(5, 7)), d: Number(day.slice(8, 10)) };
}

function fmt(y: number, m: number, d: number): string {
  return new Date(Date.UTC(y, m - 1, d)).toISOString().slice(0, 10);
}

export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00.000Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

/** Adds calendar months; the day is clamped to the end of a shorter month (31 Jan + 1 = 28/29 Feb). */
export function addMonths(day: string, n: number): string {
  const { y, m, d } = parts(day);
  const index = y * 12 + (m - 1) + n;
  const ty = Math.floor(index / 12);
  const tm = (index % 12) + 1;
  const last = new Date(Date.UTC(ty, tm, 0)).getUTCDate();
  return fmt(ty, tm, Math.min(d, last));
}

/** The calendar day on which a record whose trigger happened on `refDay` expires. */
export function expiresOn(
  policy: Pick<PolicyDefinition, 'trigger' | 'unit'>,
  value: number,
  refDay: string,
): string {
  if (policy.trigger === 'fiscal_year_end') {
    // The fiscal year is the calendar year; the period starts when it ends (1 January next).
    const nextYear = `${String(Number(refDay.slice(0, 4)) + 1).padStart(4, '0')}-01-01`;
    return policy.unit === 'months' ? addMonths(nextYear, value) : addDays(nextYear, value);
  }
  return policy.unit === 'months' ? addMonths(refDay, value) : addDays(refDay, value);
}

/**
 * The first reference day that is NOT yet expired at `asOf`: a record is expired exactly when its
 * reference (an ISO date or date-time) sorts before this day, so SQL compares strings
 * (`ref < firstKept`) on both dialects.
 */
export function firstKeptDay(
  policy: Pick<PolicyDefinition, 'trigger' | 'unit'>,
  value: number,
  asOf: Date,
): string {
  const today = dayOf(asOf);
  const expired = (refDay: string) => expiresOn(policy, value, refDay) <= today;
  if (policy.trigger === 'fiscal_year_end') {
    let year = Number(today.slice(0, 4));
    while (year > 0 && !expired(`${String(year).padStart(4, '0')}-12-31`)) year--;
    return `${String(year + 1).padStart(4, '0')}-01-01`;
  }
  // Start near the answer and step day by day over the clamped month ends.
  let candidate = policy.unit === 'months' ? addMonths(today, -value) : addDays(today, -value);
  while (!expired(candidate)) candidate = addDays(candidate, -1);
  while (expired(addDays(candidate, 1))) candidate = addDays(candidate, 1);
  return addDays(candidate, 1);
}

/** `YYYY-MM` of a day. */
export function monthOf(day: string): string {
  return day.slice(0, 7);
}

/** The `count` months starting with the month of `from`, as `YYYY-MM`. */
export function monthsFrom(from: Date, count: number): string[] {
  const start = `${dayOf(from).slice(0, 7)}-01`;
  return Array.from({ length: count }, (_, i) => monthOf(addMonths(start, i)));
}
