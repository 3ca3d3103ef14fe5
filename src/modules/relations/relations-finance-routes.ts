/**
 * Finance's pages (P4, P5): SEPA mandates (record, read in full, revoke) and the direct-debit
 * run (creditor details, the pain.008 download). Reading a mandate in full needs
 * `relations.read_payment`; recording, revoking and collecting need `relations.manage_mandates`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FieldErrors } from '../../shared/html/forms.js';
import { renderPage } from '../../shared/http/render.js';
import { sendDownload } from '../../shared/http/responses.js';
import type { RouteKit, UserActor } from '../../shared/http/route-kit.js';
import type { Translate } from '../../shared/i18n/messages.js';
import { earliestCollectionDate } from './relations-collections.js';
import { directDebitsPage, mandateFormPage, mandatePage } from './relations-finance-views.js';
import {
  doneQuery,
  fieldErrorsOf,
  mandateParams,
  noticeOf,
  relationFormRoutes,
} from './relations-form-routes.js';
import { collectionFormSchema, creditorSchema, mandateSchema } from './relations-forms.js';
import type { RelationsRouteDeps } from './relations-routes.js';
import type { FormValues } from './relations-views.js';

const managers = { kind: 'staff', permission: 'relations.manage_mandates' } as const;
const paymentReaders = { kind: 'staff', permission: 'relations.read_payment' } as const;

function mandateRoutes(kit: RouteKit, { relations, mandates }: RelationsRouteDeps): void {
  relationFormRoutes(kit, relations, {
    form: '/staff/relations/:id/mandates/new',
    action: '/staff/relations/:id/mandates',
    access: managers,
    title: 'relations.mandate.newTitle',
    page: mandateFormPage,
    body: mandateSchema,
    save: (actor, relationId, values) => mandates.createMandate({ actor, relationId, values }),
    done: 'mandate',
  });

  kit.route({
    method: 'GET',
    url: '/staff/relations/:id/mandates/:mandateId',
    access: paymentReaders,
    params: mandateParams,
    query: doneQuery,
    handler: async ({ request, reply, actor, t, locale, params, query }) => {
      const mandate = await mandates.getMandate({
        actor,
        relationId: params.id,
        mandateId: params.mandateId,
      });
      const csrf = reply.generateCsrf();
      return renderPage(request, reply, {
        title: t('relations.mandate.title', { reference: mandate.reference }),
        csrfToken: csrf,
        body: mandatePage({ t, locale, csrf, mandate, notice: noticeOf(t, query.done) }),
      });
    },
  });

  kit.route({
    method: 'POST',
    url: '/staff/relations/:id/mandates/:mandateId/revoke',
    access: managers,
    params: mandateParams,
    form: true,
    handler: async ({ reply, actor, params }) => {
      await mandates.revokeMandate({ actor, relationId: params.id, mandateId: params.mandateId });
      return reply.redirect(`/staff/relations/${params.id}/mandates/${params.mandateId}?done=revoked`, 303);
    },
  });
}

interface DirectDebitsForms {
  creditorValues?: FormValues;
  creditorErrors?: FieldErrors;
  collectValues?: FormValues;
  collectErrors?: FieldErrors;
  status?: number;
  notice?: string | undefined;
}

function directDebitRoutes(kit: RouteKit, { mandates, clock }: RelationsRouteDeps): void {
  const render = async (
    ctx: { request: FastifyRequest; reply: FastifyReply; actor: UserActor; t: Translate },
    o: DirectDebitsForms = {},
  ) => {
    const { request, reply, actor, t } = ctx;
    const csrf = reply.generateCsrf();
    return renderPage(request, reply, {
      title: t('relations.dd.title'),
      status: o.status ?? 200,
      csrfToken: csrf,
      body: directDebitsPage({
        t,
        csrf,
        creditor: await mandates.getCreditor({ actor }),
        creditorValues: o.creditorValues ?? {},
        creditorErrors: o.creditorErrors,
        mandates: await mandates.listCollectable({ actor }),
        collectValues: o.collectValues ?? { requestedDate: earliestCollectionDate(clock.now()) },
        collectErrors: o.collectErrors,
        notice: o.notice,
      }),
    });
  };

  kit.route({
    method: 'GET',
    url: '/staff/direct-debits',
    access: managers,
    query: doneQuery,
    handler: ({ request, reply, actor, t, query }) =>
      render({ request, reply, actor, t }, { notice: noticeOf(t, query.done) }),
  });

  kit.route({
    method: 'POST',
    url: '/staff/direct-debits/creditor',
    access: managers,
    body: creditorSchema,
    form: true,
    handler: async ({ request, reply, actor, t, body }) => {
      const ctx = { request, reply, actor, t };
      const creditorValues = body.values;
      if (!body.ok) return render(ctx, { creditorValues, creditorErrors: body.errors, status: 400 });
      try {
        await mandates.setCreditor({ actor, values: creditorValues });
        return reply.redirect('/staff/direct-debits?done=creditor', 303);
      } catch (error) {
        const { errors, status } = fieldErrorsOf(error);
        return render(ctx, { creditorValues, creditorErrors: errors, status });
      }
    },
  });

  kit.route({
    method: 'POST',
    url: '/staff/direct-debits/export',
    access: managers,
    body: collectionFormSchema,
    form: true,
    handler: async ({ request, reply, actor, t, body }) => {
      const ctx = { request, reply, actor, t };
      const collectValues = body.values;
      if (!body.ok) return render(ctx, { collectValues, collectErrors: body.errors, status: 400 });
      try {
        const file = await mandates.exportCollection({ actor, ...body.data });
        const { fileName: filename, xml: content } = file;
        return sendDownload(reply, { contentType: 'application/xml; charset=utf-8', filename, content });
      } catch (error) {
        const { errors, status } = fieldErrorsOf(error);
        return render(ctx, { collectValues, collectErrors: errors, status });
      }
    },
  });
}

export function financeRoutes(kit: RouteKit, deps: RelationsRouteDeps): void {
  mandateRoutes(kit, deps);
  directDebitRoutes(kit, deps);
}
