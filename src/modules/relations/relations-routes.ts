/**
 * Client relations pages (P4, P5). Thin handlers: parse, call the use case (which checks the
 * permission and the field catalogue, scopes to the actor's org and audits), render. Support and
 * finance use the relation pages; mandates, the full IBAN, signed documents and the pain.008
 * export are finance's (relations-finance-routes.ts); the API is in relations-api.ts. Another
 * org's relation is a 404. The agreement upload is the only multipart form: its parser lives in
 * this module's scope, with limits, and access is checked before the upload is read.
 */
import fastifyMultipart, { type MultipartFile } from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { FieldErrors } from '../../shared/html/forms.js';
import { renderFormPage } from '../../shared/http/form-submit.js';
import { renderPage } from '../../shared/http/render.js';
import { sendDownload } from '../../shared/http/responses.js';
import { type RouteKit, recordId } from '../../shared/http/route-kit.js';
import type { Translate } from '../../shared/i18n/messages.js';
import { can } from '../../shared/permissions.js';
import type { KluisCore, KluisServices } from '../module.js';
import { mayRead } from './relations-access.js';
import { MAX_AGREEMENT_PDF_BYTES, type UploadedFile } from './relations-agreements.js';
import { relationsApi } from './relations-api.js';
import { financeRoutes } from './relations-finance-routes.js';
import { agreementFormPage, agreementPage } from './relations-finance-views.js';
import {
  doneQuery,
  fieldErrorsOf,
  noticeOf,
  relationFormRoutes,
  relationListQuery,
  relationParams,
} from './relations-form-routes.js';
import { addressSchema, contactSchema, relationSchema } from './relations-forms.js';
import type { RelationDetail } from './relations-service.js';
import {
  addressFormPage,
  contactFormPage,
  type FormValues,
  relationDetailPage,
  relationFormPage,
  relationListPage,
  relationValues,
} from './relations-views.js';

export type RelationsRouteDeps = Pick<KluisCore, 'clock'> &
  Pick<KluisServices, 'relations' | 'relationAgreements' | 'mandates'>;

const readers = { kind: 'staff', permission: 'relations.read' } as const;
const editors = { kind: 'staff', permission: 'relations.edit' } as const;

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

/**
 * The multipart parser of this module's scope (the agreement upload). The access check (app.ts,
 * preValidation at the root) runs before it: nobody can make the server read an upload they may
 * not send.
 */
async function registerUploads(app: FastifyInstance): Promise<void> {
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
}

interface PageContext {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly t: Translate;
}

/** The list, one relation, and creating or changing a relation. */
function relationPages(kit: RouteKit, { relations }: RelationsRouteDeps): void {
  const renderRelationForm = (
    ctx: PageContext,
    o: { relation?: RelationDetail; values: FormValues; errors?: FieldErrors; status?: number },
  ) =>
    renderFormPage(ctx, {
      title: ctx.t(o.relation === undefined ? 'relations.form.newTitle' : 'relations.form.editTitle'),
      status: o.status,
      body: (csrf) =>
        relationFormPage({ t: ctx.t, csrf, relation: o.relation, values: o.values, errors: o.errors }),
    });

  kit.route({
    method: 'GET',
    url: '/staff/relations',
    access: readers,
    query: relationListQuery,
    handler: async ({ request, reply, actor, t, locale, query }) => {
      const params = { sort: query.sort, dir: query.dir, status: query.status };
      const result = await relations.listRelations({ actor, ...params, page: query.page });
      return renderPage(request, reply, {
        title: t('relations.list.title'),
        body: relationListPage({ t, locale, params, result, canEdit: can(actor, 'relations.edit') }),
      });
    },
  });

  kit.route({
    method: 'GET',
    url: '/staff/relations/new',
    access: editors,
    handler: ({ request, reply, t }) => renderRelationForm({ request, reply, t }, { values: {} }),
  });

  kit.route({
    method: 'POST',
    url: '/staff/relations',
    access: editors,
    body: relationSchema,
    form: true,
    handler: async ({ request, reply, actor, t, body }) => {
      const { values } = body;
      if (!body.ok)
        return renderRelationForm({ request, reply, t }, { values, errors: body.errors, status: 400 });
      try {
        const { id } = await relations.createRelation({ actor, values });
        return reply.redirect(`/staff/relations/${id}?done=created`, 303);
      } catch (error) {
        return renderRelationForm({ request, reply, t }, { values, ...fieldErrorsOf(error) });
      }
    },
  });

  kit.route({
    method: 'GET',
    url: '/staff/relations/:id',
    access: readers,
    params: relationParams,
    query: doneQuery,
    handler: async ({ request, reply, actor, t, locale, params, query }) => {
      const relation = await relations.getRelation({ actor, relationId: params.id });
      const csrf = reply.generateCsrf();
      return renderPage(request, reply, {
        title: relation.displayName ?? t('relations.erased'),
        csrfToken: csrf,
        body: relationDetailPage({
          t,
          locale,
          csrf,
          relation,
          canEdit: can(actor, 'relations.edit'),
          isFinance: can(actor, 'relations.manage_mandates'),
          notice: noticeOf(t, query.done),
        }),
      });
    },
  });

  kit.route({
    method: 'GET',
    url: '/staff/relations/:id/edit',
    access: editors,
    params: relationParams,
    handler: async ({ request, reply, actor, t, params }) => {
      const relation = await relations.getRelation({ actor, relationId: params.id });
      return renderRelationForm({ request, reply, t }, { relation, values: relationValues(relation) });
    },
  });

  kit.route({
    method: 'POST',
    url: '/staff/relations/:id',
    access: editors,
    params: relationParams,
    body: relationSchema,
    form: true,
    handler: async ({ request, reply, actor, t, params, body }) => {
      const relationId = params.id;
      const { values } = body;
      const show = async (errors: FieldErrors, status: number) => {
        const relation = await relations.getRelation({ actor, relationId });
        return renderRelationForm({ request, reply, t }, { relation, values, errors, status });
      };
      if (!body.ok) return show(body.errors, 400);
      try {
        // The kind comes from the stored relation, never from the form.
        await relations.updateRelation({ actor, relationId, values });
        return reply.redirect(`/staff/relations/${relationId}?done=updated`, 303);
      } catch (error) {
        const { errors, status } = fieldErrorsOf(error);
        return show(errors, status);
      }
    },
  });
}

/** Contact persons, the billing address and agreements of one relation. */
function relationPartRoutes(kit: RouteKit, { relations, relationAgreements }: RelationsRouteDeps): void {
  relationFormRoutes(kit, relations, {
    form: '/staff/relations/:id/contacts/new',
    action: '/staff/relations/:id/contacts',
    access: editors,
    title: 'relations.contact.newTitle',
    page: contactFormPage,
    body: contactSchema,
    save: (actor, relationId, values) => relations.addContact({ actor, relationId, values }),
    done: 'contact',
  });

  kit.route({
    method: 'POST',
    url: '/staff/relations/:id/contacts/:contactId/delete',
    access: editors,
    params: z.object({ id: recordId, contactId: recordId }),
    form: true,
    handler: async ({ reply, actor, params }) => {
      await relations.removeContact({ actor, relationId: params.id, contactId: params.contactId });
      return reply.redirect(`/staff/relations/${params.id}?done=contactRemoved`, 303);
    },
  });

  relationFormRoutes(kit, relations, {
    form: '/staff/relations/:id/address',
    action: '/staff/relations/:id/address',
    access: editors,
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
    body: addressSchema,
    save: (actor, relationId, values) => relations.setAddress({ actor, relationId, values }),
    done: 'address',
  });

  // No schema on the route: the use case checks the fields and the file together (every problem at once).
  relationFormRoutes(kit, relations, {
    form: '/staff/relations/:id/agreements/new',
    action: '/staff/relations/:id/agreements',
    access: editors,
    title: 'relations.agreement.newTitle',
    page: agreementFormPage,
    save: (actor, relationId, values, request) =>
      relationAgreements.addAgreement({ actor, relationId, values, document: uploadOf(request.body) }),
    done: 'agreement',
  });

  const agreementParams = z.object({ id: recordId, agreementId: recordId });

  kit.route({
    method: 'GET',
    url: '/staff/relations/:id/agreements/:agreementId',
    access: readers,
    params: agreementParams,
    handler: async ({ request, reply, actor, t, locale, params }) => {
      const agreement = await relationAgreements.getAgreement({
        actor,
        relationId: params.id,
        agreementId: params.agreementId,
      });
      return renderPage(request, reply, {
        title: agreement.title,
        body: agreementPage({
          t,
          locale,
          agreement,
          mayDownload: mayRead(actor, 'relation_agreement_documents.content'),
        }),
      });
    },
  });

  // The signed PDF is finance's (the field catalogue); the use case refuses anyone else.
  kit.route({
    method: 'GET',
    url: '/staff/relations/:id/agreements/:agreementId/document',
    access: readers,
    params: agreementParams,
    handler: async ({ reply, actor, params }) => {
      const doc = await relationAgreements.getAgreementDocument({
        actor,
        relationId: params.id,
        agreementId: params.agreementId,
      });
      return sendDownload(reply, {
        contentType: 'application/pdf',
        filename: doc.fileName,
        content: doc.content,
      });
    },
  });
}

/** The relations pages, the direct-debit run and `/api/v1/relations`. */
export async function relationsRoutes(kit: RouteKit, deps: RelationsRouteDeps): Promise<void> {
  await registerUploads(kit.app);
  relationPages(kit, deps);
  relationPartRoutes(kit, deps);
  financeRoutes(kit, deps);
  relationsApi(kit, deps);
}
