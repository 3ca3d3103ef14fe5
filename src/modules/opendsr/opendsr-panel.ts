/**
 * The privacy officer's dashboard panel (spec 8.5: processors should notify controllers of failed
 * callbacks): the callbacks to the organisation's own systems that failed for good, with the
 * controller's request id and what went wrong. Nothing is shown while every callback arrives.
 */
import { html } from '../../shared/html/html.js';
import type { DashboardPanel } from '../module.js';
import type { OpendsrService } from './opendsr-service.js';

export function opendsrDashboardPanel(deps: { opendsr: OpendsrService }): DashboardPanel {
  return {
    id: 'opendsr-callbacks',
    permission: 'rights.handle',
    async render({ actor, t }) {
      const failed = await deps.opendsr.failedCallbacks(actor);
      if (failed.length === 0) return html``;
      return html`<section class="dashboard-panel" aria-labelledby="panel-opendsr" data-opendsr-failed="${failed.length}">
<h2 id="panel-opendsr">${t('opendsr.panel.title')}</h2>
<p class="status-bad">${t('opendsr.panel.failed', { count: failed.length })}</p>
<ul>${failed
        .slice(0, 10)
        .map(
          (f) =>
            html`<li class="mono">${t('opendsr.panel.request', { id: f.subjectRequestId, status: f.status, error: f.lastError ?? '' })}</li>`,
        )}</ul>
</section>`;
    },
  };
}
