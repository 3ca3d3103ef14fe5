/**
 * The full export of a leaving tenant (Art. 28(3)(g): return all personal data to the
 * controller). Built from the access-export machinery — every data subject's export, compiled
 * from the personal-data providers and the field catalogue, merged per table — plus the register
 * and every published statement version. The zip holds, per table, `tables/<table>.json` and
 * `tables/<table>.csv`, the stored documents under `files/`, `register.json`, `statement/` and a
 * `manifest.json` with the counts. Deterministic: same data, same bytes.
 */
import type { OrgScope } from '../../shared/actor.js';
import { zipOf } from '../../shared/zip.js';
import type { KluisCore } from '../module.js';
import type { RegisterService } from '../register/index.js';
import { csvOf, type ExportTable, filePathOf, type RightsService } from '../rights/index.js';
import type { StatementService } from '../statement/index.js';
import type { SubjectsService } from '../subjects/index.js';

export const TENANT_EXPORT_FORMAT = 'kluis.tenant-export/1';

export interface TenantExportDeps {
  readonly db: KluisCore['db'];
  readonly rights: Pick<RightsService, 'compileExport'>;
  readonly subjects: Pick<SubjectsService, 'listIds'>;
  readonly register: Pick<RegisterService, 'snapshotOf'>;
  readonly statement: Pick<StatementService, 'listVersions' | 'findVersion'>;
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
      statement_versions: versions.length,
    }),
  });
  return { zip: await zipOf(files, asOf), counts, subjects: subjectIds.length };
}
