/**
 * Personal data held by the register module: agreement documents and the parties named in
 * processor agreements (signatories). Everything else describes organisations, not people.
 */
import type { ModuleCatalogue } from '../../shared/catalogue.js';

const agreement = {
  category: 'agreement',
  purposes: ['contract_administration'],
  legalBasis: 'contract',
  subjects: 'client',
  retention: 'processor_agreement',
  readRoles: ['owner', 'admin', 'privacy_officer'],
} as const;

export const registerFields: ModuleCatalogue = {
  fields: [
    { table: 'processor_agreements', column: 'parties', ...agreement, protection: 'plain' },
    { table: 'register_documents', column: 'content', ...agreement, protection: 'org_key' },
    // A client's reasons for objecting to a sub-processor may name people (Art. 28(2)).
    { table: 'subprocessor_objections', column: 'reasons', ...agreement, protection: 'plain' },
  ],
  notPersonal: {
    register_settings: {
      display_name: 'name of the organisation',
      contact_address: 'published address of the organisation',
      contact_email: 'published (role) address of the organisation',
      privacy_email: 'published privacy address of the organisation',
      phone: 'published telephone number of the organisation',
      website: 'website of the organisation',
      terms_url: 'link to the general terms',
      channels: 'names of intake channels from a fixed list',
    },
    processing_activities: {
      purpose: 'purpose id from the catalogue',
      description: 'description of a processing activity',
      recipients: 'categories of recipients (organisations)',
      transfers: 'description of transfers outside the EEA',
      security_measures: 'description of security measures',
    },
    subprocessors: {
      name: 'name of a company (a legal person)',
      service: 'description of a service',
      location: 'location of a data centre or office',
      country: 'country code',
      data_categories: 'data category ids from the catalogue',
      status: 'active or ended',
      lifecycle: 'lifecycle state from a fixed list',
      announced_at: 'time of the announcement',
      effective_on: 'date the notice period ends',
      transfer_mechanism: 'transfer mechanism from a fixed list',
      scc_date: 'date of the standard contractual clauses',
      transfer_assessment: 'assessment of a transfer between companies',
      egress_hosts: 'host names of a company',
    },
    egress_webhooks: { url: 'address of a company system (webhook)' },
    register_stamp: { stamp: 'random value replaced on every change to the register (a cache key)' },
    subprocessor_objections: {
      subprocessor_id: 'sub-processor id (structural)',
      client_org_id: 'organisation id (structural)',
      objected_by: 'staff user id (structural)',
    },
    processor_agreements: {
      counterparty_kind: 'client or sub-processor',
      version: 'version label of an agreement',
      signed_on: 'date an agreement was signed',
    },
    register_documents: {
      filename: 'file name of an uploaded agreement',
      content_type: 'media type',
      size_bytes: 'size',
      sha256: 'hash of the document',
    },
  },
};
