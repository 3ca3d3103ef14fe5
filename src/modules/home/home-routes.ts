/** The public front page, the staff dashboard and the liveness probe. */
import { sql } from 'kysely';
import { html } from '../../shared/html/html.js';
import { renderPage } from '../../shared/http/render.js';
import { queueState } from '../jobs/jobs-queue.js';
import type { KluisModule } from '../module.js';

export const homeModule: KluisModule = {
  name: 'home',
  async routes(app, kluis) {
    app.get('/', { config: { access: { kind: 'public' } } }, async (request, reply) =>
      renderPage(request, reply, {
        title: request.locale === 'nl' ? 'Welkom' : 'Welcome',
        body: html`<h1>Kluis</h1>`,
      }),
    );

    app.get('/healthz', { config: { access: { kind: 'public' } } }, async (_request, reply) => {
      await sql`select 1`.execute(kluis.db);
      // One word about the queue, no figures: 'stalled' when due jobs wait and no worker takes them.
      return reply.send({ status: 'ok', jobs: await queueState(kluis.db, kluis.clock) });
    });

    app.get('/staff', { config: { access: { kind: 'staff' } } }, async (request, reply) =>
      renderPage(request, reply, {
        title: request.locale === 'nl' ? 'Overzicht' : 'Dashboard',
        body: (t) => html`<h1>${t('dashboard.title')}</h1>`,
      }),
    );
  },
};
