/**
 * "Forgot your password?" pages (P11; ASVS 6.4). Asking for a link always ends on the same page;
 * the link's token travels in the query string of a GET, so the reset page sends no referrer and
 * posts the token in the form body. Logs and the access log keep the route pattern only
 * (`/login/reset`), never the URL with its token.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { isAppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import { renderPage } from '../../shared/http/render.js';
import { parseForm } from '../../shared/http/validation.js';
import { translator } from '../../shared/i18n/messages.js';
import { RESET_TOKEN_MINUTES } from './auth-password-reset.js';
import { PASSWORD_MAX_LENGTH } from './auth-passwords.js';
import type { AuthRouteDeps } from './auth-service.js';
import { SESSION_COOKIE, sessionCookieOptions } from './auth-sessions.js';
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

export async function registerPasswordResetRoutes(app: FastifyInstance, kluis: AuthRouteDeps): Promise<void> {
  const auth = kluis.auth;
  const publicAccess = { kind: 'public' } as const;
  const limit = { max: kluis.config.loginRateLimitPerMinute, timeWindow: 60_000 };

  const renderForgot = (
    request: FastifyRequest,
    reply: FastifyReply,
    o: {
      values?: { email?: string; org?: string };
      errors?: FieldErrors;
      showOrg?: boolean;
      status?: number;
    } = {},
  ) => {
    const t = translator(request.locale);
    const csrf = reply.generateCsrf();
    return renderPage(request, reply, {
      title: t('auth.forgot.title'),
      status: o.status ?? 200,
      bare: true,
      csrfToken: csrf,
      body: forgotPage({ t, csrf, values: o.values ?? {}, errors: o.errors, showOrg: o.showOrg ?? false }),
    });
  };

  app.get('/login/forgot', { config: { access: publicAccess } }, async (request, reply) =>
    renderForgot(request, reply),
  );

  app.post(
    '/login/forgot',
    { config: { access: publicAccess, rateLimit: limit } },
    async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const values = {
        email: typeof body.email === 'string' ? body.email.slice(0, 320) : '',
        org: typeof body.org === 'string' ? body.org.slice(0, 100) : '',
      };
      const parsed = parseForm(forgotForm, body);
      if (!parsed.ok) {
        return renderForgot(request, reply, {
          values,
          errors: parsed.errors,
          showOrg: values.org !== '',
          status: 400,
        });
      }
      const org = parsed.data.org?.trim() ?? '';
      try {
        const result = await auth.requestReset({
          email: parsed.data.email,
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
  );

  app.get('/login/forgot/sent', { config: { access: publicAccess } }, async (request, reply) => {
    const t = translator(request.locale);
    return renderPage(request, reply, {
      title: t('auth.forgot.sentTitle'),
      bare: true,
      body: forgotSentPage({ t, minutes: RESET_TOKEN_MINUTES }),
    });
  });

  const renderInvalid = (request: FastifyRequest, reply: FastifyReply) => {
    const t = translator(request.locale);
    return renderPage(request, reply, {
      title: t('auth.reset.invalidTitle'),
      status: 400,
      bare: true,
      body: resetInvalidPage({ t }),
    });
  };

  const renderReset = (
    request: FastifyRequest,
    reply: FastifyReply,
    token: string,
    errors?: FieldErrors,
    status = 200,
  ) => {
    const t = translator(request.locale);
    const csrf = reply.generateCsrf();
    return renderPage(request, reply, {
      title: t('auth.reset.title'),
      status,
      bare: true,
      csrfToken: csrf,
      body: resetPasswordPage({ t, csrf, token, errors }),
    });
  };

  app.get('/login/reset', { config: { access: publicAccess } }, async (request, reply) => {
    // The token is in this page's URL: never hand it to another site as a referrer.
    reply.header('referrer-policy', 'no-referrer');
    const token = tokenField.safeParse((request.query as Record<string, unknown>).token);
    if (!token.success || token.data === '') return renderInvalid(request, reply);
    try {
      await auth.checkResetToken(token.data);
    } catch (error) {
      if (isAppError(error) && error.code === 'ERR_AUTH_TOKEN_INVALID') return renderInvalid(request, reply);
      throw error;
    }
    return renderReset(request, reply, token.data);
  });

  app.post('/login/reset', { config: { access: publicAccess, rateLimit: limit } }, async (request, reply) => {
    reply.header('referrer-policy', 'no-referrer');
    const parsed = parseForm(resetForm, request.body ?? {});
    const body = (request.body ?? {}) as Record<string, unknown>;
    const token = typeof body.token === 'string' ? body.token.slice(0, 200) : '';
    if (token === '') return renderInvalid(request, reply);
    if (!parsed.ok) return renderReset(request, reply, token, parsed.errors, 400);
    if (parsed.data.newPassword !== parsed.data.confirmPassword) {
      return renderReset(request, reply, token, { confirmPassword: 'auth.password.mismatch' }, 400);
    }
    try {
      await auth.completeReset({ token, newPassword: parsed.data.newPassword });
    } catch (error) {
      if (isAppError(error) && error.code === 'ERR_AUTH_TOKEN_INVALID') return renderInvalid(request, reply);
      if (isAppError(error) && error.code === 'ERR_AUTH_PASSWORD_WEAK' && error.fields !== undefined) {
        return renderReset(request, reply, token, error.fields, error.status);
      }
      throw error;
    }
    // Every session of the user has ended; this browser's cookie (if any) goes too.
    reply.clearCookie(SESSION_COOKIE, sessionCookieOptions(kluis.config));
    return reply.redirect('/login?done=reset', 303);
  });
}
