/** Organisations are companies, not people: nothing here is linked to a data subject. */
import type { PersonalDataProvider } from '../personal-data.js';

export const orgsPersonalData: PersonalDataProvider = {
  module: 'orgs',
  notLinked: {
    orgs: 'organisations (companies), not people',
  },
};
