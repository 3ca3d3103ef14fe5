/**
 * Tables of tenant offboarding (Art. 28(3)(g), P10). Migration range 1700-1749.
 *
 * - `offboardings`: one row per tenant that is leaving: who started it and when, the end of the
 *   notice period, the export (sealed with the tenant's org key, so it dies with the key) until
 *   the end, and after the end the signed deletion certificate. The row outlives the tenant's
 *   data: it holds ids, counts and dates, never a personal value.
 */
import type { Migration } from 'kysely';
import { binaryType, checkOneOf, type MigrationDb } from '../../db/dialect.js';

export const offboardingStatuses = ['notice', 'finished'] as const;
export type OffboardingStatus = (typeof offboardingStatuses)[number];

export interface OffboardingsTable {
  id: string;
  org_id: string;
  status: OffboardingStatus;
  started_at: string;
  /** The audit reference of who started it (`user:…`, `system:cli`). */
  started_by: string;
  notice_ends_at: string;
  /** The export zip, sealed with the org key; null once destroyed. */
  export_zip: Buffer | null;
  export_bytes: number | null;
  export_downloaded_at: string | null;
  finished_at: string | null;
  /** The signed deletion certificate (canonical JSON). */
  certificate: string | null;
}

export interface OffboardingTables {
  offboardings: OffboardingsTable;
}

export const offboardingMigrations: Record<string, Migration> = {
  '1700_offboarding': {
    async up(db: MigrationDb) {
      await db.schema
        .createTable('offboardings')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().unique().references('orgs.id'))
        .addColumn('status', 'text', (c) => c.notNull().check(checkOneOf('status', offboardingStatuses)))
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('started_by', 'text', (c) => c.notNull())
        .addColumn('notice_ends_at', 'text', (c) => c.notNull())
        .addColumn('export_zip', binaryType(db))
        .addColumn('export_bytes', 'integer')
        .addColumn('export_downloaded_at', 'text')
        .addColumn('finished_at', 'text')
        .addColumn('certificate', 'text')
        .execute();
    },
  },
};
