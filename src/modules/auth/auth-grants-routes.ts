/**
 * Routes of operator access grants (P8): the tenant's owner or admin manages them at
 * `/staff/grants`; operator staff see theirs at `/staff/grants/mine` and enter or leave one.
 * Entering and leaving rotate the session, as every change of privilege does.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Actor } from '../../shared/actor.js';
import { AppError, isAppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import { renderPage } from '../../shared/http/render.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import { grantForm } from './auth-grants.js';
import { type GrantFormValues, grantUsesPage, myGrantsPage, tenantGrantsPage } from './auth-grants-views.js';
import {
  type AuthRouteDeps,
  idParams,
  queryText,
  renderFormPage,
  sessionIdOf,
  setSessionCookie,
} from './auth-http.js';
import type { AuthService } from './auth-service.js';

const managerAccess = { kind: 'staff', permission: 'grants.manage' } as const;
const anyStaff = { kind: 'staff' } as const;

/** The form as typed, to show it again (roles may come as one value or several). */
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

async function renderTenantPage(
  grants: AuthService['grants'],
  request: FastifyRequest,
  reply: FastifyReply,
  actor: Actor,
  o: { values?: GrantFormValues; errors?: FieldErrors; status?: number; notice?: string | undefined } = {},
) {
  const list = await grants.listForTenant(actor);
  return renderFormPage(request, reply, (t, csrf) => ({
    title: t('auth.grants.title'),
    status: o.status ?? 200,
    body: tenantGrantsPage({
      t,
      locale: request.locale,
      csrf,
      grants: list,
      values: o.values ?? {},
      errors: o.errors,
      notice: o.notice,
    }),
  }));
}

export function registerGrantRoutes(kit: RouteKit, deps: AuthRouteDeps): void {
  const { config } = deps;
  const grants = deps.auth.grants;

  kit.route({
    method: 'GET',
    url: '/staff/grants',
    access: managerAccess,
    query: z.object({ done: queryText }),
    handler: async ({ request, reply, actor, query, t }) => {
      const notice =
        query.done === 'created'
          ? t('auth.grants.created')
          : query.done === 'revoked'
            ? t('auth.grants.revoked')
            : undefined;
      return renderTenantPage(grants, request, reply, actor, { notice });
    },
  });

  kit.route({
    method: 'POST',
    url: '/staff/grants',
    access: managerAccess,
    body: grantForm,
    form: true,
    handler: async ({ request, reply, actor, body }) => {
      const values = formValuesOf(request.body);
      if (!body.ok)
        return renderTenantPage(grants, request, reply, actor, { values, errors: body.errors, status: 400 });
      try {
        await grants.create({ actor, values: body.data });
        return reply.redirect('/staff/grants?done=created', 303);
      } catch (error) {
        if (!isAppError(error) || error.fields === undefined) throw error;
        return renderTenantPage(grants, request, reply, actor, {
          values,
          errors: error.fields,
          status: error.status,
        });
      }
    },
  });

  kit.route({
    method: 'GET',
    url: '/staff/grants/mine',
    access: anyStaff,
    handler: async ({ request, reply, actor, locale }) => {
      const mine = await grants.listForGrantee(actor);
      return renderFormPage(request, reply, (t, csrf) => ({
        title: t('auth.grants.mineTitle'),
        body: myGrantsPage({ t, locale, csrf, grants: mine }),
      }));
    },
  });

  kit.route({
    method: 'POST',
    url: '/staff/grants/leave',
    access: anyStaff,
    form: true,
    handler: async ({ request, reply, actor }) => {
      const issued = await grants.leave({ actor, sessionId: sessionIdOf(request) });
      setSessionCookie(reply, config, issued);
      return reply.redirect('/staff/grants/mine', 303);
    },
  });

  kit.route({
    method: 'GET',
    url: '/staff/grants/:id',
    access: managerAccess,
    params: idParams,
    handler: async ({ request, reply, actor, params, t, locale }) => {
      const grant = (await grants.listForTenant(actor)).find((g) => g.id === params.id);
      if (grant === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'grant not found' });
      return renderPage(request, reply, {
        title: t('auth.grants.usesTitle', { email: grant.granteeEmail }),
        body: grantUsesPage({ t, locale, grant, uses: await grants.usesOf(actor, params.id) }),
      });
    },
  });

  kit.route({
    method: 'POST',
    url: '/staff/grants/:id/revoke',
    access: managerAccess,
    params: idParams,
    form: true,
    handler: async ({ reply, actor, params }) => {
      await grants.revoke({ actor, grantId: params.id });
      return reply.redirect('/staff/grants?done=revoked', 303);
    },
  });

  kit.route({
    method: 'POST',
    url: '/staff/grants/:id/enter',
    access: anyStaff,
    params: idParams,
    form: true,
    handler: async ({ request, reply, actor, params }) => {
      const issued = await grants.enter({ actor, grantId: params.id, sessionId: sessionIdOf(request) });
      setSessionCookie(reply, config, issued);
      return reply.redirect('/staff', 303);
    },
  });
}
