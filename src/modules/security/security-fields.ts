/** Personal data held by the security module: the access log (P12) and the audit trail. */
import type { ModuleCatalogue } from '../../shared/catalogue.js';

const accessLog = {
  category: 'technical_metadata',
  purposes: ['system_security'],
  legalBasis: 'legitimate_interest',
  subjects: 'visitor',
  retention: 'access_log',
  readRoles: ['security'],
} as const;

export const securityFields: ModuleCatalogue = {
  fields: [
    { table: 'access_log', column: 'ip', ...accessLog, protection: 'truncated_later' },
    { table: 'access_log', column: 'user_agent', ...accessLog, protection: 'plain' },
    {
      table: 'audit_log',
      column: 'actor',
      category: 'technical_metadata',
      purposes: ['system_security'],
      legalBasis: 'legal_obligation',
      subjects: 'staff',
      retention: 'audit_trail',
      readRoles: ['security'],
      protection: 'plain',
    },
  ],
  notPersonal: {
    access_log: {
      ip_truncated: 'flag',
      method: 'HTTP method',
      route: 'route pattern, never the raw path',
      status: 'HTTP status',
    },
    audit_log: {
      seq: 'chain position',
      action: 'action name',
      target_type: 'entity type name',
      purpose: 'purpose name',
      fields: 'field names, never values',
      meta: 'counts, codes and ids, never values',
      prev_hash: 'chain hash',
      hash: 'chain hash',
    },
    audit_head: { seq: 'chain position', hash: 'chain hash' },
    audit_checkpoints: { seq: 'chain position', hash: 'chain hash', signature: 'Ed25519 signature' },
  },
};
