/**
 * `/staff/health`: the queue spans every organisation, so only the operator's owners, admins and
 * security staff see it; a tenant's staff get a 404. Retrying a failed job is a POST with a CSRF
 * token and is audited.
 */
import { z } from 'zod';
import { AppError } from '../../shared/errors.js';
import { renderPage } from '../../shared/http/render.js';
import type { RouteKit, UserActor } from '../../shared/http/route-kit.js';
import { kluisVersion } from '../../shared/version.js';
import type { KluisCore } from '../module.js';
import { jobsHealth, retryFailedJob, STALL_AFTER_MS } from './jobs-queue.js';
import { healthPage } from './jobs-views.js';

function operatorOnly(actor: UserActor): UserActor {
  if (actor.orgKind !== 'operator') {
    throw new AppError('ERR_NOT_FOUND', { message: 'health page is for operator staff' });
  }
  return actor;
}

export function jobsRoutes(
  kit: RouteKit,
  deps: Pick<KluisCore, 'db' | 'clock' | 'dialect' | 'config'>,
): void {
  const access = { kind: 'staff', permission: 'health.view' } as const;

  kit.route({
    method: 'GET',
    url: '/staff/health',
    access,
    query: z.object({ retried: z.literal('1').optional() }),
    handler: async ({ request, reply, actor, query, t, locale }) => {
      operatorOnly(actor);
      const health = await jobsHealth(deps.db, deps.clock);
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
      await retryFailedJob(deps.db, deps.clock, operatorOnly(actor), params.id);
      return reply.redirect('/staff/health?retried=1', 303);
    },
  });
}
