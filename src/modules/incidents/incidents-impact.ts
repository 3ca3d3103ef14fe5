/**
 * What an incident touched, computed from the audit trail (Art. 33(3)(a)): the records read or
 * changed in the incident's window (by one actor, when the incident is about one), the data
 * subjects those records belong to, and the categories of data their fields hold. Records are
 * mapped to subjects through the personal-data providers' links (`auditType`), read by the
 * tables' declared names only, like the access export does. Numbers are approximate by nature:
 * entries that name no record (lists, exports in bulk) count no subject.
 */
import { type Kysely, sql } from 'kysely';
import type { DataCategory } from '../../shared/catalogue.js';
import type { KluisCore } from '../module.js';
import { assertOwnTable, type LinkedTable, type PersonalDataProvider } from '../personal-data.js';
import type { SecurityService, TrailEntry } from '../security/index.js';

type Row = Record<string, unknown>;
type LooseDB = Record<string, Row>;
const CHUNK = 500;

export interface ImpactWindow {
  readonly from: string;
  readonly to: string;
  /** Only these organisations' records (undefined: every organisation). */
  readonly orgIds?: readonly string[] | undefined;
  /** Only what this actor reference did. */
  readonly actor?: string | undefined;
}

export interface Impact {
  readonly categories: readonly DataCategory[];
  readonly records: number;
  /** Subjects per organisation (ids). */
  readonly subjects: ReadonlyMap<string, ReadonlySet<string>>;
  readonly subjectCount: number;
  /** Organisations whose records were touched. */
  readonly orgIds: readonly string[];
}

export type ImpactDeps = Pick<KluisCore, 'db' | 'catalogue' | 'personalData'> & {
  readonly security: Pick<SecurityService, 'recordsTouched'>;
};

interface LinkOf {
  readonly provider: PersonalDataProvider;
  readonly link: LinkedTable;
}

function linksByAuditType(deps: ImpactDeps): Map<string, LinkOf> {
  const out = new Map<string, LinkOf>();
  for (const provider of deps.personalData.all()) {
    for (const link of provider.subjectLinks ?? []) {
      if (link.auditType !== undefined) out.set(link.auditType, { provider, link });
    }
  }
  return out;
}

function parseFields(entry: TrailEntry): string[] {
  try {
    const parsed: unknown = JSON.parse(entry.fields);
    return Array.isArray(parsed) ? parsed.filter((f): f is string => typeof f === 'string') : [];
  } catch {
    return [];
  }
}

/** `subject_id` (or, for a child row, its parent's) of `ids` in `table` of one organisation. */
async function subjectIdsOf(
  deps: ImpactDeps,
  of: LinkOf,
  links: ReadonlyMap<string, LinkOf>,
  orgId: string,
  ids: readonly string[],
): Promise<string[]> {
  const { link, provider } = of;
  if (link.via === 'self') return [...ids];
  assertOwnTable(deps.personalData, provider, link.table);
  const db = deps.db as unknown as Kysely<LooseDB>;
  const column = link.via === 'subject' ? 'subject_id' : link.column;
  const found: string[] = [];
  for (let i = 0; i < ids.length; i += CHUNK) {
    const rows = await db
      .selectFrom(link.table)
      .select(sql<string>`${sql.ref(column)}`.as('ref'))
      .where('org_id', '=', orgId)
      .where('id', 'in', ids.slice(i, i + CHUNK))
      .execute();
    for (const r of rows) if (typeof r.ref === 'string') found.push(r.ref);
  }
  if (link.via === 'subject') return found;
  const parent = [...links.values()].find((l) => l.link.table === link.parent);
  return parent === undefined ? [] : subjectIdsOf(deps, parent, links, orgId, [...new Set(found)]);
}

/** Reads the trail for `window` and works out records, subjects and categories. */
/**
 * Reads Kluis makes itself to find the addresses of the people it must tell (the relations
 * provider's contact look-up): part of handling the incident, not of the incident.
 */
const HANDLING_ACTORS: ReadonlySet<string> = new Set(['system:contact-addresses']);

export async function computeImpact(deps: ImpactDeps, window: ImpactWindow): Promise<Impact> {
  const entries = await deps.security.recordsTouched(window);
  const links = linksByAuditType(deps);
  const fieldCategory = new Map(deps.catalogue.fields.map((f) => [`${f.table}.${f.column}`, f.category]));
  const categories = new Set<DataCategory>();
  // org -> auditType -> record ids
  const records = new Map<string, Map<string, Set<string>>>();
  for (const e of entries) {
    if (e.org_id === null || e.target_type === null || e.target_id === null) continue;
    if (HANDLING_ACTORS.has(e.actor)) continue;
    const of = links.get(e.target_type);
    if (of === undefined) continue;
    const byType = records.get(e.org_id) ?? new Map<string, Set<string>>();
    records.set(e.org_id, byType);
    const ids = byType.get(e.target_type) ?? new Set<string>();
    byType.set(e.target_type, ids);
    ids.add(e.target_id);
    const named = parseFields(e)
      .map((f) => fieldCategory.get(f))
      .filter((c): c is DataCategory => c !== undefined);
    const fallback = deps.catalogue.fields.filter((f) => f.table === of.link.table).map((f) => f.category);
    for (const c of named.length > 0 ? named : fallback) categories.add(c);
  }
  let recordCount = 0;
  let subjectCount = 0;
  const subjects = new Map<string, Set<string>>();
  for (const [orgId, byType] of records) {
    const set = new Set<string>();
    for (const [type, ids] of byType) {
      recordCount += ids.size;
      const of = links.get(type);
      if (of === undefined) continue;
      for (const s of await subjectIdsOf(deps, of, links, orgId, [...ids])) set.add(s);
    }
    subjects.set(orgId, set);
    subjectCount += set.size;
  }
  return {
    categories: [...categories].sort(),
    records: recordCount,
    subjects,
    subjectCount,
    orgIds: [...records.keys()].sort(),
  };
}
