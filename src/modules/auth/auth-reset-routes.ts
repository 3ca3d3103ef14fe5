/**
 * "Forgot your password?" pages (P11; ASVS 6.4). Asking for a link always ends on the same page;
 * the link's token travels in the query string of a GET, so the reset page sends no referrer and
 * posts the token in the form body. Logs and the access log keep the route pattern only
 * (`/login/reset`), never the URL with its token.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { isAppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import { renderPage } from '../../shared/http/render.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import { translator } from '../../shared/i18n/messages.js';
import { type AuthRouteDeps, clearSessionCookie, queryText, renderFormPage } from './auth-http.js';
import { RESET_TOKEN_MINUTES } from './auth-password-reset.js';
import { PASSWORD_MAX_LENGTH } from './auth-passwords.js';
import { emailSchema } from './auth-users.js';
import { forgotPage, forgotSentPage, resetInvalidPage, resetPasswordPage } from './auth-views.js';

const forgotForm = z.object({
  email: z.preprocess(
    (v) => (v === undefined ? '' : v),
    z.string().min(1, { message: 'field.required' }).pipe(emailSchema),
  ),
  org: z.string().max(100).optional(),
});

const tokenField = z.string().max(200).default('');

const resetForm = z.object({
  token: tokenField,
  newPassword: z
    .string()
    .min(1, { message: 'field.required' })
    .max(PASSWORD_MAX_LENGTH * 4, { message: 'auth.password.tooLong' }),
  confirmPassword: z
    .string()
    .max(PASSWORD_MAX_LENGTH * 4)
    .default(''),
});

/** What the forms were given, as typed (kept when the form is shown again). */
const typed = (values: Readonly<Record<string, string>>, name: string, max: number) =>
  (values[name] ?? '').slice(0, max);

function renderForgot(
  request: FastifyRequest,
  reply: FastifyReply,
  o: {
    values?: { email?: string; org?: string };
    errors?: FieldErrors;
    showOrg?: boolean;
    status?: number;
  } = {},
) {
  return renderFormPage(request, reply, (t, csrf) => ({
    title: t('auth.forgot.title'),
    status: o.status ?? 200,
    bare: true,
    body: forgotPage({ t, csrf, values: o.values ?? {}, errors: o.errors, showOrg: o.showOrg ?? false }),
  }));
}

function renderInvalid(request: FastifyRequest, reply: FastifyReply) {
  const t = translator(request.locale);
  return renderPage(request, reply, {
    title: t('auth.reset.invalidTitle'),
    status: 400,
    bare: true,
    body: resetInvalidPage({ t }),
  });
}

function renderReset(
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
  errors?: FieldErrors,
  status = 200,
) {
  return renderFormPage(request, reply, (t, csrf) => ({
    title: t('auth.reset.title'),
    status,
    bare: true,
    body: resetPasswordPage({ t, csrf, token, errors }),
  }));
}

export function registerPasswordResetRoutes(kit: RouteKit, deps: AuthRouteDeps): void {
  const { auth, config } = deps;
  const publicAccess = { kind: 'public' } as const;
  const limit = { max: config.loginRateLimitPerMinute, timeWindow: 60_000 };

  kit.route({
    method: 'GET',
    url: '/login/forgot',
    access: publicAccess,
    handler: async ({ request, reply }) => renderForgot(request, reply),
  });

  kit.route({
    method: 'POST',
    url: '/login/forgot',
    access: publicAccess,
    body: forgotForm,
    form: true,
    rateLimit: limit,
    handler: async ({ request, reply, body }) => {
      const values = { email: typed(body.values, 'email', 320), org: typed(body.values, 'org', 100) };
      if (!body.ok) {
        return renderForgot(request, reply, {
          values,
          errors: body.errors,
          showOrg: values.org !== '',
          status: 400,
        });
      }
      const org = body.data.org?.trim() ?? '';
      try {
        const result = await auth.requestReset({
          email: body.data.email,
          orgSlug: org === '' ? undefined : org,
          ip: request.ip,
          locale: request.locale,
        });
        if (result.kind === 'org_required') {
          return renderForgot(request, reply, {
            values,
            errors: { org: 'auth.login.orgRequired' },
            showOrg: true,
            status: 400,
          });
        }
      } catch (error) {
        if (isAppError(error) && error.code === 'ERR_RATE_LIMITED') {
          reply.header('retry-after', '900');
          return renderForgot(request, reply, {
            values,
            errors: { email: error.messageKey },
            showOrg: org !== '',
            status: error.status,
          });
        }
        throw error;
      }
      // The same answer for every address (post/redirect/get: a reload sends nothing again).
      return reply.redirect('/login/forgot/sent', 303);
    },
  });

  kit.route({
    method: 'GET',
    url: '/login/forgot/sent',
    access: publicAccess,
    handler: async ({ request, reply, t }) =>
      renderPage(request, reply, {
        title: t('auth.forgot.sentTitle'),
        bare: true,
        body: forgotSentPage({ t, minutes: RESET_TOKEN_MINUTES }),
      }),
  });

  kit.route({
    method: 'GET',
    url: '/login/reset',
    access: publicAccess,
    query: z.object({ token: queryText }),
    handler: async ({ request, reply, query }) => {
      // The token is in this page's URL: never hand it to another site as a referrer.
      reply.header('referrer-policy', 'no-referrer');
      const token = tokenField.safeParse(query.token);
      if (!token.success || token.data === '') return renderInvalid(request, reply);
      try {
        await auth.checkResetToken(token.data);
      } catch (error) {
        if (isAppError(error) && error.code === 'ERR_AUTH_TOKEN_INVALID')
          return renderInvalid(request, reply);
        throw error;
      }
      return renderReset(request, reply, token.data);
    },
  });

  kit.route({
    method: 'POST',
    url: '/login/reset',
    access: publicAccess,
    body: resetForm,
    form: true,
    rateLimit: limit,
    handler: async ({ request, reply, body }) => {
      reply.header('referrer-policy', 'no-referrer');
      const token = typed(body.values, 'token', 200);
      if (token === '') return renderInvalid(request, reply);
      if (!body.ok) return renderReset(request, reply, token, body.errors, 400);
      if (body.data.newPassword !== body.data.confirmPassword) {
        return renderReset(request, reply, token, { confirmPassword: 'auth.password.mismatch' }, 400);
      }
      try {
        await auth.completeReset({ token, newPassword: body.data.newPassword });
      } catch (error) {
        if (isAppError(error) && error.code === 'ERR_AUTH_TOKEN_INVALID')
          return renderInvalid(request, reply);
        if (isAppError(error) && error.code === 'ERR_AUTH_PASSWORD_WEAK' && error.fields !== undefined) {
          return renderReset(request, reply, token, error.fields, error.status);
        }
        throw error;
      }
      // Every session of the user has ended; this browser's cookie (if any) goes too.
      clearSessionCookie(reply, config);
      return reply.redirect('/login?done=reset', 303);
    },
  });
}
