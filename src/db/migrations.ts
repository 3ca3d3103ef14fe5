/**
 * Forward-only migrations, collected from every module's manifest (modules/index.ts
 * `migrationsOf`) and applied in name order. Names are
 * `NNNN_module_what`; number ranges per module keep them apart: 0001 orgs, 0100 auth,
 * 0200 crypto/keystore, 0300 security (audit, access log), 0400 jobs, 0500 mail, 0600 subjects, 0700 intake, 0800 relations, 0900 register/statement,
 * 1000 rights, 1100 retention.
 * A migration, once landed on main, is never edited: add a new one. Pending migrations run in
 * name order even when they sort before applied ones (modules are independent).
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import { isPostgres } from './dialect.js';

let installed: Readonly<Record<string, Migration>> | undefined;

/** Installs every module's migrations (modules/index.ts, at load): code, the same for every run. */
export function installMainMigrations(migrations: Readonly<Record<string, Migration>>): void {
  installed = migrations;
}

/** The main database's migrations of every module; throws before modules/index.ts has loaded. */
export function mainMigrations(): Readonly<Record<string, Migration>> {
  if (installed === undefined) throw new Error('migrations are read before modules/index.ts installed them');
  return installed;
}

function provider(migrations: Readonly<Record<string, Migration>>): MigrationProvider {
  return { getMigrations: async () => migrations };
}

export interface MigrationReport {
  applied: string[];
}

/** Applies pending migrations; throws with the failing migration's name. */
export async function migrateToLatest(
  db: Kysely<unknown>,
  migrations: Readonly<Record<string, Migration>>,
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
    // Modules number their migrations in their own ranges, so a module's new migration may sort
    // before another module's applied one; each module only touches its own tables.
    allowUnorderedMigrations: true,
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
