/** The retention module's own tables: policies, legal holds, runs and their steps. */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { findInOrg } from '../../db/scoped.js';
import type { OrgScope } from '../../shared/actor.js';
import type {
  LegalHoldsTable,
  RetentionPoliciesTable,
  RetentionRunStepsTable,
  RetentionRunsTable,
} from './retention-schema.js';

export type LegalHold = LegalHoldsTable;
export type RetentionRun = RetentionRunsTable;
export type RetentionRunStep = RetentionRunStepsTable;

/** Holds in force at `at`: not released, and without an end or ending later. */
export interface ActiveHolds {
  readonly subjects: ReadonlySet<string>;
  /** `table:id` */
  readonly records: ReadonlySet<string>;
}

export function createRetentionRepository(db: Kysely<DB>) {
  return {
    listPolicyRows(scope: OrgScope): Promise<RetentionPoliciesTable[]> {
      return db.selectFrom('retention_policies').selectAll().where('org_id', '=', scope.orgId).execute();
    },

    async upsertPolicy(row: RetentionPoliciesTable): Promise<void> {
      await db
        .insertInto('retention_policies')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['org_id', 'policy_id']).doUpdateSet({
            trigger_event: row.trigger_event,
            period_value: row.period_value,
            period_unit: row.period_unit,
            action: row.action,
            legal_min_value: row.legal_min_value,
            legal_max_value: row.legal_max_value,
            updated_by_id: row.updated_by_id,
            updated_at: row.updated_at,
          }),
        )
        .execute();
    },

    async activeHolds(scope: OrgScope, at: string): Promise<ActiveHolds> {
      const rows = await db
        .selectFrom('legal_holds')
        .select(['subject_id', 'record_table', 'record_id'])
        .where('org_id', '=', scope.orgId)
        .where('released_at', 'is', null)
        .where((eb) => eb.or([eb('held_until', 'is', null), eb('held_until', '>', at)]))
        .execute();
      const subjects = new Set<string>();
      const records = new Set<string>();
      for (const r of rows) {
        if (r.subject_id !== null) subjects.add(r.subject_id);
        if (r.record_table !== null && r.record_id !== null) records.add(`${r.record_table}:${r.record_id}`);
      }
      return { subjects, records };
    },

    listHolds(scope: OrgScope, limit = 200): Promise<LegalHold[]> {
      return db
        .selectFrom('legal_holds')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .orderBy('released_at', 'desc')
        .orderBy('created_at', 'desc')
        .limit(limit)
        .execute();
    },

    findHold(scope: OrgScope, id: string): Promise<LegalHold | undefined> {
      return findInOrg(db, 'legal_holds', scope, id);
    },

    async insertHold(row: LegalHold): Promise<void> {
      await db.insertInto('legal_holds').values(row).execute();
    },

    async releaseHold(scope: OrgScope, id: string, by: string, at: string): Promise<boolean> {
      const result = await db
        .updateTable('legal_holds')
        .set({ released_at: at, released_by_id: by })
        .where('org_id', '=', scope.orgId)
        .where('id', '=', id)
        .where('released_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    findRunningRun(): Promise<RetentionRun | undefined> {
      return db.selectFrom('retention_runs').selectAll().where('status', '=', 'running').executeTakeFirst();
    },

    listRecentRuns(limit = 10): Promise<RetentionRun[]> {
      return db.selectFrom('retention_runs').selectAll().orderBy('started_at', 'desc').limit(limit).execute();
    },

    listSteps(runId: string): Promise<RetentionRunStep[]> {
      return db
        .selectFrom('retention_run_steps')
        .selectAll()
        .where('run_id', '=', runId)
        .orderBy('position')
        .execute();
    },

    /** Takes a run over when its lease is `expected` (compare-and-set). */
    async takeLease(runId: string, expected: string | null, until: string): Promise<boolean> {
      const base = db.updateTable('retention_runs').set({ lease_until: until }).where('id', '=', runId);
      const result = await (expected === null
        ? base.where('lease_until', 'is', null)
        : base.where('lease_until', '=', expected)
      )
        .where('status', '=', 'running')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async setLease(runId: string, until: string | null): Promise<void> {
      await db.updateTable('retention_runs').set({ lease_until: until }).where('id', '=', runId).execute();
    },
  };
}
