/**
 * Data-subject rights (P15–P17): the public portal, verification by emailed link, the privacy
 * officer's queue with the legal clock, the access and portability export, erasure with
 * crypto-shredding, and the consent registry. Public surface of the module: the manifest and
 * what other modules use.
 */
import { defineModule } from '../module.js';
import { registerRightsCommands } from './rights-commands.js';
import { rightsConsentEn, rightsConsentNl } from './rights-consent-messages.js';
import { rightsErasureEn, rightsErasureNl } from './rights-erasure-messages.js';
import { rightsExportEn, rightsExportNl } from './rights-export-messages.js';
import { rightsFields } from './rights-fields.js';
import { RIGHTS_DAILY_JOB, registerRightsJobs } from './rights-fulfil.js';
import { rightsEn, rightsNl } from './rights-messages.js';
import { rightsRoutes } from './rights-routes.js';
import { rightsMigrations } from './rights-schema.js';

export type { LinkedTable } from './rights-subject-links.js';

export const rightsModule = defineModule({
  name: 'rights',
  migrations: rightsMigrations,
  tables: ['rights_requests', 'rights_request_events', 'rights_exports', 'consent_records'],
  catalogue: rightsFields,
  messages: {
    nl: { ...rightsNl, ...rightsConsentNl, ...rightsErasureNl, ...rightsExportNl },
    en: { ...rightsEn, ...rightsConsentEn, ...rightsErasureEn, ...rightsExportEn },
  },
  // The newsletter export reads each consenting person's address through the relations service.
  needs: ['relations'],
  jobs: registerRightsJobs,
  // Every morning at 06:30 UTC: lapse unconfirmed requests, remind privacy officers of deadlines.
  schedules: [{ name: RIGHTS_DAILY_JOB, type: RIGHTS_DAILY_JOB, dailyAt: '06:30' }],
  cli: registerRightsCommands,
  navigation: [{ href: '/staff/rights', label: 'rights.nav', order: 130, permission: 'rights.handle' }],
  routes: rightsRoutes,
});
