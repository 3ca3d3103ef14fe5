/**
 * An attacker with write access to the database, for the audit-trail tests: drops the
 * append-only triggers (anyone who can write the tables can drop them) and edits rows directly.
 */
import { type Kysely, sql } from 'kysely';
import { isPostgres } from '../../src/db/dialect.js';
import type { DB } from '../../src/db/schema.js';
import { chainHash } from '../../src/modules/security/audit-chain.js';
import { GENESIS_HASH } from '../../src/modules/security/audit-schema.js';
import { appendOnlyTables } from '../../src/modules/security/security-schema.js';

export async function dropAppendOnlyGuards(db: Kysely<DB>): Promise<void> {
  for (const table of appendOnlyTables) {
    if (isPostgres(db as Kysely<unknown>)) {
      await sql`drop trigger if exists ${sql.raw(`${table}_append_only`)} on ${sql.table(table)}`.execute(db);
      await sql`drop trigger if exists ${sql.raw(`${table}_no_truncate`)} on ${sql.table(table)}`.execute(db);
    } else {
      await sql`drop trigger if exists ${sql.raw(`${table}_no_update`)}`.execute(db);
      await sql`drop trigger if exists ${sql.raw(`${table}_no_delete`)}`.execute(db);
    }
  }
}

/**
 * Rewrites history the clever way: recomputes every hash from `fromSeq` to the end and moves the
 * head, so the chain is consistent in itself again.
 */
export async function recomputeChainFrom(db: Kysely<DB>, fromSeq: number): Promise<void> {
  const rows = await db.selectFrom('audit_log').selectAll().orderBy('seq').execute();
  let prev = GENESIS_HASH;
  for (const row of rows) {
    if (Number(row.seq) >= fromSeq) {
      const hash = chainHash(prev, row);
      await db.updateTable('audit_log').set({ prev_hash: prev, hash }).where('seq', '=', row.seq).execute();
      prev = hash;
    } else {
      prev = row.hash;
    }
  }
  const last = rows[rows.length - 1];
  await db
    .updateTable('audit_head')
    .set({ seq: last === undefined ? 0 : Number(last.seq), hash: prev })
    .where('id', '=', 1)
    .execute();
}
