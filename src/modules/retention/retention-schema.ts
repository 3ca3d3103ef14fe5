/**
 * Tables of the retention engine (P6, P12's time limits). Migration range 1100-1199.
 *
 * - `retention_policies`: an organisation's own, tighter setting of a policy. Defaults live in
 *   code (`retention-policies.ts`); a row exists only once the privacy officer changed one.
 * - `legal_holds`: a subject or one record that no sweep may touch until the hold ends.
 * - `retention_runs` / `retention_run_steps`: a sweep's reference time and, per organisation and
 *   target, its cursor and counts. Each batch updates its step in the same transaction as the
 *   deletions, so a killed sweep resumes exactly where its last committed batch ended.
 * - `retention_restrictions`: records kept only for a legal duty (Art. 18 GDPR restriction),
 *   keyed by table and record id, so other modules' tables need no extra column.
 *
 * No table here holds a personal value: ids, codes, dates and counts only.
 */
import { type Migration, sql } from 'kysely';
import { checkOneOf } from '../../db/dialect.js';

export const retentionTriggers = [
  'request_closed',
  'relationship_ended',
  'consent_withdrawn',
  'record_created',
  'fiscal_year_end',
] as const;
export type RetentionTrigger = (typeof retentionTriggers)[number];

export const retentionActions = ['delete', 'anonymise', 'restrict'] as const;
export type RetentionAction = (typeof retentionActions)[number];

export const periodUnits = ['months', 'days'] as const;
export type PeriodUnit = (typeof periodUnits)[number];

export const holdReasons = [
  'litigation',
  'tax_audit',
  'authority_request',
  'rights_request',
  'other',
] as const;
export type HoldReason = (typeof holdReasons)[number];

export const runStatuses = ['running', 'done'] as const;
export type RunStatus = (typeof runStatuses)[number];

export interface RetentionPoliciesTable {
  org_id: string;
  policy_id: string;
  trigger_event: RetentionTrigger;
  period_value: number;
  period_unit: PeriodUnit;
  action: RetentionAction;
  /** The legal bounds in force when the row was written (the code's bounds always win). */
  legal_min_value: number;
  legal_max_value: number;
  updated_by_id: string | null;
  updated_at: string;
}

export interface LegalHoldsTable {
  id: string;
  org_id: string;
  /** Either a whole data subject ... */
  subject_id: string | null;
  /** ... or one record (a table the retention engine sweeps, and the record's id). */
  record_table: string | null;
  record_id: string | null;
  reason: HoldReason;
  /** A case or file number; the form asks for no names. */
  reference: string | null;
  created_by_id: string;
  created_at: string;
  /** The hold ends by itself at this moment (null: until released). */
  held_until: string | null;
  released_at: string | null;
  released_by_id: string | null;
}

export interface RetentionRunsTable {
  id: string;
  status: RunStatus;
  /** The reference time of the whole run: a resumed run keeps it, so it ends with the same result. */
  as_of: string;
  /** The periods in force when the run started, per organisation (JSON): a resumed run keeps them. */
  policies: string;
  /** `system:retention-job`, `system:cli`, `user:<id>`. */
  started_by: string;
  started_at: string;
  finished_at: string | null;
  /** Another process may take the run over once this has passed (a crashed sweep). */
  lease_until: string | null;
  /** Counts per organisation and category as JSON, written when the run is done. */
  report: string | null;
}

export interface RetentionRunStepsTable {
  run_id: string;
  /** The organisation, or `*` for installation-wide steps (the access log). */
  org_id: string;
  target_id: string;
  position: number;
  /** The last record id handled (ids are visited in ascending order). */
  cursor: string;
  done: number;
  applied: number;
  /** Records changed in place (e.g. access-log IPs truncated). */
  anonymised: number;
  held: number;
  batches: number;
}

export interface RetentionRestrictionsTable {
  org_id: string;
  table_name: string;
  record_id: string;
  /** The policy whose ordinary purpose ended. */
  policy_id: string;
  restricted_at: string;
  /** When the legal duty ends and the record is deleted (ISO date), if known. */
  restricted_until: string | null;
}

export interface RetentionTables {
  retention_policies: RetentionPoliciesTable;
  legal_holds: LegalHoldsTable;
  retention_runs: RetentionRunsTable;
  retention_run_steps: RetentionRunStepsTable;
  retention_restrictions: RetentionRestrictionsTable;
}

export const retentionMigrations: Record<string, Migration> = {
  '1100_retention': {
    async up(db) {
      await db.schema
        .createTable('retention_policies')
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('policy_id', 'text', (c) => c.notNull())
        .addColumn('trigger_event', 'text', (c) =>
          c.notNull().check(checkOneOf('trigger_event', retentionTriggers)),
        )
        .addColumn('period_value', 'integer', (c) => c.notNull().check(sql`period_value >= 0`))
        .addColumn('period_unit', 'text', (c) => c.notNull().check(checkOneOf('period_unit', periodUnits)))
        .addColumn('action', 'text', (c) => c.notNull().check(checkOneOf('action', retentionActions)))
        .addColumn('legal_min_value', 'integer', (c) => c.notNull())
        .addColumn('legal_max_value', 'integer', (c) => c.notNull())
        .addColumn('updated_by_id', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('retention_policies_pk', ['org_id', 'policy_id'])
        .execute();

      await db.schema
        .createTable('legal_holds')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('subject_id', 'text', (c) => c.references('data_subjects.id'))
        .addColumn('record_table', 'text')
        .addColumn('record_id', 'text')
        .addColumn('reason', 'text', (c) => c.notNull().check(checkOneOf('reason', holdReasons)))
        .addColumn('reference', 'text')
        .addColumn('created_by_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('held_until', 'text')
        .addColumn('released_at', 'text')
        .addColumn('released_by_id', 'text')
        .addCheckConstraint(
          'legal_holds_one_ref',
          sql`(subject_id is not null and record_table is null and record_id is null) or (subject_id is null and record_table is not null and record_id is not null)`,
        )
        .execute();
      await db.schema
        .createIndex('legal_holds_org')
        .on('legal_holds')
        .columns(['org_id', 'released_at'])
        .execute();

      await db.schema
        .createTable('retention_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('status', 'text', (c) => c.notNull().check(checkOneOf('status', runStatuses)))
        .addColumn('as_of', 'text', (c) => c.notNull())
        .addColumn('policies', 'text', (c) => c.notNull())
        .addColumn('started_by', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .addColumn('lease_until', 'text')
        .addColumn('report', 'text')
        .execute();
      // At most one run at a time: a second start fails on this index instead of racing.
      await db.schema
        .createIndex('retention_runs_one_running')
        .on('retention_runs')
        .column('status')
        .unique()
        .where(sql.ref('status'), '=', sql.lit('running'))
        .execute();

      await db.schema
        .createTable('retention_run_steps')
        .addColumn('run_id', 'text', (c) => c.notNull().references('retention_runs.id'))
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('target_id', 'text', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('cursor', 'text', (c) => c.notNull())
        .addColumn('done', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('applied', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('anonymised', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('held', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('batches', 'integer', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('retention_run_steps_pk', ['run_id', 'org_id', 'target_id'])
        .execute();

      await db.schema
        .createTable('retention_restrictions')
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('table_name', 'text', (c) => c.notNull())
        .addColumn('record_id', 'text', (c) => c.notNull())
        .addColumn('policy_id', 'text', (c) => c.notNull())
        .addColumn('restricted_at', 'text', (c) => c.notNull())
        .addColumn('restricted_until', 'text')
        .addPrimaryKeyConstraint('retention_restrictions_pk', ['table_name', 'record_id'])
        .execute();
      await db.schema
        .createIndex('retention_restrictions_org')
        .on('retention_restrictions')
        .columns(['org_id', 'table_name'])
        .execute();
    },
  },
};
