/**
 * The dry run (P6): what a sweep would do now, per organisation and category, walking the same
 * candidates with the same hold checks. Writes nothing.
 */
import {
  addCount,
  contextOf,
  isHeld,
  orgIdsOf,
  policiesOf,
  type RetentionEngineDeps,
  type RetentionRunResult,
  type RunCounts,
} from './retention-engine.js';
import { ACCESS_LOG_TARGET, sweepTargets } from './retention-registry.js';
import { createRetentionRepository } from './retention-repository.js';
import type { RetentionTarget, TargetContext } from './retention-target.js';

export interface DryRunOptions {
  readonly batchSize?: number;
  readonly targets?: readonly RetentionTarget[];
  /** Count the access log too (default true). */
  readonly accessLog?: boolean;
  /** Only these organisations (a tenant's page shows its own). */
  readonly orgIds?: readonly string[];
  /** Count the access log of this organisation only (default: the installation). */
  readonly accessLogOrgId?: string;
}

/** Records of one target that would go, and those a hold keeps. */
async function countTarget(
  deps: RetentionEngineDeps,
  target: RetentionTarget,
  ctx: TargetContext,
  holds: Parameters<typeof isHeld>[2],
  batchSize: number,
): Promise<{ applied: number; held: number }> {
  let cursor = '';
  let applied = 0;
  let held = 0;
  for (;;) {
    const batch = await target.listExpired(deps.db, ctx, batchSize, cursor);
    for (const c of batch) {
      if (isHeld(target, c, holds)) held++;
      else applied++;
    }
    cursor = batch[batch.length - 1]?.cursor ?? cursor;
    if (batch.length < batchSize) return { applied, held };
  }
}

export async function dryRunRetention(
  deps: RetentionEngineDeps,
  batchSize: number,
  options: DryRunOptions = {},
): Promise<RetentionRunResult> {
  const { db, clock } = deps;
  const targets = options.targets ?? sweepTargets(deps.personalData.all());
  const asOf = clock.now();
  const counts: RunCounts = {};
  for (const orgId of await orgIdsOf(db, options.orgIds)) {
    const ctx = contextOf(deps, orgId, asOf, await policiesOf(deps, db, orgId));
    const holds = await createRetentionRepository(db).activeHolds({ orgId }, asOf.toISOString());
    for (const target of targets) {
      addCount(counts, orgId, target.id, await countTarget(deps, target, ctx, holds, batchSize));
    }
  }
  if (options.accessLog ?? true) {
    const only = options.accessLogOrgId;
    const due = await deps.accessLog.due(deps.config.accessLog, only);
    addCount(counts, only ?? '*', ACCESS_LOG_TARGET, { applied: due.deleted, anonymised: due.truncated });
  }
  return { runId: null, dryRun: true, resumed: false, asOf: asOf.toISOString(), counts };
}
