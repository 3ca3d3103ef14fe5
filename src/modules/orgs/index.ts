/**
 * Organisations: the operator and its tenants, the tenancy boundary itself (every other table
 * carries `org_id`). Public surface of the module: the manifest and what other modules use.
 */
import { defineModule } from '../module.js';
import { orgsFields } from './orgs-fields.js';
import { installHostRouting } from './orgs-hosts.js';
import { orgsPersonalData } from './orgs-personal-data.js';
import { createOrgsRepository } from './orgs-repository.js';
import { orgsMigrations } from './orgs-schema.js';
import { createOrgsService, type OrgsService } from './orgs-service.js';

export { linkOrgOf, siteBaseOf, siteOriginOf } from './orgs-hosts.js';
export { publicOrgOf } from './orgs-public.js';
export { normaliseHost } from './orgs-repository.js';
export type { Mailbox, OrgStatus } from './orgs-schema.js';
export { mailboxes, orgStatuses } from './orgs-schema.js';
export type { Org, OrgsService } from './orgs-service.js';
export { parseHostName, parseInboundAddress } from './orgs-service.js';

declare module '../module.js' {
  interface KluisServices {
    orgs: OrgsService;
  }
}

export { createOrgsRepository, type OrgsRepository } from './orgs-repository.js';

export const orgsModule = defineModule({
  name: 'orgs',
  migrations: orgsMigrations,
  tables: ['orgs', 'org_hosts', 'org_addresses'],
  catalogue: orgsFields,
  personalData: orgsPersonalData,
  provides: ['orgs'],
  services: (deps) => ({ orgs: createOrgsService(deps) }),
  setup: (app, deps) =>
    installHostRouting(app, { publicOrigin: deps.config.publicOrigin, orgs: createOrgsRepository(deps.db) }),
});
