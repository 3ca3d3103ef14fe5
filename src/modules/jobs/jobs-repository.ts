/**
 * The queue's SQL (schedules: jobs-schedules-repository.ts). Jobs carry no personal values (ids and codes only), and the queue is system
 * infrastructure shared by all organisations, so these queries are not org-scoped: `org_id` is
 * informative (which org a job works for). Only the operator's staff see the queue.
 */
import type { Kysely, Updateable } from 'kysely';
import { isPostgres } from '../../db/dialect.js';
import type { DB } from '../../db/schema.js';
import type { JobStatus, JobsTable } from './jobs-schema.js';

export type JobRow = JobsTable;

export interface DepthRow {
  type: string;
  status: JobStatus;
  count: number;
}

export function createJobsRepository(db: Kysely<DB>) {
  return {
    /** Inserts the job unless its dedupe key exists; returns whether a row was written. */
    async insert(row: JobRow): Promise<boolean> {
      const result = await db
        .insertInto('jobs')
        .values(row)
        .onConflict((oc) => oc.column('dedupe_key').doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
    },

    findById(id: string): Promise<JobRow | undefined> {
      return db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    },

    findByDedupeKey(key: string): Promise<JobRow | undefined> {
      return db.selectFrom('jobs').selectAll().where('dedupe_key', '=', key).executeTakeFirst();
    },

    /** A failed job back in the queue with a fresh set of attempts. */
    async requeueFailed(id: string, now: string): Promise<boolean> {
      const result = await db
        .updateTable('jobs')
        .set({
          status: 'queued',
          attempts: 0,
          run_at: now,
          locked_by: null,
          locked_until: null,
          updated_at: now,
        })
        .where('id', '=', id)
        .where('status', '=', 'failed')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async depthByTypeAndStatus(): Promise<DepthRow[]> {
      const rows = await db
        .selectFrom('jobs')
        .select((eb) => ['type', 'status', eb.fn.countAll<number | string>().as('count')])
        .groupBy(['type', 'status'])
        .orderBy('type')
        .orderBy('status')
        .execute();
      return rows.map((r) => ({ type: r.type, status: r.status, count: Number(r.count) }));
    },

    listFailed(limit: number): Promise<JobRow[]> {
      return db
        .selectFrom('jobs')
        .selectAll()
        .where('status', '=', 'failed')
        .orderBy('updated_at', 'desc')
        .orderBy('id')
        .limit(limit)
        .execute();
    },

    async oldestDueQueuedRunAt(now: string): Promise<string | undefined> {
      const row = await db
        .selectFrom('jobs')
        .select((eb) => eb.fn.min('run_at').as('oldest'))
        .where('status', '=', 'queued')
        .where('run_at', '<=', now)
        .executeTakeFirst();
      return row?.oldest ?? undefined;
    },

    async deleteFinishedBefore(status: 'done' | 'failed', before: string): Promise<number> {
      const result = await db
        .deleteFrom('jobs')
        .where('status', '=', status)
        .where('updated_at', '<', before)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    // Schedules ---------------------------------------------------------------------------
  };
}

/**
 * The worker's side of the queue: claiming due jobs under a lease, and reporting their outcome.
 * Every report names the worker: one whose lease was taken over changes nothing.
 */
export function createLeasesRepository(db: Kysely<DB>) {
  /** Updates a running job only for the worker holding its lease: a worker whose lease was taken over changes nothing. */
  async function updateLeased(id: string, workerId: string, set: Updateable<JobsTable>): Promise<boolean> {
    const result = await db
      .updateTable('jobs')
      .set(set)
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where('locked_by', '=', workerId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  const postgres = isPostgres(db as Kysely<unknown>);

  return {
    /**
     * Claims up to `limit` due jobs (queued and due, or running with an expired lease and
     * attempts left) in one statement. PostgreSQL: the candidate rows are locked with
     * `FOR UPDATE SKIP LOCKED`, so concurrent claimers take different rows without waiting.
     * SQLite: one writer at a time, so the UPDATE … WHERE id IN (SELECT …) is atomic.
     */
    async claim(input: {
      now: string;
      workerId: string;
      lockedUntil: string;
      limit: number;
    }): Promise<JobRow[]> {
      const { now } = input;
      const candidates = db
        .selectFrom('jobs')
        .select('id')
        .where((eb) =>
          eb.or([
            eb.and([eb('status', '=', 'queued'), eb('run_at', '<=', now)]),
            eb.and([
              eb('status', '=', 'running'),
              eb('locked_until', '<', now),
              eb('attempts', '<', eb.ref('max_attempts')),
            ]),
          ]),
        )
        .orderBy('run_at')
        .orderBy('id')
        .limit(input.limit);
      const locked = postgres ? candidates.forUpdate().skipLocked() : candidates;
      const rows = await db
        .updateTable('jobs')
        .set((eb) => ({
          status: 'running',
          locked_by: input.workerId,
          locked_until: input.lockedUntil,
          attempts: eb('attempts', '+', 1),
          updated_at: now,
        }))
        .where('id', 'in', locked)
        .returningAll()
        .execute();
      return rows.sort((a, b) =>
        a.run_at === b.run_at ? a.id.localeCompare(b.id) : a.run_at < b.run_at ? -1 : 1,
      );
    },

    /** Running jobs whose lease expired on their last attempt: they will not be tried again. */
    async failExhaustedLeases(now: string, lastError: string): Promise<number> {
      const result = await db
        .updateTable('jobs')
        .set({
          status: 'failed',
          locked_by: null,
          locked_until: null,
          last_error: lastError,
          updated_at: now,
        })
        .where('status', '=', 'running')
        .where('locked_until', '<', now)
        .where((eb) => eb('attempts', '>=', eb.ref('max_attempts')))
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    /** Each finish is guarded by the lease holder: a worker whose lease was taken over changes nothing. */
    async markDone(input: {
      id: string;
      workerId: string;
      now: string;
      scrubPayload: boolean;
    }): Promise<boolean> {
      return updateLeased(input.id, input.workerId, {
        status: 'done',
        locked_by: null,
        locked_until: null,
        updated_at: input.now,
        ...(input.scrubPayload ? { payload: '{}' } : {}),
      });
    },

    async markRetry(input: {
      id: string;
      workerId: string;
      now: string;
      runAt: string;
      lastError: string;
    }): Promise<boolean> {
      return updateLeased(input.id, input.workerId, {
        status: 'queued',
        run_at: input.runAt,
        locked_by: null,
        locked_until: null,
        last_error: input.lastError,
        updated_at: input.now,
      });
    },

    async markFailed(input: {
      id: string;
      workerId: string;
      now: string;
      lastError: string;
    }): Promise<boolean> {
      return updateLeased(input.id, input.workerId, {
        status: 'failed',
        locked_by: null,
        locked_until: null,
        last_error: input.lastError,
        updated_at: input.now,
      });
    },

    async extendLease(input: {
      id: string;
      workerId: string;
      now: string;
      lockedUntil: string;
    }): Promise<boolean> {
      return updateLeased(input.id, input.workerId, {
        locked_until: input.lockedUntil,
        updated_at: input.now,
      });
    },
  };
}
