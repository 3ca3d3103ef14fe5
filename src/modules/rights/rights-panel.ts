/**
 * The privacy officer's dashboard panel (issue 16): open rights requests, the overdue ones and
 * those due within a week first, each linked to its page. Shown to whoever handles rights.
 */
import { html } from '../../shared/html/html.js';
import type { DashboardPanel } from '../module.js';
import type { RightsService } from './rights-service.js';

const SOON_DAYS = 7;

export function rightsDashboardPanel(deps: { rights: RightsService }): DashboardPanel {
  return {
    id: 'rights-due',
    permission: 'rights.handle',
    async render({ actor, t }) {
      const open = await deps.rights.list(actor, { open: true });
      const due = open.filter((r) => !r.paused && r.daysLeft <= SOON_DAYS);
      return html`<section class="dashboard-panel" aria-labelledby="panel-rights" data-rights-open="${open.length}" data-rights-due="${due.length}">
<h2 id="panel-rights">${t('rights.panel.title')}</h2>
<p class="${due.some((r) => r.daysLeft < 0) ? 'status-bad' : 'status-ok'}">${t('rights.panel.summary', { open: open.length, due: due.length })}</p>
${
  due.length === 0
    ? ''
    : html`<ul>${due.map(
        (r) =>
          html`<li><a href="/staff/rights/${r.id}">${r.right === null ? t('rights.panel.unknownRight') : t(`rights.right.${r.right}`)}</a>: ${
            r.daysLeft < 0
              ? t('rights.panel.overdue', { days: -r.daysLeft })
              : t('rights.panel.daysLeft', { days: r.daysLeft })
          }</li>`,
      )}</ul>`
}
<p><a href="/staff/rights">${t('rights.panel.open')}</a></p>
</section>`;
    },
  };
}
