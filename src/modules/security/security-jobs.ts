/**
 * The security module's recurring work, for the job worker: the access-log retention sweep
 * (P12) and signing an audit checkpoint (ASVS 16.4.2). The lead's wiring calls
 * `registerSecurityJobs(registry)` and `ensureSecuritySchedules(db, clock)` at start.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../shared/clock.js';
import type { JobRegistry } from '../jobs/jobs-registry.js';
import { ensureSchedule } from '../jobs/jobs-scheduler.js';
import { sweepAccessLog } from './access-log-service.js';
import { createCheckpoint } from './audit-checkpoint.js';

export const ACCESS_LOG_SWEEP_JOB = 'security.access_log_sweep';
export const AUDIT_CHECKPOINT_JOB = 'security.audit_checkpoint';

export function registerSecurityJobs(registry: JobRegistry): void {
  registry.register(ACCESS_LOG_SWEEP_JOB, z.object({}), async (_payload, { kluis, logger }) => {
    const result = await sweepAccessLog(kluis.db, kluis.clock, kluis.config.accessLog);
    logger.info(result, 'access log swept');
  });
  registry.register(AUDIT_CHECKPOINT_JOB, z.object({}), async (_payload, { kluis, logger }) => {
    const cp = await createCheckpoint(kluis);
    logger.info({ seq: cp.seq, created: cp.created }, 'audit checkpoint');
  });
}

/** Sweep the access log every night, sign a checkpoint every hour. */
export async function ensureSecuritySchedules(db: Kysely<DB>, clock: Clock): Promise<void> {
  await ensureSchedule(db, clock, {
    name: ACCESS_LOG_SWEEP_JOB,
    type: ACCESS_LOG_SWEEP_JOB,
    dailyAt: '03:17',
  });
  await ensureSchedule(db, clock, {
    name: AUDIT_CHECKPOINT_JOB,
    type: AUDIT_CHECKPOINT_JOB,
    everySeconds: 3600,
  });
}
