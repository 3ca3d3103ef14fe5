/**
 * The dashboard panels of the statement: "statement out of date" (P18) and the claims the
 * statement cannot make today (issue 16), shown to owners, admins and the privacy officer.
 */
import type { DashboardPanel } from '../module.js';
import type { StatementService } from './statement-service.js';
import { claimsPanel, statementPanel } from './statement-views.js';

export function statementDashboardPanel(deps: { statement: StatementService }): DashboardPanel {
  return {
    id: 'statement',
    permission: 'statement.read',
    async render({ actor, t, locale }) {
      return statementPanel(t, locale, await deps.statement.getStatus({ actor }));
    },
  };
}

export function claimsDashboardPanel(deps: { statement: StatementService }): DashboardPanel {
  return {
    id: 'statement-claims',
    permission: 'statement.read',
    async render({ actor, t, locale }) {
      return claimsPanel(t, locale, await deps.statement.getClaimGaps({ actor }));
    },
  };
}
