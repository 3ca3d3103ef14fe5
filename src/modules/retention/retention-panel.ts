/**
 * The "expiring data" dashboard panel (issue 16, P6): how many records of each category the
 * retention sweep will erase, anonymise or restrict within 7 and 30 days — counts only, never a
 * record or a person. Shown to whoever may read the retention page (the privacy officer first).
 */
import { html } from '../../shared/html/html.js';
import type { DashboardPanel } from '../module.js';
import { categoryLabel } from './retention-chart.js';
import type { RetentionService } from './retention-service.js';

export function retentionDashboardPanel(deps: { retention: RetentionService }): DashboardPanel {
  return {
    id: 'retention-expiring',
    permission: 'retention.read',
    async render({ actor, t }) {
      const soon = await deps.retention.expiringSoon(actor);
      const total = (i: number) => soon.rows.reduce((sum, r) => sum + (r.counts[i] ?? 0), 0);
      return html`<section class="dashboard-panel" aria-labelledby="panel-retention" data-expiring="${soon.horizons
        .map((h, i) => `${h}:${total(i)}`)
        .join(' ')}">
<h2 id="panel-retention">${t('retention.panel.title')}</h2>
${
  soon.rows.length === 0
    ? html`<p class="status-ok">${t('retention.panel.none', { days: soon.horizons[soon.horizons.length - 1] ?? 0 })}</p>`
    : html`<table>
  <thead><tr><th scope="col">${t('retention.panel.col.category')}</th>${soon.horizons.map(
    (h) => html`<th scope="col" class="num">${t('retention.panel.col.within', { days: h })}</th>`,
  )}</tr></thead>
  <tbody>${soon.rows.map(
    (r) =>
      html`<tr data-category="${r.category}" data-counts="${r.counts.join(' ')}"><th scope="row">${categoryLabel(t, r.category)}</th>${r.counts.map((n) => html`<td class="num">${n}</td>`)}</tr>`,
  )}</tbody>
</table>
<p class="hint">${t('retention.panel.hint')}</p>`
}
<p><a href="/staff/retention">${t('retention.panel.open')}</a></p>
</section>`;
    },
  };
}
