/**
 * The database half of erasure on request (P15, Art. 17; docs/decisions/0008 and 0010): every
 * module's provider erases what it holds about the subject, in module order, in one transaction —
 * contact requests deleted (intake), client relations ended, anonymised and what the fiscal duty
 * keeps restricted (relations), consent records and export copies deleted and closed requests
 * cleared (rights), the subject row made a tombstone (subjects). Each part is unconditional and
 * idempotent, so the ledger replay after a backup restore applies it again through
 * `rightsErasureTarget`: a restored copy gets the person erased once more.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { ErasedRows, ErasureContext, PersonalDataProvider } from '../personal-data.js';
import type { RetentionTarget } from '../retention/index.js';
import { SUBJECTS_TABLE } from '../subjects/index.js';

/** The ledger's name for an erasure on request (one line per subject). */
export const RIGHTS_ERASURE_TARGET = 'rights.erasure';

/** One provider's part of an erasure. */
export interface ErasedPart {
  readonly provider: PersonalDataProvider;
  readonly rows: ErasedRows;
}

/** Runs every provider's erasure of `subjectId`, in module order, in the caller's transaction. */
export async function eraseEverywhere(
  trx: Kysely<DB>,
  ctx: ErasureContext,
  subjectId: string,
): Promise<ErasedPart[]> {
  const parts: ErasedPart[] = [];
  for (const provider of ctx.providers) {
    if (provider.erasure === undefined) continue;
    // A replay hands each module back what its erasure carried in the ledger line.
    const own = ctx.ledgerCarry === undefined ? ctx : { ...ctx, carried: ctx.ledgerCarry[provider.module] };
    parts.push({ provider, rows: await provider.erasure.erase(trx, own, subjectId) });
  }
  return parts;
}

/** The ledger line's `carry`: each module's, by module name (only those that carried something). */
export function carryOf(parts: readonly ErasedPart[]): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const part of parts) if (part.rows.carry !== undefined) out[part.provider.module] = part.rows.carry;
  return Object.keys(out).length === 0 ? undefined : out;
}

/**
 * The erasure as the ledger replay sees it: ids are data subjects. Only the replay applies it;
 * no sweep runs it, so it lists nothing as expired.
 */
export const rightsErasureTarget: RetentionTarget = {
  id: RIGHTS_ERASURE_TARGET,
  phase: 'subjects',
  policy: 'data_subject',
  action: 'delete',
  table: SUBJECTS_TABLE,
  covers: [],
  listExpired: async () => [],
  countExpired: async () => 0,
  async apply(trx, ctx, ids) {
    for (const id of ids) await eraseEverywhere(trx, ctx, id);
    return { applied: ids.length };
  },
  countExpiringByMonth: async (_db, _ctx, months) => new Map(months.map((m) => [m, 0])),
};
