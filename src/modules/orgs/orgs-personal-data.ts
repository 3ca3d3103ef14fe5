/** Organisations are companies, not people: nothing here is linked to a data subject. */
import type { PersonalDataProvider } from '../personal-data.js';

export const orgsPersonalData: PersonalDataProvider = {
  module: 'orgs',
  notLinked: {
    orgs: 'organisations (companies), not people',
    org_hosts: 'host names of organisations, not people',
    org_addresses: 'role mail addresses of organisations (contact, privacy), not people',
  },
};
