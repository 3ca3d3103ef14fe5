/**
 * Organisations: the operator and its tenants, the tenancy boundary itself (every other table
 * carries `org_id`). Public surface of the module: the manifest and what other modules use.
 */
import { defineModule } from '../module.js';
import { orgsFields } from './orgs-fields.js';
import { orgsPersonalData } from './orgs-personal-data.js';
import { orgsMigrations } from './orgs-schema.js';

export { createOrgsRepository, type Org, type OrgsRepository } from './orgs-repository.js';

export const orgsModule = defineModule({
  name: 'orgs',
  migrations: orgsMigrations,
  tables: ['orgs'],
  catalogue: orgsFields,
  personalData: orgsPersonalData,
});
