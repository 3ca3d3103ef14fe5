/**
 * `/staff/incidents`: the organisation's breach register (security staff manage it, privacy
 * officers read it). Another register's incident is a 404. Forms post with a CSRF token; a
 * refused step (a late filing without reasons) shows the page again with the message in place.
 */
import { z } from 'zod';
import type { Clock } from '../../shared/clock.js';
import type { FieldErrors } from '../../shared/html/forms.js';
import { renderFormPage, submitForm } from '../../shared/http/form-submit.js';
import { renderPage } from '../../shared/http/render.js';
import { sendDownload } from '../../shared/http/responses.js';
import { type RouteKit, recordId, type StaffPageContext } from '../../shared/http/route-kit.js';
import { can } from '../../shared/permissions.js';
import type { OrgsService } from '../orgs/index.js';
import { notifyDecisions, riskLevels } from './incidents-schema.js';
import type { IncidentsService } from './incidents-service.js';
import { authorityPage, incidentPage, registerPage, titleOf, type Values } from './incidents-views.js';

type Deps = { readonly incidents: IncidentsService; readonly orgs: OrgsService; readonly clock: Clock };

const text = (max: number) => z.string().trim().max(max);
const required = (max: number) => z.string().trim().min(1, { message: 'field.required' }).max(max);
const moment = z
  .string()
  .trim()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z?$/, { message: 'field.invalid' })
  .transform((v) => new Date(v.endsWith('Z') ? v : `${v}Z`).toISOString());

const recordForm = z.object({
  title: required(200),
  nature: required(4000),
  awareAt: z.union([z.literal(''), moment]).optional(),
  windowFrom: moment,
  windowTo: moment,
  affected: z.union([z.string(), z.array(z.string())]).optional(),
  consequences: text(4000).optional(),
  measuresTaken: text(4000).optional(),
});

const doneQuery = z.object({ done: z.enum(['saved', 'tenants', 'subjects']).optional() });

/** The register page and the incident page, shown fresh or again with a refused form's messages. */
function pagesOf(deps: Deps) {
  async function showRegister(
    ctx: StaffPageContext,
    values: Values = {},
    errors?: FieldErrors,
    status = 200,
  ) {
    const rows = await deps.incidents.list(ctx.actor);
    const orgs =
      ctx.actor.orgKind === 'operator'
        ? (await deps.orgs.list()).map((o) => ({ id: o.id, name: o.name }))
        : undefined;
    return renderFormPage(ctx, {
      title: ctx.t('incidents.title'),
      status,
      body: (csrf) =>
        registerPage(ctx.t, ctx.locale, {
          rows,
          now: deps.clock.now(),
          csrf,
          canManage: can(ctx.actor, 'incidents.manage'),
          orgs,
          values,
          errors,
        }),
    });
  }

  async function showIncident(
    ctx: StaffPageContext,
    id: string,
    o: { values?: Values; errors?: FieldErrors; status?: number; done?: string | undefined } = {},
  ) {
    const detail = await deps.incidents.get(ctx.actor, id);
    return renderFormPage(ctx, {
      title: titleOf(ctx.t, detail.incident),
      status: o.status,
      body: (csrf) =>
        incidentPage(ctx.t, ctx.locale, {
          detail,
          now: deps.clock.now(),
          csrf,
          canManage: can(ctx.actor, 'incidents.manage'),
          values: o.values ?? {},
          errors: o.errors,
          done: o.done,
        }),
    });
  }
  return { showRegister, showIncident };
}

export function incidentsRoutes(kit: RouteKit, deps: Deps): void {
  const read = { kind: 'staff', permission: 'incidents.read' } as const;
  const manage = { kind: 'staff', permission: 'incidents.manage' } as const;

  const { showRegister, showIncident } = pagesOf(deps);

  kit.route({ method: 'GET', url: '/staff/incidents', access: read, handler: (ctx) => showRegister(ctx) });

  kit.route({
    method: 'POST',
    url: '/staff/incidents',
    access: manage,
    body: recordForm,
    form: true,
    handler: (ctx) =>
      submitForm(
        ctx,
        async (data) => {
          const row = await deps.incidents.record(ctx.actor, {
            title: data.title,
            nature: data.nature,
            awareAt: data.awareAt === '' ? undefined : data.awareAt,
            windowFrom: data.windowFrom,
            windowTo: data.windowTo,
            affectedOrgIds: data.affected === undefined ? [] : [data.affected].flat(),
            consequences: data.consequences,
            measuresTaken: data.measuresTaken,
          });
          return `/staff/incidents/${row.id}`;
        },
        (refusal) => showRegister(ctx, ctx.body.values, refusal.errors, refusal.status),
      ),
  });

  kit.route({
    method: 'POST',
    url: '/staff/incidents/key-lost',
    access: manage,
    body: z.object({ what: z.enum(['totp_device', 'api_key', 'backup_key', 'other']) }),
    handler: async ({ actor, body, reply }) => {
      await deps.incidents.reportKeyLost(actor, body.what);
      return reply.redirect('/staff/incidents', 303);
    },
  });

  kit.route({
    method: 'GET',
    url: '/staff/incidents/export.csv',
    access: read,
    handler: async ({ actor, locale, reply }) => {
      const { csv } = await deps.incidents.exportRegister(actor, locale);
      return sendDownload(reply, {
        contentType: 'text/csv; charset=utf-8',
        filename: 'incidents.csv',
        content: csv,
      });
    },
  });

  kit.route({
    method: 'GET',
    url: '/staff/incidents/export.json',
    access: read,
    handler: async ({ actor, locale, reply }) => {
      const { items } = await deps.incidents.exportRegister(actor, locale);
      return reply
        .type('application/json; charset=utf-8')
        .send(JSON.stringify({ incidents: items }, null, 2));
    },
  });

  const params = z.object({ id: recordId });

  kit.route({
    method: 'GET',
    url: '/staff/incidents/:id',
    access: read,
    params,
    query: doneQuery,
    handler: (ctx) =>
      showIncident(ctx, ctx.params.id, {
        done: ctx.query.done === undefined ? undefined : ctx.t(`incidents.done.${ctx.query.done}`),
      }),
  });

  kit.route({
    method: 'GET',
    url: '/staff/incidents/:id/authority',
    access: read,
    params,
    handler: async ({ request, reply, actor, params: p }) => {
      const n = await deps.incidents.authorityNotice(actor, p.id);
      return renderPage(request, reply, { title: 'Melding datalek', body: authorityPage(n), bare: true });
    },
  });

  kit.route({
    method: 'GET',
    url: '/staff/incidents/:id/authority.json',
    access: read,
    params,
    handler: async ({ actor, params: p, reply }) => {
      const n = await deps.incidents.authorityNotice(actor, p.id);
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(n, null, 2));
    },
  });
  incidentStepRoutes(kit, deps);
}

/** The steps on the incident page, each a form posted to `/staff/incidents/:id/<step>`. */
function incidentStepRoutes(kit: RouteKit, deps: Deps): void {
  const manage = { kind: 'staff', permission: 'incidents.manage' } as const;
  const params = z.object({ id: recordId });
  const { showIncident } = pagesOf(deps);

  /** A step on the incident page: saved → back to the page; refused → the page with the message. */
  function step<S extends z.ZodType>(
    path: string,
    schema: S,
    run: (ctx: StaffPageContext, id: string, data: z.output<S>) => Promise<string | undefined>,
  ) {
    kit.route({
      method: 'POST',
      url: `/staff/incidents/:id/${path}`,
      access: manage,
      params,
      body: schema,
      form: true,
      handler: (ctx) =>
        submitForm(
          ctx,
          async (data) => {
            const done = await run(ctx, ctx.params.id, data as z.output<S>);
            return `/staff/incidents/${ctx.params.id}?done=${done ?? 'saved'}`;
          },
          (refusal) =>
            showIncident(ctx, ctx.params.id, {
              values: ctx.body.values,
              errors: refusal.errors,
              status: refusal.status,
            }),
        ),
    });
  }

  const empty = z.object({});
  step('assess', z.object({ risk: z.enum(riskLevels), reasons: required(4000) }), async (ctx, id, d) => {
    await deps.incidents.assess(ctx.actor, id, { risk: d.risk, reasons: d.reasons });
    return undefined;
  });
  step(
    'decide',
    z.object({ decision: z.enum(notifyDecisions), decisionReasons: required(4000) }),
    async (ctx, id, d) => {
      await deps.incidents.decide(ctx.actor, id, { decision: d.decision, reasons: d.decisionReasons });
      return undefined;
    },
  );
  step(
    'details',
    z.object({
      nature: required(4000),
      consequences: text(4000),
      measuresTaken: text(4000),
      measuresProposed: text(4000),
    }),
    async (ctx, id, d) => {
      await deps.incidents.updateDetails(ctx.actor, id, d);
      return undefined;
    },
  );
  step('notify-tenants', empty, async (ctx, id) => {
    await deps.incidents.notifyTenants(ctx.actor, id);
    return 'tenants';
  });
  step(
    'file',
    z.object({ channel: required(200), reference: required(200), delayReasons: text(4000).optional() }),
    async (ctx, id, d) => {
      await deps.incidents.fileWithAuthority(ctx.actor, id, d);
      return undefined;
    },
  );
  step('follow-up', z.object({ followUp: required(20_000) }), async (ctx, id, d) => {
    await deps.incidents.addFollowUp(ctx.actor, id, d.followUp);
    return undefined;
  });
  step('notify-subjects', empty, async (ctx, id) => {
    await deps.incidents.notifySubjects(ctx.actor, id);
    return 'subjects';
  });
  step('close', empty, async (ctx, id) => {
    await deps.incidents.close(ctx.actor, id);
    return undefined;
  });
}
