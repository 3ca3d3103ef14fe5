/**
 * The register as staff read it (`register.read`): the page with its data map, the printable
 * register, and the CSV and JSON exports (Art. 30: "in writing, including in electronic form").
 */
import type { Clock } from '../../shared/clock.js';
import {
  type FormPageContext,
  type FormRefusal,
  renderFormPage,
  submitForm,
} from '../../shared/http/form-submit.js';
import { renderPage } from '../../shared/http/render.js';
import { sendDownload } from '../../shared/http/responses.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import type { Locale, Translate } from '../../shared/i18n/messages.js';
import { can } from '../../shared/permissions.js';
import { webhookInput } from './register-egress.js';
import { egressSection } from './register-egress-views.js';
import { registerCsv, registerJson } from './register-export.js';
import type { RetentionValues } from './register-labels.js';
import { doneQuery, editAccess, idParams, readAccess } from './register-route-parts.js';
import type { RegisterService, RegisterSnapshot } from './register-service.js';
import { printPage, registerPage } from './register-views.js';

export function registerOverviewRoutes(
  kit: RouteKit,
  deps: {
    readonly register: RegisterService;
    readonly clock: Clock;
    readonly retention: RetentionValues;
    /** The SMTP relay's URL (the egress list shows how it is registered). */
    readonly relay: string;
  },
): void {
  const { register, clock, retention } = deps;

  /** The register page with its egress list; a refused webhook form is shown again in it. */
  const showRegister = async (
    ctx: FormPageContext,
    o: { notice?: string | undefined; refusal?: FormRefusal; typedUrl?: string } = {},
  ) => {
    const { actor, t, locale } = ctx;
    const snapshot = await register.getRegister({ actor });
    const canEdit = can(actor, 'register.edit');
    const list = await register.egress.egressList(actor.orgId, deps.relay);
    const webhooks = await register.egress.listWebhooks({ actor });
    return renderFormPage(ctx, {
      title: t('register.title'),
      status: o.refusal?.status,
      body: (csrf) =>
        registerPage({
          t,
          locale,
          snapshot,
          retention,
          canEdit,
          notice: o.notice,
          egress: egressSection({
            t,
            list: actor.orgKind === 'operator' ? list : list.filter((d) => d.kind !== 'smtp_relay'),
            webhooks,
            canEdit,
            csrf,
            errors: o.refusal?.errors,
            typedUrl: o.typedUrl,
          }),
        }),
    });
  };

  kit.route({
    method: 'GET',
    url: '/staff/register',
    access: readAccess,
    query: doneQuery(['saved']),
    handler: (ctx) =>
      showRegister(ctx, { notice: ctx.query.done === 'saved' ? ctx.t('register.saved') : undefined }),
  });

  kit.route({
    method: 'POST',
    url: '/staff/register/webhooks',
    access: editAccess,
    body: webhookInput,
    form: true,
    handler: (ctx) =>
      submitForm(
        ctx,
        async (values) => {
          await register.egress.registerWebhook({ actor: ctx.actor, values });
          return '/staff/register?done=saved';
        },
        (refusal) => showRegister(ctx, { refusal, typedUrl: ctx.body.values.url ?? '' }),
      ),
  });

  kit.route({
    method: 'POST',
    url: '/staff/register/webhooks/:id/delete',
    access: editAccess,
    params: idParams,
    handler: async ({ actor, params, reply }) => {
      await register.egress.removeWebhook({ actor, id: params.id });
      return reply.redirect('/staff/register?done=saved', 303);
    },
  });

  kit.route({
    method: 'GET',
    url: '/staff/register/print',
    access: readAccess,
    handler: async ({ request, reply, actor, t, locale }) =>
      renderPage(request, reply, {
        title: t('register.printTitle'),
        body: printPage({
          t,
          locale,
          snapshot: await register.getRegister({ actor }),
          retention,
          date: clock.now().toISOString(),
        }),
      }),
  });

  /** The exports, by file extension: media type and content, in the reader's language. */
  const formats: Record<
    string,
    { type: string; body: (s: RegisterSnapshot, t: Translate, l: Locale) => string }
  > = {
    csv: { type: 'text/csv', body: (snapshot, t, locale) => registerCsv(snapshot, t, locale, retention) },
    json: {
      type: 'application/json',
      body: (snapshot, t, locale) =>
        JSON.stringify(registerJson(snapshot, t, locale, retention, clock.now().toISOString()), null, 2),
    },
  };

  for (const [ext, format] of Object.entries(formats)) {
    kit.route({
      method: 'GET',
      url: `/staff/register/export.${ext}`,
      access: readAccess,
      handler: async ({ reply, actor, t, locale }) => {
        const snapshot = await register.getRegister({ actor });
        const slug = snapshot.org.slug.replace(/[^a-z0-9-]/gi, '');
        const name = `register-${slug}-${clock.now().toISOString().slice(0, 10)}.${ext}`;
        return sendDownload(reply, {
          contentType: `${format.type}; charset=utf-8`,
          filename: name,
          content: format.body(snapshot, t, locale),
        });
      },
    });
  }
}
