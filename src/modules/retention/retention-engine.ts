/**
 * What the sweep, the dry run, the forecast and the replay share: their dependencies, the
 * organisations they walk, each organisation's policies and target context, legal holds, and the
 * counts they report (per organisation and category, never a value).
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { KluisCore } from '../module.js';
import { createOrgsRepository } from '../orgs/index.js';
import type { AccessLogService, AuditEvent, AuditService } from '../security/index.js';
import type { ErasureLedger } from './retention-ledger.js';
import { type EffectivePolicies, effectivePolicies, policyDefinitions } from './retention-policies.js';
import { type ActiveHolds, createRetentionRepository } from './retention-repository.js';
import type { Candidate, RetentionTarget, TargetContext } from './retention-target.js';

/** What the engine runs on: the core, the audit trail, the access log, the erasure ledger. */
export type RetentionEngineDeps = Pick<
  KluisCore,
  'db' | 'dialect' | 'clock' | 'keyring' | 'config' | 'checkpoint' | 'personalData'
> & {
  readonly audit: AuditService;
  readonly accessLog: AccessLogService;
  readonly ledger: ErasureLedger;
};

export interface CategoryCount {
  applied: number;
  held: number;
  anonymised: number;
}

/** Counts per organisation (`*`: installation-wide) and category. No values, ever. */
export type RunCounts = Record<string, Record<string, CategoryCount>>;

export interface RetentionRunResult {
  readonly runId: string | null;
  readonly dryRun: boolean;
  /** True when this call took over a run that an earlier (crashed) sweep started. */
  readonly resumed: boolean;
  readonly asOf: string;
  readonly counts: RunCounts;
}

const SYSTEM_REF = 'system:retention';

/** The engine in the audit trail (no person: the system, for one organisation or all). */
export function systemActor(orgId: string | null): AuditEvent['actor'] {
  return { kind: 'anonymous', orgId, ref: SYSTEM_REF };
}

/** An organisation's periods now (its own settings within the code's legal bounds). */
export async function policiesOf(
  deps: Pick<RetentionEngineDeps, 'config'>,
  db: Kysely<DB>,
  orgId: string,
): Promise<EffectivePolicies> {
  const rows = await createRetentionRepository(db).listPolicyRows({ orgId });
  return effectivePolicies(policyDefinitions(deps.config), rows);
}

export function contextOf(
  deps: Pick<RetentionEngineDeps, 'dialect' | 'personalData'>,
  orgId: string,
  asOf: Date,
  policies: EffectivePolicies,
): TargetContext {
  return { orgId, dialect: deps.dialect, asOf, policies, providers: deps.personalData.all() };
}

/** The ids of every organisation (or of `only`), in id order. */
export async function orgIdsOf(db: Kysely<DB>, only?: readonly string[]): Promise<string[]> {
  const ids = (await createOrgsRepository(db).list()).map((o) => o.id);
  return ids.filter((id) => only === undefined || only.includes(id)).sort();
}

/** A hold on any of the record's subjects, on the record itself, or on a parent holds it. */
export function isHeld(target: RetentionTarget, c: Candidate, holds: ActiveHolds): boolean {
  if (holds.subjects.size === 0 && holds.records.size === 0) return false;
  if (c.subjectIds.some((s) => holds.subjects.has(s))) return true;
  if (holds.records.has(`${target.table}:${c.id}`)) return true;
  return c.parents.some((p) => holds.records.has(p));
}

export function addCount(counts: RunCounts, org: string, category: string, c: Partial<CategoryCount>): void {
  const byOrg = counts[org] ?? {};
  counts[org] = byOrg;
  const current = byOrg[category] ?? { applied: 0, held: 0, anonymised: 0 };
  byOrg[category] = {
    applied: current.applied + (c.applied ?? 0),
    held: current.held + (c.held ?? 0),
    anonymised: current.anonymised + (c.anonymised ?? 0),
  };
}

/** The sum of one category over every organisation of a run's counts. */
export function totalOf(counts: RunCounts, category: string): CategoryCount {
  const out: CategoryCount = { applied: 0, held: 0, anonymised: 0 };
  for (const byCategory of Object.values(counts)) {
    const c = byCategory[category];
    if (c === undefined) continue;
    out.applied += c.applied;
    out.held += c.held;
    out.anonymised += c.anonymised;
  }
  return out;
}
