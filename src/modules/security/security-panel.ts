/** The security role's dashboard panel (issue 16): security events of the last 24 hours. */
import { html } from '../../shared/html/html.js';
import type { MessageKey } from '../../shared/i18n/messages.js';
import type { DashboardPanel } from '../module.js';
import type { SecurityService } from './security-service.js';

const labels: Record<string, MessageKey> = {
  'auth.login.failure': 'security.panel.event.loginFailure',
  'auth.account.locked': 'security.panel.event.locked',
  'auth.user.roles_refused': 'security.panel.event.rolesRefused',
  'auth.access.refused': 'security.panel.event.accessRefused',
};

export function securityDashboardPanel(deps: { security: SecurityService }): DashboardPanel {
  return {
    id: 'security-events',
    permission: 'security.audit_read',
    async render({ actor, t }) {
      const events = await deps.security.recentSecurityEvents(actor);
      const total = events.reduce((n, e) => n + e.count, 0);
      return html`<section class="dashboard-panel" aria-labelledby="panel-security" data-security-events="${total}">
<h2 id="panel-security">${t('security.panel.title')}</h2>
${
  total === 0
    ? html`<p class="status-ok">${t('security.panel.none')}</p>`
    : html`<ul>${events.map((e) => {
        const key = labels[e.action];
        return html`<li>${key === undefined ? e.action : t(key)}: ${e.count}</li>`;
      })}</ul>`
}
<p><a href="/staff/security/audit">${t('security.panel.open')}</a></p>
</section>`;
    },
  };
}
