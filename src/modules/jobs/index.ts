/**
 * Background jobs: a queue in the main database (both dialects), a scheduler for recurring work
 * and a worker. Keeps P11 (no personal values in job payloads or errors: ids, codes and sealed
 * envelopes only; staff actions on the queue audited) and carries the sweeps that keep P6 and P12
 * on time. Modules add job types and schedules through their manifests.
 *
 *   enqueue(trx, clock, { type, payload, runAt?, maxAttempts?, dedupeKey?, orgId? })
 *   manifest.jobs(registry, deps): registry.register('mod.verb', zodSchema, handler)
 *   manifest.schedules: [{ name, type, everySeconds | dailyAt, payload }]
 */
import { defineModule, type ModuleDeps, recurringJob } from '../module.js';
import { registerJobsCommands } from './jobs-commands.js';
import { jobsFields } from './jobs-fields.js';
import { jobsEn, jobsNl } from './jobs-messages.js';
import { jobsPersonalData } from './jobs-personal-data.js';
import { pruneJobs } from './jobs-queue.js';
import { jobsRoutes } from './jobs-routes.js';
import { jobsMigrations } from './jobs-schema.js';
import { createJobsService, type JobsService } from './jobs-service.js';

export type { JobsService } from './jobs-service.js';

declare module '../module.js' {
  interface KluisServices {
    jobs: JobsService;
  }
}

export { ensureSchedules, startJobWorker } from './jobs-commands.js';
export {
  backoffMs,
  describeJobError,
  type EnqueuedJob,
  type EnqueueInput,
  enqueue,
  jobsHealth,
  pruneJobs,
  queueState,
} from './jobs-queue.js';
export {
  createJobRegistry,
  type JobContext,
  type JobHandler,
  type JobInfo,
  type JobRegistry,
  type JobTypeOptions,
} from './jobs-registry.js';
export { ensureSchedule, type ScheduleInput, tickSchedules } from './jobs-scheduler.js';
export { createWorker, type RunSummary, type Worker, type WorkerOptions } from './jobs-worker.js';

export const PRUNE_JOBS = 'jobs.prune';

export const jobsModule = defineModule({
  name: 'jobs',
  migrations: jobsMigrations,
  tables: ['jobs', 'job_schedules'],
  catalogue: jobsFields,
  personalData: jobsPersonalData,
  messages: { nl: jobsNl, en: jobsEn },
  provides: ['jobs'],
  needs: ['audit'],
  services: (deps) => ({ jobs: createJobsService(deps) }),
  ...recurringJob(PRUNE_JOBS, { dailyAt: '03:15' }, 'finished jobs pruned', (deps: ModuleDeps) =>
    pruneJobs(deps.db, deps.clock),
  ),
  cli: registerJobsCommands,
  navigation: [
    {
      href: '/staff/health',
      label: 'nav.health',
      order: 50,
      permission: 'health.view',
      orgKinds: ['operator'],
    },
  ],
  routes: jobsRoutes,
});
