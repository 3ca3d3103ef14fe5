/**
 * PostgreSQL backups through the client tools: `pg_dump --format=custom` of one schema, taken in
 * an exported snapshot so the manifest's counts and migrations describe exactly what was dumped,
 * and `pg_restore` to read a dump back completely (the restore test) without a scratch server.
 * The password never goes on the command line (other users can read `ps`): it is passed in
 * PGPASSWORD.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import pg from 'pg';
import type { AuditHeadFacts } from './ops-sqlite.js';

export interface PgTool {
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** `--dbname=<url without password>` plus PGPASSWORD in the environment. */
export function pgConnection(url: string): PgTool {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = '';
  return {
    args: [`--dbname=${parsed.toString()}`],
    env: { ...process.env, PGAPPNAME: 'kluis-backup', ...(password === '' ? {} : { PGPASSWORD: password }) },
  };
}

/** True when `tool --version` runs (the client tools are installed and on PATH). */
export function hasTool(tool: string): Promise<boolean> {
  return new Promise((resolveTool) => {
    const child = spawn(tool, ['--version'], { stdio: 'ignore' });
    child.once('error', () => resolveTool(false));
    child.once('exit', (code) => resolveTool(code === 0));
  });
}

export interface ToolRun {
  code: number | null;
  stderr: string;
}

export function runTool(
  tool: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<ToolRun> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(tool, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 20_000) stderr += d;
    });
    child.once('error', reject);
    child.once('exit', (code) => resolveRun({ code, stderr: stderr.trim() }));
  });
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export interface PgSnapshotFacts {
  tables: Record<string, number>;
  migrations: string[];
  auditHead: AuditHeadFacts | null;
}

/**
 * Opens a read-only REPEATABLE READ transaction, exports its snapshot, gathers the manifest facts
 * inside it, and runs `work(snapshotId)` (pg_dump --snapshot) while the transaction stays open.
 */
export async function inSnapshot<T>(
  url: string,
  schema: string,
  migrationTable: string,
  work: (snapshot: string, facts: PgSnapshotFacts) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const snap = await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
    const snapshot = snap.rows[0]?.id;
    if (snapshot === undefined) throw new Error('pg_export_snapshot returned nothing');
    const names = await client.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables
        WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name`,
      [schema],
    );
    const tables: Record<string, number> = {};
    for (const { name } of names.rows) {
      const c = await client.query<{ c: string }>(
        `SELECT count(*) AS c FROM ${quoteIdent(schema)}.${quoteIdent(name)}`,
      );
      tables[name] = Number(c.rows[0]?.c ?? 0);
    }
    const migrations =
      migrationTable in tables
        ? (
            await client.query<{ name: string }>(
              `SELECT name FROM ${quoteIdent(schema)}.${quoteIdent(migrationTable)} ORDER BY name`,
            )
          ).rows.map((r) => r.name)
        : [];
    const head =
      'audit_head' in tables
        ? (
            await client.query<{ seq: string; hash: string }>(
              `SELECT seq, hash FROM ${quoteIdent(schema)}.audit_head WHERE id = 1`,
            )
          ).rows[0]
        : undefined;
    const facts: PgSnapshotFacts = {
      tables,
      migrations,
      auditHead: head === undefined ? null : { seq: Number(head.seq), hash: head.hash },
    };
    const result = await work(snapshot, facts);
    await client.query('COMMIT');
    return result;
  } finally {
    await client.end();
  }
}

/** `pg_dump --format=custom` of one schema, in the given exported snapshot. */
export async function pgDumpSchema(options: {
  url: string;
  schema: string;
  snapshot: string;
  file: string;
  pgDump?: string;
}): Promise<void> {
  const conn = pgConnection(options.url);
  const run = await runTool(
    options.pgDump ?? 'pg_dump',
    [
      '--format=custom',
      `--snapshot=${options.snapshot}`,
      `--schema=${quoteIdent(options.schema)}`,
      `--file=${options.file}`,
      '--no-password',
      ...conn.args,
    ],
    conn.env,
  );
  if (run.code !== 0) throw new Error(`pg_dump failed (exit ${run.code}): ${run.stderr}`);
}

export interface DumpScan {
  /** Rows per table, from the COPY blocks. */
  tables: Record<string, number>;
  /** Every row of the tables asked for, as column -> text value. */
  rows: Record<string, Record<string, string>[]>;
}

/**
 * Reads a custom-format dump back completely (`pg_restore --file=-`: every block decompressed),
 * counting the rows of each COPY block and keeping the rows of a few small tables.
 */
export function scanDump(
  file: string,
  keepRowsOf: readonly string[],
  pgRestore = 'pg_restore',
): Promise<DumpScan> {
  return new Promise((resolveScan, reject) => {
    const child = spawn(pgRestore, ['--file=-', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 20_000) stderr += d;
    });
    child.once('error', reject);
    const scan: DumpScan = { tables: {}, rows: {} };
    let current: { table: string; columns: string[]; keep: boolean } | undefined;
    const lines = createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on('line', (line) => {
      if (current === undefined) {
        const m = /^COPY (\S+) \((.*)\) FROM stdin;$/.exec(line);
        if (m === null) return;
        const qualified = m[1] ?? '';
        const table = (qualified.split('.').pop() ?? qualified).replace(/^"|"$/g, '');
        const columns = (m[2] ?? '').split(', ').map((c) => c.replace(/^"|"$/g, ''));
        current = { table, columns, keep: keepRowsOf.includes(table) };
        scan.tables[table] = 0;
        if (current.keep) scan.rows[table] = [];
        return;
      }
      if (line === '\\.') {
        current = undefined;
        return;
      }
      scan.tables[current.table] = (scan.tables[current.table] ?? 0) + 1;
      if (current.keep) {
        const values = line.split('\t');
        const row: Record<string, string> = {};
        current.columns.forEach((c, i) => {
          row[c] = values[i] ?? '';
        });
        scan.rows[current.table]?.push(row);
      }
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const closed = new Promise<void>((r) => lines.once('close', () => r()));
    Promise.all([exited, closed]).then(([code]) => {
      if (code !== 0)
        reject(new Error(`pg_restore could not read the dump (exit ${code}): ${stderr.trim()}`));
      else resolveScan(scan);
    }, reject);
  });
}
