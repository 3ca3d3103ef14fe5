/**
 * The retention sweep (P6; P12's time limits): per organisation and target, in batches of
 * bounded transactions, find what expired, skip what a legal hold protects, write the batch's ids
 * to the erasure ledger (write-ahead), delete/anonymise/restrict, destroy the keys of subjects
 * with nothing left, and move the step's cursor — all of a batch in one transaction with its
 * audit entry (vault's rule). A run keeps its reference time (`as_of`), so a sweep killed halfway
 * is taken over (lease) and finishes with the same result. At the end, a report with counts per
 * category goes to the audit trail and the ledger, and SQLite's WAL is checkpointed (TRUNCATE)
 * so erased pages do not linger in it. The targets come from the modules' personal-data providers.
 */
import { sql } from 'kysely';
import { MINUTE } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { dryRunRetention } from './retention-dry-run.js';
import {
  contextOf,
  isHeld,
  type RetentionEngineDeps,
  type RetentionRunResult,
  systemActor,
} from './retention-engine.js';
import type { ErasureLedger } from './retention-ledger.js';
import { ACCESS_LOG_TARGET, findTarget, sweepTargets } from './retention-registry.js';
import {
  createRetentionRepository,
  type RetentionRun,
  type RetentionRunStep,
} from './retention-repository.js';
import { acquireRun, auditMeta, countsOf, policiesFromSnapshot, updateStep } from './retention-run-state.js';
import type { RetentionTarget, TargetContext } from './retention-target.js';

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
  /** The erasure ledger to write (default: the installation's). */
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

/** One run in progress: what every batch of every step needs. */
interface Sweep {
  readonly deps: RetentionEngineDeps;
  readonly run: RetentionRun;
  readonly targets: readonly RetentionTarget[];
  readonly ledger: ErasureLedger;
  readonly batchSize: number;
  readonly leaseMs: number;
  readonly options: RunRetentionOptions;
  leaseUntil: number;
  done: number;
  total: number;
}

/**
 * SQLite: deleted cells are overwritten with zeros, not left in free pages (SQLCipher turns this
 * on for encrypted files already; an unencrypted development file gets it here). A batch
 * rewrites hundreds of pages; checkpointing after every one copies the hot pages again and again,
 * so the WAL may grow to ~40 MB during the sweep; it is truncated at the end. Returns the setting
 * to restore.
 */
async function prepareSqlite(deps: RetentionEngineDeps): Promise<number | undefined> {
  if (deps.dialect !== 'sqlite') return undefined;
  await sql`pragma secure_delete = on`.execute(deps.db);
  const current = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(deps.db);
  await sql`pragma wal_autocheckpoint = 10000`.execute(deps.db);
  return current.rows[0]?.wal_autocheckpoint;
}

function stepContext(sweep: Sweep, s: RetentionRunStep): TargetContext {
  const { deps, run } = sweep;
  // The periods as they were when the run started, also when it is resumed later.
  return contextOf(deps, s.org_id, new Date(run.as_of), policiesFromSnapshot(deps, run, s.org_id));
}

/** The total for the progress bar: what is done plus what the open steps still find expired. */
async function estimateTotal(sweep: Sweep, steps: readonly RetentionRunStep[]): Promise<number> {
  let total = sweep.done;
  for (const s of steps) {
    if (s.done) continue;
    const target = findTarget(s.target_id, sweep.targets);
    if (target !== undefined) total += await target.countExpired(sweep.deps.db, stepContext(sweep, s));
  }
  return total;
}

/** One batch of one step, in one transaction: list, hold, ledger, apply, shred, cursor, audit. */
async function runBatch(sweep: Sweep, s: RetentionRunStep, target: RetentionTarget, cursor: string) {
  const { deps, run, batchSize, leaseMs } = sweep;
  const { db, clock, keyring } = deps;
  const ctx = stepContext(sweep, s);
  const ledger = sweep.ledger;
  return db.transaction().execute(async (trx) => {
    const candidates = await target.listExpired(trx, ctx, batchSize, cursor);
    const holds = await createRetentionRepository(trx).activeHolds(
      { orgId: s.org_id },
      clock.now().toISOString(),
    );
    const free: string[] = [];
    const heldIds: string[] = [];
    for (const c of candidates) (isHeld(target, c, holds) ? heldIds : free).push(c.id);
    const last = candidates[candidates.length - 1]?.cursor ?? cursor;
    let applied = 0;
    if (free.length > 0) {
      const { id, table, action } = target;
      const body = { kind: 'erasure', run: run.id, org: s.org_id, target: id, table, action } as const;
      await ledger.append({ ...body, as_of: run.as_of, ids: free }, clock.now());
      // By walk range when the target can (no ids to bind and look up one by one); by ids when
      // holds left few records free in this batch.
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
      // Crypto-shredding before the commit: if the commit fails, the subject is keyless but not
      // yet marked, and the next sweep marks it (destroying is idempotent).
      for (const subjectId of result.destroyKeysOf ?? [])
        await keyring.destroySubjectKey(s.org_id, subjectId);
    }
    const held = heldIds.length;
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
    const renew = now + leaseMs / 2 > sweep.leaseUntil;
    if (renew) {
      const leaseUntil = new Date(now + leaseMs).toISOString();
      await trx
        .updateTable('retention_runs')
        .set({ lease_until: leaseUntil })
        .where('id', '=', run.id)
        .execute();
    }
    if (applied > 0 || held > 0) {
      await deps.audit.append(trx, {
        actor: systemActor(s.org_id),
        action: 'retention.batch',
        target: { type: 'retention_run', id: run.id },
        meta: { category: target.id, action: target.action, applied, held },
      });
    }
    return { applied, held, finished, last, leased: renew ? now + leaseMs : sweep.leaseUntil };
  });
}

/** Runs one step to its end, batch after batch, from its saved cursor. */
async function runStep(sweep: Sweep, s: RetentionRunStep): Promise<void> {
  const { deps, options } = sweep;
  if (s.target_id === ACCESS_LOG_TARGET) {
    const r = await deps.accessLog.sweep({ ...deps.config.accessLog, actor: systemActor(null) });
    await updateStep(deps.db, s)
      .set({ done: 1, applied: r.deleted, anonymised: r.truncated, batches: r.batches })
      .execute();
    return;
  }
  const target = findTarget(s.target_id, sweep.targets);
  if (target === undefined) {
    // A target removed since the run started: nothing to do.
    await updateStep(deps.db, s).set({ done: 1 }).execute();
    return;
  }
  let cursor = s.cursor;
  for (;;) {
    const batch = await runBatch(sweep, s, target, cursor);
    sweep.leaseUntil = batch.leased;
    cursor = batch.last;
    sweep.done += batch.applied + batch.held;
    sweep.total = Math.max(sweep.total, sweep.done);
    options.onProgress?.(sweep.done, sweep.total, target.id);
    await options.afterBatch?.({
      orgId: s.org_id,
      targetId: target.id,
      applied: batch.applied,
      held: batch.held,
    });
    if (batch.finished) return;
  }
}

/** The report: per organisation to the audit trail, the run closed, its steps gone, to the ledger. */
async function finishRun(sweep: Sweep, resumed: boolean): Promise<RetentionRunResult> {
  const { deps, run } = sweep;
  const { db, clock } = deps;
  const counts = countsOf(await createRetentionRepository(db).listSteps(run.id));
  await db.transaction().execute(async (trx) => {
    for (const [orgId, byCategory] of Object.entries(counts)) {
      await deps.audit.append(trx, {
        actor: systemActor(orgId === '*' ? null : orgId),
        action: 'retention.swept',
        target: { type: 'retention_run', id: run.id },
        meta: { ...auditMeta(byCategory), as_of: run.as_of, resumed },
      });
    }
    const finishedAt = clock.now().toISOString();
    await trx
      .updateTable('retention_runs')
      .set({ status: 'done', finished_at: finishedAt, lease_until: null, report: JSON.stringify(counts) })
      .where('id', '=', run.id)
      .execute();
    // The steps only serve a resume; the report keeps their counts.
    await trx.deleteFrom('retention_run_steps').where('run_id', '=', run.id).execute();
  });
  await sweep.ledger.append({ kind: 'report', run: run.id, as_of: run.as_of, counts }, clock.now());
  // Erased pages must not linger in the WAL (and the key store's deleted keys neither).
  await deps.checkpoint();
  return { runId: run.id, dryRun: false, resumed, asOf: run.as_of, counts };
}

/**
 * Runs (or resumes) the sweep over every organisation; a dry run only counts. Refuses with
 * ERR_RETENTION_RUN_IN_PROGRESS while another process holds a live run.
 */
export async function runRetention(
  deps: RetentionEngineDeps,
  options: RunRetentionOptions = {},
): Promise<RetentionRunResult> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (options.dryRun) return dryRunRetention(deps, batchSize, options);
  const targets = options.targets ?? sweepTargets(deps.personalData.all());
  const leaseMs = options.leaseMs ?? 10 * MINUTE;
  const repo = createRetentionRepository(deps.db);
  const { run, resumed } = await acquireRun(deps, targets, options, leaseMs);
  const leaseUntil = Date.parse(run.lease_until ?? '') || 0;
  const ledger = options.ledger ?? deps.ledger;
  const sweep: Sweep = {
    deps,
    run,
    targets,
    ledger,
    batchSize,
    leaseMs,
    options,
    leaseUntil,
    done: 0,
    total: 0,
  };
  let restoreAutocheckpoint: number | undefined;
  try {
    restoreAutocheckpoint = await prepareSqlite(deps);
    const steps = await repo.listSteps(run.id);
    sweep.done = steps.reduce((n, s) => n + Number(s.applied) + Number(s.held), 0);
    sweep.total = sweep.done;
    if (options.onProgress !== undefined) {
      sweep.total = await estimateTotal(sweep, steps);
      options.onProgress(sweep.done, sweep.total, '');
    }
    for (const s of steps) if (!s.done) await runStep(sweep, s);
    return await finishRun(sweep, resumed);
  } catch (error) {
    // Let the next attempt (a retried job, the CLI) take over at once instead of after the lease.
    await repo.setLease(run.id, null).catch(() => undefined);
    throw error;
  } finally {
    if (restoreAutocheckpoint !== undefined) {
      await sql`pragma wal_autocheckpoint = ${sql.lit(restoreAutocheckpoint)}`
        .execute(deps.db)
        .catch(() => undefined);
    }
  }
}
