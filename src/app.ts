/**
 * The HTTP application: security headers with a strict CSP, cookies, CSRF on every unsafe
 * request from a browser, rate limits, request ids, body limits, one error handler, and the
 * modules' routes. Every route declares its access; see shared/http/access.ts.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import type { Kluis } from './kluis.js';
import { modules as defaultModules, type KluisModule } from './modules/index.js';
import { AppError } from './shared/errors.js';
import { assertAccess, requireAccessDeclarations } from './shared/http/access.js';
import { installErrorHandler } from './shared/http/error-handler.js';
import { detectLocale, LOCALE_COOKIE, requestedLocale } from './shared/http/locale.js';
import { computeSecurityHeaders } from './shared/http/security-headers.js';

export const publicDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'public');

export const CSRF_COOKIE = 'kluis_csrf';

const unsafeMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface BuildAppOptions {
  modules?: readonly KluisModule[];
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

  app.decorateRequest('locale', 'nl');
  app.decorateRequest('actor', undefined);
  app.decorateRequest('session', undefined);

  await app.register(fastifyCookie);
  await app.register(fastifyFormbody, { bodyLimit: config.bodyLimitBytes });
  await app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: CSRF_COOKIE,
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

  const securityHeaders = computeSecurityHeaders({ https: config.cookieSecure });
  // Hooks that never wait take a callback: an async hook costs a promise and a microtask hop on
  // every request (bench/http).
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(securityHeaders);
    const chosen = requestedLocale(request);
    request.locale = chosen ?? detectLocale(request);
    if (chosen !== undefined && request.cookies[LOCALE_COOKIE] !== chosen) {
      reply.setCookie(LOCALE_COOKIE, chosen, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: config.cookieSecure,
        maxAge: 365 * 24 * 3600,
      });
    }
    reply.header('x-request-id', request.id);
    reply.header('cache-control', 'no-store');
    done();
  });

  // CSRF: every unsafe request that carries cookies (a browser) needs a valid token; API clients
  // authenticating with a bearer key carry no ambient credentials and are exempt.
  app.addHook('preHandler', (request, reply, done) => {
    if (!unsafeMethods.has(request.method)) return done();
    const auth = request.headers.authorization;
    if (typeof auth === 'string' && /^bearer /i.test(auth)) return done();
    const origin = request.headers.origin;
    if (
      typeof origin === 'string' &&
      origin !== 'null' &&
      !sameOrigin(origin, config.publicOrigin, request)
    ) {
      return done(new AppError('ERR_CSRF', { message: 'cross-origin request refused' }));
    }
    app.csrfProtection(request, reply, done);
  });
  app.addHook('preHandler', (request, _reply, done) => {
    assertAccess(request);
    done();
  });

  app.addHook('onResponse', (request, reply, done) => {
    // Built only when it will be written (the request line is the bulk of the application log).
    if (kluis.logger.isLevelEnabled('info')) {
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
    }
    done();
  });

  for (const mod of options.modules ?? defaultModules) {
    await mod.setup?.(app, kluis);
  }
  for (const mod of options.modules ?? defaultModules) {
    if (mod.routes !== undefined) {
      const routes = mod.routes;
      await app.register(async (scoped) => routes(scoped, kluis), { prefix: mod.prefix ?? '' });
    }
  }
  return app;
}

function sameOrigin(
  origin: string,
  publicOrigin: string,
  request: { host: string; protocol: string },
): boolean {
  return origin === publicOrigin || origin === `${request.protocol}://${request.host}`;
}

/** The version printed by the CLI and shown on the health page. */
export function kluisVersion(): string {
  const pkg = JSON.parse(readFileSync(resolve(publicDir, '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
