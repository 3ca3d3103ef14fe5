/**
 * What an erasure tells (P15, P17): per category what went and what a legal duty keeps, why and
 * until when — for the reply to the requester — and, for the audit trail, the personal fields it
 * removed and its counts per table (names and numbers, never values).
 */
import {
  type DataCategory,
  fieldCatalogue,
  findField,
  type RetentionPolicyId,
} from '../../shared/catalogue.js';
import type { ErasedPart } from './rights-erasure-rows.js';

export interface ErasedEntry {
  readonly category: DataCategory;
  readonly table: string;
  /** `deleted`: the rows are gone; `anonymised`: the rows stay without their personal values. */
  readonly action: 'deleted' | 'anonymised';
  readonly count: number;
}

export interface RetainedEntry {
  readonly category: DataCategory;
  readonly table: string;
  readonly count: number;
  /** The legal ground, as a retention policy id (`fiscal_7y`: AWR art. 52). */
  readonly reason: RetentionPolicyId;
  /** The day the records are deleted (ISO date), when known. */
  readonly until: string | null;
  /** Visible to finance only from now on. */
  readonly restricted: boolean;
}

export interface ErasureOutcome {
  readonly subjectId: string;
  /** `already_erased`: nothing was left to do (erasing twice is a no-op). */
  readonly status: 'erased' | 'already_erased';
  readonly erasedAt: string;
  readonly erased: readonly ErasedEntry[];
  readonly retained: readonly RetainedEntry[];
  /** Client relations this erasure ended, and active mandates it revoked. */
  readonly endedRelations: number;
  readonly revokedMandates: number;
  /** The subject's key is destroyed (always true on return). */
  readonly keyDestroyed: true;
}

/** Catalogue categories of `table` (of `columns` when given), in catalogue order. */
function categoriesOf(table: string, columns?: readonly string[]): DataCategory[] {
  const fields =
    columns === undefined
      ? fieldCatalogue().fields.filter((f) => f.table === table)
      : columns.map((c) => findField(table, c)).filter((f) => f !== undefined);
  return [...new Set(fields.map((f) => f.category))];
}

/** Every table a part reports on, in the provider's order, with its counts. */
function tablesOf(part: ErasedPart) {
  const erasure = part.provider.erasure;
  return (erasure?.tables ?? []).map((table) => ({
    table,
    deleted: part.rows.deleted[table] ?? 0,
    cleared: part.rows.cleared[table] ?? 0,
    clears: erasure?.clears?.[table],
  }));
}

/** Personal fields (`table.column`) erasure removed, for the audit trail: names only. */
export function fieldsOf(parts: readonly ErasedPart[]): string[] {
  const out: string[] = [];
  for (const { table, deleted, cleared, clears } of parts.flatMap(tablesOf)) {
    if (deleted > 0) {
      for (const f of fieldCatalogue().fields.filter((c) => c.table === table))
        out.push(`${table}.${f.column}`);
    }
    if (cleared > 0 && clears !== undefined) {
      for (const c of clears) if (!out.includes(`${table}.${c}`)) out.push(`${table}.${c}`);
    }
  }
  return out;
}

/** The latest day a kept record is deleted (the reply's "until"), or null. */
function latestUntil(parts: readonly ErasedPart[]): string | null {
  return parts
    .flatMap((p) => p.rows.retained)
    .reduce<string | null>(
      (max, r) => (r.until !== null && (max === null || r.until > max) ? r.until : max),
      null,
    );
}

function note(parts: readonly ErasedPart[], name: string): number {
  return parts.reduce((n, p) => n + (p.rows.notes?.[name] ?? 0), 0);
}

/** The audit entry's counts: per table deleted, anonymised and retained, and what the modules noted. */
export function auditMetaOf(
  parts: readonly ErasedPart[],
  requestId: string | undefined,
): Record<string, string | number | boolean | null> {
  const meta: Record<string, string | number | boolean | null> = { request_id: requestId ?? null };
  for (const name of new Set(parts.flatMap((p) => Object.keys(p.rows.notes ?? {}))))
    meta[name] = note(parts, name);
  meta.fiscal_until = latestUntil(parts);
  for (const p of parts)
    for (const [table, n] of Object.entries(p.rows.deleted)) meta[`deleted.${table}`] = n;
  for (const p of parts)
    for (const [table, n] of Object.entries(p.rows.cleared)) meta[`anonymised.${table}`] = n;
  for (const p of parts) for (const r of p.rows.retained) meta[`retained.${r.table}`] = r.count;
  return meta;
}

export function outcomeOf(subjectId: string, erasedAt: string, parts: readonly ErasedPart[]): ErasureOutcome {
  const erased: ErasedEntry[] = [];
  for (const { table, deleted, cleared, clears } of parts.flatMap(tablesOf)) {
    if (deleted > 0) {
      for (const category of categoriesOf(table))
        erased.push({ category, table, action: 'deleted', count: deleted });
    }
    if (cleared > 0 && clears !== undefined) {
      for (const category of categoriesOf(table, clears)) {
        erased.push({ category, table, action: 'anonymised', count: cleared });
      }
    }
  }
  const retained: RetainedEntry[] = parts
    .flatMap((p) => p.rows.retained)
    .flatMap((r) =>
      (r.categories ?? categoriesOf(r.table)).map((category) => ({
        category,
        table: r.table,
        count: r.count,
        reason: r.reason,
        until: r.until,
        restricted: r.restricted,
      })),
    );
  return {
    subjectId,
    status: 'erased',
    erasedAt,
    erased,
    retained,
    endedRelations: note(parts, 'ended_relations'),
    revokedMandates: note(parts, 'revoked_mandates'),
    keyDestroyed: true,
  };
}
