/**
 * The rights module's own tables: requests, their timeline, export copies and the consent
 * registry. Every query is scoped to one organisation, except the two a status link or a system
 * job starts from (a token hash, the daily duties), which find the organisation in the row.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { OrgScope } from '../../shared/actor.js';
import {
  type ConsentRecordsTable,
  closedStatuses,
  openStatuses,
  type RequestEventKind,
  type RightsExportsTable,
  type RightsRequestEventsTable,
  type RightsRequestsTable,
} from './rights-schema.js';

type Row = RightsRequestsTable;

/** Who asked and what they wrote: gone when a request lapses unconfirmed. */
export const whoAsked = {
  requester_email: null,
  requester_phone: null,
  requester_email_bidx: null,
  requester_phone_bidx: null,
  details: null,
} as const satisfies Partial<Record<keyof Row, null>>;

/** A request's columns about who asked and what was written to them: cleared when they are erased. */
const requesterValues = {
  ...whoAsked,
  identity_note: null,
  extension_reason: null,
  outcome_reason: null,
} as const satisfies Partial<Record<keyof Row, null>>;

export const requesterColumns = Object.keys(requesterValues) as (keyof typeof requesterValues)[];

function requestQueries(db: Kysely<DB>) {
  const requests = (scope: OrgScope) => db.selectFrom('rights_requests').where('org_id', '=', scope.orgId);
  return {
    findRequest(scope: OrgScope, id: string): Promise<Row | undefined> {
      return requests(scope).selectAll().where('id', '=', id).executeTakeFirst();
    },

    /** The request a status link's secret names, in the organisation whose site the link was opened on. */
    findRequestByTokenHash(scope: OrgScope, hash: string): Promise<Row | undefined> {
      return requests(scope).selectAll().where('token_hash', '=', hash).executeTakeFirst();
    },

    findRequestIdByConversation(
      scope: OrgScope,
      conversationId: string,
    ): Promise<{ id: string } | undefined> {
      return requests(scope).select('id').where('conversation_id', '=', conversationId).executeTakeFirst();
    },

    /** Open requests by due day, or closed ones newest first (a page of 500). */
    listRequests(scope: OrgScope, open: boolean): Promise<Row[]> {
      return requests(scope)
        .selectAll()
        .where('status', open ? 'in' : 'not in', [...openStatuses])
        .orderBy(open ? 'due_on' : 'closed_at', open ? 'asc' : 'desc')
        .limit(500)
        .execute();
    },

    async insertRequest(row: Row): Promise<void> {
      await db.insertInto('rights_requests').values(row).execute();
    },

    async updateRequest(scope: OrgScope, id: string, patch: Partial<Row>): Promise<void> {
      await db
        .updateTable('rights_requests')
        .set(patch)
        .where('id', '=', id)
        .where('org_id', '=', scope.orgId)
        .execute();
    },

    /** Unconfirmed requests whose link expired (every organisation: the daily duty), 1,000 at a time. */
    listLapsing(now: string): Promise<Row[]> {
      return db
        .selectFrom('rights_requests')
        .selectAll()
        .where('status', '=', 'received')
        .where('token_expires_at', '<=', now)
        .limit(1000)
        .execute();
    },

    /** Requests whose clock runs (every organisation: the daily reminders). */
    listRunning(): Promise<Row[]> {
      return db
        .selectFrom('rights_requests')
        .selectAll()
        .where('status', 'in', ['verified', 'in_progress'])
        .where('paused_at', 'is', null)
        .execute();
    },

    /** Clears the requester's values in the subject's closed requests (but `keep`); rows changed. */
    async clearClosedRequestsOf(
      scope: OrgScope,
      subjectId: string,
      keep: string | undefined,
    ): Promise<number> {
      let query = db
        .updateTable('rights_requests')
        .set(requesterValues)
        .where('org_id', '=', scope.orgId)
        .where('subject_id', '=', subjectId)
        .where('status', 'in', [...closedStatuses])
        .where((eb) => eb.or(requesterColumns.map((c) => eb(c, 'is not', null))));
      if (keep !== undefined) query = query.where('id', '!=', keep);
      return Number((await query.executeTakeFirst()).numUpdatedRows);
    },

    async countRequestsOf(scope: OrgScope, subjectId: string): Promise<number> {
      const row = await requests(scope)
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('subject_id', '=', subjectId)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
  };
}

function timelineQueries(db: Kysely<DB>) {
  return {
    async insertEvent(row: RightsRequestEventsTable): Promise<void> {
      await db.insertInto('rights_request_events').values(row).execute();
    },

    listEvents(scope: OrgScope, requestId: string): Promise<RightsRequestEventsTable[]> {
      return db
        .selectFrom('rights_request_events')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .where('request_id', '=', requestId)
        .orderBy('at')
        .execute();
    },

    async hasEvent(
      scope: OrgScope,
      requestId: string,
      kind: RequestEventKind,
      meta: string,
    ): Promise<boolean> {
      const row = await db
        .selectFrom('rights_request_events')
        .select('id')
        .where('org_id', '=', scope.orgId)
        .where('request_id', '=', requestId)
        .where('kind', '=', kind)
        .where('meta', '=', meta)
        .executeTakeFirst();
      return row !== undefined;
    },
  };
}

function exportQueries(db: Kysely<DB>) {
  return {
    /** The newest export of a request, with whether it still holds its content. */
    findLatestExport(scope: OrgScope, requestId: string) {
      return db
        .selectFrom('rights_exports')
        .select(['expires_at', 'downloaded_at', (eb) => eb('content', 'is not', null).as('has_content')])
        .where('org_id', '=', scope.orgId)
        .where('request_id', '=', requestId)
        .orderBy('created_at', 'desc')
        .executeTakeFirst();
    },

    /** The newest export of a request that can still be downloaded at `now`. */
    findDownloadableExport(scope: OrgScope, requestId: string, now: string) {
      return db
        .selectFrom('rights_exports')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .where('request_id', '=', requestId)
        .where('downloaded_at', 'is', null)
        .where('content', 'is not', null)
        .where('expires_at', '>', now)
        .orderBy('created_at', 'desc')
        .executeTakeFirst();
    },

    async insertExport(row: RightsExportsTable): Promise<void> {
      await db.insertInto('rights_exports').values(row).execute();
    },

    /** Hands an export out once: its content goes; false when another download was first. */
    async takeExport(id: string, at: string): Promise<boolean> {
      const taken = await db
        .updateTable('rights_exports')
        .set({ downloaded_at: at, content: null })
        .where('id', '=', id)
        .where('downloaded_at', 'is', null)
        .executeTakeFirst();
      return Number(taken.numUpdatedRows) === 1;
    },

    async deleteExportsOf(scope: OrgScope, subjectId: string): Promise<number> {
      const result = await db
        .deleteFrom('rights_exports')
        .where('org_id', '=', scope.orgId)
        .where('subject_id', '=', subjectId)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

function consentQueries(db: Kysely<DB>) {
  return {
    async insertConsentRecord(row: ConsentRecordsTable): Promise<void> {
      await db.insertInto('consent_records').values(row).execute();
    },

    listConsentRecords(scope: OrgScope, subjectId: string): Promise<ConsentRecordsTable[]> {
      return db
        .selectFrom('consent_records')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .where('subject_id', '=', subjectId)
        .execute();
    },

    async deleteConsentRecordsOf(scope: OrgScope, subjectId: string): Promise<number> {
      const result = await db
        .deleteFrom('consent_records')
        .where('org_id', '=', scope.orgId)
        .where('subject_id', '=', subjectId)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

export function createRightsRepository(db: Kysely<DB>) {
  return { ...requestQueries(db), ...timelineQueries(db), ...exportQueries(db), ...consentQueries(db) };
}
