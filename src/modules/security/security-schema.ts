/**
 * Tables of the security module beyond the audit chain itself (`audit-schema.ts`, 0300):
 * append-only guards on the audit tables, signed audit checkpoints, and the access log (P12).
 *
 * The access log holds no user id and has no foreign key to people or users: P12 says this
 * metadata is processed for system management and defence, never joined into profiles.
 */
import { type CreateTableBuilder, type Generated, type Migration, sql } from 'kysely';
import { isPostgres, type MigrationDb } from '../../db/dialect.js';

/** A signed statement "the audit chain had hash `hash` at `seq`" (Ed25519, see audit-checkpoint.ts). */
export interface AuditCheckpointsTable {
  seq: number;
  hash: string;
  at: string;
  /** Base64 Ed25519 signature over `checkpointMessage(seq, hash, at)`. */
  signature: string;
  /** First 16 hex characters of SHA-256 of the raw public key. */
  key_id: string;
}

/**
 * One request that reached Kluis (P12). `ip` is cleared to its /24 (IPv4) or /48 (IPv6) network
 * after `KLUIS_ACCESS_LOG_TRUNCATE_DAYS` (`ip_truncated` = 1); the row is deleted after
 * `KLUIS_ACCESS_LOG_RETENTION_DAYS`. `route` is the route pattern (`/staff/users/:id`), never the
 * raw URL, so query strings and path parameters are not logged.
 */
export interface AccessLogTable {
  /** A row number (0304): the log is never referenced from elsewhere, and a text key was a second b-tree per row. */
  id: Generated<number>;
  at: string;
  /** The signed-in actor's org (null for anonymous requests); used for scoping reads only. */
  org_id: string | null;
  ip: string | null;
  ip_truncated: number;
  user_agent: string | null;
  method: string;
  route: string;
  status: number;
  request_id: string;
}

export interface SecurityTables {
  audit_checkpoints: AuditCheckpointsTable;
  access_log: AccessLogTable;
}

/** Tables whose rows may only be inserted, never updated or deleted (ASVS 16.4.2). */
export const appendOnlyTables = ['audit_log', 'audit_checkpoints'] as const;

async function guardAppendOnly(db: MigrationDb, table: (typeof appendOnlyTables)[number]): Promise<void> {
  if (isPostgres(db)) {
    await sql`create trigger ${sql.raw(`${table}_append_only`)} before update or delete on ${sql.table(table)}
      for each row execute function kluis_refuse_change()`.execute(db);
    await sql`create trigger ${sql.raw(`${table}_no_truncate`)} before truncate on ${sql.table(table)}
      for each statement execute function kluis_refuse_change()`.execute(db);
    return;
  }
  for (const op of ['update', 'delete'] as const) {
    await sql`create trigger ${sql.raw(`${table}_no_${op}`)} before ${sql.raw(op)} on ${sql.table(table)}
      begin select raise(abort, ${sql.lit(`${table} is append-only`)}); end`.execute(db);
  }
}

export const securityMigrations: Record<string, Migration> = {
  '0301_security_audit_append_only': {
    async up(db: MigrationDb) {
      if (isPostgres(db)) {
        await sql`create or replace function kluis_refuse_change() returns trigger language plpgsql as $$
          begin raise exception '% is append-only', TG_TABLE_NAME; end $$`.execute(db);
      }
      await guardAppendOnly(db, 'audit_log');
    },
  },
  '0302_security_audit_checkpoints': {
    async up(db: MigrationDb) {
      await db.schema
        .createTable('audit_checkpoints')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .execute();
      await guardAppendOnly(db, 'audit_checkpoints');
    },
  },
  '0303_security_access_log': {
    async up(db: MigrationDb) {
      await accessLogColumns(
        db.schema.createTable('access_log').addColumn('id', 'text', (c) => c.primaryKey()),
      ).execute();
      await createAccessLogIndexes(db, ['at', 'id']);
    },
  },

  /**
   * The access log gets an integer key: with a text UUID key every row was written to two
   * b-trees (the table and the key's index) besides its three indexes; an integer key is the
   * table's own row number. An insert costs about half as much (10 against 18 µs a row on an
   * encrypted file, bench/http). Rows are copied in time order; their old ids go (nothing refers
   * to them). On SQLite the copy runs in one transaction: a crash half-way leaves the old table.
   */
  '0304_security_access_log_integer_id': {
    async up(db: MigrationDb) {
      if (isPostgres(db)) {
        await rebuildAccessLog(db, true);
        return;
      }
      // Kysely runs SQLite migrations outside a transaction (no transactional DDL assumed).
      await db.transaction().execute((trx) => rebuildAccessLog(trx, false));
    },
  },
  /** An access export lists the audit entries about the subject's records (rights-export-consultations.ts). */
  '0305_security_audit_target': {
    async up(db: MigrationDb) {
      await db.schema
        .createIndex('audit_log_target')
        .on('audit_log')
        .columns(['org_id', 'target_type', 'target_id'])
        .execute();
    },
  },
  /** The incident register's signals read the trail by action and by actor within a window (issue 14). */
  '0310_security_audit_signal_indexes': {
    async up(db: MigrationDb) {
      await db.schema.createIndex('audit_log_action_at').on('audit_log').columns(['action', 'at']).execute();
      await db.schema.createIndex('audit_log_actor_at').on('audit_log').columns(['actor', 'at']).execute();
      await db.schema.createIndex('audit_log_at').on('audit_log').columns(['at']).execute();
    },
  },
};

/** The access log's columns after its key (0303 and its rebuild in 0304 create the same). */
function accessLogColumns<TB extends string>(table: CreateTableBuilder<TB, 'id'>) {
  return table
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('org_id', 'text')
    .addColumn('ip', 'text')
    .addColumn('ip_truncated', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('user_agent', 'text')
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('route', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('request_id', 'text', (c) => c.notNull());
}

async function rebuildAccessLog(db: MigrationDb, postgres: boolean): Promise<void> {
  const columns = [
    'at',
    'org_id',
    'ip',
    'ip_truncated',
    'user_agent',
    'method',
    'route',
    'status',
    'request_id',
  ];
  await accessLogColumns(
    db.schema
      .createTable('access_log_v2')
      .addColumn('id', postgres ? 'bigint' : 'integer', (c) =>
        postgres ? c.primaryKey().generatedAlwaysAsIdentity() : c.primaryKey(),
      ),
  ).execute();
  const list = sql.join(columns.map((c) => sql.ref(c)));
  await sql`insert into access_log_v2 (${list}) select ${list} from access_log order by at, id`.execute(db);
  await db.schema.dropTable('access_log').execute();
  await db.schema.alterTable('access_log_v2').renameTo('access_log').execute();
  // SQLite appends the row number to every index entry by itself; PostgreSQL needs it named.
  await createAccessLogIndexes(db, postgres ? ['at', 'id'] : ['at']);
}

/** The access log's indexes; `byTime` are the columns of the one in time order. */
async function createAccessLogIndexes(db: MigrationDb, byTime: string[]): Promise<void> {
  await db.schema.createIndex('access_log_at').on('access_log').columns(byTime).execute();
  await db.schema.createIndex('access_log_org_at').on('access_log').columns(['org_id', 'at']).execute();
  // The truncation sweep looks for old rows that still hold a full address.
  await db.schema
    .createIndex('access_log_untruncated')
    .on('access_log')
    .columns(['ip_truncated', 'at'])
    .execute();
}
