/** The public front page, the staff dashboard and the liveness probe. */
import { sql } from 'kysely';
import { html } from '../../shared/html/html.js';
import { renderPage } from '../../shared/http/render.js';
import { translator } from '../../shared/i18n/messages.js';
import { queueState } from '../jobs/jobs-queue.js';
import type { KluisModule } from '../module.js';
import { createOrgsRepository } from '../orgs/orgs-repository.js';
import { renderDashboardPanels } from './home-panels.js';

export const homeModule: KluisModule = {
  name: 'home',
  async routes(app, kluis) {
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

    app.get('/staff', { config: { access: { kind: 'staff' } } }, async (request, reply) => {
      const t = translator(request.locale);
      const actor = request.actor;
      const panels =
        actor === undefined ? [] : await renderDashboardPanels({ kluis, actor, t, locale: request.locale });
      return renderPage(request, reply, {
        title: request.locale === 'nl' ? 'Overzicht' : 'Dashboard',
        body: html`<h1>${t('dashboard.title')}</h1>${panels}`,
      });
    });
  },
};
