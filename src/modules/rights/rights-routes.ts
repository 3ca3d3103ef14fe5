/**
 * Routes of the rights module (P15–P17): the public portal and status pages
 * (`rights-portal-routes.ts`), the privacy officer's queue and request pages
 * (`rights-staff-routes.ts`) and the consent registry (`rights-consent-routes.ts`).
 */
import type { RouteKit } from '../../shared/http/route-kit.js';
import type { KluisCore } from '../module.js';
import type { SubjectsService } from '../subjects/index.js';
import { registerConsentRoutes } from './rights-consent-routes.js';
import { registerPortalRoutes } from './rights-portal-routes.js';
import type { ConsentServices, RightsService } from './rights-service.js';
import { registerStaffRoutes } from './rights-staff-routes.js';

export type RightsRouteDeps = Pick<KluisCore, 'db' | 'clock' | 'config' | 'redis'> & {
  readonly rights: RightsService;
  readonly consent: ConsentServices;
  readonly subjects: SubjectsService;
};

export function rightsRoutes(kit: RouteKit, deps: RightsRouteDeps): void {
  registerPortalRoutes(kit, deps);
  registerStaffRoutes(kit, deps);
  registerConsentRoutes(kit, deps);
}
