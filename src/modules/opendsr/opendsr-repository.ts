/** The OpenDSR module's tables (`opendsr_requests`, `opendsr_callbacks`), scoped by org. */
import type { Kysely } from 'kysely';
import { isUniqueViolation } from '../../db/dialect.js';
import type { DB } from '../../db/schema.js';
import type { OrgScope } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import type { OpendsrCallbacksTable, OpendsrRequestsTable } from './opendsr-schema.js';

export type RequestRow = OpendsrRequestsTable;
export type CallbackRow = OpendsrCallbacksTable;

export function createOpendsrRepository(db: Kysely<DB>) {
  /** One of the organisation's requests, by one of its three identifiers. */
  function findRequest(
    scope: OrgScope,
    column: 'id' | 'subject_request_id' | 'rights_request_id',
    value: string,
  ): Promise<RequestRow | undefined> {
    return db
      .selectFrom('opendsr_requests')
      .selectAll()
      .where('org_id', '=', scope.orgId)
      .where(column, '=', value)
      .executeTakeFirst();
  }

  return {
    /**
     * ERR_CONFLICT when the controller used this `subject_request_id` before — also when a
     * concurrent submit of the same id committed first (the unique constraint, on both dialects).
     */
    async insertRequest(row: RequestRow): Promise<void> {
      try {
        await db.insertInto('opendsr_requests').values(row).execute();
      } catch (cause) {
        if (!isUniqueViolation(cause)) throw cause;
        throw new AppError('ERR_CONFLICT', { message: 'subject_request_id submitted before', cause });
      }
    },

    findBySubjectRequestId(scope: OrgScope, subjectRequestId: string): Promise<RequestRow | undefined> {
      return findRequest(scope, 'subject_request_id', subjectRequestId);
    },

    findByRightsRequest(scope: OrgScope, rightsRequestId: string): Promise<RequestRow | undefined> {
      return findRequest(scope, 'rights_request_id', rightsRequestId);
    },

    findById(scope: OrgScope, id: string): Promise<RequestRow | undefined> {
      return findRequest(scope, 'id', id);
    },

    async updateRequest(scope: OrgScope, id: string, patch: Partial<RequestRow>): Promise<void> {
      await db
        .updateTable('opendsr_requests')
        .set(patch)
        .where('org_id', '=', scope.orgId)
        .where('id', '=', id)
        .execute();
    },

    async insertCallback(row: CallbackRow): Promise<void> {
      await db.insertInto('opendsr_callbacks').values(row).execute();
    },

    /** A callback by id, for its delivery job (the job knows the org: it is the job's own). */
    findCallback(scope: OrgScope, id: string): Promise<CallbackRow | undefined> {
      return db
        .selectFrom('opendsr_callbacks')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .where('id', '=', id)
        .executeTakeFirst();
    },

    async updateCallback(scope: OrgScope, id: string, patch: Partial<CallbackRow>): Promise<void> {
      await db
        .updateTable('opendsr_callbacks')
        .set(patch)
        .where('org_id', '=', scope.orgId)
        .where('id', '=', id)
        .execute();
    },

    /** Callbacks of the org that failed for good, newest first, with the controller's request id. */
    listFailedCallbacks(
      scope: OrgScope,
      limit: number,
    ): Promise<(CallbackRow & { subject_request_id: string })[]> {
      return db
        .selectFrom('opendsr_callbacks')
        .innerJoin('opendsr_requests', 'opendsr_requests.id', 'opendsr_callbacks.opendsr_request_id')
        .selectAll('opendsr_callbacks')
        .select('opendsr_requests.subject_request_id')
        .where('opendsr_callbacks.org_id', '=', scope.orgId)
        .where('opendsr_requests.org_id', '=', scope.orgId)
        .where('opendsr_callbacks.state', '=', 'failed')
        .orderBy('opendsr_callbacks.created_at', 'desc')
        .orderBy('opendsr_callbacks.id', 'desc')
        .limit(limit)
        .execute();
    },

    listCallbacks(scope: OrgScope, opendsrRequestId: string): Promise<CallbackRow[]> {
      return db
        .selectFrom('opendsr_callbacks')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .where('opendsr_request_id', '=', opendsrRequestId)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
    },
  };
}
