/**
 * The public rights portal (P15, P16): the request form (`/rights`, `/en/rights`, per tenant
 * `/o/:slug/rights`), the page after sending, and the requester's status page behind the emailed
 * link with its confirm button and the one download of an export. No JavaScript needed; the
 * status link is a secret, kept out of referrers and caches.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HOUR } from '../../shared/clock.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import { createSubmissionLimiter } from '../../shared/http/form-guard.js';
import { renderPage } from '../../shared/http/render.js';
import { sendDownload } from '../../shared/http/responses.js';
import { type RouteKit, sitePrefixes, slugSchema } from '../../shared/http/route-kit.js';
import type { Translate } from '../../shared/i18n/messages.js';
import { normalisePhone } from '../../shared/phone.js';
import type { KluisCore } from '../module.js';
import { createOrgsRepository, linkOrgOf, type Org, publicOrgOf } from '../orgs/index.js';
import { CONFIRM_DAYS } from './rights-records.js';
import { rightKinds } from './rights-schema.js';
import type { RightsService } from './rights-service.js';
import {
  confirmPage,
  type PortalValues,
  portalPage,
  sentPage,
  statusInvalidPage,
  statusPage,
} from './rights-views.js';

const publicAccess = { kind: 'public' } as const;
const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

export const portalSchema = z.object({
  right: z.enum(rightKinds, { message: 'rights.portal.rightRequired' }),
  email: z
    .string({ message: 'field.required' })
    .trim()
    .toLowerCase()
    .min(1, { message: 'field.required' })
    .max(254, { message: 'field.tooLong' })
    .pipe(z.email({ message: 'field.invalidEmail' })),
  phone: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .max(40, { message: 'field.tooLong' })
      .transform((v, ctx) => {
        const e164 = normalisePhone(v);
        if (e164 === undefined) {
          ctx.addIssue({ code: 'custom', message: 'field.invalid' });
          return z.NEVER;
        }
        return e164;
      })
      .optional(),
  ),
  details: z.preprocess(
    emptyToUndefined,
    z.string().trim().max(5000, { message: 'field.tooLong' }).optional(),
  ),
});

/** A status link's secret: checked by the service (an unknown or malformed one is a 404 page). */
const tokenParams = z.object({ token: z.string().max(100) });

export type PortalRouteDeps = Pick<KluisCore, 'db' | 'clock' | 'config' | 'redis'> & {
  readonly rights: RightsService;
};

function invalidLink(request: FastifyRequest, reply: FastifyReply, t: Translate, status: 404 | 410) {
  return renderPage(request, reply, { title: t('rights.status.title'), status, body: statusInvalidPage(t) });
}

export function registerPortalRoutes(kit: RouteKit, deps: PortalRouteDeps): void {
  const { rights } = deps;
  const orgs = createOrgsRepository(deps.db);
  // The same budget as the contact form: portal submissions per IP address per hour.
  const limiter = createSubmissionLimiter({
    clock: deps.clock,
    max: deps.config.intake.contactRateLimitPerHour,
    windowMs: HOUR,
    name: 'rights',
    redis: deps.redis,
  });

  function showPortal(
    ctx: { request: FastifyRequest; reply: FastifyReply; t: Translate; lang: string; site: string },
    org: Org,
    values: PortalValues,
    errors?: FieldErrors,
  ) {
    const { request, reply, t } = ctx;
    const csrf = reply.generateCsrf();
    const base = `${ctx.lang}${ctx.site}`;
    return renderPage(request, reply, {
      title: t('rights.portal.title', { org: org.name }),
      status: errors === undefined ? 200 : 400,
      csrfToken: csrf,
      body: portalPage(t, {
        orgName: org.name,
        action: `${base}/rights`,
        csrf,
        values,
        errors,
        privacyPath: `${base}/privacy`,
      }),
    });
  }

  kit.route({
    method: 'GET',
    url: '/rights',
    site: true,
    access: publicAccess,
    handler: async (ctx) => showPortal(ctx, await publicOrgOf(orgs, ctx.params), {}),
  });

  kit.route({
    method: 'POST',
    url: '/rights',
    site: true,
    access: publicAccess,
    body: portalSchema,
    form: true,
    handler: async (ctx) => {
      const { request, reply, t, body } = ctx;
      const org = await publicOrgOf(orgs, ctx.params);
      if (!(await limiter.hit(request.ip))) {
        reply.header('retry-after', '3600');
        return renderPage(request, reply, {
          title: t('rights.refused.title'),
          status: 429,
          body: (tr) => `${tr('rights.refused.title')}. ${tr('rights.refused.rate')}`,
        });
      }
      if (!body.ok) return showPortal(ctx, org, body.values, body.errors);
      await rights.submit({ orgId: org.id, ...body.data, locale: ctx.locale });
      return reply.redirect(`${ctx.lang}${ctx.site}/rights/sent`, 303);
    },
  });

  kit.route({
    method: 'GET',
    url: '/rights/sent',
    site: true,
    access: publicAccess,
    handler: async ({ request, reply, t, params }) => {
      await publicOrgOf(orgs, params);
      return renderPage(request, reply, { title: t('rights.sent.title'), body: sentPage(t, CONFIRM_DAYS) });
    },
  });

  registerStatusLinkRoutes(kit, deps);
}

/**
 * The requester's status link, its confirm button and its one download, under every site prefix;
 * a link opens only on the site it was mailed for (linkOrgOf): elsewhere it is a 404 exactly like
 * a link that names nothing.
 */
function registerStatusLinkRoutes(kit: RouteKit, deps: PortalRouteDeps): void {
  const { rights } = deps;
  const orgs = createOrgsRepository(deps.db);
  /** The organisation whose links may open here, as a scope; undefined: none. */
  async function scopeOf(
    request: FastifyRequest,
    params: { readonly token: string; readonly slug?: string },
  ) {
    const org = await linkOrgOf(orgs, deps.config.publicOrigin, { host: request.host, slug: params.slug });
    return org === undefined ? undefined : { orgId: org.id };
  }

  for (const prefix of sitePrefixes) {
    const params = prefix.includes(':slug') ? tokenParams.extend({ slug: slugSchema }) : tokenParams;
    kit.route({
      method: 'GET',
      url: `${prefix}/rights/r/:token`,
      access: publicAccess,
      params,
      handler: async ({ request, reply, t, params, lang, site, locale }) => {
        // The link is a secret: keep it out of referrers and caches.
        reply.header('referrer-policy', 'no-referrer').header('cache-control', 'no-store');
        const scope = await scopeOf(request, params);
        const state = scope === undefined ? undefined : await rights.statusByToken(scope, params.token);
        if (state === undefined) return invalidLink(request, reply, t, 404);
        const path = `${lang}${site}/rights/r/${params.token}`;
        if (!state.confirmed || state.view === undefined) {
          const csrf = reply.generateCsrf();
          return renderPage(request, reply, {
            title: t('rights.status.title'),
            csrfToken: csrf,
            body: confirmPage(t, { action: `${path}/confirm`, csrf }),
          });
        }
        return renderPage(request, reply, {
          title: t('rights.status.title'),
          body: statusPage(t, state.view, { downloadPath: `${path}/export`, locale }),
        });
      },
    });

    kit.route({
      method: 'POST',
      url: `${prefix}/rights/r/:token/confirm`,
      access: publicAccess,
      params,
      form: true,
      handler: async ({ request, reply, t, params, lang, site }) => {
        const scope = await scopeOf(request, params);
        if (scope === undefined || !(await rights.confirmByToken(scope, params.token)))
          return invalidLink(request, reply, t, 404);
        return reply.redirect(`${lang}${site}/rights/r/${params.token}`, 303);
      },
    });

    kit.route({
      method: 'GET',
      url: `${prefix}/rights/r/:token/export`,
      access: publicAccess,
      params,
      handler: async ({ request, reply, t, params }) => {
        reply.header('referrer-policy', 'no-referrer').header('cache-control', 'no-store');
        const scope = await scopeOf(request, params);
        const file = scope === undefined ? undefined : await rights.downloadExport(scope, params.token);
        if (file === undefined) return invalidLink(request, reply, t, 410);
        return sendDownload(reply, {
          contentType: 'application/zip',
          filename: file.filename,
          content: file.content,
        });
      },
    });
  }
}
