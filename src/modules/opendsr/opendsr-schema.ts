/**
 * The OpenDSR endpoint's own records (issue 13): which rights request each controller's request
 * became, its status in the specification's vocabulary, the controller's callback URLs, and each
 * callback to send. No personal data: the identities go into the rights request (sealed there);
 * here are ids, dates, codes and the controller's own endpoints. Migration range 1800–1849.
 */
import type { Migration } from 'kysely';
import { checkOneOf } from '../../db/dialect.js';

/** OpenDSR 2.0 section 8. */
export const opendsrStatuses = ['pending', 'in_progress', 'completed', 'cancelled'] as const;
export type OpendsrStatus = (typeof opendsrStatuses)[number];

/** Section 6.2: what Kluis fulfils. */
export const opendsrRequestTypes = ['access', 'portability', 'erasure'] as const;
export type OpendsrRequestType = (typeof opendsrRequestTypes)[number];

export const regulations = ['gdpr', 'ccpa'] as const;
export type Regulation = (typeof regulations)[number];

export const callbackStates = ['queued', 'delivered', 'failed'] as const;
export type CallbackState = (typeof callbackStates)[number];

export interface OpendsrRequestsTable {
  id: string;
  org_id: string;
  /** The controller's id of the request (a UUID it generated), unique per organisation. */
  subject_request_id: string;
  /** The request in the organisation's rights queue. */
  rights_request_id: string;
  request_type: OpendsrRequestType;
  regulation: Regulation;
  api_version: string | null;
  /** The status as the controller sees it, updated with every change of the rights request. */
  request_status: OpendsrStatus;
  /** When the answer is due (end of the due day, Europe/Amsterdam), as ISO time. */
  expected_completion_at: string;
  /** `submitted_time`: when the data subject asked the controller. */
  submitted_at: string;
  /** When Kluis received the request. */
  received_at: string;
  cancelled_at: string | null;
  /** JSON array of the controller's callback URLs (each a registered recipient, P14). */
  callback_urls: string;
  created_at: string;
  updated_at: string;
}

export interface OpendsrCallbacksTable {
  id: string;
  org_id: string;
  opendsr_request_id: string;
  url: string;
  /** The status this callback reports (the one the change led to). */
  request_status: OpendsrStatus;
  expected_completion_at: string;
  state: CallbackState;
  attempts: number;
  /** What went wrong the last time (an HTTP status or an error code, never a body). */
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

export interface OpendsrTables {
  opendsr_requests: OpendsrRequestsTable;
  opendsr_callbacks: OpendsrCallbacksTable;
}

export const opendsrMigrations: Record<string, Migration> = {
  '1800_opendsr': {
    async up(db) {
      await db.schema
        .createTable('opendsr_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('subject_request_id', 'text', (c) => c.notNull())
        .addColumn('rights_request_id', 'text', (c) => c.notNull())
        .addColumn('request_type', 'text', (c) =>
          c.notNull().check(checkOneOf('request_type', opendsrRequestTypes)),
        )
        .addColumn('regulation', 'text', (c) => c.notNull().check(checkOneOf('regulation', regulations)))
        .addColumn('api_version', 'text')
        .addColumn('request_status', 'text', (c) =>
          c.notNull().check(checkOneOf('request_status', opendsrStatuses)),
        )
        .addColumn('expected_completion_at', 'text', (c) => c.notNull())
        .addColumn('submitted_at', 'text', (c) => c.notNull())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('cancelled_at', 'text')
        .addColumn('callback_urls', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('opendsr_requests_subject_request', ['org_id', 'subject_request_id'])
        .execute();
      await db.schema
        .createIndex('opendsr_requests_rights_request')
        .on('opendsr_requests')
        .columns(['org_id', 'rights_request_id'])
        .execute();

      await db.schema
        .createTable('opendsr_callbacks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('opendsr_request_id', 'text', (c) =>
          c.notNull().references('opendsr_requests.id').onDelete('cascade'),
        )
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('request_status', 'text', (c) =>
          c.notNull().check(checkOneOf('request_status', opendsrStatuses)),
        )
        .addColumn('expected_completion_at', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull().check(checkOneOf('state', callbackStates)))
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('delivered_at', 'text')
        .execute();
      await db.schema
        .createIndex('opendsr_callbacks_request')
        .on('opendsr_callbacks')
        .columns(['opendsr_request_id', 'created_at'])
        .execute();
    },
  },
};
