import type { FastifyRequest } from 'fastify';
import { defaultLocale, isLocale, type Locale } from '../i18n/messages.js';

export const LOCALE_COOKIE = 'kluis_lang';

/** `?lang=` wins, then the `/en/` path prefix, then the cookie, then Accept-Language, then Dutch. */
export function detectLocale(request: FastifyRequest): Locale {
  const query = request.query as Record<string, unknown> | undefined;
  const fromQuery = query?.lang;
  if (isLocale(fromQuery)) return fromQuery;
  if (request.url === '/en' || request.url.startsWith('/en/') || request.url.startsWith('/en?')) return 'en';
  const fromCookie = request.cookies[LOCALE_COOKIE];
  if (isLocale(fromCookie)) return fromCookie;
  const accept = request.headers['accept-language'];
  if (typeof accept === 'string') {
    for (const part of accept.split(',')) {
      const tag = part.split(';')[0]?.trim().slice(0, 2).toLowerCase();
      if (isLocale(tag)) return tag;
    }
  }
  return defaultLocale;
}
