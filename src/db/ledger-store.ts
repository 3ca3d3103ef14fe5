/**
 * The shared ledger store on PostgreSQL (decision 0020): the erasure ledger and the audit witness
 * of a cluster, in a schema of their own (`kluis_ledger` by default, or another database named by
 * `KLUIS_LEDGER_DATABASE_URL`) that every node appends to and that a restore of the main schema
 * does not touch. So restoring the main database still cannot resurrect erased data: the replay
 * reads this schema, which the restore did not roll back.
 *
 * Append-only twice over: a trigger refuses every UPDATE, DELETE and TRUNCATE (whoever runs them,
 * short of the schema's owner dropping the trigger), and in production the schema belongs to its
 * own role while the application's role holds only USAGE, SELECT and INSERT (docs/operations.md,
 * "PostgreSQL in production"). Each row keeps the exact JSON line the file format has, so a
 * line's hash is computed and verified the same way for both homes.
 *
 * SQLite installations keep the files in the data directory (one node, nothing to share).
 */
import { type Generated, Kysely, sql } from 'kysely';
import pg from 'pg';
import { CurrentSchemaPostgresDialect } from './postgres-introspector.js';

export const DEFAULT_LEDGER_SCHEMA = 'kluis_ledger';

interface LedgerTables {
  erasure_ledger: { seq: number; hash: string; line: string };
  audit_witness: { id: Generated<number>; line: string };
}

/** The head of a hash-chained log: its last seq and hash (undefined while empty). */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

export interface LedgerStore {
  /** Where the lines live, for messages (`postgres schema kluis_ledger`). */
  readonly where: string;
  readonly schema: string;
  /**
   * Appends one erasure-ledger line. `build` receives the current head under a cluster-wide lock
   * and returns the line to store; the line is committed before this resolves (write-ahead).
   */
  appendErasure<T extends ChainHead>(
    build: (head: ChainHead | undefined) => T & { readonly text: string },
  ): Promise<T>;
  /** Appends one witness line (committed before this resolves). */
  appendWitness(text: string): Promise<void>;
  /** The erasure ledger's lines in seq order, read in batches. */
  erasureLines(): AsyncGenerator<string>;
  /** The witness lines in the order they were appended, read in batches. */
  witnessLines(): AsyncGenerator<string>;
  close(): Promise<void>;
}

function assertSchemaName(schema: string): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid PostgreSQL schema name: ${schema}`);
}

/**
 * Creates the schema, tables and append-only triggers when they are missing. Where an owner role
 * created them beforehand (least privilege), the application's role only checks they are there.
 */
async function ensureLedgerSchema(db: Kysely<LedgerTables>, schema: string): Promise<void> {
  const present = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM pg_trigger t
      JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ${schema} AND t.tgname IN ('kluis_append_only', 'kluis_no_truncate')`.execute(db);
  if ((present.rows[0]?.n ?? 0) >= 4) return;
  const s = sql.id(schema);
  await db.transaction().execute(async (trx) => {
    // Nodes starting together: one creates, the others wait and find it done.
    await sql`SELECT pg_advisory_xact_lock(hashtext(${`kluis-ledger-setup:${schema}`}))`.execute(trx);
    await sql`CREATE SCHEMA IF NOT EXISTS ${s}`.execute(trx);
    await sql`CREATE TABLE IF NOT EXISTS ${s}.erasure_ledger (
        seq bigint PRIMARY KEY, hash text NOT NULL, line text NOT NULL)`.execute(trx);
    await sql`CREATE TABLE IF NOT EXISTS ${s}.audit_witness (
        id bigserial PRIMARY KEY, line text NOT NULL)`.execute(trx);
    await sql`CREATE OR REPLACE FUNCTION ${s}.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the Kluis ledger is append-only: % on %.% refused',
          TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$`.execute(
      trx,
    );
    for (const table of ['erasure_ledger', 'audit_witness']) {
      const t = sql.id(schema, table);
      await sql`CREATE OR REPLACE TRIGGER kluis_append_only BEFORE UPDATE OR DELETE ON ${t}
          FOR EACH ROW EXECUTE FUNCTION ${s}.refuse_change()`.execute(trx);
      await sql`CREATE OR REPLACE TRIGGER kluis_no_truncate BEFORE TRUNCATE ON ${t}
          FOR EACH STATEMENT EXECUTE FUNCTION ${s}.refuse_change()`.execute(trx);
      await sql`REVOKE UPDATE, DELETE, TRUNCATE ON ${t} FROM PUBLIC`.execute(trx);
    }
  });
}

const BATCH = 1000;

export async function openLedgerStore(options: { url: string; schema: string }): Promise<LedgerStore> {
  const { schema } = options;
  assertSchemaName(schema);
  // Its own small pool: an erasure's ledger line is committed while the erasure's own
  // transaction holds a connection of the main pool.
  const pool = new pg.Pool({ connectionString: options.url, max: 2 });
  const db = new Kysely<LedgerTables>({ dialect: new CurrentSchemaPostgresDialect({ pool }) });
  try {
    await ensureLedgerSchema(db, schema);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const ledger = db.withSchema(schema);
  const lockKey = `kluis-ledger-append:${schema}`;

  async function* batches<R>(
    next: (after: number) => Promise<R[]>,
    keyOf: (r: R) => number,
    text: (r: R) => string,
  ) {
    let after = -1;
    for (;;) {
      const rows = await next(after);
      for (const row of rows) yield text(row);
      const last = rows.at(-1);
      if (last === undefined || rows.length < BATCH) return;
      after = keyOf(last);
    }
  }

  return {
    where: `PostgreSQL schema ${schema}`,
    schema,
    async appendErasure(build) {
      return db.transaction().execute(async (trx) => {
        // One writer at a time across every node, so the chain stays a chain.
        await sql`SELECT pg_advisory_xact_lock(hashtext(${lockKey}))`.execute(trx);
        const last = await trx
          .withSchema(schema)
          .selectFrom('erasure_ledger')
          .select(['seq', 'hash'])
          .orderBy('seq', 'desc')
          .limit(1)
          .executeTakeFirst();
        const line = build(last === undefined ? undefined : { seq: Number(last.seq), hash: last.hash });
        await trx
          .withSchema(schema)
          .insertInto('erasure_ledger')
          .values({ seq: line.seq, hash: line.hash, line: line.text })
          .execute();
        return line;
      });
    },
    async appendWitness(text) {
      await ledger.insertInto('audit_witness').values({ line: text }).execute();
    },
    erasureLines: () =>
      batches(
        (after) =>
          ledger
            .selectFrom('erasure_ledger')
            .select(['seq', 'line'])
            .where('seq', '>', after)
            .orderBy('seq')
            .limit(BATCH)
            .execute(),
        (r) => Number(r.seq),
        (r) => r.line,
      ),
    witnessLines: () =>
      batches(
        (after) =>
          ledger
            .selectFrom('audit_witness')
            .select(['id', 'line'])
            .where('id', '>', after)
            .orderBy('id')
            .limit(BATCH)
            .execute(),
        (r) => Number(r.id),
        (r) => r.line,
      ),
    close: () => db.destroy(),
  };
}
