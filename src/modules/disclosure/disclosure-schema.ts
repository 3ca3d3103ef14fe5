/**
 * Tables of legally compelled disclosure (P9). Migration range 1750-1799.
 *
 * - `legal_orders`: one case per order an authority served on the operator about a tenant's data:
 *   the authority, legal basis, order reference, scope (data subjects, optionally narrowed to
 *   records `table:id`), deadline, an optional non-disclosure order's end, the two approvals
 *   (operator privacy officer and operator owner, two different people), the sealed export and
 *   when the tenant was told. `org_id` is the tenant whose data it concerns.
 */
import type { Migration } from 'kysely';
import { binaryType, checkOneOf, type MigrationDb } from '../../db/dialect.js';

export const legalOrderStatuses = ['recorded', 'disclosed'] as const;
export type LegalOrderStatus = (typeof legalOrderStatuses)[number];

export interface LegalOrdersTable {
  id: string;
  org_id: string;
  status: LegalOrderStatus;
  authority: string;
  legal_basis: string;
  order_reference: string;
  /** JSON array of data subject ids. */
  scope_subjects: string;
  /** JSON array of `table:id`; empty: every record of the subjects. */
  scope_records: string;
  deadline: string;
  /** The end (ISO date) of a non-disclosure order; null when there is none. */
  gag_until: string | null;
  recorded_at: string;
  recorded_by: string;
  privacy_officer_user_id: string | null;
  privacy_officer_approved_at: string | null;
  owner_user_id: string | null;
  owner_approved_at: string | null;
  disclosed_at: string | null;
  disclosed_by: string | null;
  /** The export, sealed with the tenant's org key. */
  export_zip: Buffer | null;
  export_sha256: string | null;
  tenant_notified_at: string | null;
  /** JSON array of the steps already written to the tenant's audit trail. */
  tenant_audited: string;
}

export interface DisclosureTables {
  legal_orders: LegalOrdersTable;
}

export const disclosureMigrations: Record<string, Migration> = {
  '1750_disclosure_legal_orders': {
    async up(db: MigrationDb) {
      await db.schema
        .createTable('legal_orders')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('status', 'text', (c) => c.notNull().check(checkOneOf('status', legalOrderStatuses)))
        .addColumn('authority', 'text', (c) => c.notNull())
        .addColumn('legal_basis', 'text', (c) => c.notNull())
        .addColumn('order_reference', 'text', (c) => c.notNull())
        .addColumn('scope_subjects', 'text', (c) => c.notNull())
        .addColumn('scope_records', 'text', (c) => c.notNull())
        .addColumn('deadline', 'text', (c) => c.notNull())
        .addColumn('gag_until', 'text')
        .addColumn('recorded_at', 'text', (c) => c.notNull())
        .addColumn('recorded_by', 'text', (c) => c.notNull())
        .addColumn('privacy_officer_user_id', 'text')
        .addColumn('privacy_officer_approved_at', 'text')
        .addColumn('owner_user_id', 'text')
        .addColumn('owner_approved_at', 'text')
        .addColumn('disclosed_at', 'text')
        .addColumn('disclosed_by', 'text')
        .addColumn('export_zip', binaryType(db))
        .addColumn('export_sha256', 'text')
        .addColumn('tenant_notified_at', 'text')
        .addColumn('tenant_audited', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('legal_orders_org').on('legal_orders').column('org_id').execute();
    },
  },
};
