/**
 * The processing register (P5, P10, P13, P14): activities derived from the field catalogue,
 * sub-processors, processor agreements, the data map and the organisation's published details.
 * Public surface of the module: the manifest and what other modules use.
 */
import { defineModule, type ModuleDeps, recurringJob } from '../module.js';
import { registerFields } from './register-fields.js';
import { registerEn, registerNl } from './register-messages.js';
import { registerPersonalData } from './register-personal-data.js';
import { registerRoutes } from './register-routes.js';
import { registerMigrations } from './register-schema.js';
import { createRegisterService, type RegisterService } from './register-service.js';

export { type DerivedCategory, deriveCategories, placeName } from './register-derive.js';
export { MAX_DOCUMENT_BYTES, type UploadedDocument, validateDocument } from './register-documents.js';
export type { EgressDecision } from './register-egress.js';
export { csvSafe } from './register-export.js';
export type { RegisterFacts } from './register-facts.js';
export { joinList, label, type RetentionValues, retentionValuesOf } from './register-labels.js';
export { documentOf, installMultipart } from './register-multipart.js';
export { type OrgInfo, publicPath } from './register-orgs.js';
export type { PublicOrg, RegisterService, RegisterSnapshot } from './register-service.js';

/** Daily: announced sub-processors whose notice period has run become active (Art. 28(2)). */
export const SUBPROCESSOR_NOTICE_JOB = 'register.subprocessors_due';

declare module '../module.js' {
  interface KluisServices {
    register: RegisterService;
  }
}

export const registerModule = defineModule({
  name: 'register',
  migrations: registerMigrations,
  tables: [
    'register_settings',
    'processing_activities',
    'subprocessors',
    'register_documents',
    'processor_agreements',
    'subprocessor_objections',
    'egress_webhooks',
    'register_stamp',
  ],
  catalogue: registerFields,
  personalData: registerPersonalData,
  messages: { nl: registerNl, en: registerEn },
  provides: ['register'],
  needs: ['auth', 'audit'],
  services: ({ db, clock, keyring, config, auth, audit, mailer }) => ({
    register: createRegisterService({ db, clock, keyring, config, users: auth, audit, relay: mailer.relay }),
  }),
  navigation: [{ href: '/staff/register', label: 'register.nav', order: 100, permission: 'register.read' }],
  routes: registerRoutes,
  // Every morning at 00:20 UTC, just after the start date of an announcement begins.
  ...recurringJob(
    SUBPROCESSOR_NOTICE_JOB,
    { dailyAt: '00:20' },
    'sub-processors: notice periods ended',
    (deps: ModuleDeps<'register'>) => deps.register.activateDue(),
  ),
});
