/**
 * The rights module's personal fields (P5): what a requester tells us (sealed with the org key,
 * because at receipt nobody knows yet whom it is about), the exports (sealed with the subject's
 * key) and the consent registry (which purpose, which event, how: no values beyond that).
 */
import type { CatalogueField, ModuleCatalogue } from '../../shared/catalogue.js';

const request = {
  category: 'rights_request',
  purposes: ['rights_handling'],
  legalBasis: 'legal_obligation',
  subjects: 'contact',
  retention: 'rights_request',
  readRoles: ['privacy_officer'],
  protection: 'org_key',
} as const;

const consent = {
  category: 'consent',
  purposes: ['rights_handling'],
  legalBasis: 'legal_obligation',
  subjects: 'contact',
  retention: 'consent_record',
  readRoles: ['privacy_officer'],
  protection: 'plain',
} as const;

const fields: CatalogueField[] = [
  { table: 'rights_requests', column: 'requester_email', ...request },
  { table: 'rights_requests', column: 'requester_phone', ...request },
  {
    table: 'rights_requests',
    column: 'requester_email_bidx',
    ...request,
    readRoles: [],
    protection: 'blind_index',
  },
  {
    table: 'rights_requests',
    column: 'requester_phone_bidx',
    ...request,
    readRoles: [],
    protection: 'blind_index',
  },
  { table: 'rights_requests', column: 'details', ...request },
  { table: 'rights_requests', column: 'identity_note', ...request },
  { table: 'rights_requests', column: 'extension_reason', ...request },
  { table: 'rights_requests', column: 'outcome_reason', ...request },
  { table: 'rights_exports', column: 'content', ...request, protection: 'subject_key' },
  { table: 'consent_records', column: 'purpose', ...consent },
  { table: 'consent_records', column: 'event', ...consent },
  { table: 'consent_records', column: 'method', ...consent },
];

export const rightsFields: ModuleCatalogue = {
  fields,
  notPersonal: {
    rights_requests: {
      right_kind: 'which right is exercised',
      channel: 'how the request reached us (portal, email, staff)',
      locale: 'the language to answer in',
      status: 'workflow state',
      token_hash: 'SHA-256 of the status-link secret',
      verification_method: 'how identity was established (a code)',
      pause_reason: 'why the deadline is paused (a code)',
      paused_days: 'days the deadline stood still',
      extended_months: 'months the deadline was extended by',
      due_on: 'the legal deadline',
      outcome: 'fulfilled, partly fulfilled or refused',
    },
    rights_request_events: {
      kind: 'what happened to the request (a code)',
      actor_ref: 'a staff user id, requester or system',
      meta: 'counts and codes, no personal values',
    },
    rights_exports: { size_bytes: 'size of the export' },
    consent_records: {
      statement_version: 'the privacy statement version shown',
      recorded_by: 'a staff user id, requester or system',
    },
  },
};
