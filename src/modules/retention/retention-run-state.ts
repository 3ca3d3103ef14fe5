/**
 * A sweep's bookkeeping (P6): the run row with its reference time, lease and the periods as they
 * were when it started, and one step per organisation and target with its cursor and counts, so a
 * sweep killed halfway is taken over and finishes with the same result.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import {
  addCount,
  type CategoryCount,
  orgIdsOf,
  policiesOf,
  type RetentionEngineDeps,
  type RunCounts,
} from './retention-engine.js';
import {
  type EffectivePolicies,
  effectivePolicies,
  type ManagedPolicyId,
  managedPolicyIds,
  policyDefinitions,
} from './retention-policies.js';
import { ACCESS_LOG_TARGET } from './retention-registry.js';
import {
  createRetentionRepository,
  type RetentionRun,
  type RetentionRunStep,
} from './retention-repository.js';
import type { RetentionTarget } from './retention-target.js';

/** Periods per organisation and policy, as a run stores them. */
type PolicySnapshot = Record<string, Partial<Record<ManagedPolicyId, number>>>;

/** The policies of a run's snapshot (the code's legal bounds still apply). */
export function policiesFromSnapshot(
  deps: Pick<RetentionEngineDeps, 'config'>,
  run: Pick<RetentionRun, 'policies'>,
  orgId: string,
): EffectivePolicies {
  const snapshot = JSON.parse(run.policies) as PolicySnapshot;
  const values = snapshot[orgId] ?? {};
  const rows = Object.entries(values).map(([policyId, value]) => ({
    policy_id: policyId,
    period_value: value ?? 0,
    updated_at: '',
    updated_by_id: null,
  }));
  return effectivePolicies(policyDefinitions(deps.config), rows);
}

function step(runId: string, orgId: string, targetId: string, position: number): RetentionRunStep {
  return {
    run_id: runId,
    org_id: orgId,
    target_id: targetId,
    position,
    cursor: '',
    done: 0,
    applied: 0,
    anonymised: 0,
    held: 0,
    batches: 0,
  };
}

export function updateStep(db: Kysely<DB>, s: RetentionRunStep) {
  return db
    .updateTable('retention_run_steps')
    .where('run_id', '=', s.run_id)
    .where('org_id', '=', s.org_id)
    .where('target_id', '=', s.target_id);
}

export function countsOf(steps: readonly RetentionRunStep[]): RunCounts {
  const counts: RunCounts = {};
  for (const s of steps) {
    addCount(counts, s.org_id, s.target_id, {
      applied: Number(s.applied),
      held: Number(s.held),
      anonymised: Number(s.anonymised),
    });
  }
  return counts;
}

/** Flattens one org's counts for an audit entry's `meta` (`<category>.applied` = n). */
export function auditMeta(byCategory: Record<string, CategoryCount>): Record<string, number> {
  const meta: Record<string, number> = {};
  for (const [category, c] of Object.entries(byCategory)) {
    meta[`${category}.applied`] = c.applied;
    meta[`${category}.held`] = c.held;
    if (c.anonymised > 0) meta[`${category}.anonymised`] = c.anonymised;
  }
  return meta;
}

function inProgress(id: string): AppError {
  return new AppError('ERR_RETENTION_RUN_IN_PROGRESS', { message: `retention run ${id} is in progress` });
}

/** A new run with one step per organisation and target (and the installation's access log). */
async function startRun(
  deps: RetentionEngineDeps,
  targets: readonly RetentionTarget[],
  options: { readonly startedBy?: string; readonly accessLog?: boolean },
  leaseUntil: string,
): Promise<RetentionRun> {
  const { db, clock } = deps;
  const now = clock.now().toISOString();
  const orgs = await orgIdsOf(db);
  const snapshot: PolicySnapshot = {};
  for (const orgId of orgs) {
    const p = await policiesOf(deps, db, orgId);
    const byPolicy: Partial<Record<ManagedPolicyId, number>> = {};
    for (const id of managedPolicyIds) if (p[id].customised) byPolicy[id] = p[id].value;
    snapshot[orgId] = byPolicy;
  }
  const run: RetentionRun = {
    id: newId(),
    status: 'running',
    as_of: now,
    policies: JSON.stringify(snapshot),
    started_by: options.startedBy ?? 'system:cli',
    started_at: now,
    finished_at: null,
    lease_until: leaseUntil,
    report: null,
  };
  const steps: RetentionRunStep[] = [];
  for (const orgId of orgs) {
    for (const target of targets) steps.push(step(run.id, orgId, target.id, steps.length));
  }
  if (options.accessLog ?? true) steps.push(step(run.id, '*', ACCESS_LOG_TARGET, steps.length));
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('retention_runs').values(run).execute();
    for (let i = 0; i < steps.length; i += 500) {
      await trx
        .insertInto('retention_run_steps')
        .values(steps.slice(i, i + 500))
        .execute();
    }
  });
  return run;
}

/** Starts a new run or takes over one whose lease ran out (a crashed sweep). */
export async function acquireRun(
  deps: RetentionEngineDeps,
  targets: readonly RetentionTarget[],
  options: { readonly startedBy?: string; readonly accessLog?: boolean },
  leaseMs: number,
): Promise<{ run: RetentionRun; resumed: boolean }> {
  const repo = createRetentionRepository(deps.db);
  const now = deps.clock.now();
  const leaseUntil = new Date(now.getTime() + leaseMs).toISOString();
  const existing = await repo.findRunningRun();
  if (existing !== undefined) {
    if (existing.lease_until !== null && existing.lease_until > now.toISOString())
      throw inProgress(existing.id);
    if (!(await repo.takeLease(existing.id, existing.lease_until, leaseUntil))) throw inProgress(existing.id);
    return { run: { ...existing, lease_until: leaseUntil }, resumed: true };
  }
  try {
    return { run: await startRun(deps, targets, options, leaseUntil), resumed: false };
  } catch (error) {
    // The unique index on running runs: another process started one a moment ago.
    const other = await repo.findRunningRun();
    if (other !== undefined) throw inProgress(other.id);
    throw error;
  }
}
