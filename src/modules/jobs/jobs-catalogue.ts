/**
 * Every job type Kluis runs and the recurring schedules, in one place: `kluis serve` and
 * `kluis worker` build their registry here. A module adds its job by exporting a
 * `register…Jobs(registry)` function and calling it below (and a schedule in
 * `ensureDefaultSchedules` when it recurs).
 */
import { z } from 'zod';
import type { Kluis } from '../../kluis.js';
import { authServiceFor } from '../auth/auth-service.js';
import { registerIntakeJobs } from '../intake/intake-replies.js';
import { registerMailJobs } from '../mail/mail-service.js';
import { ensureRetentionSchedules, registerRetentionJobs } from '../retention/retention-jobs.js';
import { ensureRightsSchedules, registerRightsJobs } from '../rights/rights-fulfil.js';
import { ensureSecuritySchedules, registerSecurityJobs } from '../security/security-jobs.js';
import { pruneJobs } from './jobs-queue.js';
import { createJobRegistry, type JobRegistry } from './jobs-registry.js';
import { ensureSchedule } from './jobs-scheduler.js';

export const PRUNE_JOBS = 'jobs.prune';
export const SWEEP_SESSIONS = 'auth.sweep';

export function buildJobRegistry(): JobRegistry {
  const registry = createJobRegistry();
  registerMailJobs(registry);
  registerSecurityJobs(registry);
  registerIntakeJobs(registry);
  registerRetentionJobs(registry);
  registerRightsJobs(registry);
  registry.register(SWEEP_SESSIONS, z.object({}), async (_payload, ctx) => {
    const removed = await authServiceFor(ctx.kluis).sweep();
    ctx.logger.info(removed, 'expired sessions and old login attempts removed');
  });
  registry.register(PRUNE_JOBS, z.object({}), async (_payload, ctx) => {
    const removed = await pruneJobs(ctx.kluis.db, ctx.kluis.clock);
    ctx.logger.info(removed, 'finished jobs pruned');
  });
  return registry;
}

/** Creates or updates the recurring schedules (idempotent; run at every start). */
export async function ensureDefaultSchedules(kluis: Pick<Kluis, 'db' | 'clock'>): Promise<void> {
  await ensureSchedule(kluis.db, kluis.clock, { name: PRUNE_JOBS, type: PRUNE_JOBS, dailyAt: '03:15' });
  await ensureSchedule(kluis.db, kluis.clock, {
    name: SWEEP_SESSIONS,
    type: SWEEP_SESSIONS,
    everySeconds: 3600,
  });
  await ensureSecuritySchedules(kluis.db, kluis.clock);
  await ensureRetentionSchedules(kluis.db, kluis.clock);
  await ensureRightsSchedules(kluis);
}
