/**
 * Processor agreements (Art. 28): the list (`register.read`; a tenant also sees the agreement the
 * operator keeps with it), the form with the signed document (`register.edit`, multipart), and
 * the document itself, served as an attachment (its reading is audited by the service).
 */
import * as form from '../../shared/http/form-submit.js';
import { renderPage } from '../../shared/http/render.js';
import { sendDownload } from '../../shared/http/responses.js';
import type { FormResult, RouteKit } from '../../shared/http/route-kit.js';
import { can } from '../../shared/permissions.js';
import { type AgreementFormValues, agreementFormPage, agreementsPage } from './register-agreement-views.js';
import { agreementInput, newAgreementInput } from './register-agreements.js';
import type { UploadedDocument } from './register-documents.js';
import { documentOf } from './register-multipart.js';
import { doneQuery, editAccess, idParams, readAccess } from './register-route-parts.js';
import type { RegisterService } from './register-service.js';

const formFields = ['counterparty', 'version', 'signedOn', 'parties'] as const;

export function registerAgreementRoutes(kit: RouteKit, deps: { readonly register: RegisterService }): void {
  const { register } = deps;

  kit.route({
    method: 'GET',
    url: '/staff/agreements',
    access: readAccess,
    query: doneQuery(['saved']),
    handler: async ({ request, reply, actor, query, t, locale }) => {
      const { held, withUs, operatorName } = await register.listAgreements({ actor });
      return renderPage(request, reply, {
        title: t('register.ag.title'),
        body: agreementsPage({
          t,
          locale,
          held,
          withUs,
          isTenant: actor.orgKind === 'tenant',
          operatorName,
          canEdit: can(actor, 'register.edit'),
          notice: query.done === 'saved' ? t('register.ag.saved') : undefined,
        }),
      });
    },
  });

  /** The form for a new agreement (`id` undefined: choose the counterparty) or an existing one. */
  const showForm = async (
    ctx: form.FormPageContext,
    id: string | undefined,
    shown?: form.RefusedForm<AgreementFormValues>,
  ) => {
    const { actor, t } = ctx;
    const existing = id === undefined ? undefined : await register.getAgreement({ actor, id });
    const title = existing === undefined ? t('register.ag.newTitle') : t('register.ag.editTitle');
    const options = existing === undefined ? await register.counterpartyOptions({ actor }) : undefined;
    return form.renderFormPage(ctx, {
      title,
      status: shown?.status,
      body: (csrf) =>
        agreementFormPage({
          t,
          csrf,
          title,
          action: existing === undefined ? '/staff/agreements' : `/staff/agreements/${existing.id}`,
          options,
          counterpartyName: existing?.counterpartyName,
          values: shown?.values ?? {
            counterparty: '',
            version: existing?.version ?? '',
            signedOn: existing?.signedOn ?? '',
            parties: existing?.parties ?? '',
          },
          errors: shown?.errors,
        }),
    });
  };

  /** Records a new agreement (`id` undefined) or changes one, with the signed document if sent. */
  const save = <T>(
    ctx: form.FormPageContext & { readonly body: FormResult<T> },
    id: string | undefined,
    record: (values: T, document: UploadedDocument | undefined) => Promise<unknown>,
  ) =>
    form.submitForm(
      ctx,
      async (values) => {
        await record(values, documentOf(ctx.request.body));
        return '/staff/agreements?done=saved';
      },
      (refusal) => showForm(ctx, id, { ...refusal, values: form.typedText(ctx.body.values, formFields) }),
    );

  kit.route({
    method: 'GET',
    url: '/staff/agreements/new',
    access: editAccess,
    handler: (ctx) => showForm(ctx, undefined),
  });

  kit.route({
    method: 'GET',
    url: '/staff/agreements/:id',
    access: editAccess,
    params: idParams,
    handler: (ctx) => showForm(ctx, ctx.params.id),
  });

  kit.route({
    method: 'POST',
    url: '/staff/agreements',
    access: editAccess,
    body: newAgreementInput,
    form: true,
    handler: (ctx) =>
      save(ctx, undefined, (values, document) =>
        register.createAgreement({ actor: ctx.actor, values, document }),
      ),
  });

  kit.route({
    method: 'POST',
    url: '/staff/agreements/:id',
    access: editAccess,
    params: idParams,
    body: agreementInput,
    form: true,
    handler: (ctx) =>
      save(ctx, ctx.params.id, (values, document) =>
        register.updateAgreement({ actor: ctx.actor, id: ctx.params.id, values, document }),
      ),
  });

  kit.route({
    method: 'GET',
    url: '/staff/agreements/:id/document',
    access: readAccess,
    params: idParams,
    handler: async ({ reply, actor, params }) => {
      const doc = await register.readAgreementDocument({ actor, id: params.id });
      // The name is the uploader's (letters of any script): sendDownload encodes it for the header.
      return sendDownload(reply, {
        contentType: 'application/pdf',
        filename: doc.filename,
        content: doc.data,
      });
    },
  });
}
