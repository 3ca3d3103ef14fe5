/**
 * Data-subject rights (P15–P17): the public portal, verification by emailed link, the privacy
 * officer's queue with the legal clock, the access and portability export, erasure with
 * crypto-shredding, and the consent registry. Retention, erasure and the export orchestrate over
 * every module's personal-data provider. Public surface of the module: the manifest and what
 * other modules use.
 */
import { defineModule } from '../module.js';
import { registerRightsCommands } from './rights-commands.js';
import { rightsConsentEn, rightsConsentNl } from './rights-consent-messages.js';
import { rightsErasureEn, rightsErasureNl } from './rights-erasure-messages.js';
import { rightsExportEn, rightsExportNl } from './rights-export-messages.js';
import { rightsFields } from './rights-fields.js';
import { RIGHTS_DAILY_JOB } from './rights-fulfil.js';
import { registerRightsJobs } from './rights-jobs.js';
import { rightsEn, rightsNl } from './rights-messages.js';
import { rightsDashboardPanel } from './rights-panel.js';
import { rightsPersonalData } from './rights-personal-data.js';
import { rightsRoutes } from './rights-routes.js';
import { rightsMigrations } from './rights-schema.js';
import {
  type ConsentServices,
  createConsentServices,
  createRightsService,
  type RightsService,
} from './rights-service.js';

export type { ControllerRequest, ControllerRequestInput } from './rights-controller.js';
export type { ExportTable, SubjectExport } from './rights-export-compile.js';
export { csvOf, filePathOf } from './rights-export-zip.js';
export { requestRecords } from './rights-records.js';
export type { StatusChange, StatusListener } from './rights-requests.js';
export type { RequestStatus } from './rights-schema.js';
export type { RightsService } from './rights-service.js';

declare module '../module.js' {
  interface KluisServices {
    rights: RightsService;
    consent: ConsentServices;
  }
}

export const rightsModule = defineModule({
  name: 'rights',
  migrations: rightsMigrations,
  tables: ['rights_requests', 'rights_request_events', 'rights_exports', 'consent_records'],
  catalogue: rightsFields,
  messages: {
    nl: { ...rightsNl, ...rightsConsentNl, ...rightsErasureNl, ...rightsExportNl },
    en: { ...rightsEn, ...rightsConsentEn, ...rightsErasureEn, ...rightsExportEn },
  },
  personalData: rightsPersonalData,
  provides: ['rights', 'consent'],
  needs: ['audit', 'auth', 'register', 'retention', 'security', 'statement', 'subjects'],
  services: (deps) => {
    const consent = createConsentServices(deps);
    return { consent, rights: createRightsService(deps, consent) };
  },
  jobs: registerRightsJobs,
  // Every morning at 06:30 UTC: lapse unconfirmed requests, remind privacy officers of deadlines.
  schedules: [{ name: RIGHTS_DAILY_JOB, type: RIGHTS_DAILY_JOB, dailyAt: '06:30' }],
  cli: registerRightsCommands,
  navigation: [{ href: '/staff/rights', label: 'rights.nav', order: 130, permission: 'rights.handle' }],
  panels: (deps) => [rightsDashboardPanel(deps)],
  routes: rightsRoutes,
});
