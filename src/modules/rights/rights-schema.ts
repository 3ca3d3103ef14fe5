/**
 * Data-subject rights (P15–P17): requests with their deadlines and timeline, the exports made
 * for access and portability, and the consent registry.
 *
 * A request holds the requester's contact details sealed with the organisation's key (at receipt
 * nobody knows yet whether the requester is a known data subject, and the portal must not find
 * out before the requester proved control of the address) plus blind indexes to match them after
 * verification. An export (the zip) is sealed with the subject's key, so erasure shreds it too.
 * Consent records are append-only: the current state of a purpose is its newest record.
 */
import { type Migration, sql } from 'kysely';
import { binaryType, checkOneOf, isPostgres, type MigrationDb } from '../../db/dialect.js';

export { type RightKind, rightKinds } from '../../shared/catalogue.js';

import { type RightKind, rightKinds } from '../../shared/catalogue.js';

/** How a request reached us (`opendsr`: from the controller's own system, issue 13). */
export const requestChannels = ['portal', 'email', 'staff', 'opendsr'] as const;
export type RequestChannel = (typeof requestChannels)[number];

/**
 * `received`: waiting for the requester to confirm control of the address (nothing is disclosed);
 * `verified`: identity established; `in_progress`: being worked on; `completed`/`refused`: closed
 * with a reply; `lapsed`: never confirmed, closed without a reply; `cancelled`: withdrawn by the
 * controller that handed it over (OpenDSR), closed without a reply.
 */
export const requestStatuses = [
  'received',
  'verified',
  'in_progress',
  'completed',
  'refused',
  'lapsed',
  'cancelled',
] as const;
export type RequestStatus = (typeof requestStatuses)[number];

export const openStatuses: readonly RequestStatus[] = ['received', 'verified', 'in_progress'];
/** A closed request keeps its skeleton `rights_request` months as proof it was handled. */
export const closedStatuses = [
  'completed',
  'refused',
  'lapsed',
  'cancelled',
] as const satisfies readonly RequestStatus[];

/**
 * How identity was established (P16): never by a copy of an identity document by default.
 * `controller`: the tenant (the controller) verified the requester itself and handed the request
 * over through its OpenDSR endpoint; Kluis, its processor, records that and does not verify again.
 */
export const verificationMethods = ['email_link', 'staff_review', 'controller'] as const;
export type VerificationMethod = (typeof verificationMethods)[number];

/** Why the clock stands still (Art. 12(6): identity; clarification of the request). */
export const pauseReasons = ['identity', 'clarification'] as const;
export type PauseReason = (typeof pauseReasons)[number];

export const requestOutcomes = ['fulfilled', 'partly_fulfilled', 'refused'] as const;
export type RequestOutcome = (typeof requestOutcomes)[number];

export interface RightsRequestsTable {
  id: string;
  org_id: string;
  /** The matched data subject, set only after verification (or by staff review). */
  subject_id: string | null;
  /** Which right; null until staff read a request that came in by email. */
  right_kind: RightKind | null;
  channel: RequestChannel;
  locale: 'nl' | 'en';
  status: RequestStatus;
  /** Sealed with the org key; cleared when an erasure request is closed. */
  requester_email: Buffer | null;
  requester_phone: Buffer | null;
  /** Blind indexes of the address and phone number given, to match a subject after verification. */
  requester_email_bidx: string | null;
  requester_phone_bidx: string | null;
  /** The requester's description, sealed with the org key. */
  details: Buffer | null;
  /** SHA-256 of the secret in the requester's status link. */
  token_hash: string;
  /** When the confirmation link stops working (unconfirmed requests lapse then). */
  token_expires_at: string;
  received_at: string;
  verified_at: string | null;
  verification_method: VerificationMethod | null;
  /** How staff established identity in a hard case (sealed with the org key). */
  identity_note: Buffer | null;
  paused_at: string | null;
  pause_reason: PauseReason | null;
  /** Whole days the clock stood still so far. */
  paused_days: number;
  extended_months: number;
  extension_reason: Buffer | null;
  extended_at: string | null;
  /** The answer is due on this day (YYYY-MM-DD, Europe/Amsterdam calendar). */
  due_on: string;
  closed_at: string | null;
  outcome: RequestOutcome | null;
  /** Reasons given in the reply (sealed with the org key). */
  outcome_reason: Buffer | null;
  /** The intake conversation a privacy-address mail came in as. */
  conversation_id: string | null;
  created_at: string;
  updated_at: string;
}

export const requestEventKinds = [
  'received',
  'confirmation_sent',
  'verified',
  'subject_matched',
  'paused',
  'resumed',
  'extended',
  'in_progress',
  'export_ready',
  'export_downloaded',
  'rectified',
  'erased',
  'consent_withdrawn',
  'objection_recorded',
  'reminder_sent',
  'step_failed',
  'completed',
  'refused',
  'lapsed',
  'cancelled',
] as const;
export type RequestEventKind = (typeof requestEventKinds)[number];

/** The timeline of a request: what happened, when, by whom (a user id or `requester`), no values. */
export interface RightsRequestEventsTable {
  id: string;
  org_id: string;
  request_id: string;
  at: string;
  kind: RequestEventKind;
  actor_ref: string;
  /** Non-personal detail as JSON (counts, codes, ids). */
  meta: string | null;
}

export interface RightsExportsTable {
  id: string;
  org_id: string;
  request_id: string;
  subject_id: string;
  /** The zip, sealed with the subject's key. Null once downloaded or expired. */
  content: Buffer | null;
  size_bytes: number;
  created_at: string;
  expires_at: string;
  downloaded_at: string | null;
}

/** Purposes a data subject can consent to (the register's purposes are contract, law or interest). */
export const consentPurposes = ['newsletter', 'reference_customer'] as const;
export type ConsentPurpose = (typeof consentPurposes)[number];

/**
 * `given`/`withdrawn`: consent (Art. 7); `objected`/`objection_lifted`: objection to a purpose
 * based on legitimate interest (Art. 21).
 */
export const consentEvents = ['given', 'withdrawn', 'objected', 'objection_lifted'] as const;
export type ConsentEvent = (typeof consentEvents)[number];

export const consentMethods = ['web_form', 'email', 'paper', 'verbal', 'portal', 'staff'] as const;
export type ConsentMethod = (typeof consentMethods)[number];

export interface ConsentRecordsTable {
  id: string;
  org_id: string;
  subject_id: string;
  /** A consent purpose, or a register purpose for an objection. */
  purpose: string;
  event: ConsentEvent;
  method: ConsentMethod;
  at: string;
  /** The statement version the person was shown (consent is informed). */
  statement_version: number | null;
  /** Who recorded it: a user id, `requester` or `system`. */
  recorded_by: string;
  /** The rights request that caused it, if any. */
  request_id: string | null;
  created_at: string;
}

export interface RightsTables {
  rights_requests: RightsRequestsTable;
  rights_request_events: RightsRequestEventsTable;
  rights_exports: RightsExportsTable;
  consent_records: ConsentRecordsTable;
}

/**
 * The lists as 1000 wrote them: a landed migration must create what it always created, so it
 * does not follow the lists above when they grow (1010 widens them).
 */
const lists1000 = {
  channel: ['portal', 'email', 'staff'],
  status: ['received', 'verified', 'in_progress', 'completed', 'refused', 'lapsed'],
  verification_method: ['email_link', 'staff_review'],
  kind: requestEventKinds.filter((k) => k !== 'cancelled'),
} as const satisfies Record<string, readonly string[]>;

/** The check lists an earlier migration wrote, to find them in a table's stored definition. */
interface WidenedCheck {
  readonly table: 'rights_requests' | 'rights_request_events';
  readonly column: string;
  readonly before: readonly string[];
  readonly after: readonly string[];
}

/**
 * Issue 13 (OpenDSR): the channel `opendsr`, the verification method `controller`, the status and
 * event `cancelled`. Only additions: every stored row stays valid.
 */
const controllerChecks: readonly WidenedCheck[] = [
  {
    table: 'rights_requests',
    column: 'channel',
    before: lists1000.channel,
    after: requestChannels,
  },
  {
    table: 'rights_requests',
    column: 'status',
    before: lists1000.status,
    after: requestStatuses,
  },
  {
    table: 'rights_requests',
    column: 'verification_method',
    before: lists1000.verification_method,
    after: verificationMethods,
  },
  {
    table: 'rights_request_events',
    column: 'kind',
    before: lists1000.kind,
    after: requestEventKinds,
  },
];

/**
 * PostgreSQL: each widened CHECK is dropped by the name PostgreSQL gave it (found in the catalogue
 * by its column, not guessed) and added again with the longer list.
 */
async function widenChecksPostgres(db: MigrationDb, checks: readonly WidenedCheck[]): Promise<void> {
  for (const c of checks) {
    const found = await sql<{ name: string }>`select conname as name from pg_constraint
      where conrelid = ${sql.lit(c.table)}::regclass and contype = 'c'
        and pg_get_constraintdef(oid) like ${sql.lit(`%${c.column}%`)}`.execute(db);
    for (const { name } of found.rows) {
      await sql`alter table ${sql.table(c.table)} drop constraint ${sql.ref(name)}`.execute(db);
    }
    const nullable = c.column === 'verification_method';
    const check = nullable
      ? sql`${sql.ref(c.column)} is null or ${checkOneOf(c.column, c.after)}`
      : checkOneOf(c.column, c.after);
    await sql`alter table ${sql.table(c.table)} add constraint ${sql.ref(`${c.table}_${c.column}_check`)} check (${check})`.execute(
      db,
    );
  }
}

/**
 * SQLite cannot alter a CHECK: the table is rebuilt as SQLite's documented procedure says (new
 * table from the stored definition with the lists widened, rows copied, old table dropped, new one
 * renamed, indexes made again), with foreign keys off so that dropping the old table neither
 * cascades to the timeline and exports nor fails, and checked before they are on again. Starting
 * from the stored definition keeps columns that later migrations added. The rebuild runs in one
 * transaction: a failure leaves the tables as they were.
 */
async function widenChecksSqlite(db: MigrationDb, checks: readonly WidenedCheck[]): Promise<void> {
  const tables = [...new Set(checks.map((c) => c.table))];
  await sql`pragma foreign_keys = off`.execute(db);
  try {
    await db.transaction().execute(async (trx) => {
      for (const table of tables) {
        const stored = await sql<{ type: string; sql: string }>`select type, sql from sqlite_master
          where tbl_name = ${table} and sql is not null order by type = 'table' desc`.execute(trx);
        const [definition, ...others] = stored.rows;
        if (definition?.type !== 'table') throw new Error(`no stored definition of ${table}`);
        let text = definition.sql;
        for (const c of checks.filter((x) => x.table === table)) {
          const before = checkOneOf(c.column, c.before).compile(trx).sql;
          const after = checkOneOf(c.column, c.after).compile(trx).sql;
          if (text.split(before).length !== 2)
            throw new Error(`${table}: the check on ${c.column} is not as 1000 wrote it: ${before}`);
          text = text.replace(before, after);
        }
        const fresh = `${table}__widened`;
        const head = /^create table "?[a-z_]+"?/i;
        if (!head.test(text)) throw new Error(`${table}: unexpected stored definition`);
        await sql.raw(text.replace(head, `create table "${fresh}"`)).execute(trx);
        await sql`insert into ${sql.table(fresh)} select * from ${sql.table(table)}`.execute(trx);
        await sql`drop table ${sql.table(table)}`.execute(trx);
        await sql`alter table ${sql.table(fresh)} rename to ${sql.table(table)}`.execute(trx);
        for (const other of others) await sql.raw(other.sql).execute(trx);
      }
      const broken = await sql`pragma foreign_key_check`.execute(trx);
      if (broken.rows.length > 0) throw new Error('foreign keys broken by the rebuild');
    });
  } finally {
    await sql`pragma foreign_keys = on`.execute(db);
  }
}

export const rightsMigrations: Record<string, Migration> = {
  '1000_rights': {
    async up(db) {
      const bin = binaryType(db);
      await db.schema
        .createTable('rights_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('subject_id', 'text', (c) => c.references('data_subjects.id'))
        .addColumn('right_kind', 'text', (c) =>
          c.check(sql`right_kind is null or ${checkOneOf('right_kind', rightKinds)}`),
        )
        .addColumn('channel', 'text', (c) => c.notNull().check(checkOneOf('channel', lists1000.channel)))
        .addColumn('locale', 'text', (c) => c.notNull().check(checkOneOf('locale', ['nl', 'en'])))
        .addColumn('status', 'text', (c) => c.notNull().check(checkOneOf('status', lists1000.status)))
        .addColumn('requester_email', bin)
        .addColumn('requester_phone', bin)
        .addColumn('requester_email_bidx', 'text')
        .addColumn('requester_phone_bidx', 'text')
        .addColumn('details', bin)
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('token_expires_at', 'text', (c) => c.notNull())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('verified_at', 'text')
        .addColumn('verification_method', 'text', (c) =>
          c.check(
            sql`verification_method is null or ${checkOneOf('verification_method', lists1000.verification_method)}`,
          ),
        )
        .addColumn('identity_note', bin)
        .addColumn('paused_at', 'text')
        .addColumn('pause_reason', 'text', (c) =>
          c.check(sql`pause_reason is null or ${checkOneOf('pause_reason', pauseReasons)}`),
        )
        .addColumn('paused_days', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('extended_months', 'integer', (c) =>
          c.notNull().defaultTo(0).check(sql`extended_months between 0 and 2`),
        )
        .addColumn('extension_reason', bin)
        .addColumn('extended_at', 'text')
        .addColumn('due_on', 'text', (c) => c.notNull())
        .addColumn('closed_at', 'text')
        .addColumn('outcome', 'text', (c) =>
          c.check(sql`outcome is null or ${checkOneOf('outcome', requestOutcomes)}`),
        )
        .addColumn('outcome_reason', bin)
        .addColumn('conversation_id', 'text', (c) => c.references('conversations.id').onDelete('set null'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('rights_requests_queue')
        .on('rights_requests')
        .columns(['org_id', 'status', 'due_on'])
        .execute();
      // Led by the referencing column: deleting a conversation (retention) checks this key.
      await db.schema
        .createIndex('rights_requests_conversation')
        .on('rights_requests')
        .column('conversation_id')
        .execute();
      await db.schema
        .createIndex('rights_requests_subject')
        .on('rights_requests')
        .columns(['org_id', 'subject_id'])
        .execute();

      await db.schema
        .createTable('rights_request_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('request_id', 'text', (c) =>
          c.notNull().references('rights_requests.id').onDelete('cascade'),
        )
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull().check(checkOneOf('kind', lists1000.kind)))
        .addColumn('actor_ref', 'text', (c) => c.notNull())
        .addColumn('meta', 'text')
        .execute();
      await db.schema
        .createIndex('rights_request_events_request')
        .on('rights_request_events')
        .columns(['request_id', 'at'])
        .execute();

      await db.schema
        .createTable('rights_exports')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('request_id', 'text', (c) =>
          c.notNull().references('rights_requests.id').onDelete('cascade'),
        )
        .addColumn('subject_id', 'text', (c) => c.notNull().references('data_subjects.id'))
        .addColumn('content', bin)
        .addColumn('size_bytes', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('downloaded_at', 'text')
        .execute();
      await db.schema
        .createIndex('rights_exports_request')
        .on('rights_exports')
        .column('request_id')
        .execute();

      await db.schema
        .createTable('consent_records')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('subject_id', 'text', (c) => c.notNull().references('data_subjects.id'))
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull().check(checkOneOf('event', consentEvents)))
        .addColumn('method', 'text', (c) => c.notNull().check(checkOneOf('method', consentMethods)))
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('statement_version', 'integer')
        .addColumn('recorded_by', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text', (c) => c.references('rights_requests.id').onDelete('set null'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('consent_records_request')
        .on('consent_records')
        .column('request_id')
        .execute();
      await db.schema
        .createIndex('consent_records_subject')
        .on('consent_records')
        .columns(['org_id', 'subject_id', 'purpose', 'at'])
        .execute();
    },
  },
  /** Requests handed over by a controller through its OpenDSR endpoint (issue 13), and their cancellation. */
  '1010_rights_controller_requests': {
    async up(db) {
      if (isPostgres(db)) await widenChecksPostgres(db, controllerChecks);
      else await widenChecksSqlite(db, controllerChecks);
    },
  },
};
