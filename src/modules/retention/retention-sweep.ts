/**
 * The retention sweep (P6; P12's time limits): per organisation and target, in batches of
 * bounded transactions, find what expired, skip what a legal hold protects, write the batch's ids
 * to the erasure ledger (write-ahead), delete/anonymise/restrict, destroy the keys of subjects
 * with nothing left, and move the step's cursor — all of a batch in one transaction with its
 * audit entry (vault's rule). A run keeps its reference time (`as_of`), so a sweep killed halfway
 * is taken over (lease) and finishes with the same result. At the end, a report with counts per
 * category goes to the audit trail and the ledger, and SQLite's WAL is checkpointed (TRUNCATE)
 * so erased pages do not linger in it.
 *
 * A dry run walks the same candidates with the same hold checks and writes nothing.
 */
import { type Kysely, sql } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Kluis } from '../../kluis.js';
import { DAY, MINUTE } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { sweepAccessLog } from '../security/access-log-service.js';
import { type AuditEvent, appendAudit } from '../security/audit-chain.js';
import { createErasureLedger, type ErasureLedger, ledgerPathOf } from './retention-ledger.js';
import {
  type EffectivePolicies,
  effectivePolicies,
  type ManagedPolicyId,
  managedPolicyIds,
  policyDefinitions,
} from './retention-policies.js';
import { ACCESS_LOG_TARGET, findTarget, retentionTargets } from './retention-registry.js';
import {
  type ActiveHolds,
  createRetentionRepository,
  type RetentionRun,
  type RetentionRunStep,
} from './retention-repository.js';
import type { Candidate, RetentionTarget, TargetContext } from './retention-target.js';

export type RetentionKluis = Pick<Kluis, 'db' | 'dialect' | 'clock' | 'keyring' | 'config' | 'checkpoint'>;

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

export interface BatchInfo {
  readonly orgId: string;
  readonly targetId: string;
  readonly applied: number;
  readonly held: number;
}

export interface RunRetentionOptions {
  readonly dryRun?: boolean;
  /** Who starts it, for the run row: `system:retention-job`, `system:cli`, `user:<id>`. */
  readonly startedBy?: string;
  readonly batchSize?: number;
  readonly targets?: readonly RetentionTarget[];
  readonly ledger?: ErasureLedger;
  /** How long a run is ours without a batch committing (default 10 minutes). */
  readonly leaseMs?: number;
  /** Run the access-log step (default true). */
  readonly accessLog?: boolean;
  /** Dry run only: limit to these organisations (a tenant's page shows its own). */
  readonly orgIds?: readonly string[];
  /** Dry run only: count the access log of this organisation only (default: the installation). */
  readonly accessLogOrgId?: string;
  /** Called after every committed batch with the records done so far and an estimate of the total. */
  readonly onProgress?: (done: number, total: number, category: string) => void;
  /** Called after every committed batch (the job heartbeat; tests throw here to kill a sweep). */
  readonly afterBatch?: (batch: BatchInfo) => void | Promise<void>;
}

/**
 * Records per batch transaction unless the caller says otherwise. Each batch has a fixed cost
 * (ledger fsync, audit entry, cursor, round trips): at 1,000 a sweep spent much of its time on
 * it; 10,000 was the fastest on both dialects (bench/retention, decision 0009), at ~100 ms per
 * batch on SQLite, during which the sweep holds the process's one SQLite connection.
 */
export const DEFAULT_BATCH_SIZE = 10_000;

const SYSTEM_REF = 'system:retention';

function systemActor(orgId: string | null): AuditEvent['actor'] {
  return { kind: 'anonymous', orgId, ref: SYSTEM_REF };
}

function isHeld(target: RetentionTarget, c: Candidate, holds: ActiveHolds): boolean {
  if (holds.subjects.size === 0 && holds.records.size === 0) return false;
  if (c.subjectIds.some((s) => holds.subjects.has(s))) return true;
  if (holds.records.has(`${target.table}:${c.id}`)) return true;
  return c.parents.some((p) => holds.records.has(p));
}

async function policiesOf(kluis: RetentionKluis, db: Kysely<DB>, orgId: string): Promise<EffectivePolicies> {
  const rows = await createRetentionRepository(db).listPolicyRows({ orgId });
  return effectivePolicies(policyDefinitions(kluis.config), rows);
}

/** Periods per organisation and policy, as a run stores them. */
type PolicySnapshot = Record<string, Partial<Record<ManagedPolicyId, number>>>;

/** The policies of a run's snapshot (the code's legal bounds still apply). */
function policiesFromSnapshot(
  kluis: RetentionKluis,
  snapshot: PolicySnapshot,
  orgId: string,
): EffectivePolicies {
  const values = snapshot[orgId] ?? {};
  const rows = Object.entries(values).map(([policyId, value]) => ({
    policy_id: policyId,
    period_value: value ?? 0,
    updated_at: '',
    updated_by_id: null,
  }));
  return effectivePolicies(policyDefinitions(kluis.config), rows);
}

async function orgIdsOf(db: Kysely<DB>, only?: readonly string[]): Promise<string[]> {
  let query = db.selectFrom('orgs').select('id').orderBy('id');
  if (only !== undefined) query = query.where('id', 'in', only.length > 0 ? [...only] : ['']);
  return (await query.execute()).map((r) => r.id);
}

function add(counts: RunCounts, org: string, category: string, c: Partial<CategoryCount>): void {
  const byOrg = counts[org] ?? {};
  counts[org] = byOrg;
  const current = byOrg[category] ?? { applied: 0, held: 0, anonymised: 0 };
  byOrg[category] = {
    applied: current.applied + (c.applied ?? 0),
    held: current.held + (c.held ?? 0),
    anonymised: current.anonymised + (c.anonymised ?? 0),
  };
}

/** What the access-log step would do now: rows to delete and addresses to cut (P12). */
export async function accessLogDue(
  kluis: Pick<RetentionKluis, 'db' | 'clock' | 'config'>,
  orgId?: string,
): Promise<{ deleted: number; truncated: number }> {
  const now = kluis.clock.now().getTime();
  const deleteBefore = new Date(now - kluis.config.accessLog.deleteAfterDays * DAY).toISOString();
  const truncateBefore = new Date(now - kluis.config.accessLog.truncateIpAfterDays * DAY).toISOString();
  let base = kluis.db.selectFrom('access_log');
  if (orgId !== undefined) base = base.where('org_id', '=', orgId);
  const deleted = await base
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('at', '<', deleteBefore)
    .executeTakeFirst();
  const truncated = await base
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('ip_truncated', '=', 0)
    .where('at', '>=', deleteBefore)
    .where('at', '<', truncateBefore)
    .executeTakeFirst();
  return { deleted: Number(deleted?.n ?? 0), truncated: Number(truncated?.n ?? 0) };
}

/** The dry run: what a sweep would do now, per organisation and category. Writes nothing. */
export async function dryRunRetention(
  kluis: RetentionKluis,
  options: Omit<RunRetentionOptions, 'dryRun'> = {},
): Promise<RetentionRunResult> {
  const { db, clock } = kluis;
  const targets = options.targets ?? retentionTargets;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const asOf = clock.now();
  const counts: RunCounts = {};
  for (const orgId of await orgIdsOf(db, options.orgIds)) {
    const ctx: TargetContext = {
      orgId,
      dialect: kluis.dialect,
      asOf,
      policies: await policiesOf(kluis, db, orgId),
    };
    const holds = await createRetentionRepository(db).activeHolds({ orgId }, asOf.toISOString());
    for (const target of targets) {
      let cursor = '';
      let applied = 0;
      let held = 0;
      for (;;) {
        const batch = await target.listExpired(db, ctx, batchSize, cursor);
        for (const c of batch) {
          if (isHeld(target, c, holds)) held++;
          else applied++;
        }
        cursor = batch[batch.length - 1]?.cursor ?? cursor;
        if (batch.length < batchSize) break;
      }
      add(counts, orgId, target.id, { applied, held });
    }
  }
  if (options.accessLog ?? true) {
    const only = options.accessLogOrgId;
    const due = await accessLogDue(kluis, only);
    add(counts, only ?? '*', ACCESS_LOG_TARGET, { applied: due.deleted, anonymised: due.truncated });
  }
  return { runId: null, dryRun: true, resumed: false, asOf: asOf.toISOString(), counts };
}

/** Starts a new run or takes over one whose lease ran out (a crashed sweep). */
async function acquireRun(
  kluis: RetentionKluis,
  targets: readonly RetentionTarget[],
  options: RunRetentionOptions,
  leaseMs: number,
): Promise<{ run: RetentionRun; resumed: boolean }> {
  const { db, clock } = kluis;
  const repo = createRetentionRepository(db);
  const now = clock.now();
  const leaseUntil = new Date(now.getTime() + leaseMs).toISOString();
  const inProgress = (id: string) =>
    new AppError('ERR_RETENTION_RUN_IN_PROGRESS', { message: `retention run ${id} is in progress` });
  const existing = await repo.findRunningRun();
  if (existing !== undefined) {
    if (existing.lease_until !== null && existing.lease_until > now.toISOString())
      throw inProgress(existing.id);
    if (!(await repo.takeLease(existing.id, existing.lease_until, leaseUntil))) throw inProgress(existing.id);
    return { run: { ...existing, lease_until: leaseUntil }, resumed: true };
  }
  const orgs = await orgIdsOf(db);
  const snapshot: PolicySnapshot = {};
  for (const orgId of orgs) {
    const p = await policiesOf(kluis, db, orgId);
    const byPolicy: Partial<Record<ManagedPolicyId, number>> = {};
    for (const id of managedPolicyIds) if (p[id].customised) byPolicy[id] = p[id].value;
    snapshot[orgId] = byPolicy;
  }
  const run: RetentionRun = {
    id: newId(),
    status: 'running',
    as_of: now.toISOString(),
    policies: JSON.stringify(snapshot),
    started_by: options.startedBy ?? 'system:cli',
    started_at: now.toISOString(),
    finished_at: null,
    lease_until: leaseUntil,
    report: null,
  };
  const steps: RetentionRunStep[] = [];
  for (const orgId of orgs) {
    for (const target of targets) {
      steps.push(step(run.id, orgId, target.id, steps.length));
    }
  }
  if (options.accessLog ?? true) steps.push(step(run.id, '*', ACCESS_LOG_TARGET, steps.length));
  try {
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('retention_runs').values(run).execute();
      for (let i = 0; i < steps.length; i += 500) {
        await trx
          .insertInto('retention_run_steps')
          .values(steps.slice(i, i + 500))
          .execute();
      }
    });
  } catch (error) {
    // The unique index on running runs: another process started one a moment ago.
    const other = await repo.findRunningRun();
    if (other !== undefined) throw inProgress(other.id);
    throw error;
  }
  return { run, resumed: false };
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

function updateStep(db: Kysely<DB>, s: RetentionRunStep) {
  return db
    .updateTable('retention_run_steps')
    .where('run_id', '=', s.run_id)
    .where('org_id', '=', s.org_id)
    .where('target_id', '=', s.target_id);
}

function countsOf(steps: readonly RetentionRunStep[]): RunCounts {
  const counts: RunCounts = {};
  for (const s of steps) {
    add(counts, s.org_id, s.target_id, {
      applied: Number(s.applied),
      held: Number(s.held),
      anonymised: Number(s.anonymised),
    });
  }
  return counts;
}

/** Flattens one org's counts for an audit entry's `meta` (`<category>.applied` = n). */
function auditMeta(byCategory: Record<string, CategoryCount>): Record<string, number> {
  const meta: Record<string, number> = {};
  for (const [category, c] of Object.entries(byCategory)) {
    meta[`${category}.applied`] = c.applied;
    meta[`${category}.held`] = c.held;
    if (c.anonymised > 0) meta[`${category}.anonymised`] = c.anonymised;
  }
  return meta;
}

/**
 * Runs (or resumes) the sweep over every organisation. Refuses with ERR_RETENTION_RUN_IN_PROGRESS
 * while another process holds a live run.
 */
export async function runRetention(
  kluis: RetentionKluis,
  options: RunRetentionOptions = {},
): Promise<RetentionRunResult> {
  if (options.dryRun) return dryRunRetention(kluis, options);
  const { db, clock, keyring } = kluis;
  const targets = options.targets ?? retentionTargets;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const leaseMs = options.leaseMs ?? 10 * MINUTE;
  const ledger = options.ledger ?? createErasureLedger(ledgerPathOf(kluis.config));
  const repo = createRetentionRepository(db);
  const { run, resumed } = await acquireRun(kluis, targets, options, leaseMs);
  const asOf = new Date(run.as_of);
  let leaseUntil = Date.parse(run.lease_until ?? '') || 0;
  let restoreAutocheckpoint: number | undefined;
  try {
    if (kluis.dialect === 'sqlite') {
      // Deleted cells are overwritten with zeros, not left in free pages (SQLCipher turns this on
      // for encrypted files already; an unencrypted development file gets it here).
      await sql`pragma secure_delete = on`.execute(db);
      // A batch rewrites hundreds of pages; checkpointing after every one copies the hot pages
      // again and again. Let the WAL grow to ~40 MB during the sweep; it is truncated at the end.
      const current = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db);
      restoreAutocheckpoint = current.rows[0]?.wal_autocheckpoint;
      await sql`pragma wal_autocheckpoint = 10000`.execute(db);
    }
    const steps = await repo.listSteps(run.id);
    let done = steps.reduce((n, s) => n + Number(s.applied) + Number(s.held), 0);
    let total = done;
    // The periods as they were when the run started, also when it is resumed later.
    const snapshot = JSON.parse(run.policies) as PolicySnapshot;
    const policiesFor = async (orgId: string) => policiesFromSnapshot(kluis, snapshot, orgId);
    if (options.onProgress !== undefined) {
      for (const s of steps) {
        if (s.done) continue;
        const target = findTarget(s.target_id, targets);
        if (target === undefined) continue;
        total += await target.countExpired(db, {
          orgId: s.org_id,
          dialect: kluis.dialect,
          asOf,
          policies: await policiesFor(s.org_id),
        });
      }
      options.onProgress(done, total, '');
    }

    for (const s of steps) {
      if (s.done) continue;
      if (s.target_id === ACCESS_LOG_TARGET) {
        const r = await sweepAccessLog(db, clock, { ...kluis.config.accessLog, actor: systemActor(null) });
        await updateStep(db, s)
          .set({ done: 1, applied: r.deleted, anonymised: r.truncated, batches: r.batches })
          .execute();
        continue;
      }
      const target = findTarget(s.target_id, targets);
      if (target === undefined) {
        // A target removed from the registry since the run started: nothing to do.
        await updateStep(db, s).set({ done: 1 }).execute();
        continue;
      }
      const ctx: TargetContext = {
        orgId: s.org_id,
        dialect: kluis.dialect,
        asOf,
        policies: await policiesFor(s.org_id),
      };
      let cursor = s.cursor;
      for (;;) {
        const batch = await db.transaction().execute(async (trx) => {
          const candidates = await target.listExpired(trx, ctx, batchSize, cursor);
          const holds = await createRetentionRepository(trx).activeHolds(
            { orgId: s.org_id },
            clock.now().toISOString(),
          );
          const free: string[] = [];
          const heldIds: string[] = [];
          for (const c of candidates) {
            if (isHeld(target, c, holds)) heldIds.push(c.id);
            else free.push(c.id);
          }
          const held = heldIds.length;
          const last = candidates[candidates.length - 1]?.cursor ?? cursor;
          let applied = 0;
          if (free.length > 0) {
            await ledger.append(
              {
                kind: 'erasure',
                run: run.id,
                org: s.org_id,
                target: target.id,
                table: target.table,
                action: target.action,
                as_of: run.as_of,
                ids: free,
              },
              clock.now(),
            );
            // By walk range when the target can (no ids to bind and look up one by one); by ids
            // when holds left few records free in this batch.
            const result =
              target.applyWalked === undefined || heldIds.length > free.length
                ? await target.apply(trx, ctx, free, 'sweep')
                : await target.applyWalked(trx, ctx, { after: cursor, through: last, held: heldIds });
            if (result.applied > free.length) {
              // More than the ledger line names: roll back rather than erase unrecorded records.
              throw new AppError('ERR_INTERNAL', {
                message: `${target.id}: applied ${result.applied} of ${free.length} listed records`,
              });
            }
            applied = result.applied;
            // Crypto-shredding before the commit: if the commit fails, the subject is keyless
            // but not yet marked, and the next sweep marks it (destroying is idempotent).
            for (const subjectId of result.destroyKeysOf ?? [])
              await keyring.destroySubjectKey(s.org_id, subjectId);
          }
          const finished = candidates.length < batchSize;
          await updateStep(trx, s)
            .set((eb) => ({
              cursor: last,
              applied: eb('applied', '+', applied),
              held: eb('held', '+', held),
              batches: eb('batches', '+', 1),
              done: finished ? 1 : 0,
            }))
            .execute();
          // Renew the lease once half of it is used up (not in every batch: one statement less).
          const now = clock.now().getTime();
          const renew = now + leaseMs / 2 > leaseUntil;
          if (renew) {
            await trx
              .updateTable('retention_runs')
              .set({ lease_until: new Date(now + leaseMs).toISOString() })
              .where('id', '=', run.id)
              .execute();
          }
          if (applied > 0 || held > 0) {
            await appendAudit(trx, clock, {
              actor: systemActor(s.org_id),
              action: 'retention.batch',
              target: { type: 'retention_run', id: run.id },
              meta: { category: target.id, action: target.action, applied, held },
            });
          }
          return { applied, held, finished, last, leased: renew ? now + leaseMs : leaseUntil };
        });
        leaseUntil = batch.leased;
        cursor = batch.last;
        done += batch.applied + batch.held;
        total = Math.max(total, done);
        options.onProgress?.(done, total, target.id);
        await options.afterBatch?.({
          orgId: s.org_id,
          targetId: target.id,
          applied: batch.applied,
          held: batch.held,
        });
        if (batch.finished) break;
      }
    }

    const counts = countsOf(await repo.listSteps(run.id));
    await db.transaction().execute(async (trx) => {
      for (const [orgId, byCategory] of Object.entries(counts)) {
        await appendAudit(trx, clock, {
          actor: systemActor(orgId === '*' ? null : orgId),
          action: 'retention.swept',
          target: { type: 'retention_run', id: run.id },
          meta: { ...auditMeta(byCategory), as_of: run.as_of, resumed },
        });
      }
      await trx
        .updateTable('retention_runs')
        .set({
          status: 'done',
          finished_at: clock.now().toISOString(),
          lease_until: null,
          report: JSON.stringify(counts),
        })
        .where('id', '=', run.id)
        .execute();
      // The steps only serve a resume; the report keeps their counts.
      await trx.deleteFrom('retention_run_steps').where('run_id', '=', run.id).execute();
    });
    await ledger.append({ kind: 'report', run: run.id, as_of: run.as_of, counts }, clock.now());
    // Erased pages must not linger in the WAL (and the key store's deleted keys neither).
    await kluis.checkpoint();
    return { runId: run.id, dryRun: false, resumed, asOf: run.as_of, counts };
  } catch (error) {
    // Let the next attempt (a retried job, the CLI) take over at once instead of after the lease.
    await repo.setLease(run.id, null).catch(() => undefined);
    throw error;
  } finally {
    if (restoreAutocheckpoint !== undefined) {
      await sql`pragma wal_autocheckpoint = ${sql.lit(restoreAutocheckpoint)}`
        .execute(db)
        .catch(() => undefined);
    }
  }
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
