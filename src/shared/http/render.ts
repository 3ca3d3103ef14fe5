import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HtmlValue } from '../html/html.js';
import { layout, type NavItem } from '../html/layout.js';
import { type Translate, translator } from '../i18n/messages.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The staff menu gathered from the module list (app.ts), in order. */
    staffNavigation: readonly NavItem[];
  }
}

export interface RenderOptions {
  title: string;
  body: HtmlValue | ((t: Translate) => HtmlValue);
  status?: number;
  bare?: boolean;
  csrfToken?: string;
}

/** Sends a full HTML page in the request's language. */
export function renderPage(request: FastifyRequest, reply: FastifyReply, o: RenderOptions): FastifyReply {
  const t = translator(request.locale);
  const token = o.csrfToken ?? (request.actor ? reply.generateCsrf() : undefined);
  const body = typeof o.body === 'function' ? o.body(t) : o.body;
  return reply
    .status(o.status ?? 200)
    .type('text/html; charset=utf-8')
    .send(
      layout({
        locale: request.locale,
        t,
        title: o.title,
        body,
        path: request.url,
        actor: request.actor,
        csrfToken: token,
        bare: o.bare ?? false,
        navigation: request.server.staffNavigation,
      }).value,
    );
}
