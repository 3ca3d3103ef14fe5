/** The orgs module holds organisations (companies), not people. */
import type { ModuleCatalogue } from '../../shared/catalogue.js';

export const orgsFields: ModuleCatalogue = {
  fields: [],
  notPersonal: {
    orgs: {
      kind: 'operator or tenant',
      name: 'name of a company (a legal person, not a natural person)',
      slug: 'organisation slug',
      status: 'whether the organisation is active, suspended or being offboarded',
      require_totp: 'whether its staff must use two-step verification',
    },
    org_hosts: {
      host: 'a host name of the organisation’s public pages',
      org_id: 'the organisation',
    },
    org_addresses: {
      address: 'an inbound mailbox address of the organisation (a role address, not a person’s)',
      org_id: 'the organisation',
      mailbox: 'contact or privacy',
    },
  },
};
