/**
 * Forward-only migrations, collected from every module and applied in name order. Names are
 * `NNNN_module_what`; number ranges per module keep them apart: 0001 orgs, 0100 auth,
 * 0200 crypto/keystore, 0300 security (audit, access log), 0400 jobs, 0500 mail.
 * A migration, once landed on main, is never edited: add a new one.
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import { orgsMigrations } from '../modules/orgs/orgs-schema.js';
import { auditMigrations } from '../modules/security/audit-schema.js';

export const mainMigrations: Record<string, Migration> = {
  ...orgsMigrations,
  ...auditMigrations,
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
  const migrator = new Migrator({
    db,
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
