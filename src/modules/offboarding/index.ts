/**
 * Tenant offboarding (Art. 28(3)(g), P10): the full export during a notice period, then the
 * tenant's rows deleted, its org key destroyed, erasure-ledger lines for restored backups, and a
 * deletion certificate signed with the installation's audit key. Public surface of the module.
 */
import { z } from 'zod';
import { defineModule } from '../module.js';
import { registerOffboardingCommands } from './offboarding-commands.js';
import { offboardingEn, offboardingNl } from './offboarding-messages.js';
import { offboardingPersonalData } from './offboarding-personal-data.js';
import { offboardingRoutes } from './offboarding-routes.js';
import { offboardingMigrations } from './offboarding-schema.js';
import { createOffboardingService, type OffboardingService } from './offboarding-service.js';

export {
  type CertificateCheck,
  type DeletionCertificate,
  verifyCertificate,
} from './offboarding-certificate.js';
export type { OffboardingService } from './offboarding-service.js';

declare module '../module.js' {
  interface KluisServices {
    offboarding: OffboardingService;
  }
}

export const OFFBOARDING_DUE_JOB = 'offboarding.finish_due';

export const offboardingModule = defineModule({
  name: 'offboarding',
  migrations: offboardingMigrations,
  tables: ['offboardings'],
  catalogue: {
    fields: [],
    notPersonal: {
      offboardings: {
        status: 'state of the offboarding',
        started_by: 'audit reference of who started it (an id)',
        notice_ends_at: 'end of the notice period',
        export_zip: 'the tenant’s export, sealed with its org key (destroyed with it)',
        export_bytes: 'size of the export',
        certificate: 'the signed deletion certificate: ids, counts and dates',
      },
    },
  },
  messages: { nl: offboardingNl, en: offboardingEn },
  personalData: offboardingPersonalData,
  provides: ['offboarding'],
  needs: ['audit', 'orgs', 'rights', 'subjects', 'register', 'statement', 'retention'],
  services: (deps) => ({ offboarding: createOffboardingService(deps) }),
  jobs(registry, deps) {
    registry.register(OFFBOARDING_DUE_JOB, z.object({}), async (_payload, { logger }) => {
      logger.info(await deps.offboarding.finishDue(), 'offboardings finished');
    });
  },
  // Every night at 04:10 UTC, after the night's backups: tenants whose notice period ended.
  schedules: [{ name: OFFBOARDING_DUE_JOB, type: OFFBOARDING_DUE_JOB, dailyAt: '04:10' }],
  cli: registerOffboardingCommands,
  navigation: [
    { href: '/staff/offboarding', label: 'offboarding.nav', order: 190, permission: 'offboarding.manage' },
  ],
  routes: offboardingRoutes,
});
