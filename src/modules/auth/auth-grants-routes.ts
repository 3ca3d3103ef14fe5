/**
 * Routes of operator access grants (P8): the tenant's owner or admin manages them at
 * `/staff/grants`; operator staff see theirs at `/staff/grants/mine` and enter or leave one.
 * Entering and leaving rotate the session, as every change of privilege does.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, isAppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import { renderPage } from '../../shared/http/render.js';
import { translator } from '../../shared/i18n/messages.js';
import { createGrantsService } from './auth-grants.js';
import { type GrantFormValues, grantUsesPage, myGrantsPage, tenantGrantsPage } from './auth-grants-views.js';
import type { AuthRouteDeps } from './auth-service.js';
import { SESSION_COOKIE, sessionCookieOptions } from './auth-sessions.js';

const managerAccess = { kind: 'staff', permission: 'grants.manage' } as const;
const anyStaff = { kind: 'staff' } as const;
const idParams = z.object({ id: z.uuid() });

function actorOf(request: FastifyRequest) {
  const actor = request.actor;
  if (actor === undefined) throw new AppError('ERR_UNAUTHENTICATED');
  return actor;
}

function grantIdOf(request: FastifyRequest): string {
  const parsed = idParams.safeParse(request.params);
  if (!parsed.success) throw new AppError('ERR_NOT_FOUND', { message: 'not a grant id' });
  return parsed.data.id;
}

function formValuesOf(body: unknown): GrantFormValues {
  const b = (body ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const roles = Array.isArray(b.roles) ? b.roles.filter((r) => typeof r === 'string') : text(b.roles);
  return {
    granteeEmail: text(b.granteeEmail),
    roles: roles === undefined ? [] : Array.isArray(roles) ? roles : [roles],
    purpose: text(b.purpose),
    agreementRef: text(b.agreementRef),
    days: text(b.days),
  };
}

export async function registerGrantRoutes(app: FastifyInstance, kluis: AuthRouteDeps): Promise<void> {
  const auth = kluis.auth;
  const grants = createGrantsService({ db: kluis.db, clock: kluis.clock, sessions: auth.sessions });
  const sessionIdOf = (request: FastifyRequest) => {
    const id = request.session?.id;
    if (id === undefined) throw new AppError('ERR_UNAUTHENTICATED');
    return id;
  };

  const renderTenantPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    o: { values?: GrantFormValues; errors?: FieldErrors; status?: number; notice?: string } = {},
  ) => {
    const t = translator(request.locale);
    const csrf = reply.generateCsrf();
    return renderPage(request, reply, {
      title: t('auth.grants.title'),
      status: o.status ?? 200,
      csrfToken: csrf,
      body: tenantGrantsPage({
        t,
        locale: request.locale,
        csrf,
        grants: await grants.listForTenant(actorOf(request)),
        values: o.values ?? {},
        errors: o.errors,
        notice: o.notice,
      }),
    });
  };

  app.get('/staff/grants', { config: { access: managerAccess } }, async (request, reply) => {
    const done = (request.query as Record<string, unknown> | undefined)?.done;
    const t = translator(request.locale);
    const notice =
      done === 'created'
        ? t('auth.grants.created')
        : done === 'revoked'
          ? t('auth.grants.revoked')
          : undefined;
    return renderTenantPage(request, reply, notice === undefined ? {} : { notice });
  });

  app.post('/staff/grants', { config: { access: managerAccess } }, async (request, reply) => {
    try {
      await grants.create({ actor: actorOf(request), values: request.body ?? {} });
      return reply.redirect('/staff/grants?done=created', 303);
    } catch (error) {
      if (isAppError(error) && error.fields !== undefined) {
        return renderTenantPage(request, reply, {
          values: formValuesOf(request.body),
          errors: error.fields,
          status: error.status,
        });
      }
      throw error;
    }
  });

  app.get('/staff/grants/mine', { config: { access: anyStaff } }, async (request, reply) => {
    const t = translator(request.locale);
    const csrf = reply.generateCsrf();
    return renderPage(request, reply, {
      title: t('auth.grants.mineTitle'),
      csrfToken: csrf,
      body: myGrantsPage({
        t,
        locale: request.locale,
        csrf,
        grants: await grants.listForGrantee(actorOf(request)),
      }),
    });
  });

  app.post('/staff/grants/leave', { config: { access: anyStaff } }, async (request, reply) => {
    const issued = await grants.leave({ actor: actorOf(request), sessionId: sessionIdOf(request) });
    reply.setCookie(SESSION_COOKIE, issued.token, sessionCookieOptions(kluis.config, issued.expiresAt));
    return reply.redirect('/staff/grants/mine', 303);
  });

  app.get('/staff/grants/:id', { config: { access: managerAccess } }, async (request, reply) => {
    const actor = actorOf(request);
    const id = grantIdOf(request);
    const grant = (await grants.listForTenant(actor)).find((g) => g.id === id);
    if (grant === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'grant not found' });
    const t = translator(request.locale);
    return renderPage(request, reply, {
      title: t('auth.grants.usesTitle', { email: grant.granteeEmail }),
      body: grantUsesPage({ t, locale: request.locale, grant, uses: await grants.usesOf(actor, id) }),
    });
  });

  app.post('/staff/grants/:id/revoke', { config: { access: managerAccess } }, async (request, reply) => {
    await grants.revoke({ actor: actorOf(request), grantId: grantIdOf(request) });
    return reply.redirect('/staff/grants?done=revoked', 303);
  });

  app.post('/staff/grants/:id/enter', { config: { access: anyStaff } }, async (request, reply) => {
    const issued = await grants.enter({
      actor: actorOf(request),
      grantId: grantIdOf(request),
      sessionId: sessionIdOf(request),
    });
    reply.setCookie(SESSION_COOKIE, issued.token, sessionCookieOptions(kluis.config, issued.expiresAt));
    return reply.redirect('/staff', 303);
  });
}
