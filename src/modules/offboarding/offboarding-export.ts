/**
 * The full export of a leaving tenant (Art. 28(3)(g): return all personal data to the
 * controller). Built from the access-export machinery — every data subject's export, compiled
 * from the personal-data providers and the field catalogue, merged per table — plus the register
 * and every published statement version. The zip holds, per table, `tables/<table>.json` and
 * `tables/<table>.csv`, the stored documents under `files/`, `register.json`, `statement/` and a
 * `manifest.json` with the counts. Deterministic: same data, same bytes.
 *
 * Rows that belong to no data subject — the tenant's staff accounts and roles, API keys, grants,
 * settings, register entries, … — are in it too: every table with the tenant's rows (an `org_id`
 * column, the same list the deletion walks) that the subjects' exports did not cover is written
 * whole under `org/<table>.json|csv`. Credentials are withheld (password, TOTP, token and key
 * hashes and secrets: the tenant gets its accounts, not a way into them), and sealed columns are
 * named in the manifest rather than given as ciphertext that dies with the org key.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { OrgScope } from '../../shared/actor.js';
import { zipOf } from '../../shared/zip.js';
import type { KluisCore } from '../module.js';
import { installedPersonalData, type PersonalDataRegistry } from '../personal-data.js';
import { csvSafe, type RegisterService } from '../register/index.js';
import { csvOf, type ExportTable, filePathOf, type RightsService } from '../rights/index.js';
import type { StatementService } from '../statement/index.js';
import type { SubjectsService } from '../subjects/index.js';
import { orgTables } from './offboarding-rows.js';

export const TENANT_EXPORT_FORMAT = 'kluis.tenant-export/1';

export interface TenantExportDeps {
  readonly db: KluisCore['db'];
  readonly rights: Pick<RightsService, 'compileExport'>;
  readonly subjects: Pick<SubjectsService, 'listIds'>;
  readonly register: Pick<RegisterService, 'snapshotOf'>;
  readonly statement: Pick<StatementService, 'listVersions' | 'findVersion'>;
  readonly personalData?: PersonalDataRegistry;
}

/** Credentials: never in an export (a column named so, in any table). */
const withheldColumn = (column: string) =>
  /(^|_)(password_hash|totp_secret|totp_last_step|secret|secret_hash|token_hash|code_hash|key_hash)$/.test(
    column,
  );
/** Tables whose row id is itself a credential (a session's id is the hash of its cookie). */
const idIsCredential: ReadonlySet<string> = new Set(['sessions']);

interface OrgTable {
  readonly table: string;
  readonly columns: readonly string[];
  readonly rows: readonly Record<string, string | number | null>[];
  readonly withheld: readonly string[];
  readonly sealed: readonly string[];
}

type LooseDB = Record<string, Record<string, unknown>>;

/** Every row of the tenant in `table`, credentials withheld and sealed values named, not given. */
async function orgTableOf(db: Kysely<DB>, orgId: string, table: string): Promise<OrgTable> {
  const loose = db as unknown as Kysely<LooseDB>;
  const raw = await loose.selectFrom(table).selectAll().where('org_id', '=', orgId).execute();
  const all = raw[0] === undefined ? [] : Object.keys(raw[0]).sort();
  const withheld = all.filter((c) => withheldColumn(c) || (c === 'id' && idIsCredential.has(table)));
  const sealed = new Set<string>();
  const columns = all.filter((c) => !withheld.includes(c));
  const rows = raw.map((r) => {
    const out: Record<string, string | number | null> = {};
    for (const c of columns) {
      const v = r[c];
      if (Buffer.isBuffer(v) || v instanceof Uint8Array) {
        sealed.add(c);
        out[c] = null;
      } else if (typeof v === 'number' || typeof v === 'string' || v === null) out[c] = v;
      else if (typeof v === 'bigint' || typeof v === 'boolean') out[c] = String(v);
      else out[c] = v === undefined ? null : JSON.stringify(v);
    }
    return out;
  });
  // Rows in a stable order: by every column, as text.
  const key = (r: Record<string, unknown>) => columns.map((c) => String(r[c] ?? '')).join('\u0000');
  rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return { table, columns, rows, withheld, sealed: [...sealed].sort() };
}

function csvOfOrgTable(t: OrgTable): string {
  const cell = (v: string | number | null) => {
    const text = v === null ? '' : csvSafe(String(v));
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return `${[t.columns.join(','), ...t.rows.map((r) => t.columns.map((c) => cell(r[c] ?? null)).join(','))].join('\r\n')}\r\n`;
}

export interface TenantExport {
  readonly zip: Buffer;
  /** Rows per table in the export. */
  readonly counts: Readonly<Record<string, number>>;
  readonly subjects: number;
}

/** Every subject's tables merged: one table per name, each row once (shared rows are not doubled). */
function mergeTables(all: readonly ExportTable[]): ExportTable[] {
  const merged = new Map<
    string,
    { table: ExportTable; ids: Set<string>; rows: ExportTable['rows'][number][] }
  >();
  for (const t of all) {
    let entry = merged.get(t.table);
    if (entry === undefined) {
      entry = { table: t, ids: new Set(), rows: [] };
      merged.set(t.table, entry);
    }
    for (const row of t.rows) {
      if (entry.ids.has(row.id)) continue;
      entry.ids.add(row.id);
      entry.rows.push(row);
    }
  }
  return [...merged.values()].map((e) => ({ ...e.table, rows: e.rows }));
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** Compiles the tenant's full export (pure reading: the caller audits it). */
export async function compileTenantExport(
  deps: TenantExportDeps,
  scope: OrgScope,
  asOf: Date,
): Promise<TenantExport> {
  const subjectIds = await deps.subjects.listIds(deps.db, scope);
  const tables: ExportTable[] = [];
  for (const id of subjectIds) {
    tables.push(...(await deps.rights.compileExport(scope, id, { asOf })).tables);
  }
  const merged = mergeTables(tables).filter((t) => t.rows.length > 0);
  const files: { name: string; content: string | Buffer }[] = [];
  const counts: Record<string, number> = {};
  for (const t of merged) {
    counts[t.table] = t.rows.length;
    files.push({
      name: `tables/${t.table}.json`,
      content: json({ table: t.table, columns: t.columns, rows: t.rows }),
    });
    files.push({ name: `tables/${t.table}.csv`, content: csvOf(t) });
    for (const row of t.rows) {
      for (const column of Object.keys(t.files).sort()) {
        const path = filePathOf(t, row, column);
        const content = row.values[column];
        if (path !== undefined && typeof content === 'string') {
          files.push({ name: path, content: Buffer.from(content, 'base64') });
        }
      }
    }
  }
  const orgFiles: Record<string, { rows: number; withheld: readonly string[]; sealed: readonly string[] }> =
    {};
  const covered = new Set(merged.map((t) => t.table));
  for (const table of await orgTables(deps.db, deps.personalData ?? installedPersonalData())) {
    if (covered.has(table)) continue;
    const t = await orgTableOf(deps.db, scope.orgId, table);
    if (t.rows.length === 0) continue;
    orgFiles[table] = { rows: t.rows.length, withheld: t.withheld, sealed: t.sealed };
    files.push({
      name: `org/${table}.json`,
      content: json({ table, columns: t.columns, withheld: t.withheld, sealed: t.sealed, rows: t.rows }),
    });
    files.push({ name: `org/${table}.csv`, content: csvOfOrgTable(t) });
  }
  files.push({ name: 'register.json', content: json(await deps.register.snapshotOf(scope.orgId)) });
  const versions = await deps.statement.listVersions(scope.orgId);
  for (const v of versions) {
    const full = await deps.statement.findVersion(scope.orgId, v.number);
    if (full === undefined) continue;
    files.push({ name: `statement/v${v.number}.json`, content: json(full) });
  }
  files.unshift({
    name: 'manifest.json',
    content: json({
      format: TENANT_EXPORT_FORMAT,
      org: scope.orgId,
      generated_at: asOf.toISOString(),
      subjects: subjectIds.length,
      tables: counts,
      org_tables: orgFiles,
      statement_versions: versions.length,
    }),
  });
  return { zip: await zipOf(files, asOf), counts, subjects: subjectIds.length };
}
