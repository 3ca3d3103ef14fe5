/**
 * Opens the database named by a URL: `sqlite:<path>` (SQLCipher-encrypted file through
 * better-sqlite3-multiple-ciphers) or `postgres://…` (through pg). Both give a `Kysely<T>`;
 * the rest of the code does not know which one it has.
 */
import { hkdfSync } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SQLiteDatabase from 'better-sqlite3-multiple-ciphers';
import { Kysely, type SqliteDatabase, SqliteDialect } from 'kysely';
import pg from 'pg';
import { CurrentSchemaPostgresDialect } from './postgres-introspector.js';
import { withTransactionRetry } from './transaction-retry.js';

// BIGINT/BIGSERIAL come back as numbers (all our counters stay far below 2^53).
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

export type DialectName = 'sqlite' | 'postgres';

export interface DatabaseOptions {
  url: string;
  /** SQLCipher key for SQLite files. Without it the file is plain SQLite (refused in production). */
  encryptionKey?: string | undefined;
  /** PostgreSQL schema to use (search_path); created if missing. Used to separate the key store and test runs. */
  schema?: string | undefined;
  /** Extra pragmas for SQLite, e.g. secure_delete for the key store. */
  secureDelete?: boolean;
  poolSize?: number;
}

export interface OpenedDatabase<T> {
  db: Kysely<T>;
  dialect: DialectName;
  /** The SQLite file path, when SQLite. */
  file: string | undefined;
  /** Run a WAL checkpoint (TRUNCATE) on SQLite, retried while busy; no-op on PostgreSQL. */
  checkpoint(): Promise<void>;
  /**
   * SQLite: a consistent online copy to `target` (a new file). `VACUUM INTO` reads one snapshot
   * while writers go on, and the copy keeps the cipher and key; better-sqlite3's backup API
   * refuses an encrypted source ("incompatible source and target databases").
   */
  backupTo(target: string): Promise<void>;
  close(): Promise<void>;
  /** The raw better-sqlite3 handle (SQLite only), for backups and maintenance. */
  sqlite: SQLiteDatabase.Database | undefined;
  /** See `ChangeStamp`; always undefined on PostgreSQL. */
  changeStamp: ChangeStamp;
  /**
   * PostgreSQL: writes through this pool, counted when a statement that is not a SELECT starts and
   * again when its connection goes back to the pool (after its transaction committed or rolled
   * back). With the change feed (change-feed.ts) this makes a node's own writes visible to its
   * caches at once, before the notification of them arrives. Undefined on SQLite.
   */
  writeCount: (() => number) | undefined;
}

const readOnlyStatement =
  /^\s*(select|with\s+[^;]*?\)\s*select|show|begin|start transaction|commit|rollback|set)\b/i;

/** Counts the pool's writes (see `OpenedDatabase.writeCount`). */
function countWrites(pool: pg.Pool): () => number {
  let writes = 0;
  const dirty = new WeakSet<pg.PoolClient>();
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    const counted = (...args: unknown[]) => {
      const first = args[0];
      const text = typeof first === 'string' ? first : (first as { text?: unknown } | undefined)?.text;
      if (typeof text !== 'string' || !readOnlyStatement.test(text)) {
        writes++;
        dirty.add(client as pg.PoolClient);
      }
      return query(...args);
    };
    Object.assign(client, { query: counted });
  });
  pool.on('release', (_error, client) => {
    if (dirty.has(client)) {
      dirty.delete(client);
      writes++;
    }
  });
  return () => writes;
}

/**
 * A value that stays the same only while nothing in the database can have changed: a cache of
 * query results is valid while the stamp it was filled under is current. Undefined when no such
 * guarantee can be given (PostgreSQL: other servers write without telling; SQLite inside an open
 * transaction): the caller then reads the database.
 */
export type ChangeStamp = () => string | undefined;

const noChangeStamp: ChangeStamp = () => undefined;

/**
 * SQLite's change stamp: `data_version` (changes when another connection, thread or process —
 * the access-log worker, the `kluis` CLI, a `kluis worker` — commits) and `total_changes()` (rows
 * this connection has inserted, updated or deleted, counted when the statement runs, so an
 * uncommitted or rolled-back write moves it too). Reading `data_version` starts a read
 * transaction, which is where SQLite notices another connection's commit (~1 µs on an idle
 * machine, a few µs under load: the shared-memory lock calls); `total_changes()` reads a counter.
 */
export function sqliteChangeStamp(handle: SQLiteDatabase.Database): ChangeStamp {
  const dataVersion = handle.prepare('PRAGMA data_version').pluck();
  const totalChanges = handle.prepare('SELECT total_changes()').pluck();
  return () => {
    if (handle.inTransaction) return undefined;
    return `${dataVersion.get() as number}:${totalChanges.get() as number}`;
  };
}

export function dialectOf(url: string): DialectName {
  return url.startsWith('sqlite:') ? 'sqlite' : 'postgres';
}

export function sqlitePathOf(url: string): string {
  return resolve(url.replace(/^sqlite:(\/\/)?/, ''));
}

export function rawSqlcipherKey(secret: string): string {
  return Buffer.from(hkdfSync('sha256', secret, 'kluis/sqlcipher', 'database-key/v1', 32)).toString('hex');
}

function quoteSqliteString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Sets the cipher and key on a freshly opened handle (before any other statement). */
export function unlockSqlite(handle: SQLiteDatabase.Database, encryptionKey: string): void {
  handle.pragma(`cipher=${quoteSqliteString('sqlcipher')}`);
  // The configured key is high-entropy (checked at start), so it is turned into a raw 256-bit
  // key with HKDF instead of SQLCipher's deliberately slow password KDF.
  handle.pragma(`key="x'${rawSqlcipherKey(encryptionKey)}'"`);
}

/**
 * The database file is readable by its owner only, and so are its `-wal` and `-shm` files, which
 * SQLite creates with the database file's mode. A new file (and folder) is created that way; an
 * existing one with group or other bits is tightened. Encrypted or not, the file holds every
 * record: other accounts on the machine have no business reading it (or its WAL's timing).
 */
function ownerOnly(file: string): void {
  const dir = dirname(file);
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }
  if (!existsSync(file)) {
    closeSync(openSync(file, 'wx', 0o600));
    return;
  }
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    if (existsSync(path) && (statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  }
}

export function openSqlite(
  file: string,
  options: { encryptionKey?: string | undefined; secureDelete?: boolean },
) {
  ownerOnly(file);
  const handle = new SQLiteDatabase(file);
  if (options.encryptionKey !== undefined) unlockSqlite(handle, options.encryptionKey);
  // Reading the schema fails here, not later, when the key is wrong.
  handle.prepare('SELECT count(*) FROM sqlite_master').get();
  handle.pragma('journal_mode = WAL');
  handle.pragma('synchronous = NORMAL');
  handle.pragma('foreign_keys = ON');
  handle.pragma('busy_timeout = 5000');
  if (options.secureDelete) handle.pragma('secure_delete = ON');
  return handle;
}

/**
 * Kysely's SQLite driver prepares every statement anew, and preparing costs several times more
 * than running a short indexed query on an encrypted file (bench/http: ~45 µs against ~9 µs for
 * the session lookup). The handle given to Kysely therefore keeps prepared statements, within a
 * budget of statements and of SQL text (multi-row inserts are long). When over budget, the
 * oldest statement not used since the last eviction pass goes (second chance: a hit only sets a
 * flag). A statement still being iterated (an open `stream()`) is busy and is not handed out
 * twice. SQLite re-prepares a cached statement by itself after a schema change. Transactions
 * begin IMMEDIATE (see `prepare`).
 */
export function withStatementCache(
  handle: SQLiteDatabase.Database,
  budget: { maxStatements: number; maxSqlChars: number } = { maxStatements: 256, maxSqlChars: 1_000_000 },
): SqliteDatabase {
  const cache = new Map<string, { statement: SQLiteDatabase.Statement; used: boolean }>();
  let chars = 0;
  const overBudget = () => cache.size > budget.maxStatements || chars > budget.maxSqlChars;
  function evict(): void {
    while (overBudget()) {
      for (const [sql, entry] of cache) {
        cache.delete(sql);
        if (entry.used) {
          entry.used = false;
          cache.set(sql, entry);
        } else {
          chars -= sql.length;
          if (!overBudget()) return;
        }
      }
    }
  }
  return {
    prepare(requested) {
      // Every transaction takes the write lock when it begins (Kysely's driver says `begin`). A
      // deferred transaction that reads first and then writes cannot wait for another writer
      // (the access-log thread, another process): SQLite answers SQLITE_BUSY at once instead of
      // honouring busy_timeout, to avoid a deadlock. An immediate one waits its turn up front.
      const sql = requested === 'begin' ? 'begin immediate' : requested;
      const hit = cache.get(sql);
      if (hit !== undefined) {
        if (hit.statement.busy) return handle.prepare(sql);
        hit.used = true;
        return hit.statement;
      }
      const statement = handle.prepare(sql);
      if (sql.length > budget.maxSqlChars) return statement;
      cache.set(sql, { statement, used: false });
      chars += sql.length;
      evict();
      return statement;
    },
    close() {
      cache.clear();
      handle.close();
    },
  };
}

/**
 * `PRAGMA wal_checkpoint(TRUNCATE)` until it completes. SQLite answers `busy` instead of waiting
 * when another connection is checkpointing at that moment (the access-log worker's periodic
 * PASSIVE checkpoint; the busy handler is not asked for that lock), or when a reader still holds
 * the WAL past busy_timeout. A TRUNCATE that did not happen would leave erased values in the WAL,
 * so it is tried again (`attempts` times, `pauseMs` apart) and otherwise fails loudly.
 */
export async function checkpointTruncate(
  handle: Pick<SQLiteDatabase.Database, 'pragma'>,
  options: { attempts?: number; pauseMs?: number } = {},
): Promise<void> {
  const attempts = options.attempts ?? 50;
  for (let i = 0; i < attempts; i++) {
    const [result] = handle.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    if (result === undefined || result.busy === 0) return;
    await new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? 20));
  }
  throw new Error(`WAL checkpoint (TRUNCATE) still busy after ${attempts} attempts`);
}

export async function openDatabase<T>(options: DatabaseOptions): Promise<OpenedDatabase<T>> {
  const dialect = dialectOf(options.url);
  if (dialect === 'sqlite') {
    const file = sqlitePathOf(options.url);
    const handle = openSqlite(file, options);
    const db = new Kysely<T>({ dialect: new SqliteDialect({ database: withStatementCache(handle) }) });
    return {
      db,
      dialect,
      file,
      sqlite: handle,
      changeStamp: sqliteChangeStamp(handle),
      writeCount: undefined,
      checkpoint: () => checkpointTruncate(handle),
      backupTo: async (target) => {
        handle.prepare('VACUUM INTO ?').run(target);
      },
      close: async () => {
        await db.destroy();
      },
    };
  }
  const schema = options.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`invalid PostgreSQL schema name: ${schema}`);
  }
  if (schema !== undefined) {
    const setup = new pg.Client({ connectionString: options.url });
    await setup.connect();
    try {
      await setup.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      await setup.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  const writeCount = countWrites(pool);
  // A transaction that loses a race (serialization failure, deadlock) runs again: see transaction-retry.ts.
  const db = withTransactionRetry(new Kysely<T>({ dialect: new CurrentSchemaPostgresDialect({ pool }) }));
  return {
    db,
    dialect,
    file: undefined,
    sqlite: undefined,
    changeStamp: noChangeStamp,
    writeCount,
    checkpoint: async () => {},
    backupTo: async () => {
      throw new Error('backupTo is for SQLite; PostgreSQL is backed up with pg_dump (`kluis backup create`)');
    },
    close: async () => {
      await db.destroy();
    },
  };
}
