/**
 * Routes of the register, by use case: reading and exporting it, completing it, sub-processors
 * (staff and public) and processor agreements. Forms with a document upload are multipart,
 * parsed in this module's scope only.
 */
import type { Config } from '../../config/env.js';
import type { Clock } from '../../shared/clock.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import type { Mailer } from '../mail/index.js';
import { registerAgreementRoutes } from './register-agreement-routes.js';
import { registerDetailsRoutes } from './register-details-routes.js';
import { retentionValuesOf } from './register-labels.js';
import { installMultipart } from './register-multipart.js';
import { registerOverviewRoutes } from './register-overview-routes.js';
import type { RegisterService } from './register-service.js';
import { registerSubprocessorRoutes } from './register-subprocessor-routes.js';

export interface RegisterRouteDeps {
  readonly register: RegisterService;
  readonly clock: Clock;
  readonly mailer: Pick<Mailer, 'relay'>;
  readonly config: Pick<Config, 'accessLog' | 'sessionAbsoluteHours' | 'subprocessorNoticeDays'>;
}

export async function registerRoutes(kit: RouteKit, deps: RegisterRouteDeps): Promise<void> {
  await installMultipart(kit.app);
  const retention = retentionValuesOf(deps.config);
  registerOverviewRoutes(kit, {
    register: deps.register,
    clock: deps.clock,
    retention,
    relay: deps.mailer.relay,
  });
  registerDetailsRoutes(kit, { register: deps.register, retention });
  registerSubprocessorRoutes(kit, deps);
  registerAgreementRoutes(kit, deps);
}
