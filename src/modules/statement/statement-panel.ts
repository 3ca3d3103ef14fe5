/** The dashboard panel "statement out of date" (P18): shown to owners, admins and the privacy officer. */
import type { DashboardPanel } from '../home/home-panels.js';
import { viewerRoles } from '../register/register-access.js';
import { statementServiceFor } from './statement-routes.js';
import { statementPanel } from './statement-views.js';

export const statementDashboardPanel: DashboardPanel = {
  id: 'statement',
  roles: viewerRoles,
  async render({ kluis, actor, t, locale }) {
    const status = await statementServiceFor(kluis).getStatus({ actor });
    return statementPanel(t, locale, status);
  },
};
