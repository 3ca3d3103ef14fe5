/**
 * Public intake routes (P1, P2): the contact form of the operator (`/contact`, `/en/contact`) and
 * of each tenant (`/o/:slug/contact`, `/en/o/:slug/contact`), its confirmation page, and
 * `POST /api/v1/contact-requests` for other channels. A refused or invalid submission stores
 * nothing; only a valid one reaches the intake service.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HOUR } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import {
  createFormTimer,
  createSubmissionLimiter,
  HONEYPOT_FIELD,
  STARTED_FIELD,
} from '../../shared/http/form-guard.js';
import { renderPage } from '../../shared/http/render.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import { translator } from '../../shared/i18n/messages.js';
import type { KluisCore } from '../module.js';
import { publicOrgOf } from '../orgs/orgs-public.js';
import { createOrgsRepository, type Org } from '../orgs/orgs-repository.js';
import { registerInboxRoutes } from './intake-inbox-routes.js';
import { parseContactRequest } from './intake-schemas.js';
import { createIntakeService } from './intake-service.js';
import {
  type ContactFormValues,
  contactFormFields,
  contactFormPage,
  contactRefusedPage,
  contactSentPage,
  type RefusalReason,
} from './intake-views.js';

/** The form's own path (no query), e.g. `/en/o/acme/contact`. */
function formPathOf(request: FastifyRequest): string {
  return (request.url.split('?')[0] ?? '/contact').replace(/\/sent$/, '');
}

function valuesOf(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof body !== 'object' || body === null) return out;
  for (const [key, value] of Object.entries(body)) {
    if (typeof value === 'string') out[key] = value;
  }
  return out;
}

async function registerContactRoutes(app: FastifyInstance, kluis: KluisCore) {
  const orgs = createOrgsRepository(kluis.db);
  const intake = createIntakeService(kluis);
  const timer = createFormTimer(kluis);
  const limiter = createSubmissionLimiter({
    clock: kluis.clock,
    max: kluis.config.intake.contactRateLimitPerHour,
    windowMs: HOUR,
  });
  const publicAccess = { kind: 'public' } as const;

  /** The organisation the form belongs to: the tenant named in the path, else the operator. */
  const orgOf = (request: FastifyRequest): Promise<Org> => publicOrgOf(orgs, request.params);

  async function showForm(
    request: FastifyRequest,
    reply: FastifyReply,
    o: {
      org: Org;
      values: ContactFormValues;
      started?: string;
      errors?: FieldErrors;
      notice?: string;
      status?: number;
    },
  ) {
    const t = translator(request.locale);
    const csrf = reply.generateCsrf();
    return renderPage(request, reply, {
      title: t('intake.form.title', { org: o.org.name }),
      status: o.status ?? 200,
      csrfToken: csrf,
      body: contactFormPage({
        t,
        csrf,
        action: formPathOf(request),
        started: o.started ?? (await timer.issue(o.org.id)),
        orgName: o.org.name,
        values: o.values,
        errors: o.errors,
        notice: o.notice,
      }),
    });
  }

  function refuse(request: FastifyRequest, reply: FastifyReply, reason: RefusalReason) {
    const t = translator(request.locale);
    // Why, without anything the visitor typed (P3: no message content in logs).
    request.log.info({ reason }, 'contact form submission refused');
    if (reason === 'rate_limited') reply.header('retry-after', '3600');
    return renderPage(request, reply, {
      title: t('intake.refused.title'),
      status: reason === 'rate_limited' ? 429 : 400,
      body: contactRefusedPage({ t, reason, formPath: formPathOf(request) }),
    });
  }

  for (const prefix of ['', '/en', '/o/:slug', '/en/o/:slug']) {
    app.get(`${prefix}/contact`, { config: { access: publicAccess } }, async (request, reply) =>
      showForm(request, reply, { org: await orgOf(request), values: {} }),
    );

    app.post(`${prefix}/contact`, { config: { access: publicAccess } }, async (request, reply) => {
      const org = await orgOf(request);
      if (!limiter.hit(request.ip)) return refuse(request, reply, 'rate_limited');
      const body = valuesOf(request.body);
      if ((body[HONEYPOT_FIELD] ?? '').trim() !== '') return refuse(request, reply, 'spam');
      const timing = await timer.check(org.id, body[STARTED_FIELD]);
      if (timing === 'invalid') return refuse(request, reply, 'spam');
      if (timing === 'too_fast') return refuse(request, reply, 'too_fast');
      const values = Object.fromEntries(contactFormFields.map((f) => [f, body[f] ?? '']));
      const t = translator(request.locale);
      if (timing === 'expired') {
        return showForm(request, reply, { org, values, notice: t('intake.form.expired'), status: 400 });
      }
      const parsed = parseContactRequest('form', values);
      if (!parsed.ok) {
        return showForm(request, reply, {
          org,
          values,
          errors: parsed.errors,
          started: body[STARTED_FIELD] ?? '',
          status: 400,
        });
      }
      await intake.submitContactRequest({
        actor: { kind: 'anonymous', orgId: org.id, ref: 'public:contact-form' },
        channel: 'web',
        request: parsed.data,
        locale: request.locale,
      });
      return reply.redirect(`${formPathOf(request)}/sent`, 303);
    });

    app.get(`${prefix}/contact/sent`, { config: { access: publicAccess } }, async (request, reply) => {
      await orgOf(request);
      const t = translator(request.locale);
      return renderPage(request, reply, {
        title: t('intake.sent.title'),
        body: contactSentPage({ t, formPath: formPathOf(request) }),
      });
    });
  }

  app.post(
    '/api/v1/contact-requests',
    { config: { access: { kind: 'api', permission: 'intake.submit' } } },
    async (request, reply) => {
      const actor = request.actor;
      if (actor === undefined) throw new AppError('ERR_UNAUTHENTICATED');
      const parsed = parseContactRequest('api', request.body ?? {});
      if (!parsed.ok) {
        throw new AppError('ERR_VALIDATION', { message: 'contact request invalid', fields: parsed.errors });
      }
      const { conversationId } = await intake.submitContactRequest({
        actor,
        channel: 'api',
        request: parsed.data,
        locale: parsed.data.locale ?? 'nl',
      });
      return reply.status(201).send({ id: conversationId, channel: 'api', status: 'open' });
    },
  );
}

export async function intakeRoutes(kit: RouteKit, kluis: KluisCore): Promise<void> {
  const app = kit.app;
  await registerContactRoutes(app, kluis);
  await registerInboxRoutes(app, kluis);
}
