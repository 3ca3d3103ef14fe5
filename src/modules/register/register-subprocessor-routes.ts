/**
 * Sub-processors (P14): the staff list (`register.read`) and the form with the agreement document
 * (`register.edit`, multipart), and every organisation's public page `/subprocessors` (under `/en`
 * and `/o/<slug>` too).
 */
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Config } from '../../config/env.js';
import { AppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import { html } from '../../shared/html/html.js';
import { formListValues, withFormLists } from '../../shared/http/form-list.js';
import {
  type FormPageContext,
  type FormRefusal,
  type RefusedForm,
  renderFormPage,
  submitForm,
  typedText,
} from '../../shared/http/form-submit.js';
import { renderPage } from '../../shared/http/render.js';
import type { FormResult, RouteKit } from '../../shared/http/route-kit.js';
import { can } from '../../shared/permissions.js';
import { documentOf } from './register-multipart.js';
import { announceInput, objectionInput } from './register-notice.js';
import { doneQuery, editAccess, idParams, readAccess } from './register-route-parts.js';
import type { RegisterService } from './register-service.js';
import {
  announceForm,
  objectionList,
  objectionPage,
  publicSubprocessorsPage,
  type SubprocessorFormValues,
  subprocessorFormPage,
  subprocessorListPage,
} from './register-subprocessor-views.js';
import { type Subprocessor, subprocessorInput } from './register-subprocessors.js';

const subprocessorForm = withFormLists(['dataCategories'], subprocessorInput);
type SubprocessorForm = FormResult<z.output<typeof subprocessorForm>>;

const textFields = [
  'name',
  'service',
  'location',
  'country',
  'status',
  'agreementVersion',
  'agreementSignedOn',
  'transferMechanism',
  'sccDate',
  'transferAssessment',
  'egressHosts',
] as const;

function formValuesOf(sp: Subprocessor | undefined): SubprocessorFormValues {
  return {
    name: sp?.name ?? '',
    service: sp?.service ?? '',
    location: sp?.location ?? '',
    country: sp?.country ?? '',
    dataCategories: sp?.dataCategories ?? [],
    status: sp?.status ?? 'active',
    agreementVersion: sp?.agreement?.version ?? '',
    agreementSignedOn: sp?.agreement?.signedOn ?? '',
    transferMechanism: sp?.transferMechanism ?? '',
    sccDate: sp?.sccDate ?? '',
    transferAssessment: sp?.transferAssessment ?? '',
    egressHosts: sp?.egressHosts.join(' ') ?? '',
  };
}

/** The form as it was typed, to show it again. */
function typedValues(request: FastifyRequest, body: SubprocessorForm): SubprocessorFormValues {
  const typed = typedText(body.values, textFields);
  return {
    ...typed,
    status: typed.status || 'active',
    dataCategories: formListValues(request.body, 'dataCategories'),
  };
}

/** The confirmation after a redirect to the list. */
const doneNotices = {
  announced: 'register.sp.saved',
  saved: 'register.sp.savedNoNotice',
  noticed: 'register.sp.announced',
} as const;

export function registerSubprocessorRoutes(
  kit: RouteKit,
  deps: { readonly register: RegisterService; readonly config: Pick<Config, 'subprocessorNoticeDays'> },
): void {
  const { register } = deps;

  kit.route({
    method: 'GET',
    url: '/staff/subprocessors',
    access: readAccess,
    query: doneQuery(['announced', 'saved', 'noticed']),
    handler: async ({ request, reply, actor, query, t, locale }) =>
      renderPage(request, reply, {
        title: t('register.sp.title'),
        body: subprocessorListPage({
          t,
          locale,
          list: await register.listSubprocessors({ actor }),
          objections: await register.listObjections({ actor }),
          canEdit: can(actor, 'register.edit'),
          notice: query.done === undefined ? undefined : t(doneNotices[query.done]),
        }),
      }),
  });

  /** The form for a new sub-processor (`id` undefined) or an existing one. */
  const showForm = async (
    ctx: FormPageContext,
    id: string | undefined,
    shown?: RefusedForm<SubprocessorFormValues>,
    announceRefusal?: FormRefusal,
  ) => {
    const existing = id === undefined ? undefined : await register.getSubprocessor({ actor: ctx.actor, id });
    const objections =
      existing === undefined
        ? []
        : await register.listObjections({ actor: ctx.actor, subprocessorId: existing.id });
    const title =
      existing === undefined
        ? ctx.t('register.sp.newTitle')
        : ctx.t('register.sp.editTitle', { name: existing.name });
    return renderFormPage(ctx, {
      title,
      status: shown?.status ?? announceRefusal?.status,
      body: (csrf) =>
        html`${subprocessorFormPage({
          t: ctx.t,
          locale: ctx.locale,
          csrf,
          title,
          action: id === undefined ? '/staff/subprocessors' : `/staff/subprocessors/${id}`,
          values: shown?.values ?? formValuesOf(existing),
          errors: shown?.errors,
        })}
${
  existing?.status === 'proposed' && ctx.actor.orgKind === 'operator'
    ? announceForm({
        t: ctx.t,
        csrf,
        id: existing.id,
        noticeDays: deps.config.subprocessorNoticeDays,
        errors: announceRefusal?.errors,
      })
    : ''
}
${
  existing === undefined
    ? ''
    : objectionList(ctx.t, ctx.locale, objections, new Map([[existing.id, existing.name]]))
}`,
    });
  };

  /** Saves the form; the operator's tenants are told of a change they can see. */
  const save = (ctx: FormPageContext & { body: SubprocessorForm }, id: string | undefined) =>
    submitForm(
      ctx,
      async (values) => {
        const input = { actor: ctx.actor, values, document: documentOf(ctx.request.body) };
        const { announced } =
          id === undefined
            ? await register.createSubprocessor(input)
            : await register.updateSubprocessor({ ...input, id });
        return `/staff/subprocessors?done=${announced > 0 ? 'announced' : 'saved'}`;
      },
      (refusal) => showForm(ctx, id, { ...refusal, values: typedValues(ctx.request, ctx.body) }),
    );

  kit.route({
    method: 'GET',
    url: '/staff/subprocessors/new',
    access: editAccess,
    handler: (ctx) => showForm(ctx, undefined),
  });

  kit.route({
    method: 'GET',
    url: '/staff/subprocessors/:id',
    access: editAccess,
    params: idParams,
    handler: (ctx) => showForm(ctx, ctx.params.id),
  });

  kit.route({
    method: 'POST',
    url: '/staff/subprocessors',
    access: editAccess,
    body: subprocessorForm,
    form: true,
    handler: (ctx) => save(ctx, undefined),
  });

  kit.route({
    method: 'POST',
    url: '/staff/subprocessors/:id',
    access: editAccess,
    params: idParams,
    body: subprocessorForm,
    form: true,
    handler: (ctx) => save(ctx, ctx.params.id),
  });

  kit.route({
    method: 'POST',
    url: '/staff/subprocessors/:id/announce',
    access: editAccess,
    params: idParams,
    body: announceInput,
    form: true,
    handler: (ctx) =>
      submitForm(
        ctx,
        async (values) => {
          await register.announceSubprocessor({ actor: ctx.actor, id: ctx.params.id, values });
          return '/staff/subprocessors?done=noticed';
        },
        (refusal) => showForm(ctx, ctx.params.id, undefined, refusal),
      ),
  });

  registerObjectionRoutes(kit, register);

  registerPublicSubprocessorRoute(kit, register);
}

/** A client's page to object to a sub-processor its processor (the operator) announced. */
function registerObjectionRoutes(kit: RouteKit, register: RegisterService): void {
  const access = { kind: 'staff', permission: 'register.object' } as const;
  const show = async (
    ctx: FormPageContext,
    id: string,
    o: { reasons: string; errors?: FieldErrors; status?: number; done: boolean },
  ) => {
    const subprocessor = await register.getAnnouncedSubprocessor({ actor: ctx.actor, id });
    const operator = await register.findPublicOrg(undefined);
    return renderFormPage(ctx, {
      title: ctx.t('register.sp.objectTitle', { name: subprocessor.name }),
      status: o.status,
      body: (csrf) =>
        objectionPage({
          t: ctx.t,
          locale: ctx.locale,
          csrf,
          operatorName: operator?.name ?? '',
          subprocessor,
          reasons: o.reasons,
          errors: o.errors,
          done: o.done,
        }),
    });
  };

  kit.route({
    method: 'GET',
    url: '/staff/subprocessor-notices/:id',
    access,
    params: idParams,
    query: doneQuery(['objected']),
    handler: (ctx) => show(ctx, ctx.params.id, { reasons: '', done: ctx.query.done === 'objected' }),
  });

  kit.route({
    method: 'POST',
    url: '/staff/subprocessor-notices/:id',
    access,
    params: idParams,
    body: objectionInput,
    form: true,
    handler: (ctx) =>
      submitForm(
        ctx,
        async (values) => {
          await register.objectToSubprocessor({ actor: ctx.actor, id: ctx.params.id, values });
          return `/staff/subprocessor-notices/${ctx.params.id}?done=objected`;
        },
        (refusal) =>
          show(ctx, ctx.params.id, {
            reasons: ctx.body.values.reasons ?? '',
            errors: refusal.errors,
            status: refusal.status,
            done: false,
          }),
      ),
  });
}

/** Every organisation's public sub-processor page, with the announced (upcoming) changes. */
function registerPublicSubprocessorRoute(kit: RouteKit, register: RegisterService): void {
  kit.route({
    method: 'GET',
    url: '/subprocessors',
    site: true,
    access: { kind: 'public' },
    handler: async ({ request, reply, siteSlug, site, t, locale }) => {
      const found = await register.findPublicOrg(siteSlug);
      if (found === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'organisation not found' });
      return renderPage(request, reply, {
        title: t('register.sp.publicTitle', { org: found.name }),
        body: publicSubprocessorsPage({
          t,
          locale,
          orgName: found.name,
          list: await register.listPublicSubprocessors(found.org.id),
          upcoming: await register.listUpcomingSubprocessors(found.org.id),
          // The path's own site prefix: none on a tenant's host, `/o/<slug>` under the operator's.
          statementHref: `${locale === 'en' ? '/en' : ''}${site}/privacy`,
        }),
      });
    },
  });
}
