/**
 * `/staff/tenants`: the operator's owners and admins (`tenants.manage`) list, onboard, suspend and
 * re-activate tenants and assign their host names and inbound addresses. A tenant's staff — who
 * hold `tenants.manage` in their own org — get a 404 from the service, like any foreign record.
 * The onboarding form is multipart (the signed agreement as a PDF).
 */
import { z } from 'zod';
import { AppError } from '../../shared/errors.js';
import {
  type FormPageContext,
  type RefusedForm,
  renderFormPage,
  submitForm,
} from '../../shared/http/form-submit.js';
import { renderPage } from '../../shared/http/render.js';
import { type FormResult, type RouteKit, recordId } from '../../shared/http/route-kit.js';
import type { ModuleDeps } from '../module.js';
import { mailboxes, siteOriginOf } from '../orgs/index.js';
import { documentOf, installMultipart } from '../register/index.js';
import type { AgreementOnRecord } from './tenants-service.js';
import {
  createTenantPage,
  ownOrganisationPage,
  tenantPage,
  tenantSettingsPage,
  tenantsListPage,
} from './tenants-views.js';

const access = { kind: 'staff', permission: 'tenants.manage' } as const;
const idParams = z.object({ id: recordId });
const done = z.object({
  done: z.enum(['created', 'suspended', 'activated', 'saved']).optional().catch(undefined),
});

const optionalText = (max: number) => z.string().trim().max(max).optional();

const createForm = z.object({
  slug: z.string().trim().max(63),
  name: z.string().trim().max(200),
  kvk: optionalText(20),
  country: optionalText(2),
  languages: z.enum(['nl', 'en', 'nl,en']).default('nl'),
  ownerEmail: z.string().trim().max(254),
  ownerName: optionalText(200),
  agreementKind: z.enum(['document', 'standard']),
  agreementVersion: z.string().trim().max(50),
  signedOn: optionalText(10),
});
type CreateForm = z.output<typeof createForm>;

const hostForm = z.object({ host: z.string().trim().min(1, { message: 'field.required' }).max(253) });
const addressForm = z.object({
  address: z.string().trim().min(1, { message: 'field.required' }).max(254),
  mailbox: z.enum(mailboxes).default('contact'),
});
const removeAddressForm = z.object({ address: z.string().trim().max(254) });

type Tenants = ModuleDeps<'tenants'>['tenants'];

/** A tenant's own organisation page (its owners and admins). */
function ownOrganisationRoutes(kit: RouteKit, tenants: Tenants, publicOrigin: string): void {
  kit.route({
    method: 'GET',
    url: '/staff/organisation',
    access: { kind: 'staff', permission: 'users.manage' },
    query: done,
    handler: async (ctx) => {
      const tenant = await tenants.own(ctx.actor);
      return renderFormPage(ctx, {
        title: ctx.t('tenants.own.title'),
        body: (csrf) =>
          ownOrganisationPage({
            t: ctx.t,
            csrf,
            tenant,
            // Its own host when it has one (scheme and port of this installation), else /o/<slug>.
            site: tenant.hosts.length === 0 ? `/o/${tenant.slug}` : siteOriginOf(publicOrigin, tenant.hosts),
            notice: ctx.query.done === 'saved' ? ctx.t('tenants.saved') : undefined,
          }),
      });
    },
  });

  kit.route({
    method: 'POST',
    url: '/staff/organisation/totp',
    access: { kind: 'staff', permission: 'users.manage' },
    body: z.object({ required: z.enum(['0', '1']) }),
    handler: async ({ reply, actor, body }) => {
      await tenants.setRequireTotp(actor, body.required === '1');
      return reply.redirect('/staff/organisation?done=saved', 303);
    },
  });
}

const settingsAccess = { kind: 'staff', permission: 'settings.manage' } as const;

const settingsForm = z
  .object({
    displayName: z.string().max(200, { message: 'field.tooLong' }).default(''),
    termsUrl: z.string().max(500, { message: 'field.tooLong' }).default(''),
    contactEmail: z.string().max(254, { message: 'field.tooLong' }).default(''),
    privacyEmail: z.string().max(254, { message: 'field.tooLong' }).default(''),
    languages: z.enum(['nl', 'en', 'nl,en'], { message: 'tenants.settings.languagesRequired' }),
  })
  // One field per retention policy (`retention_<policy>`, whole numbers, checked below) and the CSRF token.
  .catchall(z.string().max(200, { message: 'field.tooLong' }));

/** The periods typed in the form by policy id; a value that is not a whole number is refused. */
function retentionOf(values: Readonly<Record<string, unknown>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, raw] of Object.entries(values)) {
    if (!name.startsWith('retention_') || typeof raw !== 'string') continue;
    if (!/^\d{1,6}$/.test(raw.trim())) {
      throw new AppError('ERR_VALIDATION', { fields: { [name]: 'retention.policy.notWhole' } });
    }
    out[name.slice('retention_'.length)] = Number(raw.trim());
  }
  return out;
}

/** A tenant's own settings (its owners and admins): name, languages, terms, addresses, retention. */
function ownSettingsRoutes(kit: RouteKit, tenants: Tenants): void {
  const show = async (
    ctx: FormPageContext,
    o: { notice?: string | undefined; shown?: RefusedForm<Readonly<Record<string, string>>> } = {},
  ) => {
    const settings = await tenants.ownSettings(ctx.actor);
    return renderFormPage(ctx, {
      title: ctx.t('tenants.settings.title'),
      status: o.shown?.status,
      body: (csrf) =>
        tenantSettingsPage({
          t: ctx.t,
          csrf,
          settings,
          values: o.shown?.values,
          errors: o.shown?.errors,
          notice: o.notice,
        }),
    });
  };

  kit.route({
    method: 'GET',
    url: '/staff/organisation/settings',
    access: settingsAccess,
    query: done,
    handler: (ctx) => show(ctx, { notice: ctx.query.done === 'saved' ? ctx.t('tenants.saved') : undefined }),
  });

  kit.route({
    method: 'POST',
    url: '/staff/organisation/settings',
    access: settingsAccess,
    body: settingsForm,
    form: true,
    handler: async (ctx) => {
      // Refuse a foreign or operator caller before reading its form (the same 404 as the page).
      await tenants.ownSettings(ctx.actor);
      return submitForm(
        ctx,
        async (data) => {
          await tenants.updateOwnSettings(ctx.actor, {
            displayName: data.displayName,
            termsUrl: data.termsUrl,
            contactEmail: data.contactEmail,
            privacyEmail: data.privacyEmail,
            languages: data.languages === 'nl,en' ? ['nl', 'en'] : [data.languages],
            retention: retentionOf(data),
          });
          return '/staff/organisation/settings?done=saved';
        },
        (refusal) => show(ctx, { shown: { ...refusal, values: ctx.body.values } }),
      );
    },
  });
}

/** The list and the onboarding form (the operator's owners and admins). */
function onboardingRoutes(kit: RouteKit, tenants: Tenants): void {
  const showCreate = (ctx: FormPageContext, shown?: RefusedForm<Record<string, string>>) =>
    renderFormPage(ctx, {
      title: ctx.t('tenants.new'),
      status: shown?.status,
      body: (csrf) =>
        createTenantPage({ t: ctx.t, csrf, values: shown?.values ?? {}, errors: shown?.errors }),
    });

  kit.route({
    method: 'GET',
    url: '/staff/tenants',
    access,
    query: done,
    handler: async ({ request, reply, actor, query, t, locale }) =>
      renderPage(request, reply, {
        title: t('tenants.title'),
        body: tenantsListPage({
          t,
          locale,
          list: await tenants.list(actor),
          notice: query.done === 'created' ? t('tenants.created') : undefined,
        }),
      }),
  });

  kit.route({
    method: 'GET',
    url: '/staff/tenants/new',
    access,
    handler: async (ctx) => {
      // The form is the operator's only: a tenant's owner gets the same 404 as for the list.
      await tenants.list(ctx.actor);
      return showCreate(ctx);
    },
  });

  kit.route({
    method: 'POST',
    url: '/staff/tenants',
    access,
    body: createForm,
    form: true,
    handler: (ctx) =>
      submitForm(
        ctx,
        async (data: CreateForm) => {
          const document = documentOf(ctx.request.body);
          const agreement: AgreementOnRecord =
            data.agreementKind === 'standard' || document === undefined
              ? { kind: 'standard' }
              : { kind: 'document', document };
          if (data.agreementKind === 'document' && document === undefined) {
            throw new AppError('ERR_VALIDATION', { fields: { agreement: 'tenants.agreementRequired' } });
          }
          await tenants.create({
            actor: ctx.actor,
            values: {
              ...data,
              kvk: data.kvk,
              languages: data.languages === 'nl,en' ? ['nl', 'en'] : [data.languages],
              signedOn: data.signedOn === '' ? undefined : data.signedOn,
              ownerName: data.ownerName === '' ? undefined : data.ownerName,
              country: data.country === '' ? undefined : data.country,
            },
            agreement,
            locale: data.languages === 'en' ? 'en' : 'nl',
          });
          return '/staff/tenants?done=created';
        },
        (refusal) => showCreate(ctx, { ...refusal, values: ctx.body.values }),
      ),
  });
}

/** One tenant's page: status, host names, inbound addresses. */
function tenantPageRoutes(kit: RouteKit, tenants: Tenants): void {
  const showTenant = async (
    ctx: FormPageContext,
    id: string,
    o: { notice?: string | undefined; shown?: RefusedForm<Record<string, string>> } = {},
  ) => {
    const tenant = await tenants.showById(ctx.actor, id);
    return renderFormPage(ctx, {
      title: tenant.name,
      status: o.shown?.status,
      body: (csrf) =>
        tenantPage({ t: ctx.t, locale: ctx.locale, csrf, tenant, notice: o.notice, errors: o.shown?.errors }),
    });
  };

  /** A change on one tenant's page: done → back to the page with a notice; refused → the page with errors. */
  const change = <T>(
    ctx: FormPageContext & { readonly body: FormResult<T>; readonly params: { id: string } },
    run: (slug: string, data: T) => Promise<unknown>,
    doneAs: 'saved' | 'suspended' | 'activated',
  ) =>
    submitForm(
      ctx,
      async (data) => {
        const { slug } = await tenants.showById(ctx.actor, ctx.params.id);
        await run(slug, data);
        return `/staff/tenants/${ctx.params.id}?done=${doneAs}`;
      },
      (refusal) => showTenant(ctx, ctx.params.id, { shown: { ...refusal, values: ctx.body.values } }),
    );

  kit.route({
    method: 'GET',
    url: '/staff/tenants/:id',
    access,
    params: idParams,
    query: done,
    handler: (ctx) =>
      showTenant(ctx, ctx.params.id, {
        notice:
          ctx.query.done === undefined || ctx.query.done === 'created'
            ? undefined
            : ctx.t(`tenants.${ctx.query.done}`),
      }),
  });

  kit.route({
    method: 'POST',
    url: '/staff/tenants/:id/suspend',
    access,
    params: idParams,
    form: true,
    handler: (ctx) => change(ctx, (slug) => tenants.suspend(ctx.actor, slug), 'suspended'),
  });

  kit.route({
    method: 'POST',
    url: '/staff/tenants/:id/activate',
    access,
    params: idParams,
    form: true,
    handler: (ctx) => change(ctx, (slug) => tenants.activate(ctx.actor, slug), 'activated'),
  });

  kit.route({
    method: 'POST',
    url: '/staff/tenants/:id/hosts',
    access,
    params: idParams,
    body: hostForm,
    form: true,
    handler: (ctx) => change(ctx, (slug, data) => tenants.addHost(ctx.actor, slug, data.host), 'saved'),
  });

  kit.route({
    method: 'POST',
    url: '/staff/tenants/:id/hosts/remove',
    access,
    params: idParams,
    body: hostForm,
    form: true,
    handler: (ctx) => change(ctx, (slug, data) => tenants.removeHost(ctx.actor, slug, data.host), 'saved'),
  });

  kit.route({
    method: 'POST',
    url: '/staff/tenants/:id/addresses',
    access,
    params: idParams,
    body: addressForm,
    form: true,
    handler: (ctx) =>
      change(ctx, (slug, data) => tenants.addAddress(ctx.actor, slug, data.address, data.mailbox), 'saved'),
  });

  kit.route({
    method: 'POST',
    url: '/staff/tenants/:id/addresses/remove',
    access,
    params: idParams,
    body: removeAddressForm,
    form: true,
    handler: (ctx) =>
      change(ctx, (slug, data) => tenants.removeAddress(ctx.actor, slug, data.address), 'saved'),
  });
}

export async function tenantsRoutes(kit: RouteKit, deps: ModuleDeps<'tenants'>): Promise<void> {
  await installMultipart(kit.app);
  ownOrganisationRoutes(kit, deps.tenants, deps.config.publicOrigin);
  ownSettingsRoutes(kit, deps.tenants);
  onboardingRoutes(kit, deps.tenants);
  tenantPageRoutes(kit, deps.tenants);
}
