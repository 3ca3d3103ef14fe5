/**
 * User management for owners and admins (P5, P7 self-service per org, P11). Thin handlers:
 * parse, call the use case in auth-users.ts / auth-users-admin.ts (which check the permission,
 * scope every query to the actor's org and audit), render. Another org's user is a 404; a path
 * id that is not a UUID names no user and is a 404 too. One-time passwords appear only in the
 * response to the POST that made them.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type Actor, roles as allRoles, type Role } from '../../shared/actor.js';
import { AppError, isAppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import { renderPage } from '../../shared/http/render.js';
import type { RouteKit, UserActor } from '../../shared/http/route-kit.js';
import type { MessageKey } from '../../shared/i18n/messages.js';
import { can, isPurposeRole } from '../../shared/permissions.js';
import {
  type NewUserValues,
  newUserPage,
  oneTimePasswordPage,
  type UserListParams,
  userListPage,
  userPage,
} from './auth-admin-views.js';
import { type AuthRouteDeps, idParams, queryText, renderFormPage, rolesField } from './auth-http.js';
import type { AuthService } from './auth-service.js';
import type { UserView } from './auth-users.js';

const managerAccess = { kind: 'staff', permission: 'users.manage' } as const;

const listQuery = z.object({
  sort: z.enum(['name', 'email', 'lastLogin']).catch('name'),
  dir: z.enum(['asc', 'desc']).catch('asc'),
  role: z.enum(allRoles).optional().catch(undefined),
  status: z.enum(['active', 'disabled', 'locked']).optional().catch(undefined),
  page: z.coerce.number().int().min(1).max(100_000).catch(1),
});

const newUserForm = z.object({
  email: z.string().max(320).default(''),
  displayName: z.string().max(400).default(''),
  roles: rolesField,
});

const rolesForm = z.object({ roles: rolesField });

const userNotices: Record<string, MessageKey> = {
  roles: 'auth.users.done.roles',
  disabled: 'auth.users.done.disabled',
  enabled: 'auth.users.done.enabled',
  unlocked: 'auth.users.done.unlocked',
  totp: 'auth.users.done.totp',
};

/** Roles the actor may hand out: only a holder of `users.manage_owners` grants the owner role. */
function grantableBy(actor: Actor): Role[] {
  return can(actor, 'users.manage_owners') ? [...allRoles] : allRoles.filter((r) => r !== 'owner');
}

/**
 * The roles offered on a user's page. On one's own page, a purpose role one does not hold is not
 * offered: another owner or admin gives it (the service refuses it anyway).
 */
function offeredOn(actor: UserActor, user: UserView): Role[] {
  const grantable = grantableBy(actor);
  if (actor.userId !== user.id) return grantable;
  return grantable.filter((r) => !isPurposeRole(r) || user.roles.includes(r));
}

/** The user-changing actions of a user's page, by path: the use case and the notice after it. */
const userActions = {
  disable: { done: 'disabled', run: 'disableUser' },
  enable: { done: 'enabled', run: 'enableUser' },
  unlock: { done: 'unlocked', run: 'unlockUser' },
  'reset-totp': { done: 'totp', run: 'resetTotp' },
} as const;

function renderNewUser(
  request: FastifyRequest,
  reply: FastifyReply,
  actor: UserActor,
  o: { values?: NewUserValues; errors?: FieldErrors; status?: number } = {},
) {
  return renderFormPage(request, reply, (t, csrf) => ({
    title: t('auth.users.newTitle'),
    status: o.status ?? 200,
    body: newUserPage({ t, csrf, grantable: grantableBy(actor), values: o.values ?? {}, errors: o.errors }),
  }));
}

async function loadUser(auth: AuthService, actor: Actor, userId: string): Promise<UserView> {
  const user = await auth.findUserById({ actor, userId });
  if (user === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'user not found' });
  return user;
}

async function renderUser(
  deps: AuthRouteDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  actor: UserActor,
  userId: string,
  o: {
    errors?: FieldErrors;
    roleValues?: readonly Role[];
    status?: number;
    done?: string | undefined;
  } = {},
) {
  const user = await loadUser(deps.auth, actor, userId);
  const noticeKey = o.done === undefined ? undefined : userNotices[o.done];
  return renderFormPage(request, reply, (t, csrf) => ({
    title: user.displayName,
    status: o.status ?? 200,
    body: userPage({
      t,
      locale: request.locale,
      csrf,
      now: deps.clock.now(),
      user,
      manageable: can(actor, 'users.manage_owners') || !user.roles.includes('owner'),
      grantable: offeredOn(actor, user),
      isSelf: actor.userId === user.id,
      roleValues: o.roleValues,
      errors: o.errors,
      notice: noticeKey === undefined || o.errors !== undefined ? undefined : t(noticeKey),
    }),
  }));
}

async function userAction(
  deps: AuthRouteDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  actor: UserActor,
  userId: string,
  done: string,
  run: () => Promise<unknown>,
) {
  try {
    await run();
  } catch (error) {
    if (
      isAppError(error) &&
      error.fields !== undefined &&
      (error.code === 'ERR_CONFLICT' || error.code === 'ERR_FORBIDDEN')
    ) {
      return renderUser(deps, request, reply, actor, userId, { errors: error.fields, status: error.status });
    }
    throw error;
  }
  return reply.redirect(`/staff/users/${userId}?done=${done}`, 303);
}

export function registerUserAdminRoutes(kit: RouteKit, deps: AuthRouteDeps): void {
  const { auth, clock } = deps;

  kit.route({
    method: 'GET',
    url: '/staff/users',
    access: managerAccess,
    query: listQuery,
    handler: async ({ request, reply, actor, query: q, t, locale }) => {
      const params: UserListParams = { sort: q.sort, dir: q.dir, role: q.role, status: q.status };
      const result = await auth.listUsersPage({ actor, ...params, page: q.page });
      return renderPage(request, reply, {
        title: t('auth.users.title'),
        body: userListPage({ t, locale, now: clock.now(), params, result }),
      });
    },
  });

  kit.route({
    method: 'GET',
    url: '/staff/users/new',
    access: managerAccess,
    handler: async ({ request, reply, actor }) => renderNewUser(request, reply, actor),
  });

  kit.route({
    method: 'POST',
    url: '/staff/users',
    access: managerAccess,
    body: newUserForm,
    form: true,
    handler: async ({ request, reply, actor, body, t }) => {
      if (!body.ok) return renderNewUser(request, reply, actor, { errors: body.errors, status: 400 });
      try {
        const { user, oneTimePassword } = await auth.createUser({ actor, orgId: actor.orgId, ...body.data });
        return renderPage(request, reply, {
          title: t('auth.users.createdTitle'),
          body: oneTimePasswordPage({
            t,
            title: t('auth.users.createdTitle'),
            intro: t('auth.users.createdIntro'),
            user,
            oneTimePassword,
          }),
        });
      } catch (error) {
        if (!isAppError(error) || error.fields === undefined) throw error;
        return renderNewUser(request, reply, actor, {
          values: body.data,
          errors: error.fields,
          status: error.status,
        });
      }
    },
  });

  kit.route({
    method: 'GET',
    url: '/staff/users/:id',
    access: managerAccess,
    params: idParams,
    query: z.object({ done: queryText }),
    handler: async ({ request, reply, actor, params, query }) =>
      renderUser(deps, request, reply, actor, params.id, { done: query.done }),
  });

  /** Runs a change on one user; a refusal with a reason (last owner, own account, own purpose role) re-renders the page. */
  kit.route({
    method: 'POST',
    url: '/staff/users/:id/roles',
    access: managerAccess,
    params: idParams,
    body: rolesForm,
    form: true,
    handler: async ({ request, reply, actor, params, body }) => {
      if (!body.ok)
        return renderUser(deps, request, reply, actor, params.id, { errors: body.errors, status: 400 });
      const roles = body.data.roles;
      if (roles.length === 0) {
        const errors = { roles: 'auth.user.rolesRequired' } as const;
        return renderUser(deps, request, reply, actor, params.id, { errors, roleValues: [], status: 400 });
      }
      return userAction(deps, request, reply, actor, params.id, 'roles', () =>
        auth.setRoles({ actor, userId: params.id, roles }),
      );
    },
  });

  for (const [path, action] of Object.entries(userActions)) {
    kit.route({
      method: 'POST',
      url: `/staff/users/:id/${path}`,
      access: managerAccess,
      params: idParams,
      form: true,
      handler: async ({ request, reply, actor, params }) =>
        userAction(deps, request, reply, actor, params.id, action.done, () =>
          auth[action.run]({ actor, userId: params.id }),
        ),
    });
  }

  kit.route({
    method: 'POST',
    url: '/staff/users/:id/reset-password',
    access: managerAccess,
    params: idParams,
    form: true,
    handler: async ({ request, reply, actor, params, t }) => {
      const { oneTimePassword } = await auth.resetPassword({ actor, userId: params.id });
      const user = await loadUser(auth, actor, params.id);
      return renderPage(request, reply, {
        title: t('auth.users.resetTitle'),
        body: oneTimePasswordPage({
          t,
          title: t('auth.users.resetTitle'),
          intro: t('auth.users.resetIntro'),
          user,
          oneTimePassword,
        }),
      });
    },
  });
}
