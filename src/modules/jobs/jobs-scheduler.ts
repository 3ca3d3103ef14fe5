/**
 * Recurring work. A schedule row names its next slot; a tick that moves `next_run_at` from that
 * slot to the following one (compare-and-set) enqueues the slot's job in the same transaction,
 * with `dedupe_key = schedule:<name>:<slot>`. So with any number of worker processes each slot
 * gives exactly one job. Missed slots (nothing ran for a while) collapse into one run.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../shared/clock.js';
import { DAY } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { enqueue } from './jobs-queue.js';
import { jobTypePattern } from './jobs-registry.js';
import { createSchedulesRepository, type ScheduleRow } from './jobs-schedules-repository.js';

export type ScheduleInput = {
  /** Stable name, e.g. `security.access_log_sweep`. */
  name: string;
  type: string;
  payload?: Readonly<Record<string, unknown>>;
} & ({ everySeconds: number; dailyAt?: undefined } | { dailyAt: string; everySeconds?: undefined });

const dailyPattern = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** The first daily `HH:MM` (UTC) strictly after `after`. */
export function nextDaily(dailyAt: string, after: Date): Date {
  const match = dailyPattern.exec(dailyAt);
  if (match === null) throw new AppError('ERR_VALIDATION', { message: 'dailyAt must be HH:MM (UTC)' });
  const candidate = new Date(after);
  candidate.setUTCHours(Number(match[1]), Number(match[2]), 0, 0);
  return candidate.getTime() > after.getTime() ? candidate : new Date(candidate.getTime() + DAY);
}

/** The slot after `slot`; slots missed before `now` are skipped, keeping the cadence. */
export function nextSlot(
  schedule: Pick<ScheduleRow, 'every_seconds' | 'daily_at'>,
  slot: Date,
  now: Date,
): Date {
  if (schedule.every_seconds !== null) {
    const every = schedule.every_seconds * 1000;
    const behind = Math.max(0, now.getTime() - slot.getTime());
    return new Date(slot.getTime() + (Math.floor(behind / every) + 1) * every);
  }
  if (schedule.daily_at !== null) {
    return nextDaily(schedule.daily_at, slot.getTime() > now.getTime() ? slot : now);
  }
  throw new AppError('ERR_INTERNAL', { message: 'schedule has no cadence' });
}

/**
 * Creates or updates a schedule (idempotent; call at every start). A new interval schedule is
 * due at once; a daily one at its next time. Changing the cadence re-plans the next run.
 */
export async function ensureSchedule(db: Kysely<DB>, clock: Clock, input: ScheduleInput): Promise<void> {
  if (!jobTypePattern.test(input.type)) {
    throw new AppError('ERR_VALIDATION', { message: `job type ${input.type} must look like module.verb` });
  }
  if (input.everySeconds !== undefined && (!Number.isInteger(input.everySeconds) || input.everySeconds < 1)) {
    throw new AppError('ERR_VALIDATION', { message: 'everySeconds must be a positive integer' });
  }
  const now = clock.now();
  const cadence = {
    every_seconds: input.everySeconds ?? null,
    daily_at: input.dailyAt ?? null,
  };
  const firstRun = cadence.daily_at !== null ? nextDaily(cadence.daily_at, now) : now;
  const payload = JSON.stringify(input.payload ?? {});
  const repo = createSchedulesRepository(db);
  const existing = await repo.findSchedule(input.name);
  if (existing === undefined) {
    await repo.insertSchedule({
      name: input.name,
      type: input.type,
      payload,
      ...cadence,
      next_run_at: firstRun.toISOString(),
      last_run_at: null,
      last_job_id: null,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
    });
    return;
  }
  const cadenceChanged =
    existing.every_seconds !== cadence.every_seconds || existing.daily_at !== cadence.daily_at;
  if (!cadenceChanged && existing.type === input.type && existing.payload === payload) return;
  await repo.updateScheduleDefinition(input.name, {
    type: input.type,
    payload,
    ...cadence,
    next_run_at: cadenceChanged ? firstRun.toISOString() : existing.next_run_at,
    updated_at: now.toISOString(),
  });
}

export interface ScheduledRun {
  name: string;
  slot: string;
  jobId: string;
}

/** Enqueues the job of every due schedule slot that no other process enqueued first. */
export async function tickSchedules(db: Kysely<DB>, clock: Clock): Promise<ScheduledRun[]> {
  const now = clock.now();
  const due = await createSchedulesRepository(db).listDueSchedules(now.toISOString());
  const runs: ScheduledRun[] = [];
  for (const schedule of due) {
    const slot = schedule.next_run_at;
    const next = nextSlot(schedule, new Date(slot), now).toISOString();
    const run = await db.transaction().execute(async (trx) => {
      const repo = createSchedulesRepository(trx);
      const won = await repo.advanceSchedule({
        name: schedule.name,
        slot,
        next,
        now: now.toISOString(),
      });
      if (!won) return undefined;
      const job = await enqueue(trx, clock, {
        type: schedule.type,
        payload: JSON.parse(schedule.payload) as Record<string, unknown>,
        dedupeKey: `schedule:${schedule.name}:${slot}`,
      });
      await repo.setScheduleLastJob(schedule.name, job.id);
      return { name: schedule.name, slot, jobId: job.id };
    });
    if (run !== undefined) runs.push(run);
  }
  return runs;
}
