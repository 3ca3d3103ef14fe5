/**
 * Client relations pages and API (P4, P5). Thin handlers: parse, call the use case (which checks
 * roles against the field catalogue, scopes to the actor's org and audits), render. Support and
 * finance use the relation pages; mandates, the full IBAN, signed documents and the pain.008
 * export are finance's. Another org's relation is a 404. The agreement upload is the only
 * multipart form: its parser lives in this module's scope, with limits, and access is checked
 * before the upload is read.
 */
import fastifyMultipart, { type MultipartFile } from '@fastify/multipart';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type Actor, hasRole } from '../../shared/actor.js';
import { AppError, isAppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import type { SafeHtml } from '../../shared/html/html.js';
import type { RouteAccess } from '../../shared/http/access.js';
import { renderPage } from '../../shared/http/render.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import { type Locale, type MessageKey, type Translate, translator } from '../../shared/i18n/messages.js';
import type { KluisCore } from '../module.js';
import { mandateEditors, mayRead, relationEditors } from './relations-access.js';
import {
  createAgreementsService,
  MAX_AGREEMENT_PDF_BYTES,
  type UploadedFile,
} from './relations-agreements.js';
import {
  agreementFormPage,
  agreementPage,
  directDebitsPage,
  mandateFormPage,
  mandatePage,
} from './relations-finance-views.js';
import { createMandatesService, earliestCollectionDate } from './relations-mandates.js';
import { relationStatuses } from './relations-schema.js';
import { createRelationsService, type RelationDetail } from './relations-service.js';
import {
  addressFormPage,
  contactFormPage,
  type FormValues,
  type RelationListParams,
  relationDetailPage,
  relationFormPage,
  relationListPage,
  relationValues,
} from './relations-views.js';

const relationsAccess = { kind: 'staff', permission: 'relations.read' } as const;

/** What every relation sub-form page is given (each page takes the part it needs). */
interface RelationFormArgs {
  t: Translate;
  locale: Locale;
  csrf: string;
  relation: RelationDetail;
  values: FormValues;
  errors: FieldErrors | undefined;
}
const financeAccess = { kind: 'staff', permission: 'relations.manage_mandates' } as const;
const apiAccess = { kind: 'api', permission: 'relations.read' } as const;
const apiFinanceAccess = { kind: 'api', permission: 'relations.read_payment' } as const;

const listQuery = z.object({
  sort: z.enum(['name', 'status', 'started', 'created']).catch('name'),
  dir: z.enum(['asc', 'desc']).catch('asc'),
  status: z.enum(relationStatuses).optional().catch(undefined),
  page: z.coerce.number().int().min(1).max(100_000).catch(1),
});

const notices: Record<string, MessageKey> = {
  created: 'relations.done.created',
  updated: 'relations.done.updated',
  contact: 'relations.done.contact',
  contactRemoved: 'relations.done.contactRemoved',
  address: 'relations.done.address',
  agreement: 'relations.done.agreement',
  mandate: 'relations.done.mandate',
  revoked: 'relations.done.revoked',
  creditor: 'relations.dd.creditorSaved',
};

function actorOf(request: FastifyRequest): Actor {
  const actor = request.actor;
  if (actor === undefined) throw new AppError('ERR_UNAUTHENTICATED');
  return actor;
}

/** A uuid route parameter, or a 404 (never a validation error that tells ids apart). */
function idParam(request: FastifyRequest, name: string): string {
  const value = (request.params as Record<string, unknown> | undefined)?.[name];
  const parsed = z.uuid().safeParse(value);
  if (!parsed.success) throw new AppError('ERR_NOT_FOUND', { message: `not a ${name}` });
  return parsed.data;
}

function queryOf(request: FastifyRequest): Record<string, unknown> {
  return (request.query ?? {}) as Record<string, unknown>;
}

/** Text fields of a posted form as strings (files and the CSRF token left out). */
function formValues(body: unknown): FormValues {
  const out: Record<string, string> = {};
  if (body === null || typeof body !== 'object') return out;
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    if (k === '_csrf') continue;
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}

function noticeOf(request: FastifyRequest, t: (k: MessageKey) => string): string | undefined {
  const done = queryOf(request).done;
  const key = typeof done === 'string' ? notices[done] : undefined;
  return key === undefined ? undefined : t(key);
}

/** Field errors of a refused use case, or rethrows anything else. */
function fieldErrorsOf(error: unknown): { errors: FieldErrors; status: number } {
  if (isAppError(error) && error.fields !== undefined) return { errors: error.fields, status: error.status };
  throw error;
}

/** The uploaded file of the agreement form, as the multipart parser left it. */
interface ParsedUpload {
  filename: string;
  content: Buffer;
  truncated: boolean;
}

function uploadOf(body: unknown): UploadedFile | undefined {
  const value = (body as Record<string, unknown> | undefined)?.document;
  if (value === null || typeof value !== 'object' || !('content' in value)) return undefined;
  const upload = value as ParsedUpload;
  // An empty file input still sends a part: no name and no bytes means no document.
  if (upload.filename === '' && upload.content.length === 0) return undefined;
  return { fileName: upload.filename, content: upload.content, truncated: upload.truncated };
}

function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^A-Za-z0-9._ -]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}

/** The relations pages, the direct-debit run and `/api/v1/relations`. */
export async function relationsRoutes(kit: RouteKit, kluis: KluisCore): Promise<void> {
  const app = kit.app;
  const relations = createRelationsService(kluis);
  const agreements = createAgreementsService(kluis);
  const mandates = createMandatesService(kluis);

  // The access check (app.ts, preValidation at the root) runs before this scope's multipart
  // parser: nobody can make the server read an upload they may not send.
  await app.register(fastifyMultipart, {
    attachFieldsToBody: 'keyValues',
    throwFileSizeLimit: false,
    limits: { fileSize: MAX_AGREEMENT_PDF_BYTES, files: 1, fields: 20, parts: 22, fieldSize: 10_000 },
    async onFile(part: MultipartFile) {
      const content = await part.toBuffer();
      const parsed: ParsedUpload = { filename: part.filename, content, truncated: part.file.truncated };
      (part as unknown as { value: ParsedUpload }).value = parsed;
    },
  });

  const loadDetail = (request: FastifyRequest): Promise<RelationDetail> =>
    relations.getRelation({ actor: actorOf(request), relationId: idParam(request, 'id') });

  // --- list and create ------------------------------------------------------------------------

  app.get('/staff/relations', { config: { access: relationsAccess } }, async (request, reply) => {
    const actor = actorOf(request);
    const q = listQuery.parse(queryOf(request));
    const params: RelationListParams = { sort: q.sort, dir: q.dir, status: q.status };
    const result = await relations.listRelations({ actor, ...params, page: q.page });
    const t = translator(request.locale);
    return renderPage(request, reply, {
      title: t('relations.list.title'),
      body: relationListPage({
        t,
        locale: request.locale,
        params,
        result,
        canEdit: hasRole(actor, ...relationEditors),
      }),
    });
  });

  const renderRelationForm = (
    request: FastifyRequest,
    reply: FastifyReply,
    o: { relation?: RelationDetail; values: FormValues; errors?: FieldErrors; status?: number },
  ) => {
    const t = translator(request.locale);
    const csrf = reply.generateCsrf();
    return renderPage(request, reply, {
      title: o.relation === undefined ? t('relations.form.newTitle') : t('relations.form.editTitle'),
      status: o.status ?? 200,
      csrfToken: csrf,
      body: relationFormPage({ t, csrf, relation: o.relation, values: o.values, errors: o.errors }),
    });
  };

  app.get('/staff/relations/new', { config: { access: relationsAccess } }, async (request, reply) =>
    renderRelationForm(request, reply, { values: {} }),
  );

  app.post('/staff/relations', { config: { access: relationsAccess } }, async (request, reply) => {
    const values = formValues(request.body);
    try {
      const { id } = await relations.createRelation({ actor: actorOf(request), values });
      return reply.redirect(`/staff/relations/${id}?done=created`, 303);
    } catch (error) {
      const { errors, status } = fieldErrorsOf(error);
      return renderRelationForm(request, reply, { values, errors, status });
    }
  });

  // --- one relation -----------------------------------------------------------------------------

  app.get('/staff/relations/:id', { config: { access: relationsAccess } }, async (request, reply) => {
    const actor = actorOf(request);
    const relation = await loadDetail(request);
    const t = translator(request.locale);
    const csrf = reply.generateCsrf();
    return renderPage(request, reply, {
      title: relation.displayName ?? t('relations.erased'),
      csrfToken: csrf,
      body: relationDetailPage({
        t,
        locale: request.locale,
        csrf,
        relation,
        canEdit: hasRole(actor, ...relationEditors),
        isFinance: hasRole(actor, ...mandateEditors),
        notice: noticeOf(request, t),
      }),
    });
  });

  app.get('/staff/relations/:id/edit', { config: { access: relationsAccess } }, async (request, reply) => {
    const relation = await loadDetail(request);
    return renderRelationForm(request, reply, { relation, values: relationValues(relation) });
  });

  app.post('/staff/relations/:id', { config: { access: relationsAccess } }, async (request, reply) => {
    const actor = actorOf(request);
    const relationId = idParam(request, 'id');
    const values = formValues(request.body);
    try {
      await relations.updateRelation({ actor, relationId, values });
      return reply.redirect(`/staff/relations/${relationId}?done=updated`, 303);
    } catch (error) {
      const { errors, status } = fieldErrorsOf(error);
      const relation = await loadDetail(request);
      return renderRelationForm(request, reply, { relation, values, errors, status });
    }
  });

  /**
   * A form about one relation: GET `form` shows it (empty, or `initial`), POST `action` saves it
   * and returns to the relation with `?done=`, or shows it again with the field errors.
   */
  const relationForm = (spec: {
    form: string;
    action: string;
    access: RouteAccess;
    title: MessageKey;
    page: (o: RelationFormArgs) => SafeHtml;
    initial?: (relation: RelationDetail) => FormValues;
    save: (actor: Actor, relationId: string, values: FormValues, request: FastifyRequest) => Promise<unknown>;
    done: string;
  }) => {
    const render = async (
      request: FastifyRequest,
      reply: FastifyReply,
      o: { values?: FormValues; errors?: FieldErrors; status?: number },
    ) => {
      const relation = await loadDetail(request);
      const t = translator(request.locale);
      const csrf = reply.generateCsrf();
      const values = o.values ?? spec.initial?.(relation) ?? {};
      return renderPage(request, reply, {
        title: t(spec.title),
        status: o.status ?? 200,
        csrfToken: csrf,
        body: spec.page({ t, locale: request.locale, csrf, relation, values, errors: o.errors }),
      });
    };
    app.get(spec.form, { config: { access: spec.access } }, async (request, reply) =>
      render(request, reply, {}),
    );
    app.post(spec.action, { config: { access: spec.access } }, async (request, reply) => {
      const relationId = idParam(request, 'id');
      const values = formValues(request.body);
      try {
        await spec.save(actorOf(request), relationId, values, request);
        return reply.redirect(`/staff/relations/${relationId}?done=${spec.done}`, 303);
      } catch (error) {
        const { errors, status } = fieldErrorsOf(error);
        return render(request, reply, { values, errors, status });
      }
    });
  };

  // --- contacts ---------------------------------------------------------------------------------

  relationForm({
    form: '/staff/relations/:id/contacts/new',
    action: '/staff/relations/:id/contacts',
    access: relationsAccess,
    title: 'relations.contact.newTitle',
    page: contactFormPage,
    save: (actor, relationId, values) => relations.addContact({ actor, relationId, values }),
    done: 'contact',
  });

  app.post(
    '/staff/relations/:id/contacts/:contactId/delete',
    { config: { access: relationsAccess } },
    async (request, reply) => {
      const relationId = idParam(request, 'id');
      await relations.removeContact({
        actor: actorOf(request),
        relationId,
        contactId: idParam(request, 'contactId'),
      });
      return reply.redirect(`/staff/relations/${relationId}?done=contactRemoved`, 303);
    },
  );

  // --- billing address --------------------------------------------------------------------------

  relationForm({
    form: '/staff/relations/:id/address',
    action: '/staff/relations/:id/address',
    access: relationsAccess,
    title: 'relations.address.title',
    page: addressFormPage,
    initial: ({ address: a }) => ({
      country: a?.country,
      city: a?.city,
      postcode: a?.postcode,
      street: a?.street,
      houseNumber: a?.houseNumber,
      houseNumberAddition: a?.houseNumberAddition ?? undefined,
    }),
    save: (actor, relationId, values) => relations.setAddress({ actor, relationId, values }),
    done: 'address',
  });

  // --- agreements -------------------------------------------------------------------------------

  relationForm({
    form: '/staff/relations/:id/agreements/new',
    action: '/staff/relations/:id/agreements',
    access: relationsAccess,
    title: 'relations.agreement.newTitle',
    page: agreementFormPage,
    save: (actor, relationId, values, request) =>
      agreements.addAgreement({ actor, relationId, values, document: uploadOf(request.body) }),
    done: 'agreement',
  });

  app.get(
    '/staff/relations/:id/agreements/:agreementId',
    { config: { access: relationsAccess } },
    async (request, reply) => {
      const actor = actorOf(request);
      const agreement = await agreements.getAgreement({
        actor,
        relationId: idParam(request, 'id'),
        agreementId: idParam(request, 'agreementId'),
      });
      const t = translator(request.locale);
      return renderPage(request, reply, {
        title: agreement.title,
        body: agreementPage({
          t,
          locale: request.locale,
          agreement,
          mayDownload: mayRead(actor, 'relation_agreement_documents.content'),
        }),
      });
    },
  );

  app.get(
    '/staff/relations/:id/agreements/:agreementId/document',
    { config: { access: financeAccess } },
    async (request, reply) => {
      const doc = await agreements.getAgreementDocument({
        actor: actorOf(request),
        relationId: idParam(request, 'id'),
        agreementId: idParam(request, 'agreementId'),
      });
      return reply
        .type('application/pdf')
        .header('content-disposition', contentDisposition(doc.fileName))
        .send(doc.content);
    },
  );

  // --- mandates (finance) -----------------------------------------------------------------------

  relationForm({
    form: '/staff/relations/:id/mandates/new',
    action: '/staff/relations/:id/mandates',
    access: financeAccess,
    title: 'relations.mandate.newTitle',
    page: mandateFormPage,
    save: (actor, relationId, values) => mandates.createMandate({ actor, relationId, values }),
    done: 'mandate',
  });

  app.get(
    '/staff/relations/:id/mandates/:mandateId',
    { config: { access: financeAccess } },
    async (request, reply) => {
      const mandate = await mandates.getMandate({
        actor: actorOf(request),
        relationId: idParam(request, 'id'),
        mandateId: idParam(request, 'mandateId'),
      });
      const t = translator(request.locale);
      const csrf = reply.generateCsrf();
      return renderPage(request, reply, {
        title: t('relations.mandate.title', { reference: mandate.reference }),
        csrfToken: csrf,
        body: mandatePage({ t, locale: request.locale, csrf, mandate, notice: noticeOf(request, t) }),
      });
    },
  );

  app.post(
    '/staff/relations/:id/mandates/:mandateId/revoke',
    { config: { access: financeAccess } },
    async (request, reply) => {
      const relationId = idParam(request, 'id');
      const mandateId = idParam(request, 'mandateId');
      await mandates.revokeMandate({ actor: actorOf(request), relationId, mandateId });
      return reply.redirect(`/staff/relations/${relationId}/mandates/${mandateId}?done=revoked`, 303);
    },
  );

  // --- direct-debit collections (finance) -------------------------------------------------------

  const renderDirectDebits = async (
    request: FastifyRequest,
    reply: FastifyReply,
    o: {
      creditorValues?: FormValues;
      creditorErrors?: FieldErrors;
      collectValues?: FormValues;
      collectErrors?: FieldErrors;
      status?: number;
    } = {},
  ) => {
    const actor = actorOf(request);
    const t = translator(request.locale);
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
        collectValues: o.collectValues ?? { requestedDate: earliestCollectionDate(kluis.clock.now()) },
        collectErrors: o.collectErrors,
        notice: noticeOf(request, t),
      }),
    });
  };

  app.get('/staff/direct-debits', { config: { access: financeAccess } }, async (request, reply) =>
    renderDirectDebits(request, reply),
  );

  app.post('/staff/direct-debits/creditor', { config: { access: financeAccess } }, async (request, reply) => {
    const values = formValues(request.body);
    try {
      await mandates.setCreditor({ actor: actorOf(request), values });
      return reply.redirect('/staff/direct-debits?done=creditor', 303);
    } catch (error) {
      const { errors, status } = fieldErrorsOf(error);
      return renderDirectDebits(request, reply, { creditorValues: values, creditorErrors: errors, status });
    }
  });

  app.post('/staff/direct-debits/export', { config: { access: financeAccess } }, async (request, reply) => {
    const values = formValues(request.body);
    const lines = Object.keys(values)
      .filter((k) => k.startsWith('amount.'))
      .map((k) => {
        const mandateId = k.slice('amount.'.length);
        return { mandateId, amount: values[k] ?? '', remittance: values[`remittance.${mandateId}`] ?? '' };
      })
      .filter((l) => z.uuid().safeParse(l.mandateId).success);
    try {
      const file = await mandates.exportCollection({
        actor: actorOf(request),
        requestedDate: (values.requestedDate ?? '').trim(),
        lines,
      });
      return reply
        .type('application/xml; charset=utf-8')
        .header('content-disposition', contentDisposition(file.fileName))
        .send(file.xml);
    } catch (error) {
      const { errors, status } = fieldErrorsOf(error);
      return renderDirectDebits(request, reply, { collectValues: values, collectErrors: errors, status });
    }
  });

  // --- API ----------------------------------------------------------------------------------------

  app.get('/api/v1/relations', { config: { access: apiAccess } }, async (request, reply) => {
    const q = listQuery.parse(queryOf(request));
    const result = await relations.listRelations({
      actor: actorOf(request),
      sort: q.sort,
      dir: q.dir,
      status: q.status,
      page: q.page,
    });
    return reply.send(result);
  });

  /** A relation as JSON: mandates carry only the masked IBAN, for every role. */
  app.get('/api/v1/relations/:id', { config: { access: apiAccess } }, async (request, reply) =>
    reply.send(await loadDetail(request)),
  );

  /** A mandate in full (finance); an audited read. */
  app.get(
    '/api/v1/relations/:id/mandates/:mandateId',
    { config: { access: apiFinanceAccess } },
    async (request, reply) =>
      reply.send(
        await mandates.getMandate({
          actor: actorOf(request),
          relationId: idParam(request, 'id'),
          mandateId: idParam(request, 'mandateId'),
        }),
      ),
  );
}
