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
