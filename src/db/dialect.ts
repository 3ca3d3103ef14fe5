/**
 * Helpers that let one migration run on SQLite and PostgreSQL. Conventions:
 * ids are text (UUIDs), times are ISO-8601 UTC text (sortable), booleans are integer 0/1,
 * binary is blob/bytea (a Buffer in both drivers), sequences are integer autoincrement/bigserial.
 */
import {
  type ColumnDefinitionBuilder,
  type CreateTableBuilder,
  type Kysely,
  PostgresAdapter,
  sql,
} from 'kysely';

/**
 * Whether a driver's error is a unique-constraint violation, on either dialect (PostgreSQL 23505,
 * SQLite SQLITE_CONSTRAINT_UNIQUE). A look-up before an insert cannot stand in for the constraint
 * under concurrency: two transactions may both find nothing, and the constraint then decides.
 */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  if (e === null || typeof e !== 'object') return false;
  return (
    e.code === '23505' ||
    e.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    (typeof e.message === 'string' && e.message.includes('UNIQUE constraint failed'))
  );
}

/** Migrations work on a database whose table types are not known yet (they create them). */
export type MigrationDb = Kysely<unknown>;

export function isPostgres(db: MigrationDb): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

export function binaryType(db: MigrationDb): 'blob' | 'bytea' {
  return isPostgres(db) ? 'bytea' : 'blob';
}

/** Adds an auto-incrementing integer primary key column. */
export function withSerialPk<TB extends string, C extends string>(
  db: MigrationDb,
  table: CreateTableBuilder<TB, C>,
  column: string,
): CreateTableBuilder<TB, C | string> {
  return isPostgres(db)
    ? table.addColumn(column, 'bigserial', (c: ColumnDefinitionBuilder) => c.primaryKey())
    : table.addColumn(column, 'integer', (c: ColumnDefinitionBuilder) => c.primaryKey().autoIncrement());
}

/** A CHECK expression `column in ('a', 'b', …)` for a fixed list (DDL cannot bind parameters). */
export function checkOneOf(column: string, values: readonly string[]) {
  return sql`${sql.ref(column)} in (${sql.join(values.map((v) => sql.lit(v)))})`;
}

export { sql };

/** PostgreSQL: the schema unqualified tables resolve to (where the migrations created them). */
export async function currentSchemaOf(db: MigrationDb): Promise<string> {
  const result = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  const schema = result.rows[0]?.schema;
  if (schema === undefined) throw new Error('PostgreSQL reports no current schema: set search_path');
  return schema;
}
