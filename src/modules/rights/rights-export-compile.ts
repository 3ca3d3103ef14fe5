/**
 * The access and portability export's content (P15, Art. 15 and 20 GDPR): everything the
 * organisation holds about one data subject, compiled from the field catalogue and the subject
 * links (`rights-subject-links.ts`), never from a hand-picked list of queries. Per linked table it
 * selects the subject's rows (org-scoped, by indexed columns), opens each catalogue column by its
 * protection and keeps the columns that give it meaning (dates, states). Then what applies to it:
 * purposes and legal bases per category, the retention the organisation applies, the recipients
 * (sub-processors) and the access log's rule (never linked to people, P12).
 *
 * Records kept only for a legal duty (restricted, P6) are included: the right of access covers
 * them. Values sealed with a destroyed key (an erased person) are reported as erased, not as an
 * error. Pure reading: no audit entry, no state; the request workflow around it does that.
 */
import { type Kysely, sql } from 'kysely';
import type { Config } from '../../config/env.js';
import type { Keyring } from '../../crypto/keyring.js';
import type { DB } from '../../db/schema.js';
import type { OrgKind, OrgScope } from '../../shared/actor.js';
import {
  type CatalogueField,
  type DataCategory,
  fieldCatalogue,
  type LegalBasis,
  legalBases,
  type Protection,
  type Purpose,
  purposes as purposeOrder,
  type RetentionPolicyId,
} from '../../shared/catalogue.js';
import { AppError } from '../../shared/errors.js';
import { createOrgsRepository } from '../orgs/orgs-repository.js';
import { deriveCategories } from '../register/register-derive.js';
import { createRegisterRepository } from '../register/register-repository.js';
import { toSubprocessor } from '../register/register-subprocessors.js';
import {
  defaultPolicies,
  effectivePolicies,
  isManagedPolicy,
  policyDefinitions,
} from '../retention/retention-policies.js';
import { createRetentionRepository } from '../retention/retention-repository.js';
import { restrictableTables } from '../retention/retention-restriction.js';
import type { PeriodUnit, RetentionAction, RetentionTrigger } from '../retention/retention-schema.js';
import { consultationsOf, type ExportConsultation } from './rights-export-consultations.js';
import { type LinkedTable, subjectLinks } from './rights-subject-links.js';

export const EXPORT_FORMAT = 'kluis.subject-export/1';

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
  readonly restricted: { readonly since: string; readonly until: string | null } | null;
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

export interface ExportUse {
  readonly purposes: readonly Purpose[];
  readonly legalBasis: LegalBasis;
  readonly retention: RetentionPolicyId;
  /** `table.column` of the subject's fields used this way. */
  readonly fields: readonly string[];
}

export interface ExportCategory {
  readonly category: DataCategory;
  readonly uses: readonly ExportUse[];
  /** Ids of the active sub-processors that handle this category. */
  readonly recipients: readonly string[];
}

export interface ExportPurpose {
  readonly purpose: Purpose;
  readonly legalBases: readonly LegalBasis[];
  readonly categories: readonly DataCategory[];
  /** Other recipients the register names for this purpose (free text), '' when none. */
  readonly otherRecipients: string;
}

export interface ExportRecipient {
  readonly id: string;
  readonly name: string;
  readonly service: string;
  readonly location: string;
  readonly country: string;
  readonly inEea: boolean;
  readonly dataCategories: readonly DataCategory[];
}

export interface ExportRetention {
  readonly policy: RetentionPolicyId;
  /** The period the organisation applies, for the policies the retention engine runs. */
  readonly period: {
    readonly value: number;
    readonly unit: PeriodUnit;
    readonly trigger: RetentionTrigger;
    readonly action: RetentionAction;
    readonly customised: boolean;
  } | null;
}

export interface SubjectExport {
  readonly format: typeof EXPORT_FORMAT;
  readonly generatedAt: string;
  readonly org: { readonly id: string; readonly name: string; readonly kind: OrgKind };
  readonly controller: {
    readonly name: string;
    readonly privacyEmail: string;
    readonly contactEmail: string;
    readonly contactAddress: string;
    readonly phone: string;
    readonly website: string;
  };
  readonly subject: {
    readonly id: string;
    readonly createdAt: string;
    readonly erasedAt: string | null;
    /** The subject's key was destroyed: every value sealed with it is erased. */
    readonly keyDestroyed: boolean;
  };
  readonly tables: readonly ExportTable[];
  readonly categories: readonly ExportCategory[];
  readonly purposes: readonly ExportPurpose[];
  readonly recipients: readonly ExportRecipient[];
  readonly retention: readonly ExportRetention[];
  /** Who consulted or changed these records and when, from the audit trail (C-579/21). */
  readonly consultations: readonly ExportConsultation[];
  /** P12: the access log (IP address, browser) is never linked to people. */
  readonly accessLog: {
    readonly linked: false;
    readonly truncateIpAfterDays: number | null;
    readonly deleteAfterDays: number;
  };
}

export interface CompileDeps {
  db: Kysely<DB>;
  keyring: Pick<Keyring, 'decryptForSubject' | 'decryptForOrg' | 'isSubjectKeyDestroyed'>;
  /** The installation's access-log periods; the defaults are reported without it. */
  config?: Pick<Config, 'accessLog'>;
  /** The catalogue's fields (tests pass an extended list). */
  fields?: readonly CatalogueField[];
}

type Row = Record<string, unknown>;
/** The linked tables are named at run time (from the link map), so rows are read untyped. */
type LooseDB = Record<string, Row>;

/** Ids per `in (...)` list: well under SQLite's and PostgreSQL's bound-parameter limits. */
const CHUNK = 500;

interface RowInfo {
  readonly owner: string;
  readonly restricted: ExportRow['restricted'];
  readonly legalHold: boolean;
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

/** Compiles everything the organisation holds about `subjectId` (ERR_NOT_FOUND outside `scope`). */
export async function compileSubjectExport(
  deps: CompileDeps,
  scope: OrgScope,
  subjectId: string,
  options: { asOf: Date },
): Promise<SubjectExport> {
  const { db, keyring } = deps;
  const catalogueFields = deps.fields ?? fieldCatalogue().fields;
  const loose = db as unknown as Kysely<LooseDB>;
  const orgId = scope.orgId;
  const asOf = options.asOf.toISOString();

  const subject = await db
    .selectFrom('data_subjects')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('id', '=', subjectId)
    .executeTakeFirst();
  if (subject === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'data subject not found' });
  const org = await createOrgsRepository(db).getById(orgId);
  const holds = await createRetentionRepository(db).activeHolds(scope, asOf);

  /** Subjects whose key turned out destroyed: their other values are not tried again. */
  const destroyed = new Set<string>();
  const infos = new Map<string, Map<string, RowInfo>>();
  const tables: ExportTable[] = [];
  const usedFields: CatalogueField[] = [];

  async function open(
    field: CatalogueField,
    rowId: string,
    owner: string,
    value: Buffer,
  ): Promise<string | undefined> {
    const loc = { table: field.table, column: field.column, rowId };
    if (field.protection === 'org_key') return keyring.decryptForOrg(orgId, loc, value);
    if (destroyed.has(owner)) return undefined;
    try {
      return await keyring.decryptForSubject(orgId, owner, loc, value);
    } catch (error) {
      if (!isKeyDestroyed(error)) throw error;
      destroyed.add(owner);
      return undefined;
    }
  }

  /**
   * Rows whose `column` is one of `ids` (children of this org's rows), still filtered by org. The
   * org condition is written so that no index can serve it: given `org_id = ?`, SQLite's planner
   * (without statistics) picks any index led by org_id, e.g. (org_id, message_id), and walks
   * every row of the org instead of the few children found through the parent column's index.
   */
  async function selectIn(table: string, column: string, ids: readonly string[]): Promise<Row[]> {
    const out: Row[] = [];
    for (let i = 0; i < ids.length; i += CHUNK) {
      out.push(
        ...(await loose
          .selectFrom(table)
          .selectAll()
          .where(column, 'in', ids.slice(i, i + CHUNK))
          .where(sql<string>`${sql.ref('org_id')} || ''`, '=', orgId)
          .execute()),
      );
    }
    return out;
  }

  async function restrictionsOf(
    table: string,
    ids: readonly string[],
  ): Promise<Map<string, RowInfo['restricted']>> {
    const out = new Map<string, RowInfo['restricted']>();
    if (!(restrictableTables as readonly string[]).includes(table)) return out;
    for (let i = 0; i < ids.length; i += CHUNK) {
      const rows = await db
        .selectFrom('retention_restrictions')
        .select(['record_id', 'restricted_at', 'restricted_until'])
        .where('org_id', '=', orgId)
        .where('table_name', '=', table)
        .where('record_id', 'in', ids.slice(i, i + CHUNK))
        .execute();
      for (const r of rows) out.set(r.record_id, { since: r.restricted_at, until: r.restricted_until });
    }
    return out;
  }

  async function rowsOf(link: LinkedTable): Promise<{ row: Row; parent: RowInfo | undefined }[]> {
    if (link.via === 'self') return [{ row: { ...subject }, parent: undefined }];
    if (link.via === 'subject') {
      const rows = await loose
        .selectFrom(link.table)
        .selectAll()
        .where('org_id', '=', orgId)
        .where('subject_id', '=', subjectId)
        .execute();
      return rows.map((row) => ({ row, parent: undefined }));
    }
    const parents = infos.get(link.parent) ?? new Map<string, RowInfo>();
    if (parents.size === 0) return [];
    const rows = await selectIn(link.table, link.column, [...parents.keys()]);
    return rows.map((row) => ({ row, parent: parents.get(String(row[link.column])) }));
  }

  for (const link of subjectLinks) {
    const fields = new Map(catalogueFields.filter((f) => f.table === link.table).map((f) => [f.column, f]));
    const omitted = new Set(['id', 'org_id', ...Object.keys(link.omit ?? {})]);
    const numbers = new Set(link.numbers ?? []);
    const found = await rowsOf(link);
    found.sort((a, b) => {
      for (const key of [...link.orderBy, 'id']) {
        const c = compareValues(a.row[key], b.row[key]);
        if (c !== 0) return c;
      }
      return 0;
    });
    const ids = found.map((f) => String(f.row.id));
    const restrictions = await restrictionsOf(link.table, ids);
    const context = new Map<string, Row>();
    if (link.context !== undefined && found.length > 0) {
      const parentIds = [...new Set(found.map((f) => String(f.row[link.context?.via ?? 'id'])))];
      for (let i = 0; i < parentIds.length; i += CHUNK) {
        const rows = await loose
          .selectFrom(link.context.parent)
          .select(['id', ...link.context.columns])
          .where('org_id', '=', orgId)
          .where('id', 'in', parentIds.slice(i, i + CHUNK))
          .execute();
        for (const r of rows) context.set(String(r.id), r);
      }
    }

    const columnOrder = found[0] === undefined ? [...fields.keys()] : Object.keys(found[0].row);
    const columns: ExportColumn[] = columnOrder
      .filter((c) => !omitted.has(c))
      .map((name) => {
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

    const tableInfos = new Map<string, RowInfo>();
    const rows: ExportRow[] = [];
    const used = new Set<string>();
    for (const { row, parent } of found) {
      const id = String(row.id);
      const owner =
        link.via === 'self' ? id : link.via === 'subject' ? String(row.subject_id) : parent?.owner;
      if (owner === undefined) continue;
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
        const opened = await open(field, id, owner, raw);
        if (opened === undefined) erased.push(column.name);
        values[column.name] = opened ?? null;
      }
      const restricted = restrictions.get(id) ?? parent?.restricted ?? null;
      const legalHold =
        (parent?.legalHold ?? false) ||
        holds.subjects.has(subjectId) ||
        holds.records.has(`${link.table}:${id}`);
      tableInfos.set(id, { owner, restricted, legalHold });
      const contextRow = link.context === undefined ? undefined : context.get(String(row[link.context.via]));
      rows.push({
        id,
        values,
        erased,
        lookupKeys,
        restricted,
        legalHold,
        context:
          link.context === undefined || contextRow === undefined
            ? null
            : Object.fromEntries(
                link.context.columns.map((c) => [
                  `${link.context?.parent}.${c}`,
                  scalar(contextRow[c], false),
                ]),
              ),
      });
    }
    infos.set(link.table, tableInfos);
    for (const column of used) {
      const f = fields.get(column);
      if (f !== undefined) usedFields.push(f);
    }
    tables.push({ table: link.table, columns, files: link.files ?? {}, rows });
  }

  // What applies: categories, purposes, recipients, retention (from the fields the subject has).
  const register = createRegisterRepository(db);
  const settings = await register.findSettings(scope);
  const agreements = (await register.listAgreements(scope)).filter(
    (a) => a.counterparty_kind === 'subprocessor',
  );
  const active = (await register.listSubprocessors(scope))
    .map((r) => toSubprocessor(r, agreements))
    .filter((s) => s.status === 'active');
  const activities = new Map((await register.listActivities(scope)).map((a) => [a.purpose, a]));
  const derived = deriveCategories(usedFields);

  const categories: ExportCategory[] = derived.map((d) => {
    const uses = new Map<
      string,
      { purposes: Purpose[]; legalBasis: LegalBasis; retention: RetentionPolicyId; fields: string[] }
    >();
    for (const f of usedFields.filter((u) => u.category === d.category)) {
      const key = `${f.purposes.join(',')}|${f.legalBasis}|${f.retention}`;
      const use = uses.get(key) ?? {
        purposes: [...f.purposes],
        legalBasis: f.legalBasis,
        retention: f.retention,
        fields: [],
      };
      use.fields.push(`${f.table}.${f.column}`);
      uses.set(key, use);
    }
    return {
      category: d.category,
      uses: [...uses.values()],
      recipients: active.filter((s) => s.dataCategories.includes(d.category)).map((s) => s.id),
    };
  });

  const purposeSet = purposeOrder.filter((p) => usedFields.some((f) => f.purposes.includes(p)));
  const exportPurposes: ExportPurpose[] = purposeSet.map((purpose) => {
    const serving = usedFields.filter((f) => f.purposes.includes(purpose));
    return {
      purpose,
      legalBases: legalBases.filter((b) => serving.some((f) => f.legalBasis === b)),
      categories: derived.map((d) => d.category).filter((c) => serving.some((f) => f.category === c)),
      otherRecipients: activities.get(purpose)?.recipients ?? '',
    };
  });

  const effective = effectivePolicies(
    deps.config === undefined ? defaultPolicies : policyDefinitions(deps.config),
    await createRetentionRepository(db).listPolicyRows(scope),
  );
  const retention: ExportRetention[] = [...new Set(derived.flatMap((d) => d.retention))].map((policy) => {
    if (!isManagedPolicy(policy)) return { policy, period: null };
    const p = effective[policy];
    return {
      policy,
      period: {
        value: p.value,
        unit: p.unit,
        trigger: p.trigger,
        action: p.action,
        customised: p.customised,
      },
    };
  });

  const recipientIds = new Set(categories.flatMap((c) => c.recipients));
  return {
    format: EXPORT_FORMAT,
    generatedAt: asOf,
    org: { id: org.id, name: org.name, kind: org.kind },
    controller: {
      name: settings?.display_name || org.name,
      privacyEmail: settings?.privacy_email ?? '',
      contactEmail: settings?.contact_email ?? '',
      contactAddress: settings?.contact_address ?? '',
      phone: settings?.phone ?? '',
      website: settings?.website ?? '',
    },
    subject: {
      id: subject.id,
      createdAt: subject.created_at,
      erasedAt: subject.erased_at,
      keyDestroyed: destroyed.has(subjectId) || (await keyring.isSubjectKeyDestroyed(orgId, subjectId)),
    },
    tables,
    categories,
    purposes: exportPurposes,
    recipients: active
      .filter((s) => recipientIds.has(s.id))
      .map((s) => ({
        id: s.id,
        name: s.name,
        service: s.service,
        location: s.location,
        country: s.country,
        inEea: s.inEea,
        dataCategories: s.dataCategories,
      })),
    retention,
    consultations: await consultationsOf(
      db,
      orgId,
      new Map([...infos].map(([table, rows]) => [table, rows.keys()])),
    ),
    accessLog: {
      linked: false,
      truncateIpAfterDays: deps.config?.accessLog.truncateIpAfterDays ?? null,
      deleteAfterDays: effective.access_log.value,
    },
  };
}
