import { type Migration, sql } from 'kysely';

export const jobStatuses = ['queued', 'running', 'done', 'failed'] as const;
export type JobStatus = (typeof jobStatuses)[number];

/**
 * The job queue. `payload` is JSON of ids and codes only (never personal values; mail
 * recipients travel sealed, see mail-service.ts). `last_error` is `CODE: internal message`,
 * built from AppError codes and messages, never from a library's free text.
 */
export interface JobsTable {
  id: string;
  type: string;
  payload: string;
  /** ISO time from which the job may run (also the next retry time). */
  run_at: string;
  /** Claims so far, including the running one. */
  attempts: number;
  max_attempts: number;
  status: JobStatus;
  locked_by: string | null;
  /** The lease: after this time a running job counts as abandoned and is claimed again. */
  locked_until: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  org_id: string | null;
  /** Unique when set: a second enqueue with the same key returns the first job. */
  dedupe_key: string | null;
}

/** Recurring work: every `every_seconds`, or daily at `daily_at` (HH:MM, UTC). */
export interface JobSchedulesTable {
  name: string;
  type: string;
  payload: string;
  every_seconds: number | null;
  daily_at: string | null;
  /** The next slot; a tick that moves it forward (compare-and-set) enqueues that slot's job. */
  next_run_at: string;
  last_run_at: string | null;
  last_job_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface JobsTables {
  jobs: JobsTable;
  job_schedules: JobSchedulesTable;
}

export const jobsMigrations: Record<string, Migration> = {
  '0400_jobs_queue': {
    async up(db) {
      await db.schema
        .createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('run_at', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('max_attempts', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) =>
          c.notNull().check(sql`status in ('queued', 'running', 'done', 'failed')`),
        )
        .addColumn('locked_by', 'text')
        .addColumn('locked_until', 'text')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('org_id', 'text')
        .addColumn('dedupe_key', 'text', (c) => c.unique())
        .execute();
      // Claiming looks for due queued jobs and expired leases.
      await db.schema.createIndex('jobs_claim').on('jobs').columns(['status', 'run_at']).execute();
      await db.schema.createIndex('jobs_lease').on('jobs').columns(['status', 'locked_until']).execute();
      await db.schema.createIndex('jobs_type_status').on('jobs').columns(['type', 'status']).execute();
      await db.schema.createIndex('jobs_org').on('jobs').column('org_id').execute();

      await db.schema
        .createTable('job_schedules')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('every_seconds', 'integer', (c) =>
          c.check(sql`every_seconds is null or every_seconds > 0`),
        )
        .addColumn('daily_at', 'text')
        .addColumn('next_run_at', 'text', (c) => c.notNull())
        .addColumn('last_run_at', 'text')
        .addColumn('last_job_id', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addCheckConstraint('job_schedules_one_cadence', sql`(every_seconds is null) <> (daily_at is null)`)
        .execute();
    },
  },
};
