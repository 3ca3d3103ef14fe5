/**
 * The register as staff read it (`register.read`): the page with its data map, the printable
 * register, and the CSV and JSON exports (Art. 30: "in writing, including in electronic form").
 */
import type { Clock } from '../../shared/clock.js';
import { renderPage } from '../../shared/http/render.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import type { Locale, Translate } from '../../shared/i18n/messages.js';
import { can } from '../../shared/permissions.js';
import { registerCsv, registerJson } from './register-export.js';
import type { RetentionValues } from './register-labels.js';
import { doneQuery, readAccess } from './register-route-parts.js';
import type { RegisterService, RegisterSnapshot } from './register-service.js';
import { printPage, registerPage } from './register-views.js';

export function registerOverviewRoutes(
  kit: RouteKit,
  deps: { readonly register: RegisterService; readonly clock: Clock; readonly retention: RetentionValues },
): void {
  const { register, clock, retention } = deps;

  kit.route({
    method: 'GET',
    url: '/staff/register',
    access: readAccess,
    query: doneQuery(['saved']),
    handler: async ({ request, reply, actor, query, t, locale }) =>
      renderPage(request, reply, {
        title: t('register.title'),
        body: registerPage({
          t,
          locale,
          snapshot: await register.getRegister({ actor }),
          retention,
          canEdit: can(actor, 'register.edit'),
          notice: query.done === 'saved' ? t('register.saved') : undefined,
        }),
      }),
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
        return reply
          .type(`${format.type}; charset=utf-8`)
          .header('content-disposition', `attachment; filename="${name}"`)
          .send(format.body(snapshot, t, locale));
      },
    });
  }
}
