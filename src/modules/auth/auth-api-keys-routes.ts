/**
 * API keys for owners and admins (P7 self-service per org, P11): list, make (the token is shown
 * once, on the response page of the POST that made it) and revoke; and `GET /api/v1/whoami`, the
 * API's way of telling a client which org, key or user, and roles its credentials carry.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { roles as allRoles, apiScopes, type Role } from '../../shared/actor.js';
import { isAppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import { renderPage } from '../../shared/http/render.js';
import { apiErrors, noQuery } from '../../shared/http/responses.js';
import type { RouteKit, UserActor } from '../../shared/http/route-kit.js';
import {
  apiKeyCreatedPage,
  apiKeyListPage,
  type NewApiKeyValues,
  newApiKeyPage,
} from './auth-admin-views.js';
import { type AuthRouteDeps, idParams, queryText, renderFormPage, rolesField } from './auth-http.js';

const keyManagerAccess = { kind: 'staff', permission: 'api_keys.manage' } as const;

const newKeyForm = z.object({
  name: z.string().max(400).default(''),
  roles: rolesField,
  // The page ticks the REST API for a new key; a form that sends no scope at all (made before
  // keys had scopes) gets that same default rather than a key that can call nothing.
  scopes: z.preprocess(
    (v) => (v === undefined || v === '' ? ['api'] : Array.isArray(v) ? v : [v]),
    z.array(z.enum(apiScopes, { message: 'field.invalid' })).max(apiScopes.length * 2),
  ),
  expires: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.iso.date({ message: 'auth.apiKeys.expiryInvalid' }).optional(),
  ),
});

const whoamiResponse = z
  .object({
    org: z.object({
      id: z.string().describe('The organisation the credentials act in'),
      kind: z.enum(['operator', 'tenant']),
    }),
    actor: z.object({
      kind: z.enum(['user', 'api_key', 'system']).describe('An API key, or a signed-in staff user'),
      id: z.string().describe('The key id or the user id'),
    }),
    roles: z
      .array(z.enum(allRoles))
      .describe('The roles in effect now (a key holds only roles its creator still holds)'),
  })
  .describe('Who the credentials of this request are');

function renderNewKey(
  request: FastifyRequest,
  reply: FastifyReply,
  actor: UserActor,
  o: { values?: NewApiKeyValues; errors?: FieldErrors; status?: number } = {},
) {
  // A key can hold only roles its creator holds, so only those are offered.
  const grantable: Role[] = allRoles.filter((r) => actor.roles.includes(r));
  return renderFormPage(request, reply, (t, csrf) => ({
    title: t('auth.apiKeys.newTitle'),
    status: o.status ?? 200,
    body: newApiKeyPage({ t, csrf, grantable, values: o.values ?? {}, errors: o.errors }),
  }));
}

export function registerApiKeyRoutes(kit: RouteKit, deps: AuthRouteDeps): void {
  const { auth } = deps;

  kit.route({
    method: 'GET',
    url: '/staff/api-keys',
    access: keyManagerAccess,
    query: z.object({ done: queryText }),
    handler: async ({ request, reply, actor, query, locale }) => {
      const keys = await auth.listApiKeys({ actor });
      return renderFormPage(request, reply, (t, csrf) => ({
        title: t('auth.apiKeys.title'),
        body: apiKeyListPage({
          t,
          locale,
          csrf,
          keys,
          notice: query.done === 'revoked' ? t('auth.apiKeys.revoked') : undefined,
        }),
      }));
    },
  });

  kit.route({
    method: 'GET',
    url: '/staff/api-keys/new',
    access: keyManagerAccess,
    handler: async ({ request, reply, actor }) => renderNewKey(request, reply, actor),
  });

  kit.route({
    method: 'POST',
    url: '/staff/api-keys',
    access: keyManagerAccess,
    body: newKeyForm,
    form: true,
    handler: async ({ request, reply, actor, body, t }) => {
      if (!body.ok) return renderNewKey(request, reply, actor, { errors: body.errors, status: 400 });
      const { name, roles, scopes, expires } = body.data;
      try {
        const { key, token } = await auth.createApiKey({
          actor,
          name,
          roles,
          scopes,
          // The key works until the end of the chosen day (UTC).
          expiresAt: expires === undefined ? undefined : new Date(`${expires}T23:59:59.999Z`),
        });
        return renderPage(request, reply, {
          title: t('auth.apiKeys.createdTitle'),
          body: apiKeyCreatedPage({ t, key, token }),
        });
      } catch (error) {
        if (!isAppError(error) || error.fields === undefined) throw error;
        return renderNewKey(request, reply, actor, {
          values: body.data,
          errors: error.fields,
          status: error.status,
        });
      }
    },
  });

  kit.route({
    method: 'POST',
    url: '/staff/api-keys/:id/revoke',
    access: keyManagerAccess,
    params: idParams,
    form: true,
    handler: async ({ reply, actor, params }) => {
      await auth.revokeApiKey({ actor, keyId: params.id });
      return reply.redirect('/staff/api-keys?done=revoked', 303);
    },
  });

  kit.route({
    method: 'GET',
    url: '/api/v1/whoami',
    access: { kind: 'api' },
    query: noQuery,
    response: { 200: whoamiResponse, ...apiErrors(401, 403, 429) },
    summary: 'Who am I',
    description:
      'The organisation, the API key (or signed-in staff user) and the roles this request acts with. Needs no permission: every valid key may ask. Useful to check a key after making it.',
    tags: ['auth'],
    handler: async ({ actor }) => {
      const id =
        actor.kind === 'user' ? actor.userId : actor.kind === 'api_key' ? actor.apiKeyId : actor.reason;
      return {
        org: { id: actor.orgId, kind: actor.orgKind },
        actor: { kind: actor.kind, id },
        roles: [...actor.roles],
      };
    },
  });
}
