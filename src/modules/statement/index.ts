/**
 * The privacy statement (P18): generated in Dutch and English from the register, published as
 * immutable versions with an archive and a diff, and announced to tenants. Public surface of the
 * module: the manifest and what other modules use.
 */
import { defineModule } from '../module.js';
import { statementFields } from './statement-fields.js';
import { statementEn, statementNl } from './statement-messages.js';
import { claimsDashboardPanel, statementDashboardPanel } from './statement-panel.js';
import { statementPersonalData } from './statement-personal-data.js';
import { statementRoutes } from './statement-routes.js';
import { statementMigrations } from './statement-schema.js';
import { createStatementService, type StatementService } from './statement-service.js';

export type { StatementService } from './statement-service.js';

declare module '../module.js' {
  interface KluisServices {
    statement: StatementService;
  }
}

export const statementModule = defineModule({
  name: 'statement',
  migrations: statementMigrations,
  tables: ['statement_sections', 'statement_versions'],
  catalogue: statementFields,
  personalData: statementPersonalData,
  messages: { nl: statementNl, en: statementEn },
  provides: ['statement'],
  needs: ['register', 'audit'],
  services: ({ db, clock, config, register, audit }) => ({
    statement: createStatementService({ db, clock, config, register, audit }),
  }),
  navigation: [
    { href: '/staff/statement', label: 'statement.nav', order: 110, permission: 'statement.read' },
  ],
  panels: (deps) => [statementDashboardPanel(deps), claimsDashboardPanel(deps)],
  routes: statementRoutes,
});
