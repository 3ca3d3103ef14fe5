/** Operator access grants (`operator_grants`, P8): a tenant's instruction to one operator staff member. */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { findInOrg } from '../../db/scoped.js';
import type { OrgScope } from '../../shared/actor.js';
import type { OperatorGrantsTable } from './auth-schema.js';

type GrantRow = OperatorGrantsTable;

/** A grant with its grantee's sign-in email (for the tenant's and the grantee's lists). */
export interface GrantWithGrantee extends GrantRow {
  readonly grantee_email: string;
}

export function createGrantsRepository(db: Kysely<DB>) {
  return {
    async insertGrant(row: GrantRow): Promise<void> {
      await db.insertInto('operator_grants').values(row).execute();
    },

    /** Grants of one tenant (`org_id`) or to one grantee (`grantee_user_id`), newest first. */
    listGrants(by: { orgId: string } | { granteeUserId: string }): Promise<GrantWithGrantee[]> {
      let query = db
        .selectFrom('operator_grants as g')
        .innerJoin('users as u', 'u.id', 'g.grantee_user_id')
        .selectAll('g')
        .select('u.email as grantee_email');
      query =
        'orgId' in by
          ? query.where('g.org_id', '=', by.orgId)
          : query.where('g.grantee_user_id', '=', by.granteeUserId);
      return query.orderBy('g.created_at', 'desc').orderBy('g.id').execute();
    },

    findGrant(scope: OrgScope, grantId: string): Promise<GrantRow | undefined> {
      return findInOrg(db, 'operator_grants', scope, grantId);
    },

    /** The grantee's side: one of their grants, whichever tenant gave it. */
    findGrantOf(granteeUserId: string, grantId: string): Promise<GrantRow | undefined> {
      return db
        .selectFrom('operator_grants')
        .selectAll()
        .where('grantee_user_id', '=', granteeUserId)
        .where('id', '=', grantId)
        .executeTakeFirst();
    },

    /** Revokes a live grant of the tenant; false when there is none (unknown, another org's, revoked). */
    async revokeGrant(scope: OrgScope, grantId: string, by: string, now: string): Promise<boolean> {
      const result = await db
        .updateTable('operator_grants')
        .set({ revoked_at: now, revoked_by: by })
        .where('org_id', '=', scope.orgId)
        .where('id', '=', grantId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}
