/**
 * Public intake routes (P1, P2): the contact form of the operator (`/contact`, `/en/contact`) and
 * of each tenant (`/o/:slug/contact`, `/en/o/:slug/contact`), its confirmation page, and
 * `POST /api/v1/contact-requests` for other channels. The form and the API validate with one
 * schema (intake-schemas.ts). A refused or invalid submission stores nothing; only a valid one
 * reaches the intake service.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HOUR } from '../../shared/clock.js';
import { isAppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import {
  createFormTimer,
  createSubmissionLimiter,
  HONEYPOT_FIELD,
  STARTED_FIELD,
} from '../../shared/http/form-guard.js';
import { renderFormPage } from '../../shared/http/form-submit.js';
import { renderPage } from '../../shared/http/render.js';
import { apiErrors } from '../../shared/http/responses.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import type { Translate } from '../../shared/i18n/messages.js';
import type { KluisCore, KluisServices } from '../module.js';
import { createOrgsRepository, type Org, publicOrgOf } from '../orgs/index.js';
import { isFormTokenSpent } from './intake-form-tokens.js';
import { inboxRoutes } from './intake-inbox-routes.js';
import { contactFormFields, contactFormSchema, contactRequestSchema } from './intake-schemas.js';
import { FORM_TOKEN_SPENT } from './intake-service.js';
import {
  type ContactFormValues,
  contactFormPage,
  contactRefusedPage,
  contactSentPage,
  type RefusalReason,
} from './intake-views.js';

export type IntakeRouteDeps = Pick<KluisCore, 'db' | 'keyring' | 'clock' | 'config' | 'redis'> &
  Pick<KluisServices, 'intake' | 'inbox'>;

/** What `POST /api/v1/contact-requests` answers: the conversation it opened. */
const contactReceiptSchema = z
  .object({
    id: z.uuid().describe('The conversation'),
    channel: z.literal('api'),
    status: z.literal('open'),
  })
  .describe('The conversation the request opened.');

interface PageContext {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly t: Translate;
  /** The form's own path, e.g. `/en/o/acme/contact`. */
  readonly formPath: string;
}

function contactRoutes(kit: RouteKit, deps: IntakeRouteDeps): void {
  const { intake } = deps;
  const orgs = createOrgsRepository(deps.db);
  const timer = createFormTimer(deps);
  const limiter = createSubmissionLimiter({
    clock: deps.clock,
    max: deps.config.intake.contactRateLimitPerHour,
    windowMs: HOUR,
    name: 'contact',
    redis: deps.redis,
  });
  const access = { kind: 'public' } as const;

  /** The organisation the form belongs to: the tenant named in the path, else the operator. */
  const orgOf = (request: FastifyRequest): Promise<Org> => publicOrgOf(orgs, request.params);

  async function showForm(
    ctx: PageContext,
    o: {
      org: Org;
      values: ContactFormValues;
      started?: string;
      errors?: FieldErrors;
      notice?: string;
      status?: number;
    },
  ) {
    const { t } = ctx;
    const started = o.started ?? (await timer.issue(o.org.id));
    return renderFormPage(ctx, {
      title: t('intake.form.title', { org: o.org.name }),
      status: o.status,
      body: (csrf) =>
        contactFormPage({
          t,
          csrf,
          action: ctx.formPath,
          started,
          orgName: o.org.name,
          values: o.values,
          errors: o.errors,
          notice: o.notice,
        }),
    });
  }

  function refuse(ctx: PageContext, reason: RefusalReason) {
    const { request, reply, t } = ctx;
    // Why, without anything the visitor typed (P3: no message content in logs).
    request.log.info({ reason }, 'contact form submission refused');
    if (reason === 'rate_limited') reply.header('retry-after', '3600');
    return renderPage(request, reply, {
      title: t('intake.refused.title'),
      status: reason === 'rate_limited' ? 429 : 400,
      body: contactRefusedPage({ t, reason, formPath: ctx.formPath }),
    });
  }

  kit.route({
    method: 'GET',
    url: '/contact',
    site: true,
    access,
    handler: async ({ request, reply, t, lang, site }) =>
      showForm(
        { request, reply, t, formPath: `${lang}${site}/contact` },
        { org: await orgOf(request), values: {} },
      ),
  });

  kit.route({
    method: 'POST',
    url: '/contact',
    site: true,
    access,
    body: contactFormSchema,
    form: true,
    handler: async ({ request, reply, t, lang, site, body, locale }) => {
      const ctx: PageContext = { request, reply, t, formPath: `${lang}${site}/contact` };
      const org = await orgOf(request);
      if (!(await limiter.hit(request.ip))) return refuse(ctx, 'rate_limited');
      const posted = body.values;
      if ((posted[HONEYPOT_FIELD] ?? '').trim() !== '') return refuse(ctx, 'spam');
      const timing = await timer.check(org.id, posted[STARTED_FIELD]);
      if (timing.kind === 'invalid') return refuse(ctx, 'spam');
      if (timing.kind === 'too_fast') return refuse(ctx, 'too_fast');
      const values = Object.fromEntries(contactFormFields.map((f) => [f, posted[f] ?? '']));
      if (timing.kind === 'expired') {
        return showForm(ctx, { org, values, notice: t('intake.form.expired'), status: 400 });
      }
      if (!body.ok) {
        // A replayed form is told it was taken already rather than shown again with errors. A
        // valid post skips this read: the insert in its transaction decides (and is needed anyway).
        if (await isFormTokenSpent(deps.db, timing.token)) return refuse(ctx, 'used');
        return showForm(ctx, {
          org,
          values,
          errors: body.errors,
          started: posted[STARTED_FIELD] ?? '',
          status: 400,
        });
      }
      try {
        await intake.submitContactRequest({
          actor: { kind: 'anonymous', orgId: org.id, ref: 'public:contact-form' },
          channel: 'web',
          request: body.data,
          locale,
          formToken: timing.token,
        });
      } catch (error) {
        // This form was taken already, by this node or another (decision 0020).
        if (isAppError(error) && error.details?.reason === FORM_TOKEN_SPENT) return refuse(ctx, 'used');
        throw error;
      }
      return reply.redirect(`${ctx.formPath}/sent`, 303);
    },
  });

  kit.route({
    method: 'GET',
    url: '/contact/sent',
    site: true,
    access,
    handler: async ({ request, reply, t, lang, site }) => {
      await orgOf(request);
      return renderPage(request, reply, {
        title: t('intake.sent.title'),
        body: contactSentPage({ t, formPath: `${lang}${site}/contact` }),
      });
    },
  });
}

/** The API's way in for a contact request received elsewhere (P1, P2). */
function contactApiRoute(kit: RouteKit, deps: IntakeRouteDeps): void {
  const { intake } = deps;
  kit.route({
    method: 'POST',
    url: '/api/v1/contact-requests',
    access: { kind: 'api', permission: 'intake.submit' },
    body: contactRequestSchema,
    response: { 201: contactReceiptSchema, ...apiErrors(400, 401, 403) },
    summary: 'Hand in a contact request',
    description:
      'Opens a conversation on the api channel for a request received elsewhere (a chat, a partner system): a name, an email address and/or a phone number, and the message. Nothing else is accepted (P2).',
    tags: ['intake'],
    handler: async ({ reply, actor, body }) => {
      const { conversationId } = await intake.submitContactRequest({
        actor,
        channel: 'api',
        request: body,
        locale: body.locale ?? 'nl',
      });
      return reply.status(201).send({ id: conversationId, channel: 'api', status: 'open' });
    },
  });
}

export function intakeRoutes(kit: RouteKit, deps: IntakeRouteDeps): void {
  contactRoutes(kit, deps);
  contactApiRoute(kit, deps);
  inboxRoutes(kit, deps);
}
