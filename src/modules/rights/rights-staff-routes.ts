/**
 * The privacy officer's pages (`rights.handle`): the queue and a request's page, with one POST
 * route per action — parse the form, run the use case, show what went wrong in place. Erasure
 * needs `rights.erase` too (the service checks it).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Actor } from '../../shared/actor.js';
import { AppError, isAppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import { renderPage } from '../../shared/http/render.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import { isMessageKey, type MessageKey, type Translate } from '../../shared/i18n/messages.js';
import { normalisePhone } from '../../shared/phone.js';
import { pauseReasons, requestOutcomes, rightKinds } from './rights-schema.js';
import type { RightsService } from './rights-service.js';
import { detailPage, queuePage } from './rights-views.js';

const staff = { kind: 'staff', permission: 'rights.handle' } as const;
const idParams = z.object({ id: z.uuid() });
const detailQuery = z.object({
  problem: z.string().max(100).optional(),
  saved: z.string().max(10).optional(),
});
const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

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
  none: z.object({}),
};

const problemKey = (value: unknown): MessageKey | undefined =>
  typeof value === 'string' && value.startsWith('rights.problem.') && isMessageKey(value) ? value : undefined;

/** A refusal the request page shows in place (the request's state, a rule, a field). */
function shownInPlace(error: unknown): error is AppError {
  return (
    isAppError(error) &&
    (error.code === 'ERR_RIGHTS_NOT_ALLOWED' ||
      error.code === 'ERR_RIGHTS_EXTENSION_REFUSED' ||
      error.code === 'ERR_VALIDATION')
  );
}

export function registerStaffRoutes(kit: RouteKit, deps: { readonly rights: RightsService }): void {
  const { rights } = deps;

  async function detail(
    ctx: { request: FastifyRequest; reply: FastifyReply; actor: Actor; t: Translate },
    id: string,
    shown: {
      errors?: FieldErrors;
      problem?: MessageKey | undefined;
      flash?: boolean;
      status?: 200 | 400;
    } = {},
  ) {
    const { request, reply, t } = ctx;
    const d = await rights.get(ctx.actor, id);
    const csrf = reply.generateCsrf();
    return renderPage(request, reply, {
      title: t('rights.detail.title'),
      status: shown.status ?? 200,
      csrfToken: csrf,
      body: (tr) =>
        detailPage(tr, d, {
          csrf,
          locale: request.locale,
          errors: shown.errors,
          problem: shown.problem,
          flash: shown.flash === true ? 'rights.done.saved' : undefined,
        }),
    });
  }

  kit.route({
    method: 'GET',
    url: '/staff/rights',
    access: staff,
    handler: async ({ request, reply, actor, t, locale }) => {
      const [open, closed] = await Promise.all([
        rights.list(actor, { open: true }),
        rights.list(actor, { open: false }),
      ]);
      return renderPage(request, reply, {
        title: t('rights.queue.title'),
        body: (tr) => queuePage(tr, { open, closed, locale }),
      });
    },
  });

  kit.route({
    method: 'GET',
    url: '/staff/rights/:id',
    access: staff,
    params: idParams,
    query: detailQuery,
    handler: async (ctx) =>
      detail(ctx, ctx.params.id, { problem: problemKey(ctx.query.problem), flash: ctx.query.saved === '1' }),
  });

  /** One POST route per action: parse the form, run the action, show what went wrong in place. */
  function action<S extends z.ZodType>(
    name: string,
    schema: S,
    run: (actor: Actor, id: string, data: z.output<S>) => Promise<unknown>,
  ) {
    kit.route({
      method: 'POST',
      url: `/staff/rights/:id/${name}`,
      access: staff,
      params: idParams,
      body: schema,
      form: true,
      handler: async (ctx) => {
        const { id } = ctx.params;
        if (!ctx.body.ok) return detail(ctx, id, { errors: ctx.body.errors, status: 400 });
        try {
          // The kit's parsed body is the schema's output (its type stays generic here).
          await run(ctx.actor, id, ctx.body.data as z.output<S>);
        } catch (error) {
          if (!shownInPlace(error)) throw error;
          const fields = error.fields ?? {};
          const problem = Object.values(fields).find((k) => k.startsWith('rights.problem.'));
          return detail(ctx, id, {
            ...(error.code === 'ERR_VALIDATION' ? { errors: fields } : {}),
            problem: problem ?? error.messageKey,
            status: 400,
          });
        }
        return ctx.reply.redirect(`/staff/rights/${id}?saved=1`, 303);
      },
    });
  }

  action('right', forms.right, (actor, id, d) => rights.setRight(actor, id, d.right));
  action('send-confirmation', forms.none, (actor, id) => rights.sendConfirmation(actor, id));
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
  action('resume', forms.none, (actor, id) => rights.resume(actor, id));
  action('extend', forms.extend, (actor, id, d) => rights.extend(actor, id, d.months, d.reason));
  action('start', forms.none, (actor, id) => rights.start(actor, id));
  action('complete', forms.complete, (actor, id, d) => rights.complete(actor, id, d.outcome, d.reasons));
  action('refuse', forms.refuse, (actor, id, d) => rights.complete(actor, id, 'refused', d.reasons));
  action('export', forms.none, (actor, id) => rights.requestExport(actor, id));
  action('erase', forms.erase, (actor, id) => rights.erase(actor, id));
  action('consent', forms.consent, (actor, id, d) => rights.recordConsentRight(actor, id, d.purpose));
}
