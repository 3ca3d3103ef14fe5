/**
 * Offboarding holds no personal value of its own (the export is sealed with the tenant's org key
 * and removed at the end); it contributes the replay of an offboarding to the erasure ledger, so a
 * restored backup keeps an offboarded tenant erased.
 */
import type { PersonalDataProvider } from '../personal-data.js';
import { tenantKeysTarget, tenantRowsTarget } from './offboarding-rows.js';

export const offboardingPersonalData: PersonalDataProvider = {
  module: 'offboarding',
  notLinked: {
    offboardings:
      'the record of a tenant’s offboarding: ids, dates and counts; the export is sealed with the org key and removed when it ends',
  },
  replayTargets: [tenantRowsTarget, tenantKeysTarget],
};
