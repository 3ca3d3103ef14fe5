/**
 * The processing register describes the organisation and the companies it works with, not people;
 * a subject's access export uses it for the controller, purposes and recipients sections.
 */
import type { PersonalDataProvider } from '../personal-data.js';

export const registerPersonalData: PersonalDataProvider = {
  module: 'register',
  notLinked: {
    register_settings: 'the organisation’s own published details (used for the controller’s section)',
    processing_activities: 'the register’s activities (used for the purposes and recipients sections)',
    subprocessors: 'companies that process data for the organisation (used for the recipients section)',
    processor_agreements: 'agreements between companies',
    register_documents: 'agreement documents between companies',
    egress_webhooks: 'webhook addresses of company systems',
    subprocessor_objections: 'a client company’s objection to a sub-processor',
    register_stamp: 'one random value that moves with every change to the register (a cache key)',
  },
};
