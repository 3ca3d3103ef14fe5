/** The modules of the app, in setup order. Each owns its routes; see module.ts. */
import { authModule } from './auth/auth-routes.js';
import { homeModule } from './home/home-routes.js';
import { intakeModule } from './intake/intake-routes.js';
import { jobsModule } from './jobs/jobs-routes.js';
import type { KluisModule } from './module.js';
import { registerModule } from './register/register-routes.js';
import { relationsModule } from './relations/relations-routes.js';
import { retentionModule } from './retention/retention-routes.js';
import { rightsModule } from './rights/rights-routes.js';
import { securityModule } from './security/security-routes.js';
import { statementModule } from './statement/statement-routes.js';

export type { KluisModule } from './module.js';

export const modules: readonly KluisModule[] = [
  authModule,
  homeModule,
  securityModule,
  jobsModule,
  intakeModule,
  relationsModule,
  registerModule,
  statementModule,
  retentionModule,
  rightsModule,
];
