/**
 * Tenants (P7, P9): the operator onboards its clients as controllers — org, profile, processor
 * agreement on record, invitation of the first owner — lists them with metadata and counts,
 * suspends them, and assigns their host names and inbound addresses. Public surface of the
 * module: the manifest and what other modules use.
 */
import { defineModule, type ModuleDeps, recurringJob } from '../module.js';
import { registerTenantCommands } from './tenants-cli.js';
import { tenantsFields } from './tenants-fields.js';
import { tenantsEn, tenantsNl } from './tenants-messages.js';
import { ORPHAN_KEYS_JOB, sweepOrphanOrgKeys } from './tenants-orphan-keys.js';
import { tenantsPersonalData } from './tenants-personal-data.js';
import { tenantsRoutes } from './tenants-routes.js';
import { tenantsMigrations } from './tenants-schema.js';
import { createTenantsService, type TenantsService } from './tenants-service.js';

export type { TenantsService, TenantView } from './tenants-service.js';

declare module '../module.js' {
  interface KluisServices {
    tenants: TenantsService;
  }
}

export const tenantsModule = defineModule({
  name: 'tenants',
  migrations: tenantsMigrations,
  tables: ['tenant_profiles'],
  catalogue: tenantsFields,
  personalData: tenantsPersonalData,
  messages: { nl: tenantsNl, en: tenantsEn },
  provides: ['tenants'],
  needs: ['orgs', 'auth', 'audit', 'register', 'retention'],
  services: ({ db, clock, config, keyring, orgs, auth, audit, register, retention }) => ({
    tenants: createTenantsService({
      db,
      clock,
      keyring,
      orgs,
      auth,
      audit,
      register,
      retention,
      operatorAddresses: [config.intake.contactAddress, config.intake.privacyAddress].filter(
        (a): a is string => a !== undefined,
      ),
    }),
  }),
  // Every night: org keys left in the key store by an onboarding that died mid-way (see
  // tenants-orphan-keys.ts), removed and audited.
  ...recurringJob(
    ORPHAN_KEYS_JOB,
    { dailyAt: '04:25' },
    'orphan org keys swept',
    (deps: ModuleDeps<'orgs' | 'audit'>) => sweepOrphanOrgKeys(deps),
  ),
  cli: registerTenantCommands,
  navigation: [
    {
      href: '/staff/organisation',
      label: 'tenants.own.nav',
      order: 58,
      permission: 'users.manage',
      orgKinds: ['tenant'],
    },
    {
      href: '/staff/tenants',
      label: 'tenants.nav',
      order: 55,
      permission: 'tenants.manage',
      orgKinds: ['operator'],
    },
  ],
  routes: tenantsRoutes,
});
