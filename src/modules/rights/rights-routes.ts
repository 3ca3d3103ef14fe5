/**
 * Routes of the rights module (P15–P17): the public portal (`/rights`, `/en/rights`, per tenant
 * `/o/:slug/rights`), the requester's status page behind the emailed link, and the privacy
 * officer's queue and request pages (`/staff/rights`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Actor } from '../../shared/actor.js';
import { HOUR } from '../../shared/clock.js';
import { AppError, isAppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import { createSubmissionLimiter } from '../../shared/http/form-guard.js';
import { renderPage } from '../../shared/http/render.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import { parseForm } from '../../shared/http/validation.js';
import { isMessageKey, type MessageKey, translator } from '../../shared/i18n/messages.js';
import { normalisePhone } from '../../shared/phone.js';
import type { KluisCore, KluisServices } from '../module.js';
import { publicOrgOf } from '../orgs/orgs-public.js';
import { createOrgsRepository, type Org } from '../orgs/orgs-repository.js';
import { registerConsentRoutes } from './rights-consent-routes.js';
import { createRightsFulfilment } from './rights-fulfil.js';
import { CONFIRM_DAYS } from './rights-records.js';
import { pauseReasons, requestOutcomes, rightKinds } from './rights-schema.js';
import { createRightsService } from './rights-service.js';
import {
  confirmPage,
  detailPage,
  type PortalValues,
  portalPage,
  queuePage,
  sentPage,
  statusInvalidPage,
  statusPage,
} from './rights-views.js';

/** Who works the queue: the privacy officer (least privilege; admins and owners do not see requests). */
export const rightsStaffRoles = ['privacy_officer'] as const;
const staff = { access: { kind: 'staff', permission: 'rights.handle' } } as const;
const publicAccess = { access: { kind: 'public' } } as const;

const idParams = z.object({ id: z.uuid() });
const tokenParams = z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/) });
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

const reasonsText = (min: number) =>
  z
    .string({ message: 'field.required' })
    .trim()
    .min(min, { message: 'rights.problem.reason_required' })
    .max(5000, { message: 'field.tooLong' });

const forms = {
  right: z.object({ right: z.enum(rightKinds, { message: 'field.invalid' }) }),
  verify: z.object({ note: reasonsText(10) }),
  link: z
    .object({
      email: z.preprocess(emptyToUndefined, z.email({ message: 'field.invalidEmail' }).optional()),
      phone: z.preprocess(emptyToUndefined, z.string().max(40).optional()),
    })
    .refine((v) => v.email !== undefined || v.phone !== undefined, {
      message: 'field.required',
      path: ['email'],
    }),
  pause: z.object({ reason: z.enum(pauseReasons, { message: 'field.invalid' }), message: reasonsText(10) }),
  extend: z.object({ months: z.coerce.number().int().min(1).max(2), reason: reasonsText(10) }),
  complete: z.object({
    outcome: z.enum(requestOutcomes.filter((o) => o !== 'refused') as ['fulfilled', 'partly_fulfilled']),
    reasons: z.string().trim().max(5000, { message: 'field.tooLong' }),
  }),
  refuse: z.object({ reasons: reasonsText(10) }),
  erase: z.object({ confirm: z.literal('yes', { message: 'field.required' }) }),
  consent: z.object({ purpose: z.string().regex(/^[a-z_]{1,40}$/, { message: 'field.invalid' }) }),
};

function actorOf(request: FastifyRequest): Actor {
  if (request.actor === undefined) throw new AppError('ERR_UNAUTHENTICATED');
  return request.actor;
}

function valuesOf(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof body !== 'object' || body === null) return out;
  for (const [key, value] of Object.entries(body))
    if (typeof value === 'string') out[key] = value.slice(0, 6000);
  return out;
}

/** The portal's path for this request (no query), e.g. `/en/o/acme/rights`. */
function portalPathOf(request: FastifyRequest): string {
  return (request.url.split('?')[0] ?? '/rights').replace(/\/sent$/, '');
}

async function registerPortalRoutes(app: FastifyInstance, kluis: KluisCore): Promise<void> {
  const orgs = createOrgsRepository(kluis.db);
  const rights = createRightsService(kluis);
  const fulfil = createRightsFulfilment(kluis);
  // The same budget as the contact form: portal submissions per IP address per hour.
  const limiter = createSubmissionLimiter({
    clock: kluis.clock,
    max: kluis.config.intake.contactRateLimitPerHour,
    windowMs: HOUR,
  });

  const orgOf = (request: FastifyRequest): Promise<Org> => publicOrgOf(orgs, request.params);

  function showPortal(
    request: FastifyRequest,
    reply: FastifyReply,
    org: Org,
    values: PortalValues,
    errors?: FieldErrors,
  ) {
    const t = translator(request.locale);
    const csrf = reply.generateCsrf();
    const base = portalPathOf(request).replace(/\/rights$/, '');
    return renderPage(request, reply, {
      title: t('rights.portal.title', { org: org.name }),
      status: errors === undefined ? 200 : 400,
      csrfToken: csrf,
      body: portalPage(t, {
        orgName: org.name,
        action: portalPathOf(request),
        csrf,
        values,
        errors,
        privacyPath: `${base}/privacy`,
      }),
    });
  }

  for (const prefix of ['', '/en', '/o/:slug', '/en/o/:slug']) {
    app.get(`${prefix}/rights`, { config: publicAccess }, async (request, reply) =>
      showPortal(request, reply, await orgOf(request), {}),
    );

    app.post(`${prefix}/rights`, { config: publicAccess }, async (request, reply) => {
      const org = await orgOf(request);
      const t = translator(request.locale);
      if (!limiter.hit(request.ip)) {
        reply.header('retry-after', '3600');
        return renderPage(request, reply, {
          title: t('rights.refused.title'),
          status: 429,
          body: (tr) => `${tr('rights.refused.title')}. ${tr('rights.refused.rate')}`,
        });
      }
      const values = valuesOf(request.body);
      const parsed = parseForm(portalSchema, values);
      if (!parsed.ok) return showPortal(request, reply, org, values, parsed.errors);
      await rights.submit({ orgId: org.id, ...parsed.data, locale: request.locale });
      return reply.redirect(`${portalPathOf(request)}/sent`, 303);
    });

    app.get(`${prefix}/rights/sent`, { config: publicAccess }, async (request, reply) => {
      await orgOf(request);
      const t = translator(request.locale);
      return renderPage(request, reply, { title: t('rights.sent.title'), body: sentPage(t, CONFIRM_DAYS) });
    });
  }

  for (const prefix of ['', '/en']) {
    app.get(`${prefix}/rights/r/:token`, { config: publicAccess }, async (request, reply) => {
      const t = translator(request.locale);
      const params = tokenParams.safeParse(request.params);
      const state = params.success ? await rights.statusByToken(params.data.token) : undefined;
      // The link is a secret: keep it out of referrers and caches.
      reply.header('referrer-policy', 'no-referrer').header('cache-control', 'no-store');
      if (state === undefined || !params.success) {
        return renderPage(request, reply, {
          title: t('rights.status.title'),
          status: 404,
          body: statusInvalidPage(t),
        });
      }
      if (!state.confirmed || state.view === undefined) {
        const csrf = reply.generateCsrf();
        return renderPage(request, reply, {
          title: t('rights.status.title'),
          csrfToken: csrf,
          body: confirmPage(t, { action: `${prefix}/rights/r/${params.data.token}/confirm`, csrf }),
        });
      }
      return renderPage(request, reply, {
        title: t('rights.status.title'),
        body: statusPage(t, state.view, { downloadPath: `${prefix}/rights/r/${params.data.token}/export` }),
      });
    });

    app.post(`${prefix}/rights/r/:token/confirm`, { config: publicAccess }, async (request, reply) => {
      const t = translator(request.locale);
      const params = tokenParams.safeParse(request.params);
      const ok = params.success ? await rights.confirmByToken(params.data.token) : false;
      if (!ok || !params.success) {
        return renderPage(request, reply, {
          title: t('rights.status.title'),
          status: 404,
          body: statusInvalidPage(t),
        });
      }
      return reply.redirect(`${prefix}/rights/r/${params.data.token}`, 303);
    });

    app.get(`${prefix}/rights/r/:token/export`, { config: publicAccess }, async (request, reply) => {
      const t = translator(request.locale);
      const params = tokenParams.safeParse(request.params);
      const file = params.success ? await fulfil.downloadExport(params.data.token) : undefined;
      reply.header('referrer-policy', 'no-referrer').header('cache-control', 'no-store');
      if (file === undefined) {
        return renderPage(request, reply, {
          title: t('rights.status.title'),
          status: 410,
          body: statusInvalidPage(t),
        });
      }
      return reply
        .type('application/zip')
        .header('content-disposition', `attachment; filename="${file.filename}"`)
        .send(file.content);
    });
  }
}

const problemKey = (value: unknown): MessageKey | undefined =>
  typeof value === 'string' && value.startsWith('rights.problem.') && isMessageKey(value) ? value : undefined;

async function registerStaffRoutes(app: FastifyInstance, kluis: KluisCore): Promise<void> {
  const rights = createRightsService(kluis);
  const fulfil = createRightsFulfilment(kluis);

  async function detail(
    request: FastifyRequest,
    reply: FastifyReply,
    id: string,
    errors?: FieldErrors,
    problem?: MessageKey,
  ) {
    const actor = actorOf(request);
    const d = await rights.get(actor, id);
    const query = request.query as Record<string, unknown> | undefined;
    const csrf = reply.generateCsrf();
    return renderPage(request, reply, {
      title: translator(request.locale)('rights.detail.title'),
      status: errors === undefined && problem === undefined ? 200 : 400,
      csrfToken: csrf,
      body: (t) =>
        detailPage(t, d, {
          csrf,
          errors,
          problem: problem ?? problemKey(query?.problem),
          flash: query?.saved === '1' ? 'rights.done.saved' : undefined,
        }),
    });
  }

  app.get('/staff/rights', { config: staff }, async (request, reply) => {
    const actor = actorOf(request);
    const [open, closed] = await Promise.all([
      rights.list(actor, { open: true }),
      rights.list(actor, { open: false }),
    ]);
    return renderPage(request, reply, {
      title: translator(request.locale)('rights.queue.title'),
      body: (t) => queuePage(t, { open, closed }),
    });
  });

  app.get('/staff/rights/:id', { config: staff }, async (request, reply) => {
    const params = idParams.safeParse(request.params);
    if (!params.success) throw new AppError('ERR_NOT_FOUND', { message: 'rights request not found' });
    return detail(request, reply, params.data.id);
  });

  /** One POST route per action: parse the form, run the action, show what went wrong in place. */
  function action<S extends z.ZodType>(
    name: string,
    schema: S,
    run: (actor: Actor, id: string, data: z.infer<S>) => Promise<unknown>,
  ) {
    app.post(`/staff/rights/:id/${name}`, { config: staff }, async (request, reply) => {
      const params = idParams.safeParse(request.params);
      if (!params.success) throw new AppError('ERR_NOT_FOUND', { message: 'rights request not found' });
      const id = params.data.id;
      const parsed = parseForm(schema, valuesOf(request.body));
      if (!parsed.ok) return detail(request, reply, id, parsed.errors);
      try {
        await run(actorOf(request), id, parsed.data);
      } catch (error) {
        if (
          isAppError(error) &&
          (error.code === 'ERR_RIGHTS_NOT_ALLOWED' ||
            error.code === 'ERR_RIGHTS_EXTENSION_REFUSED' ||
            error.code === 'ERR_VALIDATION')
        ) {
          const fields = error.fields ?? {};
          const problem = Object.values(fields).find((k) => k.startsWith('rights.problem.'));
          return detail(
            request,
            reply,
            id,
            error.code === 'ERR_VALIDATION' ? fields : undefined,
            problem ?? error.messageKey,
          );
        }
        throw error;
      }
      return reply.redirect(`/staff/rights/${id}?saved=1`, 303);
    });
  }

  const none = z.object({});
  action('right', forms.right, (actor, id, d) => rights.setRight(actor, id, d.right));
  action('send-confirmation', none, (actor, id) => rights.sendConfirmation(actor, id));
  action('verify', forms.verify, (actor, id, d) => rights.verifyByStaff(actor, id, d.note));
  action('link', forms.link, async (actor, id, d) => {
    const phone = d.phone === undefined ? undefined : normalisePhone(d.phone);
    const linked = await rights.linkSubject(actor, id, {
      ...(d.email === undefined ? {} : { email: d.email }),
      ...(phone === undefined ? {} : { phone }),
    });
    if (!linked)
      throw new AppError('ERR_RIGHTS_NOT_ALLOWED', { fields: { request: 'rights.problem.noMatch' } });
  });
  action('pause', forms.pause, (actor, id, d) => rights.pause(actor, id, d.reason, d.message));
  action('resume', none, (actor, id) => rights.resume(actor, id));
  action('extend', forms.extend, (actor, id, d) => rights.extend(actor, id, d.months, d.reason));
  action('start', none, (actor, id) => rights.start(actor, id));
  action('complete', forms.complete, (actor, id, d) => rights.complete(actor, id, d.outcome, d.reasons));
  action('refuse', forms.refuse, (actor, id, d) => rights.complete(actor, id, 'refused', d.reasons));
  action('export', none, (actor, id) => fulfil.requestExport(actor, id));
  action('erase', forms.erase, (actor, id) => fulfil.erase(actor, id));
  action('consent', forms.consent, (actor, id, d) => fulfil.recordConsentRight(actor, id, d.purpose));
}

export async function rightsRoutes(
  kit: RouteKit,
  kluis: KluisCore & Pick<KluisServices, 'relations'>,
): Promise<void> {
  const app = kit.app;
  await registerPortalRoutes(app, kluis);
  await registerStaffRoutes(app, kluis);
  registerConsentRoutes(app, kluis);
}
