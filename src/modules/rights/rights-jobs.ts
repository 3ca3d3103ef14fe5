/**
 * The rights module's jobs: compiling an access export off the request (a large subject takes
 * seconds), and the daily duties (lapse unconfirmed requests, remind privacy officers of due days).
 */
import { z } from 'zod';
import type { JobRegistry } from '../jobs/index.js';
import { RIGHTS_DAILY_JOB, RIGHTS_EXPORT_JOB } from './rights-fulfil.js';
import type { RightsService } from './rights-service.js';

const exportPayload = z.object({ orgId: z.string().min(1).max(100), requestId: z.uuid() });

export function registerRightsJobs(registry: JobRegistry, deps: { readonly rights: RightsService }): void {
  registry.register(RIGHTS_EXPORT_JOB, exportPayload, async (payload, ctx) => {
    const result = await deps.rights.runExport(payload.orgId, payload.requestId);
    ctx.logger.info({ requestId: payload.requestId, ...(result ?? { skipped: true }) }, 'rights export done');
  });
  registry.register(RIGHTS_DAILY_JOB, z.object({}), async (_payload, ctx) => {
    ctx.logger.info(await deps.rights.dailyDuties(), 'rights requests: lapsed and reminded');
  });
}
