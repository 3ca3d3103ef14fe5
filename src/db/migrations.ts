/**
 * Forward-only migrations, collected from every module and applied in name order. Names are
 * `NNNN_module_what`; number ranges per module keep them apart: 0001 orgs, 0100 auth,
 * 0200 crypto/keystore, 0300 security (audit, access log), 0400 jobs, 0500 mail, 0600 subjects, 0700 intake, 0800 relations, 0900 register/statement,
 * 1000 rights, 1100 retention.
 * A migration, once landed on main, is never edited: add a new one.
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import { authMigrations } from '../modules/auth/auth-schema.js';
import { jobsMigrations } from '../modules/jobs/jobs-schema.js';
import { orgsMigrations } from '../modules/orgs/orgs-schema.js';
import { auditMigrations } from '../modules/security/audit-schema.js';
import { securityMigrations } from '../modules/security/security-schema.js';
import { subjectsMigrations } from '../modules/subjects/subjects-schema.js';
import { isPostgres } from './dialect.js';

export const mainMigrations: Record<string, Migration> = {
  ...orgsMigrations,
  ...authMigrations,
  ...auditMigrations,
  ...jobsMigrations,
  ...securityMigrations,
  ...subjectsMigrations,
};

function provider(migrations: Record<string, Migration>): MigrationProvider {
  return { getMigrations: async () => migrations };
}

export interface MigrationReport {
  applied: string[];
}

/** Applies pending migrations; throws with the failing migration's name. */
export async function migrateToLatest(
  db: Kysely<unknown>,
  migrations: Record<string, Migration> = mainMigrations,
  tableName = 'kysely_migration',
): Promise<MigrationReport> {
  // On PostgreSQL the migration tables live in the connection's own schema; without naming it,
  // Kysely looks for its lock table across every schema and races with other Kluis schemas.
  const schema = isPostgres(db)
    ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema
    : undefined;
  const migrator = new Migrator({
    db,
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
    provider: provider(migrations),
    migrationTableName: tableName,
    migrationLockTableName: `${tableName}_lock`,
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error !== undefined) {
    throw new Error(`migration ${failed?.migrationName ?? '(unknown)'} failed`, { cause: error });
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
