/**
 * Background jobs: the public API other modules use. A queue in the main database (both
 * dialects), a scheduler for recurring work and a worker. Keeps P11 (no personal values in job
 * payloads or errors: ids, codes and sealed envelopes only; staff actions on the queue audited)
 * and carries the sweeps that keep P6 and P12 (retention, access-log truncation) on time.
 *
 *   enqueue(trx, clock, { type, payload, runAt?, maxAttempts?, dedupeKey?, orgId? })
 *   const registry = createJobRegistry(); registry.register('mod.verb', zodSchema, handler)
 *   createWorker({ kluis, registry, concurrency, pollMs }).start() / .runOnce()
 *   ensureSchedule(db, clock, { name, type, everySeconds | dailyAt, payload })
 */
export {
  backoffMs,
  describeJobError,
  type EnqueuedJob,
  type EnqueueInput,
  enqueue,
  jobsHealth,
  pruneJobs,
  queueState,
  retryFailedJob,
} from './jobs-queue.js';
export {
  createJobRegistry,
  type JobContext,
  type JobHandler,
  type JobRegistry,
  type JobTypeOptions,
} from './jobs-registry.js';
export { ensureSchedule, type ScheduleInput, tickSchedules } from './jobs-scheduler.js';
export { createWorker, type RunSummary, type Worker, type WorkerOptions } from './jobs-worker.js';
