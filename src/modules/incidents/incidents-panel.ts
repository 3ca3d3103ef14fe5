/** The dashboard panel: open incidents of the reader's register with their 72-hour clock. */
import type { Clock } from '../../shared/clock.js';
import type { DashboardPanel } from '../module.js';
import type { IncidentsService } from './incidents-service.js';
import { panelBody } from './incidents-views.js';

export function incidentsDashboardPanel(deps: { incidents: IncidentsService; clock: Clock }): DashboardPanel {
  return {
    id: 'incidents',
    permission: 'incidents.read',
    async render({ actor, t }) {
      const open = (await deps.incidents.list(actor)).filter((r) => r.status === 'open');
      return panelBody(t, open, deps.clock.now());
    },
  };
}
