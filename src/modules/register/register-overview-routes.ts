/**
 * The register as staff read it (`register.read`): the page with its data map, the printable
 * register, and the CSV and JSON exports (Art. 30: "in writing, including in electronic form").
 */
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Clock } from '../../shared/clock.js';
import { renderPage } from '../../shared/http/render.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import { can } from '../../shared/permissions.js';
import { registerCsv, registerJson } from './register-export.js';
import type { RetentionValues } from './register-labels.js';
import type { RegisterService } from './register-service.js';
import { printPage, registerPage } from './register-views.js';

const read = { kind: 'staff', permission: 'register.read' } as const;

export function registerOverviewRoutes(
  kit: RouteKit,
  deps: { readonly register: RegisterService; readonly clock: Clock; readonly retention: RetentionValues },
): void {
  const { register, clock, retention } = deps;

  /** Sends an export as a download named after the org and today's date. */
  const download = (reply: FastifyReply, o: { slug: string; ext: string; type: string; body: string }) => {
    const name = `register-${o.slug.replace(/[^a-z0-9-]/gi, '')}-${clock.now().toISOString().slice(0, 10)}.${o.ext}`;
    return reply
      .type(`${o.type}; charset=utf-8`)
      .header('content-disposition', `attachment; filename="${name}"`)
      .send(o.body);
  };

  kit.route({
    method: 'GET',
    url: '/staff/register',
    access: read,
    query: z.object({ done: z.enum(['saved']).optional().catch(undefined) }),
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
    access: read,
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

  kit.route({
    method: 'GET',
    url: '/staff/register/export.csv',
    access: read,
    handler: async ({ reply, actor, t, locale }) => {
      const snapshot = await register.getRegister({ actor });
      return download(reply, {
        slug: snapshot.org.slug,
        ext: 'csv',
        type: 'text/csv',
        body: registerCsv(snapshot, t, locale, retention),
      });
    },
  });

  kit.route({
    method: 'GET',
    url: '/staff/register/export.json',
    access: read,
    handler: async ({ reply, actor, t, locale }) => {
      const snapshot = await register.getRegister({ actor });
      const json = registerJson(snapshot, t, locale, retention, clock.now().toISOString());
      return download(reply, {
        slug: snapshot.org.slug,
        ext: 'json',
        type: 'application/json',
        body: JSON.stringify(json, null, 2),
      });
    },
  });
}
