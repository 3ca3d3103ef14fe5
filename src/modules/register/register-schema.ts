/**
 * Tables of the processing register (Art. 30), sub-processors (P14) and processor agreements
 * (Art. 28). Migration range 0900-0949 (the statement module uses 0950-0999).
 *
 * - `register_settings`: per org, who we are as the statement says it (published contact details
 *   of the organisation, its privacy address, the link to its general terms, the intake channels).
 * - `processing_activities`: the privacy officer's completion of an activity that is DERIVED from
 *   the field catalogue (one per purpose): free-text description, recipients, transfers outside the
 *   EEA and security measures. Categories, subjects, legal bases and retention are never stored:
 *   they are computed from the catalogue every time, so they cannot drift from the code.
 * - `subprocessors`: IT suppliers that store or process data for the org (P14).
 * - `processor_agreements`: agreements with a client (tenant org) or a sub-processor; a new version
 *   is a new row, so the history stays on record.
 * - `register_documents`: uploaded agreement documents (PDF), sealed with the org key (they carry
 *   signatures), bound to their row.
 * - `register_stamp`: one row whose random `stamp` is replaced by a trigger on every change to the
 *   register's tables or `orgs`, by any code path, tool or node (register-facts.ts caches by it).
 */
import { type Migration, sql } from 'kysely';
import { binaryType, checkOneOf, isPostgres, type MigrationDb } from '../../db/dialect.js';

export interface RegisterSettingsTable {
  org_id: string;
  /** The name the statement uses (defaults to the org's name when null). */
  display_name: string | null;
  /** Postal/visiting address, several lines. */
  contact_address: string;
  contact_email: string;
  privacy_email: string;
  phone: string;
  website: string;
  /** Link to the general terms (P13); empty when the org has none. */
  terms_url: string;
  /** JSON array of intake channel ids (`web_form`, `email`, `phone`, `api`, `other`). */
  channels: string;
  updated_at: string;
}

export interface ProcessingActivitiesTable {
  id: string;
  org_id: string;
  /** The catalogue purpose this activity describes (one activity per purpose and org). */
  purpose: string;
  /** Free-text description (markdown), shown in the register and the statement. */
  description: string;
  /** Recipients beyond the registered sub-processors (free text). */
  recipients: string;
  /** Transfers outside the EEA beyond those implied by sub-processors (free text). */
  transfers: string;
  /** Organisational and technical measures beyond the catalogue's protections (free text). */
  security_measures: string;
  updated_at: string;
}

/** Whether the sub-processor works for the org now (kept for the original check constraint). */
export type SubprocessorStatus = 'active' | 'ended';

/**
 * Art. 28(2): a new sub-processor is proposed, announced to the clients with a notice period
 * (they may object until `effective_on`), then active, and finally ended.
 */
export const subprocessorLifecycles = ['proposed', 'announced', 'active', 'ended'] as const;
export type SubprocessorLifecycle = (typeof subprocessorLifecycles)[number];

/** Art. 46: how a transfer outside the EEA is safeguarded. */
export const transferMechanisms = ['adequacy', 'scc', 'bcr'] as const;
export type TransferMechanism = (typeof transferMechanisms)[number];

export interface SubprocessorsTable {
  id: string;
  org_id: string;
  name: string;
  service: string;
  /** City / data centre region, free text. */
  location: string;
  /** ISO 3166-1 alpha-2 country code. */
  country: string;
  /** JSON array of catalogue data categories. */
  data_categories: string;
  /** `active` only while `lifecycle` is active; `ended` otherwise (see `lifecycle`). */
  status: SubprocessorStatus;
  lifecycle: SubprocessorLifecycle;
  /** When the announcement was sent (ISO time), null before. */
  announced_at: string | null;
  /** YYYY-MM-DD: the earliest date an announced sub-processor may start (end of the notice). */
  effective_on: string | null;
  transfer_mechanism: TransferMechanism | null;
  /** YYYY-MM-DD: the date of the standard contractual clauses (with `scc`). */
  scc_date: string | null;
  /** A short transfer impact assessment (outside the EEA). */
  transfer_assessment: string;
  /** JSON array of `host` or `host:port` where this sub-processor receives data (egress, P14). */
  egress_hosts: string;
  created_at: string;
  updated_at: string;
}

/** A client's objection to an announced sub-processor (Art. 28(2)), kept by the operator. */
export interface SubprocessorObjectionsTable {
  id: string;
  /** The org that keeps the sub-processor (the operator). */
  org_id: string;
  subprocessor_id: string;
  /** The client (tenant) that objects. */
  client_org_id: string;
  /** The staff user of the client who objected. */
  objected_by: string;
  reasons: string;
  created_at: string;
}

/** A webhook / callback URL an org registered as a recipient (P14 egress registry). */
export interface EgressWebhooksTable {
  id: string;
  org_id: string;
  /** The URL in the URL parser's normal form (compared exactly). */
  url: string;
  created_at: string;
}

export type CounterpartyKind = 'client' | 'subprocessor';

export interface ProcessorAgreementsTable {
  id: string;
  /** The org that keeps this agreement on record (the operator for client agreements). */
  org_id: string;
  counterparty_kind: CounterpartyKind;
  /** The tenant org for client agreements; it may read its own agreement. */
  client_org_id: string | null;
  subprocessor_id: string | null;
  version: string;
  /** YYYY-MM-DD. */
  signed_on: string;
  /** Who signed, as the agreement names the parties. */
  parties: string;
  document_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface RegisterDocumentsTable {
  id: string;
  org_id: string;
  filename: string;
  content_type: string;
  size_bytes: number;
  /** SHA-256 hex of the plaintext document. */
  sha256: string;
  /** The document sealed with `keyring.encryptForOrg` at {register_documents, content, id}. */
  content: Buffer;
  uploaded_at: string;
}

/** One row (id 1): a random value replaced whenever the register or an organisation changes. */
export interface RegisterStampTable {
  id: number;
  stamp: string;
}

export interface RegisterTables {
  register_settings: RegisterSettingsTable;
  processing_activities: ProcessingActivitiesTable;
  subprocessors: SubprocessorsTable;
  processor_agreements: ProcessorAgreementsTable;
  register_documents: RegisterDocumentsTable;
  subprocessor_objections: SubprocessorObjectionsTable;
  egress_webhooks: EgressWebhooksTable;
  register_stamp: RegisterStampTable;
}

export const registerMigrations: Record<string, Migration> = {
  '0900_register_settings': {
    async up(db: MigrationDb) {
      await db.schema
        .createTable('register_settings')
        .addColumn('org_id', 'text', (c) => c.primaryKey().references('orgs.id'))
        .addColumn('display_name', 'text')
        .addColumn('contact_address', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('contact_email', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('privacy_email', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('phone', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('website', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('terms_url', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('channels', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0901_register_activities': {
    async up(db: MigrationDb) {
      await db.schema
        .createTable('processing_activities')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('recipients', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('transfers', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('security_measures', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('processing_activities_org_purpose', ['org_id', 'purpose'])
        .execute();
    },
  },
  '0902_register_subprocessors': {
    async up(db: MigrationDb) {
      await db.schema
        .createTable('subprocessors')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('location', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('country', 'text', (c) => c.notNull())
        .addColumn('data_categories', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'ended')`))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('subprocessors_org')
        .on('subprocessors')
        .columns(['org_id', 'name'])
        .execute();
    },
  },
  '0903_register_documents': {
    async up(db: MigrationDb) {
      await db.schema
        .createTable('register_documents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('filename', 'text', (c) => c.notNull())
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('size_bytes', 'integer', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('content', binaryType(db), (c) => c.notNull())
        .addColumn('uploaded_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0904_register_agreements': {
    async up(db: MigrationDb) {
      await db.schema
        .createTable('processor_agreements')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('counterparty_kind', 'text', (c) =>
          c.notNull().check(sql`counterparty_kind in ('client', 'subprocessor')`),
        )
        .addColumn('client_org_id', 'text', (c) => c.references('orgs.id'))
        .addColumn('subprocessor_id', 'text', (c) => c.references('subprocessors.id'))
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('signed_on', 'text', (c) => c.notNull())
        .addColumn('parties', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('document_id', 'text', (c) => c.references('register_documents.id'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addCheckConstraint(
          'processor_agreements_counterparty',
          sql`(counterparty_kind = 'client' and client_org_id is not null and subprocessor_id is null)
            or (counterparty_kind = 'subprocessor' and subprocessor_id is not null and client_org_id is null)`,
        )
        .execute();
      await db.schema
        .createIndex('processor_agreements_org')
        .on('processor_agreements')
        .columns(['org_id', 'signed_on'])
        .execute();
      await db.schema
        .createIndex('processor_agreements_client')
        .on('processor_agreements')
        .columns(['client_org_id'])
        .execute();
    },
  },
  '0905_register_subprocessor_lifecycle': {
    async up(db: MigrationDb) {
      await db.schema
        .alterTable('subprocessors')
        .addColumn('lifecycle', 'text', (c) =>
          c.notNull().defaultTo('active').check(checkOneOf('lifecycle', subprocessorLifecycles)),
        )
        .execute();
      // Rows from before the lifecycle: their status was the whole truth.
      await sql`update subprocessors set lifecycle = status`.execute(db);
      for (const column of ['announced_at', 'effective_on', 'scc_date'] as const) {
        await db.schema.alterTable('subprocessors').addColumn(column, 'text').execute();
      }
      await db.schema
        .alterTable('subprocessors')
        .addColumn('transfer_mechanism', 'text', (c) =>
          c.check(checkOneOf('transfer_mechanism', transferMechanisms)),
        )
        .execute();
      await db.schema
        .alterTable('subprocessors')
        .addColumn('transfer_assessment', 'text', (c) => c.notNull().defaultTo(''))
        .execute();
      await db.schema
        .alterTable('subprocessors')
        .addColumn('egress_hosts', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
      await db.schema
        .createTable('subprocessor_objections')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('subprocessor_id', 'text', (c) => c.notNull().references('subprocessors.id'))
        .addColumn('client_org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('objected_by', 'text', (c) => c.notNull())
        .addColumn('reasons', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('subprocessor_objections_sp')
        .on('subprocessor_objections')
        .columns(['org_id', 'subprocessor_id'])
        .execute();
    },
  },
  '0906_register_egress_webhooks': {
    async up(db: MigrationDb) {
      await db.schema
        .createTable('egress_webhooks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('egress_webhooks_org_url', ['org_id', 'url'])
        .execute();
    },
  },
  /**
   * The register's change stamp (issue 15): the access export caches what it reads of the register
   * until the stamp moves. Triggers, not calls in the services, so that no write path — a service,
   * offboarding's deletes, the CLI, another node, a hand-made fix — can change the register without
   * moving it. A random value rather than a counter: a restored backup brings back the stamp that
   * belongs to its own contents, never one a cache filled from other contents.
   */
  '0907_register_stamp': {
    async up(db: MigrationDb) {
      await db.schema
        .createTable('register_stamp')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('stamp', 'text', (c) => c.notNull())
        .execute();
      await sql`insert into register_stamp (id, stamp) values (1, 'initial')`.execute(db);
      if (isPostgres(db)) {
        await sql`create or replace function kluis_register_restamp() returns trigger language plpgsql as $$
          begin update register_stamp set stamp = md5(random()::text || clock_timestamp()::text) where id = 1;
          return null; end $$`.execute(db);
        for (const table of registerStampedTables) {
          await sql`create trigger ${sql.raw(`${table}_register_restamp`)}
            after insert or update or delete or truncate on ${sql.table(table)}
            for each statement execute function kluis_register_restamp()`.execute(db);
        }
        return;
      }
      for (const table of registerStampedTables) {
        for (const op of ['insert', 'update', 'delete'] as const) {
          await sql`create trigger ${sql.raw(`${table}_register_restamp_${op}`)} after ${sql.raw(op)} on ${sql.table(table)}
            begin update register_stamp set stamp = lower(hex(randomblob(16))) where id = 1; end`.execute(db);
        }
      }
    },
  },
};

/** The tables whose changes move the register's stamp: everything a register snapshot reads. */
export const registerStampedTables = [
  'orgs',
  'register_settings',
  'processing_activities',
  'subprocessors',
  'processor_agreements',
  'register_documents',
  'subprocessor_objections',
  'egress_webhooks',
] as const;
