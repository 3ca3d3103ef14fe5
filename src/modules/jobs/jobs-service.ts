/**
 * The queue as staff and other modules see it (P11): the health figures of the operator's health
 * page, a staff retry of a failed job (audited), and the one-word queue state of `/healthz`. The
 * queue spans every organisation, so only the operator's staff may look at it or act on it; a
 * tenant's staff are told it does not exist.
 */
import type { Actor } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { assertCan } from '../../shared/permissions.js';
import type { KluisCore } from '../module.js';
import type { AuditService } from '../security/index.js';
import { type JobsHealth, jobsHealth, queueState } from './jobs-queue.js';
import { createJobsRepository } from './jobs-repository.js';

function assertOperatorStaff(actor: Actor): void {
  if (actor.orgKind !== 'operator') throw new AppError('ERR_NOT_FOUND', { message: 'job not found' });
  assertCan(actor, 'health.view');
}

export function createJobsService(deps: Pick<KluisCore, 'db' | 'clock'> & { readonly audit: AuditService }) {
  const { db, clock, audit } = deps;
  return {
    /** Queue depth, failed jobs and schedules, for the operator's health page. */
    async health(actor: Actor): Promise<JobsHealth> {
      assertOperatorStaff(actor);
      return jobsHealth(db, clock);
    },

    /** Puts a failed job back in the queue with fresh attempts (health page button); audited. */
    async retryFailed(actor: Actor, jobId: string): Promise<void> {
      assertOperatorStaff(actor);
      await db.transaction().execute(async (trx) => {
        const repo = createJobsRepository(trx);
        const job = await repo.findById(jobId);
        if (job === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'job not found' });
        if (!(await repo.requeueFailed(jobId, clock.now().toISOString()))) {
          throw new AppError('ERR_CONFLICT', { message: `job is ${job.status}, not failed` });
        }
        await audit.append(trx, {
          actor,
          action: 'jobs.retry',
          target: { type: 'job', id: jobId },
          meta: { type: job.type, attempts: job.attempts },
        });
      });
    },

    /** For the public /healthz: `stalled` when due jobs wait and no worker takes them. */
    queueState: (): Promise<'ok' | 'stalled'> => queueState(db, clock),
  };
}

export type JobsService = ReturnType<typeof createJobsService>;
