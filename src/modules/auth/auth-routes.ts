/**
 * Sign-in, sign-out and the account pages, plus the root hook that turns the session cookie
 * into `request.actor` / `request.session` for every route of every module (P11).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import { z } from 'zod';
import type { Actor } from '../../shared/actor.js';
import { AppError, isAppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import { escapeHtml } from '../../shared/html/html.js';
import { accessOf } from '../../shared/http/access.js';
import { renderPage } from '../../shared/http/render.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import { parseForm } from '../../shared/http/validation.js';
import { translator } from '../../shared/i18n/messages.js';
import { registerApiKeyRoutes, registerUserAdminRoutes } from './auth-admin-routes.js';
import { registerGrantRoutes } from './auth-grants-routes.js';
import { LOGIN_PASSWORD_MAX_LENGTH, PASSWORD_MAX_LENGTH } from './auth-passwords.js';
import { registerPasswordResetRoutes } from './auth-reset-routes.js';
import type { PendingStep } from './auth-schema.js';
import type { AuthRouteDeps } from './auth-service.js';
import { type IssuedSession, SESSION_COOKIE, sessionCookieOptions } from './auth-sessions.js';
import {
  accountPage,
  loginPage,
  passwordPage,
  recoveryCodesPage,
  totpAlreadyOnPage,
  totpEnrolmentPage,
  totpLoginPage,
} from './auth-views.js';

/**
 * The token of an `Authorization: Bearer …` header, or undefined without one. Other schemes
 * (e.g. Basic from a proxy in front of Kluis) are not Kluis credentials and are ignored. A
 * malformed bearer value is returned as it is, to be refused by the key check.
 */
export function bearerTokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || !/^bearer(\s|$)/i.test(header)) return undefined;
  return header.slice('bearer'.length).trim();
}

/** Only local paths are followed after sign-in (no open redirect). */
export function safeNext(next: unknown): string | undefined {
  if (typeof next !== 'string' || next.length > 500) return undefined;
  if (!next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f\\]/.test(next)) return undefined;
  if (next.startsWith('/login') || next.startsWith('/logout')) return undefined;
  return next;
}

/** Where a session with these pending steps goes next. */
export function nextStepUrl(pending: readonly PendingStep[], next?: string): string {
  if (pending.includes('totp')) {
    return next === undefined ? '/login/totp' : `/login/totp?next=${encodeURIComponent(next)}`;
  }
  if (pending.includes('password_change')) return '/staff/account/password';
  if (pending.includes('totp_enrolment')) return '/staff/account/totp';
  return next ?? '/staff';
}

const loginForm = z.object({
  email: z.string().max(320).default(''),
  password: z.string().max(LOGIN_PASSWORD_MAX_LENGTH).default(''),
  org: z.string().max(100).optional(),
  next: z.string().max(500).optional(),
});

const codeForm = z.object({
  code: z.string().trim().min(1, { message: 'field.required' }).max(64),
  next: z.string().max(500).optional(),
});

const passwordForm = z.object({
  currentPassword: z.string().max(LOGIN_PASSWORD_MAX_LENGTH).optional(),
  newPassword: z
    .string()
    .min(1, { message: 'field.required' })
    .max(PASSWORD_MAX_LENGTH * 4, { message: 'auth.password.tooLong' }),
  confirmPassword: z.string().max(PASSWORD_MAX_LENGTH * 4),
});

const reauthForm = z.object({ password: z.string().min(1, { message: 'field.required' }).max(1024) });

type UserActor = Extract<Actor, { kind: 'user' }>;

/** The signed-in user and session of a staff route (enforceAccess has already checked both). */
function self(request: FastifyRequest): { actor: UserActor; sessionId: string } {
  const actor = request.actor;
  if (actor?.kind !== 'user' || request.session === undefined) throw new AppError('ERR_UNAUTHENTICATED');
  return { actor, sessionId: request.session.id };
}

/** Set-up pages are reachable with pending steps, but never before the second factor. */
function assertSecondFactorDone(request: FastifyRequest): void {
  if (request.session?.pending.includes('totp')) throw new AppError('ERR_AUTH_TOTP_REQUIRED');
}

const credentialErrors = new Set(['ERR_AUTH_INVALID_CREDENTIALS', 'ERR_AUTH_LOCKED', 'ERR_RATE_LIMITED']);

/** The root hooks that turn a session cookie or an API key into the request's actor. */
export function authSetup(app: FastifyInstance, kluis: AuthRouteDeps): void {
  const auth = kluis.auth;
  app.addHook('onRequest', async (request, reply) => {
    if (request.url.startsWith('/assets/')) return;
    // A request that brings a bearer token is an API client: its cookie is never consulted.
    if (bearerTokenOf(request) !== undefined) return;
    const resolved = await auth.sessions.resolve(request.cookies[SESSION_COOKIE]);
    if (resolved.kind === 'invalid') {
      reply.clearCookie(SESSION_COOKIE, sessionCookieOptions(kluis.config));
    } else if (resolved.kind === 'valid') {
      request.actor = resolved.actor;
      request.session = resolved.session;
    }
  });
  // After the body is parsed (an oversized body is a 413 first), before CSRF and access checks:
  // an API key authenticates only on routes declared `api`; on any staff route it is a 401.
  app.addHook('preValidation', async (request, reply) => {
    const token = bearerTokenOf(request);
    if (token === undefined) return;
    const access = accessOf(request);
    if (access === undefined || access.kind === 'public') return;
    try {
      if (access.kind !== 'api') {
        throw new AppError('ERR_AUTH_API_KEY_INVALID', { message: 'API keys work on API routes only' });
      }
      request.actor = await auth.authenticateApiKey(token);
    } catch (error) {
      if (isAppError(error) && error.code === 'ERR_AUTH_API_KEY_INVALID') {
        reply.header('www-authenticate', 'Bearer realm="kluis", error="invalid_token"');
      }
      throw error;
    }
  });
}

/** Sign-in, sign-out, the account pages, and the user, API-key, grant and reset routes. */
export async function authRoutes(kit: RouteKit, kluis: AuthRouteDeps): Promise<void> {
  const app = kit.app;
  {
    const auth = kluis.auth;
    const loginLimit = { max: kluis.config.loginRateLimitPerMinute, timeWindow: 60_000 };
    const publicAccess = { kind: 'public' } as const;
    const setupAccess = { kind: 'staff', duringSetup: true } as const;
    const staffAccess = { kind: 'staff' } as const;

    await registerUserAdminRoutes(app, kluis);
    await registerApiKeyRoutes(app, kluis);
    await registerGrantRoutes(app, kluis);
    await registerPasswordResetRoutes(app, kluis);

    const setSessionCookie = (reply: FastifyReply, issued: IssuedSession) =>
      reply.setCookie(SESSION_COOKIE, issued.token, sessionCookieOptions(kluis.config, issued.expiresAt));
    const clearSessionCookie = (reply: FastifyReply) =>
      reply.clearCookie(SESSION_COOKIE, sessionCookieOptions(kluis.config));

    const renderLogin = (
      request: FastifyRequest,
      reply: FastifyReply,
      o: {
        values?: { email?: string; org?: string; next?: string | undefined };
        errors?: FieldErrors;
        showOrg?: boolean;
        status?: number;
        notice?: string;
      },
    ) => {
      const t = translator(request.locale);
      const csrf = reply.generateCsrf();
      return renderPage(request, reply, {
        title: t('auth.login.title'),
        status: o.status ?? 200,
        bare: true,
        csrfToken: csrf,
        body: loginPage({
          t,
          csrf,
          values: o.values ?? {},
          errors: o.errors,
          showOrg: o.showOrg ?? false,
          notice: o.notice,
        }),
      });
    };

    // --- sign in ---------------------------------------------------------------------------

    app.get('/login', { config: { access: publicAccess } }, async (request, reply) => {
      const query = request.query as Record<string, unknown>;
      const next = safeNext(query.next);
      if (request.actor !== undefined && request.session !== undefined) {
        return reply.redirect(nextStepUrl(request.session.pending, next), 303);
      }
      const t = translator(request.locale);
      return renderLogin(request, reply, {
        values: { next },
        ...(query.done === 'logout' ? { notice: t('auth.login.loggedOut') } : {}),
        ...(query.done === 'reset' ? { notice: t('auth.reset.done') } : {}),
        ...(query.expired === '1' ? { notice: t('auth.sessionExpired') } : {}),
      });
    });

    app.post(
      '/login',
      { config: { access: publicAccess, rateLimit: loginLimit } },
      async (request, reply) => {
        const parsed = parseForm(loginForm, request.body ?? {});
        if (!parsed.ok) return renderLogin(request, reply, { errors: parsed.errors, status: 400 });
        const { email, password } = parsed.data;
        const org = parsed.data.org?.trim() ?? '';
        const next = safeNext(parsed.data.next);
        const values = { email, org, next };
        const errors: Record<string, 'field.required'> = {};
        if (email.trim() === '') errors.email = 'field.required';
        if (password === '') errors.password = 'field.required';
        if (Object.keys(errors).length > 0) {
          return renderLogin(request, reply, { values, errors, showOrg: org !== '', status: 400 });
        }
        try {
          const result = await auth.loginWithPassword({
            email,
            password,
            orgSlug: org === '' ? undefined : org,
            ip: request.ip,
            presentedSessionId: request.session?.id,
            locale: request.locale,
          });
          if (result.kind === 'org_required') {
            return renderLogin(request, reply, {
              values,
              errors: { org: 'auth.login.orgRequired' },
              showOrg: true,
              status: 400,
            });
          }
          setSessionCookie(reply, result.session);
          return reply.redirect(nextStepUrl(result.session.pending, next), 303);
        } catch (error) {
          if (isAppError(error) && credentialErrors.has(error.code)) {
            if (error.code === 'ERR_RATE_LIMITED') reply.header('retry-after', '900');
            return renderLogin(request, reply, {
              values,
              errors: { email: error.messageKey },
              showOrg: org !== '',
              status: error.status,
            });
          }
          throw error;
        }
      },
    );

    app.get('/login/totp', { config: { access: publicAccess } }, async (request, reply) => {
      if (!request.session?.pending.includes('totp')) return reply.redirect('/login', 303);
      const t = translator(request.locale);
      const csrf = reply.generateCsrf();
      const next = safeNext((request.query as Record<string, unknown>).next);
      return renderPage(request, reply, {
        title: t('auth.totp.title'),
        bare: true,
        csrfToken: csrf,
        body: totpLoginPage({ t, csrf, next }),
      });
    });

    app.post(
      '/login/totp',
      { config: { access: publicAccess, rateLimit: loginLimit } },
      async (request, reply) => {
        const session = request.session;
        if (session === undefined || !session.pending.includes('totp')) return reply.redirect('/login', 303);
        const t = translator(request.locale);
        const parsed = parseForm(codeForm, request.body ?? {});
        const next = parsed.ok ? safeNext(parsed.data.next) : undefined;
        const showForm = (errors: FieldErrors, status: number) => {
          const csrf = reply.generateCsrf();
          return renderPage(request, reply, {
            title: t('auth.totp.title'),
            status,
            bare: true,
            csrfToken: csrf,
            body: totpLoginPage({ t, csrf, next, errors }),
          });
        };
        if (!parsed.ok) return showForm(parsed.errors, 400);
        try {
          const issued = await auth.verifySecondFactor({
            sessionId: session.id,
            code: parsed.data.code,
            ip: request.ip,
          });
          setSessionCookie(reply, issued);
          return reply.redirect(nextStepUrl(issued.pending, next), 303);
        } catch (error) {
          if (!isAppError(error)) throw error;
          if (error.code === 'ERR_AUTH_TOTP_INVALID' || error.code === 'ERR_RATE_LIMITED') {
            return showForm({ code: error.messageKey }, error.status);
          }
          if (error.code === 'ERR_AUTH_LOCKED') {
            clearSessionCookie(reply);
            return renderLogin(request, reply, { errors: { email: error.messageKey }, status: error.status });
          }
          if (error.code === 'ERR_AUTH_SESSION_EXPIRED') {
            clearSessionCookie(reply);
            return reply.redirect('/login?expired=1', 303);
          }
          throw error;
        }
      },
    );

    app.post('/logout', { config: { access: publicAccess } }, async (request, reply) => {
      if (request.actor !== undefined && request.session !== undefined) {
        await auth.sessions.logout(request.actor, request.session.id);
      }
      clearSessionCookie(reply);
      return reply.redirect('/login?done=logout', 303);
    });

    // --- account set-up and account page ---------------------------------------------------

    const renderPassword = (
      request: FastifyRequest,
      reply: FastifyReply,
      errors?: FieldErrors,
      status = 200,
    ) => {
      const t = translator(request.locale);
      const csrf = reply.generateCsrf();
      const setup = request.session?.pending.includes('password_change') ?? false;
      return renderPage(request, reply, {
        title: t('auth.password.title'),
        status,
        bare: (request.session?.pending.length ?? 0) > 0,
        csrfToken: csrf,
        body: passwordPage({ t, csrf, setup, errors }),
      });
    };

    app.get('/staff/account/password', { config: { access: setupAccess } }, async (request, reply) => {
      assertSecondFactorDone(request);
      return renderPassword(request, reply);
    });

    app.post('/staff/account/password', { config: { access: setupAccess } }, async (request, reply) => {
      assertSecondFactorDone(request);
      const { actor, sessionId } = self(request);
      const parsed = parseForm(passwordForm, request.body ?? {});
      if (!parsed.ok) return renderPassword(request, reply, parsed.errors, 400);
      if (parsed.data.newPassword !== parsed.data.confirmPassword) {
        return renderPassword(request, reply, { confirmPassword: 'auth.password.mismatch' }, 400);
      }
      try {
        const issued = await auth.changePassword({
          actor,
          sessionId,
          currentPassword: parsed.data.currentPassword,
          newPassword: parsed.data.newPassword,
        });
        setSessionCookie(reply, issued);
        const wasSetup = request.session?.pending.includes('password_change') ?? false;
        return reply.redirect(wasSetup ? nextStepUrl(issued.pending) : '/staff/account?done=password', 303);
      } catch (error) {
        if (isAppError(error) && error.fields !== undefined) {
          return renderPassword(request, reply, error.fields, error.status);
        }
        if (isAppError(error) && error.code === 'ERR_RATE_LIMITED') {
          return renderPassword(request, reply, { currentPassword: error.messageKey }, error.status);
        }
        throw error;
      }
    });

    const renderEnrolment = async (
      request: FastifyRequest,
      reply: FastifyReply,
      errors?: FieldErrors,
      status = 200,
    ) => {
      const { actor, sessionId } = self(request);
      const t = translator(request.locale);
      const account = await auth.getAccount(actor);
      if (account.user.totpEnabled) {
        return renderPage(request, reply, { title: t('auth.enrol.title'), body: totpAlreadyOnPage({ t }) });
      }
      const { secret, uri } = await auth.beginTotpEnrolment({ actor, sessionId });
      const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
      const qrSvg = svg.replace(
        '<svg ',
        `<svg role="img" aria-label="${escapeHtml(t('auth.enrol.qrLabel'))}" width="232" height="232" `,
      );
      const csrf = reply.generateCsrf();
      return renderPage(request, reply, {
        title: t('auth.enrol.title'),
        status,
        bare: (request.session?.pending.length ?? 0) > 0,
        csrfToken: csrf,
        body: totpEnrolmentPage({
          t,
          csrf,
          qrSvg,
          secret,
          errors,
          setup: (request.session?.pending.length ?? 0) > 0,
        }),
      });
    };

    app.get('/staff/account/totp', { config: { access: setupAccess } }, async (request, reply) => {
      assertSecondFactorDone(request);
      return renderEnrolment(request, reply);
    });

    app.post('/staff/account/totp', { config: { access: setupAccess } }, async (request, reply) => {
      assertSecondFactorDone(request);
      const { actor, sessionId } = self(request);
      const parsed = parseForm(codeForm, request.body ?? {});
      if (!parsed.ok) return renderEnrolment(request, reply, parsed.errors, 400);
      try {
        const { recoveryCodes, session } = await auth.confirmTotpEnrolment({
          actor,
          sessionId,
          code: parsed.data.code,
        });
        setSessionCookie(reply, session);
        const t = translator(request.locale);
        return renderPage(request, reply, {
          title: t('auth.recovery.title'),
          bare: session.pending.length > 0,
          csrfToken: reply.generateCsrf(),
          body: recoveryCodesPage({ t, codes: recoveryCodes, continueTo: nextStepUrl(session.pending) }),
        });
      } catch (error) {
        if (
          isAppError(error) &&
          (error.code === 'ERR_AUTH_TOTP_INVALID' || error.code === 'ERR_RATE_LIMITED')
        ) {
          return renderEnrolment(request, reply, { code: error.messageKey }, error.status);
        }
        throw error;
      }
    });

    const renderAccount = async (
      request: FastifyRequest,
      reply: FastifyReply,
      o: { errors?: FieldErrors; status?: number; notice?: string } = {},
    ) => {
      const { actor, sessionId } = self(request);
      const t = translator(request.locale);
      const [account, sessions] = await Promise.all([
        auth.getAccount(actor),
        auth.sessions.listOwn(actor, sessionId),
      ]);
      const csrf = reply.generateCsrf();
      return renderPage(request, reply, {
        title: t('auth.account.title'),
        status: o.status ?? 200,
        csrfToken: csrf,
        body: accountPage({
          t,
          locale: request.locale,
          csrf,
          user: account.user,
          recoveryCodesLeft: account.recoveryCodesLeft,
          sessions,
          notice: o.notice,
          errors: o.errors,
        }),
      });
    };

    app.get('/staff/account', { config: { access: staffAccess } }, async (request, reply) => {
      const done = (request.query as Record<string, unknown>).done;
      const t = translator(request.locale);
      return renderAccount(request, reply, done === 'password' ? { notice: t('auth.password.changed') } : {});
    });

    app.post(
      '/staff/account/sessions/logout-all',
      { config: { access: staffAccess } },
      async (request, reply) => {
        const { actor } = self(request);
        await auth.sessions.logoutEverywhere(actor);
        clearSessionCookie(reply);
        return reply.redirect('/login?done=logout', 303);
      },
    );

    app.post('/staff/account/recovery-codes', { config: { access: staffAccess } }, async (request, reply) => {
      const { actor, sessionId } = self(request);
      const parsed = parseForm(reauthForm, request.body ?? {});
      if (!parsed.ok) return renderAccount(request, reply, { errors: parsed.errors, status: 400 });
      try {
        const codes = await auth.regenerateRecoveryCodes({
          actor,
          sessionId,
          password: parsed.data.password,
        });
        const t = translator(request.locale);
        return renderPage(request, reply, {
          title: t('auth.recovery.title'),
          body: recoveryCodesPage({ t, codes, continueTo: '/staff/account' }),
        });
      } catch (error) {
        if (
          isAppError(error) &&
          (error.code === 'ERR_AUTH_INVALID_CREDENTIALS' || error.code === 'ERR_RATE_LIMITED')
        ) {
          const key =
            error.code === 'ERR_RATE_LIMITED' ? error.messageKey : 'auth.account.currentPasswordWrong';
          return renderAccount(request, reply, { errors: { password: key }, status: error.status });
        }
        throw error;
      }
    });
  }
}
