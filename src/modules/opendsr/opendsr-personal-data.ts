/** The OpenDSR records link to rights requests by id only; the identities live sealed in those. */
import type { PersonalDataProvider } from '../personal-data.js';

export const opendsrPersonalData: PersonalDataProvider = {
  module: 'opendsr',
  notLinked: {
    opendsr_requests: 'the controller’s request id and its rights request id; no identity',
    opendsr_callbacks: 'status reports to the controller’s systems; no identity',
  },
};
