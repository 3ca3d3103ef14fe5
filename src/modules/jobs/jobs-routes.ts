/**
 * `/staff/health`: the queue spans every organisation, so only the operator's owners, admins and
 * security staff see it; a tenant's staff get a 404. Retrying a failed job is a POST with a CSRF
 * token and is audited.
 */
import { z } from 'zod';
import { renderPage } from '../../shared/http/render.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import { kluisVersion } from '../../shared/version.js';
import type { KluisCore } from '../module.js';
import { STALL_AFTER_MS } from './jobs-queue.js';
import type { JobsService } from './jobs-service.js';
import { healthPage } from './jobs-views.js';

export function jobsRoutes(
  kit: RouteKit,
  deps: Pick<KluisCore, 'clock' | 'dialect' | 'config'> & { readonly jobs: JobsService },
): void {
  const access = { kind: 'staff', permission: 'health.view' } as const;

  kit.route({
    method: 'GET',
    url: '/staff/health',
    access,
    query: z.object({ retried: z.literal('1').optional() }),
    handler: async ({ request, reply, actor, query, t, locale }) => {
      const health = await deps.jobs.health(actor);
      const stalled =
        health.oldestDueQueuedAt !== undefined &&
        deps.clock.now().getTime() - Date.parse(health.oldestDueQueuedAt) > STALL_AFTER_MS;
      const csrfToken = reply.generateCsrf();
      return renderPage(request, reply, {
        title: t('jobs.health.title'),
        csrfToken,
        body: healthPage({
          t,
          locale,
          health,
          stalled,
          dialect: deps.dialect,
          version: kluisVersion(),
          environment: deps.config.env,
          csrfToken,
          retried: query.retried === '1',
        }),
      });
    },
  });

  kit.route({
    method: 'POST',
    url: '/staff/health/jobs/:id/retry',
    access,
    params: z.object({ id: z.uuid() }),
    form: true,
    handler: async ({ reply, actor, params }) => {
      await deps.jobs.retryFailed(actor, params.id);
      return reply.redirect('/staff/health?retried=1', 303);
    },
  });
}
