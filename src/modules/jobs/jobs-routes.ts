/**
 * `/staff/health`: the queue spans every organisation, so only the operator's owners, admins and
 * security staff see it; a tenant's staff get a 404. Retrying a failed job is a POST with a CSRF
 * token and is audited.
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Actor } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import type { RouteAccess } from '../../shared/http/access.js';
import { renderPage } from '../../shared/http/render.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import { translator } from '../../shared/i18n/messages.js';
import type { KluisModule } from '../module.js';
import { jobsHealth, retryFailedJob, STALL_AFTER_MS } from './jobs-queue.js';
import { healthPage } from './jobs-views.js';

const healthAccess: RouteAccess = { kind: 'staff', roles: ['owner', 'admin', 'security'] };

function operatorActor(request: FastifyRequest): Actor {
  const actor = request.actor;
  if (actor === undefined || actor.orgKind !== 'operator') {
    throw new AppError('ERR_NOT_FOUND', { message: 'health page is for operator staff' });
  }
  return actor;
}

const retryParams = z.object({ id: z.uuid() });
const healthQuery = z.object({ retried: z.literal('1').optional() });

export const jobsModule: KluisModule = {
  name: 'jobs',
  async routes(app, kluis) {
    app.get('/staff/health', { config: { access: healthAccess } }, async (request, reply) => {
      operatorActor(request);
      const query = healthQuery.safeParse(request.query);
      const health = await jobsHealth(kluis.db, kluis.clock);
      const stalled =
        health.oldestDueQueuedAt !== undefined &&
        kluis.clock.now().getTime() - Date.parse(health.oldestDueQueuedAt) > STALL_AFTER_MS;
      // Imported when used: app.ts imports this module (through the module list).
      const { kluisVersion } = await import('../../app.js');
      const csrfToken = reply.generateCsrf();
      return renderPage(request, reply, {
        title: translator(request.locale)('jobs.health.title'),
        csrfToken,
        body: (t) =>
          healthPage({
            t,
            locale: request.locale,
            health,
            stalled,
            dialect: kluis.dialect,
            version: kluisVersion(),
            environment: kluis.config.env,
            csrfToken,
            retried: query.success && query.data.retried === '1',
          }),
      });
    });

    app.post('/staff/health/jobs/:id/retry', { config: { access: healthAccess } }, async (request, reply) => {
      const actor = operatorActor(request);
      const { id } = parseOrThrow(retryParams, request.params);
      await retryFailedJob(kluis.db, kluis.clock, actor, id);
      return reply.redirect('/staff/health?retried=1', 303);
    });
  },
};
