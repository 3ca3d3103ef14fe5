/**
 * `/staff/legal-orders`: the operator's caseworkers (`legal_orders.manage` in the operator org,
 * in person — not under a grant) list the cases, record one, approve it (the privacy officer and
 * the owner, two different people), make the sealed export of its scope and download it. A
 * tenant's owner also holds `legal_orders.manage`, in its own org: the service answers it with a
 * 404, like any foreign record.
 */
import { z } from 'zod';
import { hasRole } from '../../shared/actor.js';
import { AppError, isAppError } from '../../shared/errors.js';
import type { FieldErrors } from '../../shared/html/index.js';
import {
  type FormPageContext,
  type RefusedForm,
  renderFormPage,
  submitForm,
} from '../../shared/http/form-submit.js';
import { renderPage } from '../../shared/http/render.js';
import { type RouteKit, recordId } from '../../shared/http/route-kit.js';
import type { MessageKey } from '../../shared/i18n/messages.js';
import type { ModuleDeps } from '../module.js';
import { assertCaseworker } from './disclosure-cases.js';
import { legalOrderPage, legalOrdersListPage, newLegalOrderPage } from './disclosure-views.js';

const access = { kind: 'staff', permission: 'legal_orders.manage' } as const;
const idParams = z.object({ id: recordId });
const done = z.object({
  done: z.enum(['recorded', 'approved', 'disclosed']).optional().catch(undefined),
});

/** A textarea as its non-empty lines. */
const lines = z
  .string()
  .max(400_000)
  .default('')
  .transform((v) =>
    v
      .split(/\r?\n/)
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  );

const createForm = z.object({
  tenant: z.string().trim().max(36).default(''),
  authority: z.string().max(300, { message: 'field.tooLong' }).default(''),
  legalBasis: z.string().max(300, { message: 'field.tooLong' }).default(''),
  orderReference: z.string().max(200, { message: 'field.tooLong' }).default(''),
  subjects: lines,
  records: lines,
  deadline: z.string().trim().max(10).default(''),
  gagUntil: z.string().trim().max(10).default(''),
});
type CreateForm = z.output<typeof createForm>;

/** `subjects.3` → `subjects`: the form shows one message per field. */
function topLevel(fields: FieldErrors): Record<string, MessageKey> {
  const out: Record<string, MessageKey> = {};
  for (const [name, key] of Object.entries(fields)) {
    const top = name.split('.')[0] ?? name;
    out[top] ??= key;
  }
  return out;
}

type Deps = ModuleDeps<'disclosure' | 'orgs'>;

export function disclosureRoutes(kit: RouteKit, deps: Deps): void {
  const { disclosure, orgs } = deps;

  const tenantsOf = async () =>
    (await orgs.list())
      .filter((o) => o.kind === 'tenant')
      .map((o) => ({ id: o.id, name: o.name, slug: o.slug }));

  const showNew = async (ctx: FormPageContext, shown?: RefusedForm<Readonly<Record<string, string>>>) => {
    assertCaseworker(ctx.actor);
    const tenants = await tenantsOf();
    return renderFormPage(ctx, {
      title: ctx.t('disclosure.new'),
      status: shown?.status,
      body: (csrf) =>
        newLegalOrderPage({ t: ctx.t, csrf, tenants, values: shown?.values ?? {}, errors: shown?.errors }),
    });
  };

  kit.route({
    method: 'GET',
    url: '/staff/legal-orders',
    access,
    query: done,
    handler: async ({ request, reply, actor, t }) =>
      renderPage(request, reply, {
        title: t('disclosure.title'),
        body: legalOrdersListPage({ t, list: await disclosure.list(actor) }),
      }),
  });

  kit.route({
    method: 'GET',
    url: '/staff/legal-orders/new',
    access,
    handler: (ctx) => showNew(ctx),
  });

  kit.route({
    method: 'POST',
    url: '/staff/legal-orders',
    access,
    body: createForm,
    form: true,
    handler: async (ctx) => {
      assertCaseworker(ctx.actor);
      return submitForm(
        ctx,
        async (data: CreateForm) => {
          if (!(await tenantsOf()).some((x) => x.id === data.tenant)) {
            throw new AppError('ERR_VALIDATION', { fields: { tenant: 'disclosure.form.chooseTenant' } });
          }
          try {
            const { id } = await disclosure.record({
              actor: ctx.actor,
              tenantId: data.tenant,
              values: {
                authority: data.authority,
                legalBasis: data.legalBasis,
                orderReference: data.orderReference,
                subjects: data.subjects,
                records: data.records,
                deadline: data.deadline,
                ...(data.gagUntil === '' ? {} : { gagUntil: data.gagUntil }),
              },
            });
            return `/staff/legal-orders/${id}?done=recorded`;
          } catch (error) {
            if (!isAppError(error) || error.fields === undefined) throw error;
            throw new AppError(error.code, {
              message: error.message,
              fields: topLevel(error.fields),
              cause: error,
            });
          }
        },
        (refusal) => showNew(ctx, { ...refusal, values: ctx.body.values }),
      );
    },
  });

  kit.route({
    method: 'GET',
    url: '/staff/legal-orders/:id',
    access,
    params: idParams,
    query: done,
    handler: async (ctx) => {
      const order = await disclosure.get(ctx.actor, ctx.params.id);
      const notices = {
        recorded: 'disclosure.recorded',
        approved: 'disclosure.approvedNotice',
        disclosed: 'disclosure.disclosedNotice',
      } as const;
      return renderFormPage(ctx, {
        title: order.orderReference,
        body: (csrf) =>
          legalOrderPage({
            t: ctx.t,
            locale: ctx.locale,
            csrf,
            order,
            canApproveAs: (['privacy_officer', 'owner'] as const).filter((r) => hasRole(ctx.actor, r)),
            notice: ctx.query.done === undefined ? undefined : ctx.t(notices[ctx.query.done]),
          }),
      });
    },
  });

  kit.route({
    method: 'POST',
    url: '/staff/legal-orders/:id/approve',
    access,
    params: idParams,
    body: z.object({ as: z.enum(['privacy_officer', 'owner']) }),
    handler: async ({ reply, actor, params, body }) => {
      await disclosure.approve({ actor, id: params.id, as: body.as });
      return reply.redirect(`/staff/legal-orders/${params.id}?done=approved`, 303);
    },
  });

  kit.route({
    method: 'POST',
    url: '/staff/legal-orders/:id/disclose',
    access,
    params: idParams,
    handler: async ({ reply, actor, params }) => {
      await disclosure.disclose({ actor, id: params.id });
      return reply.redirect(`/staff/legal-orders/${params.id}?done=disclosed`, 303);
    },
  });

  kit.route({
    method: 'GET',
    url: '/staff/legal-orders/:id/export',
    access,
    params: idParams,
    handler: async ({ reply, actor, params }) => {
      const file = await disclosure.downloadExport(actor, params.id);
      return reply
        .type('application/zip')
        .header('cache-control', 'no-store')
        .header('content-disposition', `attachment; filename="${file.fileName}"`)
        .header('x-content-sha256', file.sha256)
        .send(file.zip);
    },
  });
}
