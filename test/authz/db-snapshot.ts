/**
 * Row counts per table, to show that an attack changed nothing. Logs and session bookkeeping are
 * left out: they change on every request by design.
 */
import { sql } from 'kysely';
import type { TestKluis } from '../dialects.js';

const volatileTables = new Set([
  'access_log',
  'audit_log',
  'audit_head',
  'sessions',
  'login_attempts',
  'kysely_migration',
  'kysely_migration_lock',
]);

export async function snapshot(kluis: TestKluis): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const t of await kluis.db.introspection.getTables()) {
    if (volatileTables.has(t.name)) continue;
    const r = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(t.name)}`.execute(
      kluis.db,
    );
    counts[t.name] = Number(r.rows[0]?.n ?? 0);
  }
  return counts;
}
