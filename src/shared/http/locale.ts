import type { FastifyRequest } from 'fastify';
import { defaultLocale, isLocale, type Locale } from '../i18n/messages.js';
import { cookieName } from './cookies.js';

export const LOCALE_COOKIE = 'kluis_lang';
/** The remembered choice under either name (`__Host-` over HTTPS); a language is no secret. */
const localeCookies = [cookieName(LOCALE_COOKIE, true), LOCALE_COOKIE];

/** The language asked for explicitly in this request (`?lang=`), to be remembered in a cookie. */
export function requestedLocale(request: FastifyRequest): Locale | undefined {
  const query = request.query as Record<string, unknown> | undefined;
  const fromQuery = query?.lang;
  return isLocale(fromQuery) ? fromQuery : undefined;
}

/**
 * `?lang=` wins, then the `/en/` path prefix, then the remembered choice (cookie), then Dutch.
 * The browser's Accept-Language is deliberately not used: Kluis is Dutch by default and the
 * visitor chooses English with the switch on every page.
 */
export function detectLocale(request: FastifyRequest): Locale {
  const fromQuery = requestedLocale(request);
  if (fromQuery !== undefined) return fromQuery;
  if (request.url === '/en' || request.url.startsWith('/en/') || request.url.startsWith('/en?')) return 'en';
  for (const name of localeCookies) {
    const fromCookie = request.cookies[name];
    if (isLocale(fromCookie)) return fromCookie;
  }
  return defaultLocale;
}
