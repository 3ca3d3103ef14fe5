/**
 * Retention targets for client relations (P4, P6): the relations module's own tables, run by the
 * retention engine through the relations provider (`relations-personal-data.ts`). The fiscal
 * duty's end (step 2 below) is `relations-retention-fiscal.ts`.
 *
 * A relation's life after it ends (status `ended`, `ended_at` set):
 * 1. `client_relation` months later (default 3) its ordinary purpose is over: contact persons
 *    and the billing address are deleted, names, form of address, email and phone cleared, the
 *    signer's name on agreements cleared. If nothing under the fiscal duty remains (no
 *    agreements, no mandates) the relation row goes too; otherwise the relation, its agreements
 *    and mandates are marked restricted (finance only) until the duty ends.
 * 2. 7 years after the end of the fiscal year it ended in (AWR art. 52) everything left is
 *    deleted: collections, mandates, signed documents, agreements, the relation.
 * A mandate that ends while the relation goes on (revoked, or a collected one-off) is restricted
 * `client_relation` months after its end and deleted 7 years after that fiscal year; single
 * collections 7 years after the fiscal year they were requested in.
 * The relation's data subject has nothing left after step 2 (or 1) and is then erased by the
 * subjects target, which destroys its key.
 */
import { type Kysely, sql } from 'kysely';
import type { DB } from '../../db/schema.js';
import {
  type Candidate,
  chunks,
  countOf,
  dayOf,
  expiresOn,
  expiringByMonth,
  inOrg,
  nextBatch,
  notRestricted,
  policyCutoff,
  type RestrictionRow,
  type RetentionTarget,
  restrict,
  stillExpired,
  type TargetContext,
} from '../retention/index.js';

const graceCutoff = (ctx: TargetContext) => policyCutoff(ctx, 'client_relation');

export const fiscalCutoff = (ctx: TargetContext) => policyCutoff(ctx, 'fiscal_7y');

function fiscalUntil(ctx: TargetContext, endIso: string | null): string | null {
  if (endIso === null) return null;
  const p = ctx.policies.fiscal_7y;
  return expiresOn(p, p.value, dayOf(endIso));
}

/** Deletes the contact persons and the address of the relations `ids`. */
export async function deleteContactsAndAddresses(
  trx: Kysely<DB>,
  org: string,
  ids: readonly string[],
): Promise<void> {
  for (const table of ['relation_contacts', 'relation_addresses'] as const) {
    await trx.deleteFrom(table).where('org_id', '=', org).where('relation_id', 'in', ids).execute();
  }
}

/** The subjects of each relation: its own and those of its contact persons. */
async function subjectsOfRelations(
  db: Kysely<DB>,
  orgId: string,
  rows: readonly { id: string; subject_id: string }[],
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(rows.map((r) => [r.id, [r.subject_id]]));
  for (const part of chunks(rows.map((r) => r.id))) {
    const contacts = await db
      .selectFrom('relation_contacts')
      .select(['relation_id', 'subject_id'])
      .where('org_id', '=', orgId)
      .where('relation_id', 'in', part)
      .execute();
    for (const c of contacts) out.get(c.relation_id)?.push(c.subject_id);
  }
  return out;
}

export async function relationCandidates(
  db: Kysely<DB>,
  orgId: string,
  rows: readonly { id: string; subject_id: string; cursor: string | number }[],
): Promise<Candidate[]> {
  const subjects = await subjectsOfRelations(db, orgId, rows);
  return rows.map((r) => ({
    id: r.id,
    cursor: String(r.cursor),
    subjectIds: subjects.get(r.id) ?? [r.subject_id],
    parents: [],
  }));
}

// --- 1. client data: anonymise, restrict what the fiscal duty keeps ---------------------------

function endedPastGrace(db: Kysely<DB>, ctx: TargetContext) {
  return db
    .selectFrom('relations')
    .where(inOrg(ctx, 'relations.org_id'))
    .where('relations.status', '=', 'ended')
    .where('relations.ended_at', 'is not', null)
    .where('relations.ended_at', '<', graceCutoff(ctx))
    .where(notRestricted('relations', 'relations.id'));
}

export const clientDataTarget: RetentionTarget = {
  id: 'relations.client_data',
  phase: 'records',
  policy: 'client_relation',
  action: 'anonymise',
  table: 'relations',
  covers: [
    'relations.given_name',
    'relations.family_name',
    'relations.form_of_address',
    'relations.email',
    'relations.phone',
    'relation_contacts.given_name',
    'relation_contacts.family_name',
    'relation_contacts.form_of_address',
    'relation_contacts.email',
    'relation_contacts.phone',
    'relation_addresses.country',
    'relation_addresses.city',
    'relation_addresses.postcode',
    'relation_addresses.street',
    'relation_addresses.house_number',
    'relation_addresses.house_number_addition',
    'relation_agreements.signed_by_name',
  ],

  async listExpired(db, ctx, limit, after) {
    const query = endedPastGrace(db, ctx).select([
      'relations.id as id',
      'relations.subject_id as subject_id',
    ]);
    const rows = await nextBatch(query, ctx, 'relations', after, limit).execute();
    return relationCandidates(db, ctx.orgId, rows);
  },

  countExpired: (db, ctx) => countOf(endedPastGrace(db, ctx)),

  async apply(trx, ctx, ids, mode) {
    const still = await stillExpired(mode, ids, (some) =>
      endedPastGrace(trx, ctx).select('relations.id as id').where('relations.id', 'in', some).execute(),
    );
    if (still.length === 0) return { applied: 0 };
    const org = ctx.orgId;
    const now = ctx.asOf.toISOString();
    await deleteContactsAndAddresses(trx, org, still);
    await trx
      .updateTable('relations')
      .set({ given_name: null, family_name: null, form_of_address: null, email: null, phone: null })
      .where('org_id', '=', org)
      .where('id', 'in', still)
      .execute();
    await trx
      .updateTable('relation_agreements')
      .set({ signed_by_name: null })
      .where('org_id', '=', org)
      .where('relation_id', 'in', still)
      .execute();

    const agreements = await trx
      .selectFrom('relation_agreements')
      .select(['id', 'relation_id'])
      .where('org_id', '=', org)
      .where('relation_id', 'in', still)
      .execute();
    const mandates = await trx
      .selectFrom('relation_mandates')
      .select(['id', 'relation_id'])
      .where('org_id', '=', org)
      .where('relation_id', 'in', still)
      .execute();
    const fiscal = new Set([...agreements, ...mandates].map((r) => r.relation_id));
    const gone = still.filter((id) => !fiscal.has(id));
    if (gone.length > 0) {
      await trx.deleteFrom('relations').where('org_id', '=', org).where('id', 'in', gone).execute();
    }
    if (fiscal.size > 0) {
      const ends = await trx
        .selectFrom('relations')
        .select(['id', 'ended_at'])
        .where('org_id', '=', org)
        .where('id', 'in', [...fiscal])
        .execute();
      const until = new Map(ends.map((r) => [r.id, fiscalUntil(ctx, r.ended_at)]));
      const rows: RestrictionRow[] = [
        ...[...fiscal].map((id) => ({
          table: 'relations' as const,
          id,
          restrictedUntil: until.get(id) ?? null,
        })),
        ...agreements.map((a) => ({
          table: 'relation_agreements' as const,
          id: a.id,
          restrictedUntil: until.get(a.relation_id) ?? null,
        })),
        ...mandates.map((m) => ({
          table: 'relation_mandates' as const,
          id: m.id,
          restrictedUntil: until.get(m.relation_id) ?? null,
        })),
      ];
      await restrict(trx, org, 'client_relation', now, rows);
    }
    return { applied: still.length };
  },

  countExpiringByMonth(db, ctx, months) {
    const ended = db
      .selectFrom('relations')
      .where('org_id', '=', ctx.orgId)
      .where('status', '=', 'ended')
      .where('ended_at', 'is not', null)
      .where(notRestricted('relations', 'relations.id'));
    const p = ctx.policies.client_relation;
    return expiringByMonth(ended, { from: 'ended_at', period: p, value: p.value, months });
  },
};

// --- mandates that ended while the relation goes on: restrict ---------------------------------

export const mandateEnd = sql<string>`coalesce(relation_mandates.revoked_at, relation_mandates.last_collection_at, relation_mandates.updated_at)`;

export function endedMandates(db: Kysely<DB>, ctx: TargetContext) {
  return db
    .selectFrom('relation_mandates')
    .innerJoin('relations', 'relations.id', 'relation_mandates.relation_id')
    .where(inOrg(ctx, 'relation_mandates.org_id'))
    .where('relation_mandates.status', 'in', ['revoked', 'completed']);
}

/** One walk over ended mandates (past grace or past the duty): the mandate, its relation and subject. */
export async function listMandates(
  query: ReturnType<typeof endedMandates>,
  ctx: TargetContext,
  limit: number,
  after: string,
): Promise<Candidate[]> {
  const selected = query.select([
    'relation_mandates.id as id',
    'relations.subject_id as subject_id',
    'relations.id as relation_id',
  ]);
  const rows = await nextBatch(selected, ctx, 'relation_mandates', after, limit).execute();
  return rows.map((r) => ({
    id: r.id,
    cursor: String(r.cursor),
    subjectIds: [r.subject_id],
    parents: [`relations:${r.relation_id}`],
  }));
}

function mandatesPastGrace(db: Kysely<DB>, ctx: TargetContext) {
  return endedMandates(db, ctx)
    .where(mandateEnd, '<', graceCutoff(ctx))
    .where(notRestricted('relation_mandates', 'relation_mandates.id'));
}

export const endedMandatesTarget: RetentionTarget = {
  id: 'relations.mandates_ended',
  phase: 'records',
  policy: 'client_relation',
  action: 'restrict',
  table: 'relation_mandates',
  covers: [],

  listExpired: (db, ctx, limit, after) => listMandates(mandatesPastGrace(db, ctx), ctx, limit, after),

  countExpired: (db, ctx) => countOf(mandatesPastGrace(db, ctx)),

  async apply(trx, ctx, ids, mode) {
    const base = mode === 'sweep' ? mandatesPastGrace(trx, ctx) : endedMandates(trx, ctx);
    const rows = await base
      .select(['relation_mandates.id as id', mandateEnd.as('end')])
      .where('relation_mandates.id', 'in', ids)
      .execute();
    await restrict(
      trx,
      ctx.orgId,
      'client_relation',
      ctx.asOf.toISOString(),
      rows.map((r) => ({ table: 'relation_mandates', id: r.id, restrictedUntil: fiscalUntil(ctx, r.end) })),
    );
    return { applied: rows.length };
  },

  countExpiringByMonth(db, ctx, months) {
    const ended = endedMandates(db, ctx).where(notRestricted('relation_mandates', 'relation_mandates.id'));
    const p = ctx.policies.client_relation;
    const period = { trigger: 'relationship_ended', unit: p.unit } as const;
    return expiringByMonth(ended, { from: mandateEnd, period, value: p.value, months });
  },
};
