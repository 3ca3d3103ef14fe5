/**
 * The audit trail and the access log are never linked to people (P11, P12): the trail holds ids and
 * field names only, the access log cannot be searched per person. A subject's access export lists
 * the consultations of their records (from the trail) and says so of the access log.
 */
import type { PersonalDataProvider } from '../personal-data.js';

export const securityPersonalData: PersonalDataProvider = {
  module: 'security',
  notLinked: {
    access_log:
      'IP address and user agent of requests: deliberately never linked to people (P12), so it cannot be searched per person; the export says so',
    audit_log:
      'the tamper-evident audit trail: ids and field names only, never values, and it cannot be filtered or rewritten per person',
    audit_head: 'head of the audit chain',
    audit_checkpoints: 'signed checkpoints of the audit chain',
  },
};
