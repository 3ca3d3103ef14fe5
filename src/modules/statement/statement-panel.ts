/** The dashboard panel "statement out of date" (P18): shown to owners, admins and the privacy officer. */
import type { DashboardPanel } from '../module.js';
import type { StatementService } from './statement-service.js';
import { statementPanel } from './statement-views.js';

export function statementDashboardPanel(deps: { statement: StatementService }): DashboardPanel {
  return {
    id: 'statement',
    permission: 'statement.read',
    async render({ actor, t, locale }) {
      return statementPanel(t, locale, await deps.statement.getStatus({ actor }));
    },
  };
}
