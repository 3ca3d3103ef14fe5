/**
 * Client relations (P4, P5): relations and contact persons, form of address, billing addresses,
 * agreements with signed documents and SEPA mandates with the pain.008 export. Public surface of
 * the module: the manifest and what other modules use.
 */
import { defineModule } from '../module.js';
import { relationsFields } from './relations-fields.js';
import { relationsEn, relationsNl } from './relations-messages.js';
import { relationsPersonalData } from './relations-personal-data.js';
import { relationsRoutes } from './relations-routes.js';
import { relationsMigrations } from './relations-schema.js';

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
