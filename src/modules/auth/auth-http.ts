/**
 * The HTTP parts the auth routes share: the session cookie, the bearer token, where a sign-in
 * goes next, and query and form fields common to several pages.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Config } from '../../config/env.js';
import { roles as allRoles } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { type RenderOptions, renderPage } from '../../shared/http/render.js';
import { recordId } from '../../shared/http/route-kit.js';
import { type Translate, translator } from '../../shared/i18n/messages.js';
import type { KluisCore } from '../module.js';
import type { PendingStep } from './auth-schema.js';
import type { AuthService } from './auth-service.js';
import { type IssuedSession, sessionCookieName, sessionCookieOptions } from './auth-sessions.js';

/** What the auth module's routes and hooks use: a few core parts and the auth service. */
export type AuthRouteDeps = Pick<KluisCore, 'config' | 'clock'> & { readonly auth: AuthService };

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

/** A record id in a page's path (one that is not a UUID names nothing: 404, like an unknown id). */
export const idParams = z.object({ id: recordId });

/** Roles from a form: one value or several (repeated checkboxes) as a list. */
export const rolesField = z.preprocess(
  (v) => (v === undefined || v === '' ? [] : Array.isArray(v) ? v : [v]),
  z.array(z.enum(allRoles, { message: 'field.invalid' })).max(allRoles.length * 2),
);

/** A query value of a page: anything that is not one short text counts as not given. */
export const queryText = z.string().max(2000).optional().catch(undefined);

export const codeForm = z.object({
  code: z.string().trim().min(1, { message: 'field.required' }).max(64),
  next: z.string().max(500).optional(),
});

/** The id of the request's session (the access check has made sure there is one). */
export function sessionIdOf(request: FastifyRequest): string {
  const id = request.session?.id;
  if (id === undefined) throw new AppError('ERR_UNAUTHENTICATED');
  return id;
}

/**
 * Sends a page with a form: a fresh CSRF token for it, and the page built in the request's
 * language (every sign-in, account and admin form of the module).
 */
export function renderFormPage(
  request: FastifyRequest,
  reply: FastifyReply,
  page: (t: Translate, csrf: string) => Omit<RenderOptions, 'csrfToken'>,
): FastifyReply {
  const csrf = reply.generateCsrf();
  return renderPage(request, reply, { ...page(translator(request.locale), csrf), csrfToken: csrf });
}

export function setSessionCookie(
  reply: FastifyReply,
  config: Pick<Config, 'cookieSecure'>,
  issued: IssuedSession,
) {
  return reply.setCookie(
    sessionCookieName(config),
    issued.token,
    sessionCookieOptions(config, issued.expiresAt),
  );
}

export function clearSessionCookie(reply: FastifyReply, config: Pick<Config, 'cookieSecure'>) {
  return reply.clearCookie(sessionCookieName(config), sessionCookieOptions(config));
}
