/**
 * Legally compelled disclosure (P9): a recorded case, two approvals by different operator staff,
 * a sealed export limited to the order's scope, and the tenant told at once or when a
 * non-disclosure order ends. Public surface of the module.
 */
import { z } from 'zod';
import { defineModule } from '../module.js';
import { registerDisclosureCommands } from './disclosure-cli.js';
import { disclosureEn, disclosureNl } from './disclosure-messages.js';
import { disclosureRoutes } from './disclosure-routes.js';
import { disclosureMigrations } from './disclosure-schema.js';
import { createDisclosureService, type DisclosureService } from './disclosure-service.js';

export type { LegalOrderView } from './disclosure-cases.js';
export type { DisclosureService, LegalOrderInput } from './disclosure-service.js';

declare module '../module.js' {
  interface KluisServices {
    disclosure: DisclosureService;
  }
}

export const DISCLOSURE_RELEASE_JOB = 'disclosure.release_due';

export const disclosureModule = defineModule({
  name: 'disclosure',
  migrations: disclosureMigrations,
  tables: ['legal_orders'],
  catalogue: {
    fields: [],
    notPersonal: {
      legal_orders: {
        status: 'state of the case',
        authority: 'the authority that served the order (a public body)',
        legal_basis: 'the statutory provision the order relies on',
        order_reference: 'the order’s reference',
        scope_subjects: 'ids of the data subjects in scope',
        scope_records: 'ids of the records in scope',
        deadline: 'the order’s deadline',
        recorded_by: 'audit reference of who recorded it (an id)',
        disclosed_by: 'audit reference of who made the export (an id)',
        export_zip: 'the export, sealed with the tenant’s org key',
        export_sha256: 'hash of the export',
        tenant_audited: 'which steps the tenant’s audit trail holds',
      },
    },
  },
  messages: { nl: disclosureNl, en: disclosureEn },
  personalData: {
    module: 'disclosure',
    notLinked: {
      legal_orders:
        'cases of legally compelled disclosure: ids and the order’s details; each disclosed subject is named in the audit trail, which their access export lists',
    },
  },
  provides: ['disclosure'],
  needs: ['audit', 'orgs', 'rights', 'subjects', 'auth'],
  services: (deps) => ({ disclosure: createDisclosureService(deps) }),
  jobs(registry, deps) {
    registry.register(DISCLOSURE_RELEASE_JOB, z.object({}), async (_payload, { logger }) => {
      logger.info(
        await deps.disclosure.releaseDue(),
        'legal orders: tenants told after a non-disclosure order',
      );
    });
  },
  // Every morning at 07:05 UTC: tell tenants whose non-disclosure order ended.
  schedules: [{ name: DISCLOSURE_RELEASE_JOB, type: DISCLOSURE_RELEASE_JOB, dailyAt: '07:05' }],
  cli: registerDisclosureCommands,
  navigation: [
    {
      href: '/staff/legal-orders',
      label: 'disclosure.nav',
      order: 57,
      permission: 'legal_orders.manage',
      orgKinds: ['operator'],
    },
  ],
  routes: disclosureRoutes,
});
