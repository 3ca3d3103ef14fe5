/**
 * Who consulted or changed the subject's records, and when (GDPR Art. 15(1)). The Court of
 * Justice held (C-579/21, Pankki S, 22 June 2023) that the dates and purposes of consultations
 * of a person's data are part of what access gives; the identity of the employees who made them
 * is not, unless needed to check lawfulness (it can then be asked for). So each entry says when,
 * what was done (the audit action), to which exported record, which fields (names only, as the
 * audit trail holds them), for which purpose, and by what kind of actor — staff, an API client,
 * operator staff under the organisation's instruction, the system, the public — never which person.
 *
 * Read from the audit trail (through the security module): the entries of this org whose target is
 * one of the records in the export. Each provider's link names the audit target type of its table.
 */
import type { SecurityService } from '../security/index.js';

export type ConsultationActor = 'staff' | 'operator' | 'api' | 'system' | 'public';

export interface ExportConsultation {
  readonly at: string;
  readonly action: string;
  /** The exported record: its table and id (the CSV and data.json carry the same id). */
  readonly table: string;
  readonly recordId: string;
  readonly fields: readonly string[];
  readonly purpose: string | null;
  readonly by: ConsultationActor;
}

/**
 * The kind of actor an audit `actor` reference names: `user:…@grant:…` is operator staff under
 * the organisation's instruction (P8), `user:…` its own staff, `api_key:…`, `system:…`, else public.
 */
export function consultationActor(ref: string): ConsultationActor {
  if (ref.startsWith('user:')) return ref.includes('@grant:') ? 'operator' : 'staff';
  if (ref.startsWith('api_key:')) return 'api';
  if (ref.startsWith('system:')) return 'system';
  return 'public';
}

function fieldNames(json: string): string[] {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

/** Audit entries about `records` (table → ids) of the tables with an audit type, oldest first. */
export async function consultationsOf(
  security: Pick<SecurityService, 'entriesAbout'>,
  orgId: string,
  records: ReadonlyMap<string, readonly string[]>,
  auditTypes: ReadonlyMap<string, string>,
): Promise<ExportConsultation[]> {
  // One look-up for all tables: ids per audit type, and the table each (type, id) came from.
  const targets = new Map<string, string[]>();
  const tableOf = new Map<string, string>();
  for (const [table, ids] of records) {
    const type = auditTypes.get(table);
    if (type === undefined || ids.length === 0) continue;
    const list = targets.get(type) ?? [];
    for (const id of ids) {
      list.push(id);
      tableOf.set(`${type}\u0000${id}`, table);
    }
    targets.set(type, list);
  }
  const found: (ExportConsultation & { seq: number })[] = [];
  for (const r of await security.entriesAbout(orgId, targets)) {
    const table = tableOf.get(`${r.target_type ?? ''}\u0000${r.target_id ?? ''}`);
    if (table === undefined) continue;
    found.push({
      seq: Number(r.seq),
      at: r.at,
      action: r.action,
      table,
      recordId: r.target_id ?? '',
      fields: fieldNames(r.fields),
      purpose: r.purpose,
      by: consultationActor(r.actor),
    });
  }
  found.sort((a, b) => a.seq - b.seq);
  return found.map(({ seq: _seq, ...entry }) => entry);
}
