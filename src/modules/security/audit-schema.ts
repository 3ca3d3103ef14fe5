import { type Migration, sql } from 'kysely';

/**
 * The audit trail: append-only, hash-chained. `hash = SHA-256(prev_hash || canonical(entry))`.
 * Entries hold ids and field names only, never personal values.
 */
export interface AuditLogTable {
  seq: number;
  at: string;
  org_id: string | null;
  actor: string;
  action: string;
  target_type: string | null;
  target_id: string | null;
  purpose: string | null;
  /** JSON array of field names touched or read (names, never values). */
  fields: string;
  /** JSON object of non-personal detail (counts, codes, ids). */
  meta: string;
  prev_hash: string;
  hash: string;
}

/** One row (id = 1) holding the chain head; appends lock it so concurrent writers serialise. */
export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

export interface AuditTables {
  audit_log: AuditLogTable;
  audit_head: AuditHeadTable;
}

export const GENESIS_HASH = '0'.repeat(64);

export const auditMigrations: Record<string, Migration> = {
  '0300_audit': {
    async up(db) {
      await db.schema
        .createTable('audit_log')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('org_id', 'text')
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target_type', 'text')
        .addColumn('target_id', 'text')
        .addColumn('purpose', 'text')
        .addColumn('fields', 'text', (c) => c.notNull())
        .addColumn('meta', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_log_org').on('audit_log').columns(['org_id', 'seq']).execute();
      await db.schema
        .createTable('audit_head')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await sql`insert into audit_head (id, seq, hash) values (1, 0, ${GENESIS_HASH})`.execute(db);
    },
  },
};
