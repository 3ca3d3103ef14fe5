/**
 * Looking inside a SQLite copy without Kluis around it: open with the key (read-only for
 * verification), integrity check, rows per table, applied migrations, audit head. Synchronous
 * better-sqlite3 calls: these run in the CLI, not in the serving process.
 */
import SQLiteDatabase from 'better-sqlite3-multiple-ciphers';
import { unlockSqlite } from '../../db/database.js';

export interface AuditHeadFacts {
  seq: number;
  hash: string;
}

export interface SqliteInspection {
  /** `PRAGMA integrity_check` lines: `['ok']` when sound. */
  integrity: string[];
  /** Rows per table (every table but SQLite's own). */
  tables: Record<string, number>;
  /** Names in the migration table, in name order (empty when the table is missing). */
  migrations: string[];
  /** The audit chain head row, when the database has one. */
  auditHead: AuditHeadFacts | null;
  /** The last audit entry, to check the head points at it. */
  auditLast: AuditHeadFacts | null;
}

/** Opens a SQLite file with its key; throws when the key is wrong or the file is damaged. */
export function openSqliteFile(
  file: string,
  encryptionKey: string | undefined,
  options: { readonly: boolean },
): SQLiteDatabase.Database {
  const handle = new SQLiteDatabase(file, { readonly: options.readonly, fileMustExist: true });
  try {
    if (encryptionKey !== undefined) unlockSqlite(handle, encryptionKey);
    handle.prepare('SELECT count(*) FROM sqlite_master').get();
    return handle;
  } catch (error) {
    handle.close();
    throw error;
  }
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function tableExists(handle: SQLiteDatabase.Database, name: string): boolean {
  return (
    handle.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined
  );
}

export function inspectSqlite(handle: SQLiteDatabase.Database, migrationTable: string): SqliteInspection {
  const integrity = (handle.pragma('integrity_check') as { integrity_check: string }[]).map(
    (r) => r.integrity_check,
  );
  const names = handle
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all() as { name: string }[];
  const tables: Record<string, number> = {};
  for (const { name } of names) {
    const row = handle.prepare(`SELECT count(*) AS c FROM ${quoteIdent(name)}`).get() as { c: number };
    tables[name] = row.c;
  }
  const migrations = tableExists(handle, migrationTable)
    ? (
        handle.prepare(`SELECT name FROM ${quoteIdent(migrationTable)} ORDER BY name`).all() as {
          name: string;
        }[]
      ).map((r) => r.name)
    : [];
  const auditHead = tableExists(handle, 'audit_head')
    ? ((handle.prepare('SELECT seq, hash FROM audit_head WHERE id = 1').get() as
        | AuditHeadFacts
        | undefined) ?? null)
    : null;
  const auditLast = tableExists(handle, 'audit_log')
    ? ((handle.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as
        | AuditHeadFacts
        | undefined) ?? null)
    : null;
  return { integrity, tables, migrations, auditHead, auditLast };
}
