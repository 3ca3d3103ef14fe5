/** The orgs module holds organisations (companies), not people. */
import type { ModuleCatalogue } from '../../shared/catalogue.js';

export const orgsFields: ModuleCatalogue = {
  fields: [],
  notPersonal: {
    orgs: {
      kind: 'operator or tenant',
      name: 'name of a company (a legal person, not a natural person)',
      slug: 'organisation slug',
    },
  },
};
