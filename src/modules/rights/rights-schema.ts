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
import { binaryType, checkOneOf } from '../../db/dialect.js';

export { type RightKind, rightKinds } from '../../shared/catalogue.js';

import { type RightKind, rightKinds } from '../../shared/catalogue.js';

/** How a request reached us. */
export const requestChannels = ['portal', 'email', 'staff'] as const;
export type RequestChannel = (typeof requestChannels)[number];

/**
 * `received`: waiting for the requester to confirm control of the address (nothing is disclosed);
 * `verified`: identity established; `in_progress`: being worked on; `completed`/`refused`: closed
 * with a reply; `lapsed`: never confirmed, closed without a reply.
 */
export const requestStatuses = [
  'received',
  'verified',
  'in_progress',
  'completed',
  'refused',
  'lapsed',
] as const;
export type RequestStatus = (typeof requestStatuses)[number];

export const openStatuses: readonly RequestStatus[] = ['received', 'verified', 'in_progress'];
/** A closed request keeps its skeleton `rights_request` months as proof it was handled. */
export const closedStatuses = ['completed', 'refused', 'lapsed'] as const satisfies readonly RequestStatus[];

/** How identity was established (P16): never by a copy of an identity document by default. */
export const verificationMethods = ['email_link', 'staff_review'] as const;
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
        .addColumn('channel', 'text', (c) => c.notNull().check(checkOneOf('channel', requestChannels)))
        .addColumn('locale', 'text', (c) => c.notNull().check(checkOneOf('locale', ['nl', 'en'])))
        .addColumn('status', 'text', (c) => c.notNull().check(checkOneOf('status', requestStatuses)))
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
            sql`verification_method is null or ${checkOneOf('verification_method', verificationMethods)}`,
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
        .addColumn('kind', 'text', (c) => c.notNull().check(checkOneOf('kind', requestEventKinds)))
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
};
