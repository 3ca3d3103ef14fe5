/**
 * The HTTP application: security headers with a strict CSP, cookies, CSRF on every unsafe
 * request from a browser, rate limits, request ids, body limits, one error handler, and the
 * modules' routes. Every route declares its access; see shared/http/access.ts.
 */
import { randomUUID } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import type { Kluis } from './kluis.js';
import { depsOf, navigationOf } from './modules/index.js';
import type { AnyModule } from './modules/module.js';
import { AppError } from './shared/errors.js';
import { dashboardNavItem } from './shared/html/layout.js';
import { assertAccess, requireAccessDeclarations } from './shared/http/access.js';
import { cookieName } from './shared/http/cookies.js';
import { installErrorHandler } from './shared/http/error-handler.js';
import { detectLocale, LOCALE_COOKIE, requestedLocale } from './shared/http/locale.js';
import { installOpenApi } from './shared/http/openapi.js';
import { createRouteKit } from './shared/http/route-kit.js';
import { computeSecurityHeaders } from './shared/http/security-headers.js';
import { kluisVersion, publicDir } from './shared/version.js';

export { kluisVersion, publicDir };

export const CSRF_COOKIE = 'kluis_csrf' as const;

const unsafeMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface BuildAppOptions {
  /** The modules whose hooks and routes to install (default: those Kluis was built from). */
  modules?: readonly AnyModule[];
  /** Extra Fastify options (e.g. https). */
  server?: Partial<FastifyServerOptions> & { https?: { cert: Buffer; key: Buffer } };
}

export async function buildApp(kluis: Kluis, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const { config } = kluis;
  const app = Fastify({
    loggerInstance: kluis.logger,
    // Request logging by hand (no IP, no user agent: those go to the access log only, P12).
    logController: new LogController({ disableRequestLogging: true }),
    // A silent logger writes nothing, so a per-request child (whose creation runs the redaction
    // over its bindings) would be wasted work; at any other level Fastify's usual child.
    ...(kluis.logger.level === 'silent'
      ? {
          childLoggerFactory: (logger, bindings, childOptions) =>
            childOptions.level === undefined ? logger : logger.child(bindings, childOptions),
        }
      : {}),
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    return503OnClosing: true,
    ...(options.server ?? {}),
  }) as unknown as FastifyInstance;

  requireAccessDeclarations(app);
  installErrorHandler(app);
  const list = options.modules ?? kluis.modules;
  app.decorate(
    'staffNavigation',
    [dashboardNavItem, ...navigationOf(list)].sort((a, b) => a.order - b.order),
  );
  app.decorate(
    'dashboardPanels',
    list.flatMap((m) => m.panels?.(depsOf(m, kluis, kluis.services)) ?? []),
  );

  app.decorateRequest('locale', 'nl');
  app.decorateRequest('actor', undefined);
  app.decorateRequest('session', undefined);

  await app.register(fastifyCookie);
  await app.register(fastifyFormbody, { bodyLimit: config.bodyLimitBytes });
  await app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: cookieName(CSRF_COOKIE, config.cookieSecure),
    cookieOpts: { path: '/', httpOnly: true, sameSite: 'strict', secure: config.cookieSecure, signed: false },
    getToken: (request) => {
      const body = request.body as Record<string, unknown> | undefined;
      const fromBody = body !== null && typeof body === 'object' ? body._csrf : undefined;
      if (typeof fromBody === 'string') return fromBody;
      const header = request.headers['x-csrf-token'];
      return typeof header === 'string' ? header : undefined;
    },
  });
  await app.register(fastifyRateLimit, {
    global: true,
    max: config.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => request.ip,
    // A cluster shares one budget per address through Redis (KLUIS_REDIS_URL); without it each
    // node counts on its own (so N nodes allow up to N times the limit).
    ...(kluis.redis === undefined ? {} : { redis: kluis.redis, nameSpace: 'kluis:rl:', skipOnError: false }),
    allowList: (request) => request.url.startsWith('/assets/'),
    errorResponseBuilder: (_request, context) => {
      const error = new AppError('ERR_RATE_LIMITED', { message: `limit ${context.max}/min` });
      return Object.assign(error, { statusCode: 429 });
    },
  });
  await app.register(fastifyStatic, {
    root: publicDir,
    prefix: '/assets/',
    index: false,
    maxAge: config.env === 'production' ? 86_400_000 : 0,
  });

  // Every response's fixed headers in one frozen table, set with one call: the security headers
  // and `no-store` (a route that may be cached, the assets, sets its own cache-control later).
  const fixedHeaders = Object.freeze({
    ...computeSecurityHeaders({ https: config.cookieSecure }),
    'cache-control': 'no-store',
  });
  const localeCookie = cookieName(LOCALE_COOKIE, config.cookieSecure);
  // Hooks that never wait take a callback: an async hook costs a promise and a microtask hop on
  // every request (bench/http).
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(fixedHeaders);
    const chosen = requestedLocale(request);
    request.locale = chosen ?? detectLocale(request);
    if (chosen !== undefined && request.cookies[localeCookie] !== chosen) {
      reply.setCookie(localeCookie, chosen, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: config.cookieSecure,
        maxAge: 365 * 24 * 3600,
      });
    }
    reply.header('x-request-id', request.id);
    done();
  });

  await installOpenApi(app, { version: kluisVersion(), publicOrigin: config.publicOrigin });

  // The request line of the application log, installed only when it is written (the level is
  // fixed at start): below `info` no request pays for a hook that does nothing.
  if (kluis.logger.isLevelEnabled('info')) {
    app.addHook('onResponse', (request, reply, done) => {
      request.log.info(
        {
          reqId: request.id,
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime),
        },
        'request',
      );
      done();
    });
  }

  // Root hooks of the modules (the session and API-key hooks resolve `request.actor`).
  for (const mod of list) await mod.setup?.(app, depsOf(mod, kluis, kluis.services));

  // Who may call the route is checked before its input is validated or its body (a multipart
  // upload, parsed in a module's own scope) is read: after the modules' root hooks above. Then
  // CSRF (see installCsrfCheck), in the same hook: one hook less to run on every request.
  const csrf = installCsrfCheck(app, config);
  app.addHook('preValidation', (request, reply, done) => {
    assertAccess(request);
    if (request.isMultipart?.()) return done();
    csrf(request, reply, done);
  });

  for (const mod of list) {
    const routes = mod.routes;
    if (routes === undefined) continue;
    await app.register(async (scoped) => routes(createRouteKit(scoped), depsOf(mod, kluis, kluis.services)));
  }
  return app;
}

/**
 * CSRF: every unsafe request that carries cookies (a browser) needs a valid token; API clients
 * authenticating with a bearer key carry no ambient credentials and are exempt. A multipart form
 * carries its token in the body, which its module's scope parses during preValidation: those are
 * checked just before the handler instead. Returns the check, which the caller's preValidation
 * hook runs for every other request.
 */
function installCsrfCheck(app: FastifyInstance, config: Kluis['config']): CsrfCheck {
  const csrf: CsrfCheck = (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => {
    if (!unsafeMethods.has(request.method)) return done();
    const auth = request.headers.authorization;
    if (typeof auth === 'string' && /^bearer /i.test(auth)) return done();
    // An API call with no cookie carries no ambient credentials to abuse: it is answered by the
    // access check (401 without credentials), not with a CSRF refusal.
    if (request.url.startsWith('/api/') && request.headers.cookie === undefined) return done();
    const origin = request.headers.origin;
    if (
      typeof origin === 'string' &&
      origin !== 'null' &&
      !sameOrigin(origin, config.publicOrigin, request)
    ) {
      return done(new AppError('ERR_CSRF', { message: 'cross-origin request refused' }));
    }
    app.csrfProtection(request, reply, done);
  };
  // Multipart forms here; every other request is checked by the caller's preValidation hook.
  app.addHook('preHandler', (request, reply, done) => {
    if (!request.isMultipart?.()) return done();
    csrf(request, reply, done);
  });
  return csrf;
}

type CsrfCheck = (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => void;

function sameOrigin(
  origin: string,
  publicOrigin: string,
  request: { host: string; protocol: string },
): boolean {
  return origin === publicOrigin || origin === `${request.protocol}://${request.host}`;
}
