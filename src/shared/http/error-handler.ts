/**
 * One error handler: AppError, validation errors, body-limit and rate-limit errors become a JSON
 * body (API clients) or an HTML page (browsers) in the user's language, always with the request
 * id. 5xx internals are logged, never shown.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { AppError, isAppError } from '../errors.js';
import { html } from '../html/html.js';
import { layout } from '../html/layout.js';
import { t, translator } from '../i18n/messages.js';
import { fieldErrorsFromZod } from './validation.js';

export function wantsJson(request: FastifyRequest): boolean {
  if (request.url.startsWith('/api/')) return true;
  const accept = request.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
}

/** Any error thrown while serving a request, as the AppError it is answered with. */
export function toAppError(error: unknown, request: FastifyRequest): AppError {
  if (isAppError(error)) return error;
  if (error instanceof ZodError) {
    return new AppError('ERR_VALIDATION', { fields: fieldErrorsFromZod(error), cause: error });
  }
  const fe = error as Partial<FastifyError>;
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new AppError('ERR_PAYLOAD_TOO_LARGE', { cause: error });
  if (fe.code === 'FST_CSRF_INVALID_TOKEN' || fe.code === 'FST_CSRF_MISSING_SECRET') {
    return new AppError('ERR_CSRF', { cause: error });
  }
  if (fe.statusCode === 429) return new AppError('ERR_RATE_LIMITED', { cause: error });
  if (fe.validation !== undefined || fe.code === 'FST_ERR_VALIDATION') {
    return new AppError('ERR_VALIDATION', { cause: error });
  }
  if (
    typeof fe.statusCode === 'number' &&
    fe.statusCode >= 400 &&
    fe.statusCode < 500 &&
    typeof fe.code === 'string' &&
    fe.code.startsWith('FST_')
  ) {
    // Malformed requests caught by Fastify itself (bad JSON, bad content type, ...).
    return new AppError('ERR_VALIDATION', { message: fe.code, cause: error });
  }
  // @fastify/static refuses a directory (no listing, ASVS 13.4.3) or a path outside its root with
  // a 403/404 error of its own: a missing page to the visitor, never a 500.
  if ((fe.statusCode === 403 || fe.statusCode === 404) && request.url.startsWith('/assets/')) {
    return new AppError('ERR_NOT_FOUND', { cause: error });
  }
  return new AppError('ERR_INTERNAL', { cause: error });
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  const locale = request.locale ?? 'nl';
  const message = t(locale, error.messageKey);
  reply.status(error.status);
  if (error.code === 'ERR_RATE_LIMITED') {
    // A refusal that knows its own wait (the sign-in work budget: a second) says so.
    const seconds = error.details?.retry_after_seconds;
    reply.header('retry-after', typeof seconds === 'number' ? String(seconds) : '60');
  }
  if (wantsJson(request)) {
    return reply.type('application/json; charset=utf-8').send({
      error: {
        code: error.code,
        message,
        requestId: request.id,
        ...(error.fields === undefined
          ? {}
          : { fields: Object.fromEntries(Object.entries(error.fields).map(([k, v]) => [k, t(locale, v)])) }),
        ...(error.details === undefined ? {} : { details: error.details }),
      },
    });
  }
  if (error.code === 'ERR_UNAUTHENTICATED' || error.code === 'ERR_AUTH_SESSION_EXPIRED') {
    if (request.method === 'GET') {
      const next = encodeURIComponent(request.url);
      return reply.status(303).redirect(`/login?next=${next}`);
    }
  }
  if (error.code === 'ERR_AUTH_PASSWORD_CHANGE_REQUIRED' && request.method === 'GET') {
    return reply.status(303).redirect('/staff/account/password');
  }
  if (error.code === 'ERR_AUTH_TOTP_REQUIRED' && request.method === 'GET') {
    const pending = request.session?.pending ?? [];
    return reply.status(303).redirect(pending.includes('totp') ? '/login/totp' : '/staff/account/totp');
  }
  const tr = translator(locale);
  const body = html`<h1>${tr('error.title')}</h1>
<p>${message}</p>
<p class="hint">${tr('error.requestId', { id: request.id })}</p>`;
  return reply.type('text/html; charset=utf-8').send(
    layout({
      locale,
      t: tr,
      title: tr('error.title'),
      body,
      path: request.url,
      actor: request.actor,
      navigation: request.server.staffNavigation,
    }).value,
  );
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const appError = toAppError(error, request);
    if (appError.status >= 500) {
      request.log.error({ err: error, code: appError.code }, 'request failed');
    } else {
      request.log.info({ code: appError.code, internal: appError.message }, 'request refused');
    }
    return sendError(request, reply, appError);
  });
  app.setNotFoundHandler((request, reply) => sendError(request, reply, new AppError('ERR_NOT_FOUND')));
}
