import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createFixedClock, DAY } from '../../shared/clock.js';
import { createWorker, enqueue, ensureSchedules } from './index.js';

describe('the jobs every module declares', () => {
  let kluis: TestKluis;
  const clock = createFixedClock('2030-02-03T12:00:00.000Z');
  beforeEach(async () => {
    kluis = await createTestKluis({ clock });
  });
  afterEach(async () => {
    await kluis.destroy();
  });

  it('registers every job type that a schedule enqueues, so no scheduled job fails as unknown', async () => {
    const registry = kluis.jobRegistry;
    expect(registry.types()).toEqual(expect.arrayContaining(['mail.send', 'jobs.prune']));
    await ensureSchedules(kluis);
    await ensureSchedules(kluis);
    const schedules = await kluis.db.selectFrom('job_schedules').selectAll().execute();
    expect(schedules.length).toBeGreaterThanOrEqual(1);
    for (const s of schedules) expect(registry.types()).toContain(s.type);
  });

  it('schedules the recurring jobs declared with recurringJob under their own type and cadence', async () => {
    await ensureSchedules(kluis);
    const rows = await kluis.db
      .selectFrom('job_schedules')
      .select(['name', 'type', 'every_seconds', 'daily_at'])
      .where('name', 'in', ['auth.sweep', 'jobs.prune', 'register.subprocessors_due'])
      .orderBy('name')
      .execute();
    expect(rows).toEqual([
      { name: 'auth.sweep', type: 'auth.sweep', every_seconds: 3600, daily_at: null },
      { name: 'jobs.prune', type: 'jobs.prune', every_seconds: null, daily_at: '03:15' },
      {
        name: 'register.subprocessors_due',
        type: 'register.subprocessors_due',
        every_seconds: null,
        daily_at: '00:20',
      },
    ]);
    // And the handler it registered runs the job (the session sweep) to the end.
    const { id } = await enqueue(kluis.db, clock, { type: 'auth.sweep', payload: {} });
    const worker = createWorker({ kluis, registry: kluis.jobRegistry, scheduler: false });
    expect(await worker.runOnce()).toMatchObject({ done: 1 });
    const row = await kluis.db.selectFrom('jobs').select('status').where('id', '=', id).executeTakeFirst();
    expect(row?.status).toBe('done');
  });

  it('prunes old finished jobs through the scheduled jobs.prune job', async () => {
    const { id } = await enqueue(kluis.db, clock, { type: 'jobs.prune', payload: {} });
    const worker = createWorker({ kluis, registry: kluis.jobRegistry, scheduler: false });
    expect(await worker.runOnce()).toMatchObject({ done: 1 });
    clock.advance(8 * DAY);
    await enqueue(kluis.db, clock, { type: 'jobs.prune', payload: {} });
    expect(await worker.runOnce()).toMatchObject({ done: 1 });
    expect(await kluis.db.selectFrom('jobs').select('id').where('id', '=', id).execute()).toEqual([]);
  });
});
