/** The OpenDSR records hold ids, dates, codes and the controller's endpoints: nothing about people. */
import type { ModuleCatalogue } from '../../shared/catalogue.js';

export const opendsrFields: ModuleCatalogue = {
  fields: [],
  notPersonal: {
    opendsr_requests: {
      request_type: 'which right (access, portability, erasure)',
      regulation: 'gdpr or ccpa',
      api_version: 'the OpenDSR version the controller asked for',
      request_status: 'workflow state in the OpenDSR vocabulary',
      callback_urls: 'the controller’s own system endpoints (a company’s, not a person’s)',
    },
    opendsr_callbacks: {
      url: 'the controller’s own system endpoint',
      request_status: 'workflow state in the OpenDSR vocabulary',
      state: 'delivery state',
      attempts: 'delivery attempts',
      last_error: 'HTTP status or error code of the last attempt',
    },
  },
};
