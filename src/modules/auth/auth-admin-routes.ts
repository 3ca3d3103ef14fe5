/**
 * User management and API keys for owners and admins (P7 self-service per org, P11). Thin
 * handlers: parse, call the use case in auth-users.ts / auth-api-keys.ts (which check roles,
 * scope every query to the actor's org and audit), render. Another org's user or key is a 404.
 * One-time passwords and tokens appear only in the response to the POST that made them.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type Actor, roles as allRoles, hasRole, type Role } from '../../shared/actor.js';
import { AppError, isAppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import { renderPage } from '../../shared/http/render.js';
import { parseForm } from '../../shared/http/validation.js';
import type { MessageKey } from '../../shared/i18n/messages.js';
import { translator } from '../../shared/i18n/messages.js';
import {
  apiKeyCreatedPage,
  apiKeyListPage,
  newApiKeyPage,
  newUserPage,
  oneTimePasswordPage,
  type UserListParams,
  userListPage,
  userPage,
} from './auth-admin-views.js';
import type { AuthRouteDeps } from './auth-service.js';
import type { UserView } from './auth-users.js';

const managerAccess = { kind: 'staff', permission: 'users.manage' } as const;
const keyManagerAccess = { kind: 'staff', permission: 'api_keys.manage' } as const;

/** One value or several (repeated checkboxes) as a list. */
const rolesField = z.preprocess(
  (v) => (v === undefined || v === '' ? [] : Array.isArray(v) ? v : [v]),
  z.array(z.enum(allRoles, { message: 'field.invalid' })).max(allRoles.length * 2),
);

const idParams = z.object({ id: z.uuid() });

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

const newKeyForm = z.object({
  name: z.string().max(400).default(''),
  roles: rolesField,
  expires: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.iso.date({ message: 'auth.apiKeys.expiryInvalid' }).optional(),
  ),
});

const userNotices: Record<string, MessageKey> = {
  roles: 'auth.users.done.roles',
  disabled: 'auth.users.done.disabled',
  enabled: 'auth.users.done.enabled',
  unlocked: 'auth.users.done.unlocked',
  totp: 'auth.users.done.totp',
};

/** The signed-in manager (enforceAccess has checked the session and the role). */
function managerOf(request: FastifyRequest): Extract<Actor, { kind: 'user' }> {
  const actor = request.actor;
  if (actor?.kind !== 'user') throw new AppError('ERR_UNAUTHENTICATED');
  return actor;
}

/** Roles the actor may hand out: only an owner grants the owner role. */
function grantableBy(actor: Actor): Role[] {
  return hasRole(actor, 'owner') ? [...allRoles] : allRoles.filter((r) => r !== 'owner');
}

function userIdOf(request: FastifyRequest): string {
  const parsed = idParams.safeParse(request.params);
  if (!parsed.success) throw new AppError('ERR_NOT_FOUND', { message: 'not a user id' });
  return parsed.data.id;
}

function queryOf(request: FastifyRequest): Record<string, unknown> {
  return (request.query ?? {}) as Record<string, unknown>;
}

export async function registerUserAdminRoutes(app: FastifyInstance, kluis: AuthRouteDeps): Promise<void> {
  const auth = kluis.auth;

  app.get('/staff/users', { config: { access: managerAccess } }, async (request, reply) => {
    const actor = managerOf(request);
    const q = listQuery.parse(queryOf(request));
    const params: UserListParams = { sort: q.sort, dir: q.dir, role: q.role, status: q.status };
    const result = await auth.listUsersPage({ actor, ...params, page: q.page });
    const t = translator(request.locale);
    return renderPage(request, reply, {
      title: t('auth.users.title'),
      body: userListPage({ t, locale: request.locale, now: kluis.clock.now(), params, result }),
    });
  });

  const renderNewUser = (
    request: FastifyRequest,
    reply: FastifyReply,
    o: { values?: z.infer<typeof newUserForm>; errors?: FieldErrors; status?: number } = {},
  ) => {
    const t = translator(request.locale);
    const csrf = reply.generateCsrf();
    return renderPage(request, reply, {
      title: t('auth.users.newTitle'),
      status: o.status ?? 200,
      csrfToken: csrf,
      body: newUserPage({
        t,
        csrf,
        grantable: grantableBy(managerOf(request)),
        values: o.values ?? {},
        errors: o.errors,
      }),
    });
  };

  app.get('/staff/users/new', { config: { access: managerAccess } }, async (request, reply) =>
    renderNewUser(request, reply),
  );

  app.post('/staff/users', { config: { access: managerAccess } }, async (request, reply) => {
    const actor = managerOf(request);
    const parsed = parseForm(newUserForm, request.body ?? {});
    if (!parsed.ok) return renderNewUser(request, reply, { errors: parsed.errors, status: 400 });
    try {
      const { user, oneTimePassword } = await auth.createUser({
        actor,
        orgId: actor.orgId,
        email: parsed.data.email,
        displayName: parsed.data.displayName,
        roles: parsed.data.roles,
      });
      const t = translator(request.locale);
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
      if (isAppError(error) && error.fields !== undefined) {
        return renderNewUser(request, reply, {
          values: parsed.data,
          errors: error.fields,
          status: error.status,
        });
      }
      throw error;
    }
  });

  const loadUser = async (actor: Actor, userId: string): Promise<UserView> => {
    const user = await auth.findUserById({ actor, userId });
    if (user === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'user not found' });
    return user;
  };

  const renderUser = async (
    request: FastifyRequest,
    reply: FastifyReply,
    o: { errors?: FieldErrors; roleValues?: readonly Role[]; status?: number } = {},
  ) => {
    const actor = managerOf(request);
    const user = await loadUser(actor, userIdOf(request));
    const t = translator(request.locale);
    const done = queryOf(request).done;
    const noticeKey = typeof done === 'string' ? userNotices[done] : undefined;
    const csrf = reply.generateCsrf();
    return renderPage(request, reply, {
      title: user.displayName,
      status: o.status ?? 200,
      csrfToken: csrf,
      body: userPage({
        t,
        locale: request.locale,
        csrf,
        now: kluis.clock.now(),
        user,
        manageable: hasRole(actor, 'owner') || !user.roles.includes('owner'),
        grantable: grantableBy(actor),
        isSelf: actor.userId === user.id,
        roleValues: o.roleValues,
        errors: o.errors,
        notice: noticeKey === undefined || o.errors !== undefined ? undefined : t(noticeKey),
      }),
    });
  };

  app.get('/staff/users/:id', { config: { access: managerAccess } }, async (request, reply) =>
    renderUser(request, reply),
  );

  /** Runs a change on one user; conflicts (last owner, own account) re-render the page with the reason. */
  const userAction = async (
    request: FastifyRequest,
    reply: FastifyReply,
    done: string,
    run: (actor: Actor, userId: string) => Promise<unknown>,
  ) => {
    const actor = managerOf(request);
    const userId = userIdOf(request);
    try {
      await run(actor, userId);
    } catch (error) {
      if (isAppError(error) && error.code === 'ERR_CONFLICT' && error.fields !== undefined) {
        return renderUser(request, reply, { errors: error.fields, status: error.status });
      }
      throw error;
    }
    return reply.redirect(`/staff/users/${userId}?done=${done}`, 303);
  };

  app.post('/staff/users/:id/roles', { config: { access: managerAccess } }, async (request, reply) => {
    const parsed = parseForm(rolesForm, request.body ?? {});
    if (!parsed.ok) return renderUser(request, reply, { errors: parsed.errors, status: 400 });
    const roles = parsed.data.roles;
    if (roles.length === 0) {
      return renderUser(request, reply, {
        errors: { roles: 'auth.user.rolesRequired' },
        roleValues: [],
        status: 400,
      });
    }
    return userAction(request, reply, 'roles', (actor, userId) => auth.setRoles({ actor, userId, roles }));
  });

  app.post('/staff/users/:id/disable', { config: { access: managerAccess } }, async (request, reply) =>
    userAction(request, reply, 'disabled', (actor, userId) => auth.disableUser({ actor, userId })),
  );

  app.post('/staff/users/:id/enable', { config: { access: managerAccess } }, async (request, reply) =>
    userAction(request, reply, 'enabled', (actor, userId) => auth.enableUser({ actor, userId })),
  );

  app.post('/staff/users/:id/unlock', { config: { access: managerAccess } }, async (request, reply) =>
    userAction(request, reply, 'unlocked', (actor, userId) => auth.unlockUser({ actor, userId })),
  );

  app.post('/staff/users/:id/reset-totp', { config: { access: managerAccess } }, async (request, reply) =>
    userAction(request, reply, 'totp', (actor, userId) => auth.resetTotp({ actor, userId })),
  );

  app.post(
    '/staff/users/:id/reset-password',
    { config: { access: managerAccess } },
    async (request, reply) => {
      const actor = managerOf(request);
      const userId = userIdOf(request);
      const { oneTimePassword } = await auth.resetPassword({ actor, userId });
      const user = await loadUser(actor, userId);
      const t = translator(request.locale);
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
  );
}

export async function registerApiKeyRoutes(app: FastifyInstance, kluis: AuthRouteDeps): Promise<void> {
  const auth = kluis.auth;

  app.get('/staff/api-keys', { config: { access: keyManagerAccess } }, async (request, reply) => {
    const actor = managerOf(request);
    const t = translator(request.locale);
    const keys = await auth.listApiKeys({ actor });
    const csrf = reply.generateCsrf();
    return renderPage(request, reply, {
      title: t('auth.apiKeys.title'),
      csrfToken: csrf,
      body: apiKeyListPage({
        t,
        locale: request.locale,
        csrf,
        keys,
        notice: queryOf(request).done === 'revoked' ? t('auth.apiKeys.revoked') : undefined,
      }),
    });
  });

  const renderNewKey = (
    request: FastifyRequest,
    reply: FastifyReply,
    o: { values?: z.infer<typeof newKeyForm>; errors?: FieldErrors; status?: number } = {},
  ) => {
    const t = translator(request.locale);
    const csrf = reply.generateCsrf();
    return renderPage(request, reply, {
      title: t('auth.apiKeys.newTitle'),
      status: o.status ?? 200,
      csrfToken: csrf,
      // A key can hold only roles its creator holds, so only those are offered.
      body: newApiKeyPage({
        t,
        csrf,
        grantable: allRoles.filter((r) => managerOf(request).roles.includes(r)),
        values: o.values ?? {},
        errors: o.errors,
      }),
    });
  };

  app.get('/staff/api-keys/new', { config: { access: keyManagerAccess } }, async (request, reply) =>
    renderNewKey(request, reply),
  );

  app.post('/staff/api-keys', { config: { access: keyManagerAccess } }, async (request, reply) => {
    const actor = managerOf(request);
    const parsed = parseForm(newKeyForm, request.body ?? {});
    if (!parsed.ok) return renderNewKey(request, reply, { errors: parsed.errors, status: 400 });
    const { name, roles, expires } = parsed.data;
    try {
      const { key, token } = await auth.createApiKey({
        actor,
        name,
        roles,
        // The key works until the end of the chosen day (UTC).
        expiresAt: expires === undefined ? undefined : new Date(`${expires}T23:59:59.999Z`),
      });
      const t = translator(request.locale);
      return renderPage(request, reply, {
        title: t('auth.apiKeys.createdTitle'),
        body: apiKeyCreatedPage({ t, key, token }),
      });
    } catch (error) {
      if (isAppError(error) && error.fields !== undefined) {
        return renderNewKey(request, reply, {
          values: parsed.data,
          errors: error.fields,
          status: error.status,
        });
      }
      throw error;
    }
  });

  app.post('/staff/api-keys/:id/revoke', { config: { access: keyManagerAccess } }, async (request, reply) => {
    const actor = managerOf(request);
    const parsed = idParams.safeParse(request.params);
    if (!parsed.success) throw new AppError('ERR_NOT_FOUND', { message: 'not an API key id' });
    await auth.revokeApiKey({ actor, keyId: parsed.data.id });
    return reply.redirect('/staff/api-keys?done=revoked', 303);
  });

  app.get('/api/v1/whoami', { config: { access: { kind: 'api' } } }, async (request, reply) => {
    const actor = request.actor;
    if (actor === undefined) throw new AppError('ERR_UNAUTHENTICATED');
    const id =
      actor.kind === 'user' ? actor.userId : actor.kind === 'api_key' ? actor.apiKeyId : actor.reason;
    return reply.send({
      org: { id: actor.orgId, kind: actor.orgKind },
      actor: { kind: actor.kind, id },
      roles: actor.roles,
    });
  });
}
