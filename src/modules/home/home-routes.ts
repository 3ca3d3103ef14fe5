/** The public front page, the staff dashboard and the liveness probe. */
import { sql } from 'kysely';
import { html } from '../../shared/html/html.js';
import { renderPage } from '../../shared/http/render.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import { translator } from '../../shared/i18n/messages.js';
import { queueState } from '../jobs/jobs-queue.js';
import type { KluisCore } from '../module.js';
import { createOrgsRepository } from '../orgs/orgs-repository.js';
import { renderDashboardPanels } from './home-panels.js';

export async function homeRoutes(kit: RouteKit, kluis: KluisCore): Promise<void> {
  const app = kit.app;
  app.get('/', { config: { access: { kind: 'public' } } }, async (request, reply) => {
    const t = translator(request.locale);
    const operator = await createOrgsRepository(kluis.db).findOperator();
    const prefix = request.locale === 'en' ? '/en' : '';
    return renderPage(request, reply, {
      title: t('home.title'),
      body: html`<h1>${operator?.name ?? t('app.name')}</h1>
<p>${t('home.intro')}</p>
<ul class="link-list">
<li><a href="${prefix}/contact">${t('home.contact')}</a></li>
<li><a href="${prefix}/privacy">${t('home.privacy')}</a></li>
<li><a href="${prefix}/subprocessors">${t('home.subprocessors')}</a></li>
</ul>
<p><a href="/login">${t('home.staffLogin')}</a></p>`,
    });
  });

  app.get('/healthz', { config: { access: { kind: 'public' } } }, async (_request, reply) => {
    await sql`select 1`.execute(kluis.db);
    // One word about the queue, no figures: 'stalled' when due jobs wait and no worker takes them.
    return reply.send({ status: 'ok', jobs: await queueState(kluis.db, kluis.clock) });
  });

  kit.route({
    method: 'GET',
    url: '/staff',
    access: { kind: 'staff' },
    handler: async ({ request, reply, actor, t, locale }) => {
      const panels = await renderDashboardPanels(app.dashboardPanels, { actor, t, locale });
      return renderPage(request, reply, {
        title: t('dashboard.title'),
        body: html`<h1>${t('dashboard.title')}</h1>${panels}`,
      });
    },
  });
}
