/** Tenant profiles describe companies (legal persons), not people. */
import type { ModuleCatalogue } from '../../shared/catalogue.js';

export const tenantsFields: ModuleCatalogue = {
  fields: [],
  notPersonal: {
    tenant_profiles: {
      kvk: 'Chamber of Commerce number of a company',
      country: 'country of a company',
      languages: 'languages of an organisation’s pages',
      agreement_kind: 'uploaded or standard processor agreement',
      agreement_id: 'the client agreement in the operator’s register',
      agreement_version: 'version of the processor agreement',
    },
  },
};
