/**
 * Personal data held by client relations (P4, P5), exactly the fields the statement names:
 * contact details, form of address (the only trace of gender), billing address, signatures and
 * direct-debit data. `readRoles` is what `relations-access.ts` checks before decrypting:
 * support and finance see contact data and addresses; only finance sees account holder, IBAN,
 * BIC, signatures and signed documents; support sees the masked IBAN. Admins and owners read
 * none of it unless they also hold one of these roles.
 */
import type { CatalogueField, ModuleCatalogue } from '../../shared/catalogue.js';

type Shared = Omit<CatalogueField, 'table' | 'column'>;

const contact: Shared = {
  category: 'contact_details',
  purposes: ['contract_administration'],
  legalBasis: 'contract',
  subjects: 'client',
  retention: 'client_relation',
  readRoles: ['support', 'finance'],
  protection: 'subject_key',
};

const address: Shared = {
  ...contact,
  category: 'billing_address',
  purposes: ['contract_administration', 'bookkeeping'],
};

const formOfAddress: Shared = { ...contact, category: 'form_of_address' };

const signature: Shared = {
  ...contact,
  category: 'signature',
  readRoles: ['finance'],
};

const directDebit: Shared = {
  category: 'direct_debit',
  purposes: ['direct_debit_collection', 'bookkeeping'],
  legalBasis: 'contract',
  subjects: 'client',
  retention: 'fiscal_7y',
  readRoles: ['finance'],
  protection: 'subject_key',
};

/**
 * Name and email address also serve the newsletter and the request to be a reference customer
 * (the consent registry's purposes, `contactPoints` in relations-personal-data.ts), on consent only.
 */
const mailedOnConsent: Pick<CatalogueField, 'purposes' | 'basisFor'> = {
  purposes: ['contract_administration', 'marketing'],
  basisFor: { marketing: 'consent' },
};

const personFields = (table: string): CatalogueField[] => [
  { table, column: 'given_name', ...contact, ...(table === 'relations' ? mailedOnConsent : {}) },
  { table, column: 'family_name', ...contact, ...(table === 'relations' ? mailedOnConsent : {}) },
  { table, column: 'form_of_address', ...formOfAddress },
  { table, column: 'email', ...contact, ...mailedOnConsent },
  { table, column: 'phone', ...contact },
];

export const relationsFields: ModuleCatalogue = {
  fields: [
    ...personFields('relations'),
    ...personFields('relation_contacts'),
    { table: 'relation_addresses', column: 'country', ...address },
    { table: 'relation_addresses', column: 'city', ...address },
    { table: 'relation_addresses', column: 'postcode', ...address },
    { table: 'relation_addresses', column: 'street', ...address },
    { table: 'relation_addresses', column: 'house_number', ...address },
    { table: 'relation_addresses', column: 'house_number_addition', ...address },
    { table: 'relation_agreements', column: 'signed_by_name', ...signature },
    {
      table: 'relation_agreement_documents',
      column: 'content',
      ...signature,
      category: 'agreement',
      retention: 'fiscal_7y',
    },
    {
      table: 'relation_agreement_documents',
      column: 'file_name',
      ...signature,
      category: 'agreement',
      retention: 'fiscal_7y',
    },
    { table: 'relation_mandates', column: 'account_holder', ...directDebit },
    { table: 'relation_mandates', column: 'iban', ...directDebit },
    {
      table: 'relation_mandates',
      column: 'iban_bidx',
      ...directDebit,
      readRoles: [],
      protection: 'blind_index',
    },
    // Country and last four digits: enough for support to tell accounts apart, not to use one.
    {
      table: 'relation_mandates',
      column: 'iban_masked',
      ...directDebit,
      readRoles: ['support', 'finance'],
      protection: 'plain',
    },
    { table: 'relation_mandates', column: 'bic', ...directDebit },
    { table: 'relation_mandates', column: 'signature_name', ...directDebit, category: 'signature' },
    {
      table: 'relation_collections',
      column: 'amount_cents',
      ...directDebit,
      purposes: ['bookkeeping'],
      legalBasis: 'legal_obligation',
      protection: 'plain',
    },
  ],
  notPersonal: {
    relations: {
      kind: 'organisation or person (fixed list)',
      organisation_name: "a company's name (a person's name is stored sealed in given_name/family_name)",
      status: 'relation status from a fixed list',
    },
    relation_contacts: { role: 'contact role from a fixed list (billing, contract, …)' },
    relation_agreements: {
      title: 'title of the agreement text (the same for every client)',
      version: 'version of the agreement text',
      effective_from: 'contract date',
      effective_until: 'contract date',
      signature_channel: 'channel from a fixed list',
    },
    relation_agreement_documents: { size_bytes: 'file size' },
    relation_mandates: {
      reference: "mandate reference chosen by the creditor (the organisation's own numbering)",
      scheme: 'SEPA scheme (CORE/B2B)',
      sequence: 'recurrent or one-off',
      signature_channel: 'channel from a fixed list',
      status: 'mandate status from a fixed list',
    },
    relation_collections: { sequence_type: 'SEPA sequence type (FRST/RCUR/OOFF)' },
    relation_creditors: {
      name: "the organisation's own name as creditor",
      creditor_identifier: "the organisation's SEPA creditor identifier",
      iban: "the organisation's own account",
      bic: "the organisation's own bank",
    },
  },
};
