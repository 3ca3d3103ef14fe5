/**
 * The access export's tables (P15): per table a provider links to data subjects, the subject's
 * rows (org-scoped, by indexed columns), each catalogue column opened by its protection, the
 * columns that give the values meaning kept, and what applies to each row (restricted, held).
 * A linked table is read by its declared name — a generic mechanism — and only on behalf of the
 * module that owns it.
 */
import { type Kysely, sql } from 'kysely';
import type { Keyring } from '../../crypto/keyring.js';
import type { DB } from '../../db/schema.js';
import type { CatalogueField, DataCategory, Protection } from '../../shared/catalogue.js';
import { AppError } from '../../shared/errors.js';
import {
  assertOwnTable,
  type LinkedTable,
  type PersonalDataProvider,
  type PersonalDataRegistry,
} from '../personal-data.js';
import type { ActiveHolds, RestrictionMark, RetentionService } from '../retention/index.js';

export type ExportScalar = string | number | null;

export interface ExportColumn {
  readonly name: string;
  /**
   * `personal`: a catalogue field, opened when sealed; `lookup_key`: only a one-way key (blind
   * index or hash) is stored, never shown; `detail`: dates, states and references that give the
   * values their meaning.
   */
  readonly kind: 'personal' | 'lookup_key' | 'detail';
  readonly category: DataCategory | null;
  readonly protection: Protection | null;
}

export interface ExportRow {
  readonly id: string;
  /** Every column but `id`, `org_id`, omitted ones and lookup keys, in the table's column order. */
  readonly values: Readonly<Record<string, ExportScalar>>;
  /** Columns sealed with a key that was destroyed (the person was erased): unreadable for anyone. */
  readonly erased: readonly string[];
  /** Columns where a one-way lookup key is stored (the key itself is not exported). */
  readonly lookupKeys: readonly string[];
  /** Kept only for a legal duty (Art. 18 restriction): since when, and until when if known. */
  readonly restricted: RestrictionMark | null;
  /** Kept beyond its retention period under a legal hold. */
  readonly legalHold: boolean;
  /** Plain columns of the parent record, for context (a contact person's company name). */
  readonly context: Readonly<Record<string, ExportScalar>> | null;
}

export interface ExportTable {
  readonly table: string;
  readonly columns: readonly ExportColumn[];
  /** File columns (base64 of the bytes) and the column holding each file's name. */
  readonly files: Readonly<Record<string, string>>;
  readonly rows: readonly ExportRow[];
}

type Row = Record<string, unknown>;
/** The linked tables are named at run time (from the providers' links), so rows are read untyped. */
type LooseDB = Record<string, Row>;

/** Ids per `in (...)` list: well under SQLite's and PostgreSQL's bound-parameter limits. */
const CHUNK = 500;

/** What the rows of an exported table pass on to the rows that hang off them. */
export interface RowInfo {
  readonly owner: string;
  readonly restricted: ExportRow['restricted'];
  readonly legalHold: boolean;
}

export interface TableReader {
  readonly db: Kysely<DB>;
  readonly keyring: Pick<Keyring, 'decryptForSubject' | 'decryptForOrg'>;
  readonly personalData: PersonalDataRegistry;
  readonly retention: Pick<RetentionService, 'restrictionMarks'>;
  readonly orgId: string;
  readonly subjectId: string;
  /** The subject's own row (the `self` link). */
  readonly subject: Row;
  readonly holds: ActiveHolds;
  /** Subjects whose key turned out destroyed: their other values are not tried again. */
  readonly destroyed: Set<string>;
  /** Rows exported so far, per table (the parents of the links that follow). */
  readonly infos: Map<string, Map<string, RowInfo>>;
}

function scalar(value: unknown, asNumber: boolean): ExportScalar {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') return asNumber && /^-?\d+$/.test(value) ? Number(value) : value;
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (typeof value === 'boolean') return value ? 1 : 0;
  return String(value);
}

function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function isKeyDestroyed(error: unknown): boolean {
  return error instanceof AppError && error.code === 'ERR_CRYPTO_KEY_DESTROYED';
}

async function open(r: TableReader, field: CatalogueField, rowId: string, owner: string, value: Buffer) {
  const loc = { table: field.table, column: field.column, rowId };
  if (field.protection === 'org_key') return r.keyring.decryptForOrg(r.orgId, loc, value);
  if (r.destroyed.has(owner)) return undefined;
  try {
    return await r.keyring.decryptForSubject(r.orgId, owner, loc, value);
  } catch (error) {
    if (!isKeyDestroyed(error)) throw error;
    r.destroyed.add(owner);
    return undefined;
  }
}

function loose(r: TableReader): Kysely<LooseDB> {
  return r.db as unknown as Kysely<LooseDB>;
}

/**
 * Rows whose `column` is one of `ids` (children of this org's rows), still filtered by org. The
 * org condition is written so that no index can serve it: given `org_id = ?`, SQLite's planner
 * (without statistics) picks any index led by org_id, e.g. (org_id, message_id), and walks
 * every row of the org instead of the few children found through the parent column's index.
 */
async function selectIn(
  r: TableReader,
  table: string,
  column: string,
  ids: readonly string[],
): Promise<Row[]> {
  const out: Row[] = [];
  for (let i = 0; i < ids.length; i += CHUNK) {
    const rows = await loose(r)
      .selectFrom(table)
      .selectAll()
      .where(column, 'in', ids.slice(i, i + CHUNK))
      .where(sql<string>`${sql.ref('org_id')} || ''`, '=', r.orgId)
      .execute();
    out.push(...rows);
  }
  return out;
}

async function rowsOf(
  r: TableReader,
  link: LinkedTable,
): Promise<{ row: Row; parent: RowInfo | undefined }[]> {
  if (link.via === 'self') return [{ row: { ...r.subject }, parent: undefined }];
  if (link.via === 'subject') {
    const rows = await loose(r)
      .selectFrom(link.table)
      .selectAll()
      .where('org_id', '=', r.orgId)
      .where('subject_id', '=', r.subjectId)
      .execute();
    return rows.map((row) => ({ row, parent: undefined }));
  }
  const parents = r.infos.get(link.parent) ?? new Map<string, RowInfo>();
  if (parents.size === 0) return [];
  const rows = await selectIn(r, link.table, link.column, [...parents.keys()]);
  return rows.map((row) => ({ row, parent: parents.get(String(row[link.column])) }));
}

/** The plain parent columns a link shows as context, by parent id. */
async function contextRows(r: TableReader, link: LinkedTable, found: readonly { row: Row }[]) {
  const context = new Map<string, Row>();
  if (link.context === undefined || found.length === 0) return context;
  const { via, parent, columns } = link.context;
  const parentIds = [...new Set(found.map((f) => String(f.row[via])))];
  for (let i = 0; i < parentIds.length; i += CHUNK) {
    const rows = await loose(r)
      .selectFrom(parent)
      .select(['id', ...columns])
      .where('org_id', '=', r.orgId)
      .where('id', 'in', parentIds.slice(i, i + CHUNK))
      .execute();
    for (const row of rows) context.set(String(row.id), row);
  }
  return context;
}

function columnsOf(link: LinkedTable, fields: ReadonlyMap<string, CatalogueField>, first: Row | undefined) {
  const omitted = new Set(['id', 'org_id', ...Object.keys(link.omit ?? {})]);
  const order = first === undefined ? [...fields.keys()] : Object.keys(first);
  return order
    .filter((c) => !omitted.has(c))
    .map((name): ExportColumn => {
      const f = fields.get(name);
      if (f === undefined) return { name, kind: 'detail', category: null, protection: null };
      const lookup = f.protection === 'blind_index' || f.protection === 'hash';
      return {
        name,
        kind: lookup ? 'lookup_key' : 'personal',
        category: f.category,
        protection: f.protection,
      };
    });
}

/** One row's exported values: sealed fields opened, lookup keys named, the rest as stored. */
async function valuesOf(
  r: TableReader,
  link: LinkedTable,
  fields: ReadonlyMap<string, CatalogueField>,
  columns: readonly ExportColumn[],
  row: Row,
  owner: string,
  used: Set<string>,
) {
  const id = String(row.id);
  const numbers = new Set(link.numbers ?? []);
  const values: Record<string, ExportScalar> = {};
  const erased: string[] = [];
  const lookupKeys: string[] = [];
  for (const column of columns) {
    const raw = row[column.name];
    const field = fields.get(column.name);
    if (raw !== null && raw !== undefined && field !== undefined) used.add(column.name);
    if (column.kind === 'lookup_key') {
      if (raw !== null && raw !== undefined) lookupKeys.push(column.name);
      continue;
    }
    const sealed = field?.protection === 'subject_key' || field?.protection === 'org_key';
    if (field === undefined || !sealed || raw === null || raw === undefined) {
      values[column.name] = scalar(raw, numbers.has(column.name));
      continue;
    }
    if (!Buffer.isBuffer(raw)) {
      throw new AppError('ERR_INTERNAL', { message: `${link.table}.${column.name} is not sealed bytes` });
    }
    const opened = await open(r, field, id, owner, raw);
    if (opened === undefined) erased.push(column.name);
    values[column.name] = opened ?? null;
  }
  return { values, erased, lookupKeys };
}

/**
 * One linked table of `provider`: its rows about the subject, opened, in the link's order. Records
 * the rows' owners and marks for the links that hang off them, and the catalogue fields used.
 */
export async function exportTable(
  r: TableReader,
  provider: PersonalDataProvider,
  link: LinkedTable,
  catalogue: readonly CatalogueField[],
  usedFields: CatalogueField[],
): Promise<ExportTable> {
  assertOwnTable(r.personalData, provider, link.table);
  if (link.context !== undefined) assertOwnTable(r.personalData, provider, link.context.parent);
  const fields = new Map(catalogue.filter((f) => f.table === link.table).map((f) => [f.column, f]));
  const found = await rowsOf(r, link);
  found.sort((a, b) => {
    for (const key of [...link.orderBy, 'id']) {
      const c = compareValues(a.row[key], b.row[key]);
      if (c !== 0) return c;
    }
    return 0;
  });
  const ids = found.map((f) => String(f.row.id));
  const restrictions = (provider.restrictable ?? []).includes(link.table)
    ? await r.retention.restrictionMarks(r.db, { orgId: r.orgId }, link.table, ids)
    : new Map<string, RestrictionMark>();
  const context = await contextRows(r, link, found);
  const columns = columnsOf(link, fields, found[0]?.row);
  const tableInfos = new Map<string, RowInfo>();
  const rows: ExportRow[] = [];
  const used = new Set<string>();
  for (const { row, parent } of found) {
    const id = String(row.id);
    const owner = link.via === 'self' ? id : link.via === 'subject' ? String(row.subject_id) : parent?.owner;
    if (owner === undefined) continue;
    const opened = await valuesOf(r, link, fields, columns, row, owner, used);
    const restricted = restrictions.get(id) ?? parent?.restricted ?? null;
    const legalHold =
      (parent?.legalHold ?? false) ||
      r.holds.subjects.has(r.subjectId) ||
      r.holds.records.has(`${link.table}:${id}`);
    tableInfos.set(id, { owner, restricted, legalHold });
    const contextRow = link.context === undefined ? undefined : context.get(String(row[link.context.via]));
    const shown =
      link.context === undefined || contextRow === undefined
        ? null
        : Object.fromEntries(
            link.context.columns.map((c) => [`${link.context?.parent}.${c}`, scalar(contextRow[c], false)]),
          );
    rows.push({ id, ...opened, restricted, legalHold, context: shown });
  }
  r.infos.set(link.table, tableInfos);
  for (const column of used) {
    const f = fields.get(column);
    if (f !== undefined) usedFields.push(f);
  }
  return { table: link.table, columns, files: link.files ?? {}, rows };
}
