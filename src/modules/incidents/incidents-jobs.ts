/** The register's jobs: the impact of a signal's incident, the subjects' mails, the 72-hour clock. */
import { z } from 'zod';
import type { JobRegistry } from '../jobs/index.js';
import { CLOCK_JOB } from './incidents-duties.js';
import type { IncidentsService } from './incidents-service.js';
import { INCIDENT_IMPACT_JOB } from './incidents-signals.js';
import { SUBJECT_MAIL_JOB } from './incidents-subjects.js';

const ids = z.object({ orgId: z.string().min(1).max(100) });

export function registerIncidentJobs(
  registry: JobRegistry,
  deps: { readonly incidents: IncidentsService },
): void {
  registry.register(
    INCIDENT_IMPACT_JOB,
    ids.extend({ incidentId: z.string().min(1).max(100) }),
    async (p, ctx) => {
      await deps.incidents.refreshImpact(p.orgId, p.incidentId);
      ctx.logger.info({ incidentId: p.incidentId }, 'incident impact computed');
    },
  );
  registry.register(
    SUBJECT_MAIL_JOB,
    ids.extend({ noticeId: z.string().min(1).max(100) }),
    async (p, ctx) => {
      await deps.incidents.sendSubjectMail(p.orgId, p.noticeId, ctx.job);
    },
  );
  registry.register(CLOCK_JOB, z.object({}), async (_p, ctx) => {
    ctx.logger.info(await deps.incidents.clockDuties(), 'incident clock');
  });
}
