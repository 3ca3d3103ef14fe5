/**
 * Tables of client relations (P4, P5). Migration range 0800-0899.
 *
 * Every relation has a data subject (`subject_id`): for a person it is that person, for an
 * organisation it stands for the relation's record, so a sole trader's address, signatures and
 * account details are erased in one go by destroying that key. Contact persons are subjects of
 * their own (found by blind index on email/phone, like every other channel).
 *
 * Personal values are `Buffer`s sealed with `keyring.encryptForSubject`, bound to
 * {table, column, row id}. In clear are only: an organisation's (company) name, enums, dates,
 * amounts, the mandate reference, the IBAN's blind index and its masked form (country + last
 * four digits, what support may see).
 */
import { type Migration, sql } from 'kysely';
import { binaryType, checkOneOf, type MigrationDb } from '../../db/dialect.js';

export const relationKinds = ['organisation', 'person'] as const;
export type RelationKind = (typeof relationKinds)[number];

export const relationStatuses = ['prospect', 'active', 'ended'] as const;
export type RelationStatus = (typeof relationStatuses)[number];

export const formsOfAddress = ['mr', 'ms', 'neutral'] as const;
export type FormOfAddress = (typeof formsOfAddress)[number];

export const contactRoles = ['general', 'billing', 'contract', 'technical'] as const;
export type ContactRole = (typeof contactRoles)[number];

/** How a signature reached us. */
export const signatureChannels = ['paper', 'email', 'in_person', 'web', 'other'] as const;
export type SignatureChannel = (typeof signatureChannels)[number];

export const mandateSchemes = ['CORE', 'B2B'] as const;
export type MandateScheme = (typeof mandateSchemes)[number];

export const mandateSequences = ['recurrent', 'one_off'] as const;
export type MandateSequence = (typeof mandateSequences)[number];

/** `completed`: a one-off mandate that has been collected. */
export const mandateStatuses = ['active', 'revoked', 'completed'] as const;
export type MandateStatus = (typeof mandateStatuses)[number];

/** SEPA sequence types in a pain.008 file. */
export const sequenceTypes = ['FRST', 'RCUR', 'OOFF', 'FNAL'] as const;
export type SequenceType = (typeof sequenceTypes)[number];

export interface RelationsTable {
  id: string;
  org_id: string;
  subject_id: string;
  kind: RelationKind;
  /** A company's name, in clear (organisations only). */
  organisation_name: string | null;
  /** Sealed (persons only). */
  given_name: Buffer | null;
  family_name: Buffer | null;
  form_of_address: Buffer | null;
  /** Sealed, optional. */
  email: Buffer | null;
  phone: Buffer | null;
  status: RelationStatus;
  /** ISO dates (YYYY-MM-DD); the end date drives retention. */
  started_at: string | null;
  ended_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface RelationContactsTable {
  id: string;
  org_id: string;
  relation_id: string;
  subject_id: string;
  role: ContactRole;
  given_name: Buffer | null;
  family_name: Buffer;
  form_of_address: Buffer;
  email: Buffer | null;
  phone: Buffer | null;
  created_at: string;
  updated_at: string;
}

export interface RelationAddressesTable {
  id: string;
  org_id: string;
  relation_id: string;
  country: Buffer;
  city: Buffer;
  postcode: Buffer;
  street: Buffer;
  house_number: Buffer;
  house_number_addition: Buffer | null;
  updated_at: string;
}

export interface RelationAgreementsTable {
  id: string;
  org_id: string;
  relation_id: string;
  title: string;
  version: string;
  /** ISO dates. */
  effective_from: string;
  effective_until: string | null;
  /** When it was signed (ISO date-time), the signer's typed name (sealed) and the channel. */
  signed_at: string | null;
  signed_by_name: Buffer | null;
  signature_channel: SignatureChannel | null;
  recorded_by_id: string;
  created_at: string;
}

export interface RelationAgreementDocumentsTable {
  id: string;
  org_id: string;
  agreement_id: string;
  file_name: Buffer;
  /** The PDF, sealed with the relation's subject key. */
  content: Buffer;
  size_bytes: number;
  created_at: string;
}

export interface RelationMandatesTable {
  id: string;
  org_id: string;
  relation_id: string;
  /** Unique per creditor (org). */
  reference: string;
  scheme: MandateScheme;
  sequence: MandateSequence;
  account_holder: Buffer;
  iban: Buffer;
  /** Blind index (`iban`) for look-ups. */
  iban_bidx: string;
  /** `NL** **** **** **** 4300`: country and last four, what support may see. */
  iban_masked: string;
  bic: Buffer | null;
  /** ISO date of signature. */
  signed_at: string;
  signature_name: Buffer | null;
  signature_channel: SignatureChannel;
  status: MandateStatus;
  first_collection_at: string | null;
  last_collection_at: string | null;
  revoked_at: string | null;
  created_at: string;
  updated_at: string;
}

/** One direct-debit transaction in an exported pain.008 file (bookkeeping, fiscal duty). */
export interface RelationCollectionsTable {
  id: string;
  org_id: string;
  /** The file's message id (GrpHdr/MsgId). */
  batch_id: string;
  mandate_id: string;
  sequence_type: SequenceType;
  amount_cents: number;
  /** Requested collection date (ISO date). */
  requested_at: string;
  created_by_id: string;
  created_at: string;
}

/** The organisation as SEPA creditor: its name, creditor identifier and account. */
export interface RelationCreditorsTable {
  org_id: string;
  name: string;
  creditor_identifier: string;
  iban: string;
  bic: string | null;
  updated_at: string;
}

export interface RelationsTables {
  relations: RelationsTable;
  relation_contacts: RelationContactsTable;
  relation_addresses: RelationAddressesTable;
  relation_agreements: RelationAgreementsTable;
  relation_agreement_documents: RelationAgreementDocumentsTable;
  relation_mandates: RelationMandatesTable;
  relation_collections: RelationCollectionsTable;
  relation_creditors: RelationCreditorsTable;
}

/** 0800: the relations, their contact persons and their address. */
async function createRelationTables(db: MigrationDb, bin: 'blob' | 'bytea'): Promise<void> {
  await db.schema
    .createTable('relations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
    .addColumn('subject_id', 'text', (c) => c.notNull().references('data_subjects.id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(checkOneOf('kind', relationKinds)))
    .addColumn('organisation_name', 'text')
    .addColumn('given_name', bin)
    .addColumn('family_name', bin)
    .addColumn('form_of_address', bin)
    .addColumn('email', bin)
    .addColumn('phone', bin)
    .addColumn('status', 'text', (c) => c.notNull().check(checkOneOf('status', relationStatuses)))
    .addColumn('started_at', 'text')
    .addColumn('ended_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('relations_org_status').on('relations').columns(['org_id', 'status']).execute();

  await db.schema
    .createTable('relation_contacts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
    .addColumn('relation_id', 'text', (c) => c.notNull().references('relations.id').onDelete('cascade'))
    .addColumn('subject_id', 'text', (c) => c.notNull().references('data_subjects.id'))
    .addColumn('role', 'text', (c) => c.notNull().check(checkOneOf('role', contactRoles)))
    .addColumn('given_name', bin)
    .addColumn('family_name', bin, (c) => c.notNull())
    .addColumn('form_of_address', bin, (c) => c.notNull())
    .addColumn('email', bin)
    .addColumn('phone', bin)
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('relation_contacts_relation')
    .on('relation_contacts')
    .columns(['org_id', 'relation_id'])
    .execute();

  await db.schema
    .createTable('relation_addresses')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
    .addColumn('relation_id', 'text', (c) =>
      c.notNull().unique().references('relations.id').onDelete('cascade'),
    )
    .addColumn('country', bin, (c) => c.notNull())
    .addColumn('city', bin, (c) => c.notNull())
    .addColumn('postcode', bin, (c) => c.notNull())
    .addColumn('street', bin, (c) => c.notNull())
    .addColumn('house_number', bin, (c) => c.notNull())
    .addColumn('house_number_addition', bin)
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
}

/** 0800: agreements with a relation and their signed documents. */
async function createAgreementTables(db: MigrationDb, bin: 'blob' | 'bytea'): Promise<void> {
  await db.schema
    .createTable('relation_agreements')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
    .addColumn('relation_id', 'text', (c) => c.notNull().references('relations.id').onDelete('cascade'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('effective_from', 'text', (c) => c.notNull())
    .addColumn('effective_until', 'text')
    .addColumn('signed_at', 'text')
    .addColumn('signed_by_name', bin)
    .addColumn('signature_channel', 'text', (c) =>
      c.check(sql`signature_channel is null or ${checkOneOf('signature_channel', signatureChannels)}`),
    )
    .addColumn('recorded_by_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('relation_agreements_relation')
    .on('relation_agreements')
    .columns(['org_id', 'relation_id'])
    .execute();

  await db.schema
    .createTable('relation_agreement_documents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
    .addColumn('agreement_id', 'text', (c) =>
      c.notNull().unique().references('relation_agreements.id').onDelete('cascade'),
    )
    .addColumn('file_name', bin, (c) => c.notNull())
    .addColumn('content', bin, (c) => c.notNull())
    .addColumn('size_bytes', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
}

/** 0800: direct-debit mandates, collections and the org's creditor details (P5). */
async function createFinanceTables(db: MigrationDb, bin: 'blob' | 'bytea'): Promise<void> {
  await db.schema
    .createTable('relation_mandates')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
    .addColumn('relation_id', 'text', (c) => c.notNull().references('relations.id').onDelete('cascade'))
    .addColumn('reference', 'text', (c) => c.notNull())
    .addColumn('scheme', 'text', (c) => c.notNull().check(checkOneOf('scheme', mandateSchemes)))
    .addColumn('sequence', 'text', (c) => c.notNull().check(checkOneOf('sequence', mandateSequences)))
    .addColumn('account_holder', bin, (c) => c.notNull())
    .addColumn('iban', bin, (c) => c.notNull())
    .addColumn('iban_bidx', 'text', (c) => c.notNull())
    .addColumn('iban_masked', 'text', (c) => c.notNull())
    .addColumn('bic', bin)
    .addColumn('signed_at', 'text', (c) => c.notNull())
    .addColumn('signature_name', bin)
    .addColumn('signature_channel', 'text', (c) =>
      c.notNull().check(checkOneOf('signature_channel', signatureChannels)),
    )
    .addColumn('status', 'text', (c) => c.notNull().check(checkOneOf('status', mandateStatuses)))
    .addColumn('first_collection_at', 'text')
    .addColumn('last_collection_at', 'text')
    .addColumn('revoked_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  // A mandate reference identifies the mandate for the creditor: unique per org.
  await db.schema
    .createIndex('relation_mandates_reference')
    .on('relation_mandates')
    .columns(['org_id', 'reference'])
    .unique()
    .execute();
  await db.schema
    .createIndex('relation_mandates_relation')
    .on('relation_mandates')
    .columns(['org_id', 'relation_id'])
    .execute();
  await db.schema
    .createIndex('relation_mandates_iban')
    .on('relation_mandates')
    .columns(['org_id', 'iban_bidx'])
    .execute();

  await db.schema
    .createTable('relation_collections')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
    .addColumn('batch_id', 'text', (c) => c.notNull())
    .addColumn('mandate_id', 'text', (c) => c.notNull().references('relation_mandates.id'))
    .addColumn('sequence_type', 'text', (c) => c.notNull().check(checkOneOf('sequence_type', sequenceTypes)))
    .addColumn('amount_cents', 'bigint', (c) => c.notNull())
    .addColumn('requested_at', 'text', (c) => c.notNull())
    .addColumn('created_by_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('relation_collections_batch')
    .on('relation_collections')
    .columns(['org_id', 'batch_id'])
    .execute();

  await db.schema
    .createTable('relation_creditors')
    .addColumn('org_id', 'text', (c) => c.primaryKey().references('orgs.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('creditor_identifier', 'text', (c) => c.notNull())
    .addColumn('iban', 'text', (c) => c.notNull())
    .addColumn('bic', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
}

export const relationsMigrations: Record<string, Migration> = {
  '0800_relations': {
    async up(db) {
      const bin = binaryType(db);
      await createRelationTables(db, bin);
      await createAgreementTables(db, bin);
      await createFinanceTables(db, bin);
    },
  },
  // Deleting a relation or a mandate (retention sweep) makes the database check every table whose
  // foreign key references it. Those checks look the child rows up by the referencing column
  // alone, which the (org_id, relation_id) indexes cannot serve: every deleted row meant a scan of
  // the child table. Indexes led by the referencing column serve both the checks and the
  // org-scoped look-ups (`org_id = ? and relation_id = ?`), so they replace the old ones.
  '0801_relations_foreign_key_indexes': {
    async up(db) {
      await db.schema
        .createIndex('relation_collections_mandate')
        .on('relation_collections')
        .column('mandate_id')
        .execute();
      for (const table of ['relation_contacts', 'relation_agreements', 'relation_mandates']) {
        await db.schema.dropIndex(`${table}_relation`).execute();
        await db.schema.createIndex(`${table}_relation_id`).on(table).column('relation_id').execute();
      }
    },
  },
  // The access export (P15) and erasure find a person's relations and contact-person rows by
  // subject; without these SQLite walked every relation of the organisation (bench/rights).
  '0802_relations_subject_indexes': {
    async up(db) {
      for (const table of ['relations', 'relation_contacts']) {
        await db.schema.createIndex(`${table}_subject`).on(table).columns(['org_id', 'subject_id']).execute();
      }
    },
  },
};
