/**
 * Client relations (P4, P5): relations and contact persons, form of address, billing addresses,
 * agreements with signed documents and SEPA mandates with the pain.008 export. Public surface of
 * the module: the manifest and what other modules use.
 */
import { defineModule } from '../module.js';
import { type AgreementsService, createAgreementsService } from './relations-agreements.js';
import { relationsFields } from './relations-fields.js';
import { createMandatesService, type MandatesService } from './relations-mandates.js';
import { relationsEn, relationsNl } from './relations-messages.js';
import { relationsPersonalData } from './relations-personal-data.js';
import { relationsRoutes } from './relations-routes.js';
import { relationsMigrations } from './relations-schema.js';
import { createRelationsService, type RelationsService } from './relations-service.js';

declare module '../module.js' {
  interface KluisServices {
    /** Client relations, contact persons and billing addresses. */
    relations: RelationsService;
    /** Agreements with relations: signed PDFs and typed signatures. */
    relationAgreements: AgreementsService;
    /** SEPA mandates, the creditor details and direct-debit collections (finance). */
    mandates: MandatesService;
  }
}

export const relationsModule = defineModule({
  name: 'relations',
  migrations: relationsMigrations,
  tables: [
    'relations',
    'relation_contacts',
    'relation_addresses',
    'relation_agreements',
    'relation_agreement_documents',
    'relation_mandates',
    'relation_collections',
    'relation_creditors',
  ],
  catalogue: relationsFields,
  messages: { nl: relationsNl, en: relationsEn },
  provides: ['relations', 'relationAgreements', 'mandates'],
  needs: ['audit'],
  services: (deps) => ({
    relations: createRelationsService(deps),
    relationAgreements: createAgreementsService(deps),
    mandates: createMandatesService(deps),
  }),
  personalData: relationsPersonalData,
  navigation: [
    { href: '/staff/relations', label: 'relations.nav.relations', order: 20, permission: 'relations.read' },
    {
      href: '/staff/direct-debits',
      label: 'relations.nav.directDebits',
      order: 30,
      permission: 'relations.manage_mandates',
    },
  ],
  routes: relationsRoutes,
});
