/** The public front page, the staff dashboard and the liveness probe. */
import { sql } from 'kysely';
import { z } from 'zod';
import { html } from '../../shared/html/html.js';
import { renderPage } from '../../shared/http/render.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import type { JobsService } from '../jobs/index.js';
import type { KluisCore } from '../module.js';
import type { OrgsService } from '../orgs/index.js';
import { renderDashboardPanels } from './home-panels.js';

interface HomeDeps extends Pick<KluisCore, 'db'> {
  readonly orgs: OrgsService;
  readonly jobs: JobsService;
}

export async function homeRoutes(kit: RouteKit, deps: HomeDeps): Promise<void> {
  const app = kit.app;

  kit.route({
    method: 'GET',
    url: '/',
    access: { kind: 'public' },
    handler: async ({ request, reply, t, locale }) => {
      const operator = await deps.orgs.findOperator();
      const prefix = locale === 'en' ? '/en' : '';
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
    },
  });

  kit.route({
    method: 'GET',
    url: '/healthz',
    access: { kind: 'public' },
    // One word about the queue, no figures: 'stalled' when due jobs wait and no worker takes them.
    response: { 200: z.object({ status: z.literal('ok'), jobs: z.enum(['ok', 'stalled']) }) },
    handler: async () => {
      await sql`select 1`.execute(deps.db);
      return { status: 'ok' as const, jobs: await deps.jobs.queueState() };
    },
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
