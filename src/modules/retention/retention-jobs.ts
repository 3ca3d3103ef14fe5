/**
 * The nightly retention sweep as a job (P6, P12). The handler heartbeats after every batch so
 * no other worker takes the job over; if the worker dies, the job is retried and the sweep
 * resumes from its last committed batch (`retention_run_steps`).
 */
import { z } from 'zod';
import { isAppError } from '../../shared/errors.js';
import type { JobRegistry } from '../jobs/index.js';
import type { RetentionService } from './retention-service.js';

export const RETENTION_SWEEP_JOB = 'retention.sweep';

export function registerRetentionJobs(
  registry: JobRegistry,
  deps: { readonly retention: RetentionService },
): void {
  registry.register(
    RETENTION_SWEEP_JOB,
    z.object({}),
    async (_payload, ctx) => {
      try {
        const result = await deps.retention.run({
          startedBy: 'system:retention-job',
          afterBatch: () => ctx.heartbeat(),
        });
        ctx.logger.info({ runId: result.runId, resumed: result.resumed }, 'retention sweep done');
      } catch (error) {
        // Another process is sweeping right now: this slot has nothing left to do.
        if (isAppError(error) && error.code === 'ERR_RETENTION_RUN_IN_PROGRESS') {
          ctx.logger.info('retention sweep already running elsewhere');
          return;
        }
        throw error;
      }
    },
    { leaseMs: 10 * 60_000 },
  );
}
