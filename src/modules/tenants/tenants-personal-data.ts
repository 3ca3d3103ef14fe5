/** Tenant profiles are companies' details, not people's. */
import type { PersonalDataProvider } from '../personal-data.js';

export const tenantsPersonalData: PersonalDataProvider = {
  module: 'tenants',
  notLinked: {
    tenant_profiles: 'details of tenant organisations (companies), not people',
  },
};
