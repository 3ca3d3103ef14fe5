/**
 * Sign-in and sign-out, plus the root hooks that turn the session cookie or an API key into
 * `request.actor` / `request.session` for every route of every module (P11). The account pages,
 * user and key management, grants and password reset are in their own route files.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, isAppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import { accessOf } from '../../shared/http/access.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import type { SecurityService } from '../security/index.js';
import { registerAccountRoutes, registerAccountSetupRoutes } from './auth-account-routes.js';
import { registerUserAdminRoutes } from './auth-admin-routes.js';
import { registerApiKeyRoutes } from './auth-api-keys-routes.js';
import { registerAuditPageRoutes } from './auth-audit-routes.js';
import { deviceCookieName, deviceCookieOptions, type IssuedDeviceCookie } from './auth-device-cookies.js';
import { registerGrantRoutes } from './auth-grants-routes.js';
import {
  type AuthRouteDeps,
  bearerTokenOf,
  clearSessionCookie,
  codeForm,
  nextStepUrl,
  queryText,
  renderFormPage,
  safeNext,
  setSessionCookie,
} from './auth-http.js';
import { LOGIN_PASSWORD_MAX_LENGTH } from './auth-passwords.js';
import { registerPasswordResetRoutes } from './auth-reset-routes.js';
import { type ResolvedSession, sessionCookieName } from './auth-sessions.js';
import { loginPage, totpLoginPage } from './auth-views.js';

const loginQuery = z.object({ next: queryText, done: queryText, expired: queryText });
const nextQuery = z.object({ next: queryText });

const loginForm = z.object({
  email: z.string().max(320).default(''),
  password: z.string().max(LOGIN_PASSWORD_MAX_LENGTH).default(''),
  org: z.string().max(100).optional(),
  next: z.string().max(500).optional(),
});

const credentialErrors = new Set(['ERR_AUTH_INVALID_CREDENTIALS', 'ERR_AUTH_LOCKED', 'ERR_RATE_LIMITED']);

/** How often the sign-ins refused by the work budget are summed up in the audit trail. */
const REFUSAL_REPORT_MS = 60_000;

/** Retry-After of a refusal: a second for a full work budget, the throttle window otherwise. */
function retryAfterOf(error: AppError): string {
  const seconds = error.details?.retry_after_seconds;
  return typeof seconds === 'number' ? String(seconds) : '900';
}

function setDeviceCookie(
  reply: FastifyReply,
  config: AuthRouteDeps['config'],
  device: IssuedDeviceCookie | undefined,
): void {
  if (device === undefined) return;
  reply.setCookie(deviceCookieName(config), device.value, deviceCookieOptions(config, device.expiresAt));
}

function renderLogin(
  request: FastifyRequest,
  reply: FastifyReply,
  o: {
    values?: { email?: string; org?: string; next?: string | undefined };
    errors?: FieldErrors;
    showOrg?: boolean;
    status?: number;
    notice?: string | undefined;
  },
) {
  return renderFormPage(request, reply, (t, csrf) => ({
    title: t('auth.login.title'),
    status: o.status ?? 200,
    bare: true,
    body: loginPage({
      t,
      csrf,
      values: o.values ?? {},
      errors: o.errors,
      showOrg: o.showOrg ?? false,
      notice: o.notice,
    }),
  }));
}

function renderTotpLogin(
  request: FastifyRequest,
  reply: FastifyReply,
  next: string | undefined,
  errors?: FieldErrors,
  status = 200,
) {
  return renderFormPage(request, reply, (t, csrf) => ({
    title: t('auth.totp.title'),
    status,
    bare: true,
    body: totpLoginPage({ t, csrf, next, errors }),
  }));
}

/** Sets the request's actor and session from its resolved session cookie, or clears the cookie. */
function applySession(
  request: FastifyRequest,
  reply: FastifyReply,
  resolved: ResolvedSession,
  deps: AuthRouteDeps,
  done: () => void,
): void {
  if (resolved.kind === 'invalid') {
    clearSessionCookie(reply, deps.config);
  } else if (resolved.kind === 'valid') {
    request.actor = resolved.actor;
    request.session = resolved.session;
  }
  done();
}

/** The root hooks that turn a session cookie or an API key into the request's actor. */
export function authSetup(app: FastifyInstance, deps: AuthRouteDeps): void {
  const auth = deps.auth;
  // Callback hooks with an early return: most requests (assets, visitors without a cookie, every
  // request on the preValidation hook but API calls) never wait, and an async hook would cost a
  // promise and a microtask hop on each of them (bench/http).
  // Sign-ins refused by the work budget: one audit entry a minute with their number, and at
  // shutdown the last one and every failed sign-in still waiting for its group commit.
  const report = () =>
    auth.reportLoginRefusals().catch((error: unknown) => {
      app.log.error({ err: error instanceof Error ? error.message : 'unknown' }, 'refusal report failed');
      return 0;
    });
  const reporter = setInterval(() => void report(), REFUSAL_REPORT_MS);
  reporter.unref();
  app.addHook('onClose', async () => {
    clearInterval(reporter);
    await auth.flushLoginFailures();
    await report();
  });
  // A sign-in without a valid device cookie while the untrusted lane and its queue are full is
  // refused here, before its body is parsed, its CSRF token checked or a page built: the
  // cheapest answer a flood can get (429, Retry-After 1, the localized error page or JSON).
  const deviceCookie = deviceCookieName(deps.config);
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.method !== 'POST' || request.routeOptions.url !== '/login') return done();
    if (auth.devices.verify(request.cookies[deviceCookie], deps.clock.now()) !== undefined) return done();
    try {
      auth.loginBudget.refuseIfFull('untrusted');
    } catch (error) {
      return done(error instanceof Error ? error : new AppError('ERR_INTERNAL', { cause: error }));
    }
    done();
  });
  const cookie = sessionCookieName(deps.config);
  app.addHook('onRequest', (request, reply, done) => {
    const token = request.cookies[cookie];
    // A request that brings a bearer token is an API client: its cookie is never consulted.
    if (token === undefined || request.url.startsWith('/assets/') || bearerTokenOf(request) !== undefined) {
      return done();
    }
    const resolved = auth.sessions.resolveNow(token);
    // No closure on the common path (a cached session): a function made per request costs.
    if (!(resolved instanceof Promise)) return applySession(request, reply, resolved, deps, done);
    resolved.then((r) => applySession(request, reply, r, deps, done), done);
  });
  // After the body is parsed (an oversized body is a 413 first), before CSRF and access checks:
  // an API key authenticates only on routes declared `api`; on any staff route it is a 401.
  app.addHook('preValidation', (request, reply, done) => {
    const token = bearerTokenOf(request);
    if (token === undefined) return done();
    const access = accessOf(request);
    if (access === undefined || access.kind === 'public') return done();
    const refuse = (error: unknown) => {
      if (isAppError(error) && error.code === 'ERR_AUTH_API_KEY_INVALID') {
        reply.header('www-authenticate', 'Bearer realm="kluis", error="invalid_token"');
      }
      done(error instanceof Error ? error : new AppError('ERR_INTERNAL', { cause: error }));
    };
    if (access.kind !== 'api') {
      return refuse(
        new AppError('ERR_AUTH_API_KEY_INVALID', { message: 'API keys work on API routes only' }),
      );
    }
    auth.authenticateApiKey(token).then((actor) => {
      request.actor = actor;
      done();
    }, refuse);
  });
}

/** Sign-in, sign-out, the account pages, and the user, API-key, grant and reset routes. */
export function authRoutes(
  kit: RouteKit,
  deps: AuthRouteDeps & { readonly security: SecurityService },
): void {
  const { auth, config } = deps;
  const loginLimit = { max: config.loginRateLimitPerMinute, timeWindow: 60_000 };
  const publicAccess = { kind: 'public' } as const;

  registerAccountSetupRoutes(kit, deps);
  registerAccountRoutes(kit, deps);
  registerUserAdminRoutes(kit, deps);
  registerApiKeyRoutes(kit, deps);
  registerGrantRoutes(kit, deps);
  registerPasswordResetRoutes(kit, deps);
  registerAuditPageRoutes(kit, deps);

  kit.route({
    method: 'GET',
    url: '/login',
    access: publicAccess,
    query: loginQuery,
    handler: async ({ request, reply, query, t }) => {
      const next = safeNext(query.next);
      if (request.actor !== undefined && request.session !== undefined) {
        return reply.redirect(nextStepUrl(request.session.pending, next), 303);
      }
      const notice =
        query.expired === '1'
          ? t('auth.sessionExpired')
          : query.done === 'reset'
            ? t('auth.reset.done')
            : query.done === 'logout'
              ? t('auth.login.loggedOut')
              : undefined;
      return renderLogin(request, reply, { values: { next }, notice });
    },
  });

  kit.route({
    method: 'POST',
    url: '/login',
    access: publicAccess,
    body: loginForm,
    form: true,
    rateLimit: loginLimit,
    handler: async ({ request, reply, body }) => {
      if (!body.ok) return renderLogin(request, reply, { errors: body.errors, status: 400 });
      const { email, password } = body.data;
      const org = body.data.org?.trim() ?? '';
      const next = safeNext(body.data.next);
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
          deviceCookie: request.cookies[deviceCookieName(config)],
        });
        if (result.kind === 'org_required') {
          const orgErrors = { org: 'auth.login.orgRequired' } as const;
          return renderLogin(request, reply, { values, errors: orgErrors, showOrg: true, status: 400 });
        }
        setSessionCookie(reply, config, result.session);
        setDeviceCookie(reply, config, result.device);
        return reply.redirect(nextStepUrl(result.session.pending, next), 303);
      } catch (error) {
        if (!isAppError(error) || !credentialErrors.has(error.code)) throw error;
        if (error.code === 'ERR_RATE_LIMITED') reply.header('retry-after', retryAfterOf(error));
        return renderLogin(request, reply, {
          values,
          errors: { email: error.messageKey },
          showOrg: org !== '',
          status: error.status,
        });
      }
    },
  });

  kit.route({
    method: 'GET',
    url: '/login/totp',
    access: publicAccess,
    query: nextQuery,
    handler: async ({ request, reply, query }) => {
      if (!request.session?.pending.includes('totp')) return reply.redirect('/login', 303);
      return renderTotpLogin(request, reply, safeNext(query.next));
    },
  });

  kit.route({
    method: 'POST',
    url: '/login/totp',
    access: publicAccess,
    body: codeForm,
    form: true,
    rateLimit: loginLimit,
    handler: async ({ request, reply, body }) => {
      const session = request.session;
      if (session === undefined || !session.pending.includes('totp')) return reply.redirect('/login', 303);
      const next = body.ok ? safeNext(body.data.next) : undefined;
      if (!body.ok) return renderTotpLogin(request, reply, next, body.errors, 400);
      try {
        const issued = await auth.verifySecondFactor({
          sessionId: session.id,
          code: body.data.code,
          ip: request.ip,
          deviceCookie: request.cookies[deviceCookieName(config)],
        });
        setSessionCookie(reply, config, issued);
        setDeviceCookie(reply, config, issued.device);
        return reply.redirect(nextStepUrl(issued.pending, next), 303);
      } catch (error) {
        if (!isAppError(error)) throw error;
        if (error.code === 'ERR_AUTH_TOTP_INVALID' || error.code === 'ERR_RATE_LIMITED') {
          return renderTotpLogin(request, reply, next, { code: error.messageKey }, error.status);
        }
        if (error.code === 'ERR_AUTH_LOCKED') {
          clearSessionCookie(reply, config);
          return renderLogin(request, reply, { errors: { email: error.messageKey }, status: error.status });
        }
        if (error.code === 'ERR_AUTH_SESSION_EXPIRED') {
          clearSessionCookie(reply, config);
          return reply.redirect('/login?expired=1', 303);
        }
        throw error;
      }
    },
  });

  registerLogoutRoute(kit, deps);
}

/** Sign-out: ends the session, drops the cookie and what the browser kept of staff pages. */
function registerLogoutRoute(kit: RouteKit, deps: Pick<AuthRouteDeps, 'auth' | 'config'>): void {
  const { auth, config } = deps;
  kit.route({
    method: 'POST',
    url: '/logout',
    access: { kind: 'public' },
    form: true,
    handler: async ({ request, reply }) => {
      if (request.actor !== undefined && request.session !== undefined) {
        await auth.sessions.logout(request.actor, request.session.id);
      }
      clearSessionCookie(reply, config);
      // ASVS 14.3.1: the browser drops what it kept of the signed-in pages (its cache, and any
      // storage, though Kluis ships no script that writes any). Cookies other than the session's
      // (language, CSRF) hold nothing of the account and stay.
      reply.header('clear-site-data', '"cache", "storage"');
      return reply.redirect('/login?done=logout', 303);
    },
  });
}
