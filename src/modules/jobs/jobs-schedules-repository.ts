/** Recurring schedules of the queue (`job_schedules`): system infrastructure, not org-scoped. */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { JobSchedulesTable } from './jobs-schema.js';

export type ScheduleRow = JobSchedulesTable;

export function createSchedulesRepository(db: Kysely<DB>) {
  return {
    findSchedule(name: string): Promise<ScheduleRow | undefined> {
      return db.selectFrom('job_schedules').selectAll().where('name', '=', name).executeTakeFirst();
    },

    async insertSchedule(row: ScheduleRow): Promise<void> {
      await db
        .insertInto('job_schedules')
        .values(row)
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
    },

    async updateScheduleDefinition(
      name: string,
      values: Pick<
        ScheduleRow,
        'type' | 'payload' | 'every_seconds' | 'daily_at' | 'next_run_at' | 'updated_at'
      >,
    ): Promise<void> {
      await db.updateTable('job_schedules').set(values).where('name', '=', name).execute();
    },

    listDueSchedules(now: string): Promise<ScheduleRow[]> {
      return db
        .selectFrom('job_schedules')
        .selectAll()
        .where('next_run_at', '<=', now)
        .orderBy('next_run_at')
        .orderBy('name')
        .execute();
    },

    listSchedules(): Promise<ScheduleRow[]> {
      return db.selectFrom('job_schedules').selectAll().orderBy('next_run_at').orderBy('name').execute();
    },

    /**
     * Compare-and-set: moves the schedule from `slot` to `next`. Exactly one caller per slot
     * sees `true`; on PostgreSQL a concurrent caller waits for the row lock and then finds
     * `next_run_at` already moved.
     */
    async advanceSchedule(input: {
      name: string;
      slot: string;
      next: string;
      now: string;
    }): Promise<boolean> {
      const result = await db
        .updateTable('job_schedules')
        .set({ next_run_at: input.next, last_run_at: input.slot, updated_at: input.now })
        .where('name', '=', input.name)
        .where('next_run_at', '=', input.slot)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async setScheduleLastJob(name: string, jobId: string): Promise<void> {
      await db.updateTable('job_schedules').set({ last_job_id: jobId }).where('name', '=', name).execute();
    },
  };
}
