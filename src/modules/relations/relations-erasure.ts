/**
 * Erasing a data subject from the client relations (P15, Art. 17; P6 for what a legal duty keeps;
 * docs/decisions/0008 and 0010). The rights module orchestrates the erasure; this is the relations
 * module's part, for its own tables only:
 *
 * - the subject's client relations end today (active mandates are revoked) and are anonymised at
 *   once (`relations.client_data`: contact persons and address deleted, names and contact
 *   details cleared, the signer's name cleared); what the 7-year fiscal duty keeps (agreements,
 *   signed documents, mandates, collections) is restricted to finance until the duty ends; what
 *   is already past that duty is deleted now (`relations.fiscal_*`);
 * - the subject's rows as a contact person of someone else's relation are deleted.
 *
 * On an erasure on request (the context carries the keyring) each kept relation is then handed to
 * a fresh "remnant" subject without blind indexes, and exactly its retained values (mandate
 * account holder, IBAN, BIC, signature; the signed agreement PDF and its name) are re-sealed under
 * the remnant's key, so they survive the destruction of the erased subject's key. The retention
 * engine treats the remnant like any subject: when the fiscal sweep deletes the relation's
 * records, the remnant has nothing left and its key goes. A ledger replay after a restore has no
 * keyring: it puts back the re-sealed values the erasure's ledger line carried and hands the
 * relation to the same remnant (`rebuildRemnants`), so finance reads the kept records again.
 */
import { type Kysely, sql } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { ErasedRows, ErasureContext, RetainedRows, SubjectErasure } from '../personal-data.js';
import { chunks, dayOf, expiresOn } from '../retention/index.js';
import { type RemnantCarry, rebuildRemnants, rehome } from './relations-remnant.js';
import { clientDataTarget } from './relations-retention.js';
import {
  fiscalCollectionsTarget,
  fiscalMandatesTarget,
  fiscalRelationsTarget,
} from './relations-retention-fiscal.js';

/** No rows yet, per table of a client's records (the order an outcome lists them in). */
const noRows = {
  relations: 0,
  relation_contacts: 0,
  relation_addresses: 0,
  relation_agreements: 0,
  relation_agreement_documents: 0,
  relation_mandates: 0,
  relation_collections: 0,
};
type RelationTable = keyof typeof noRows;
const relationTables = Object.keys(noRows) as RelationTable[];

/** What the fiscal duty keeps, in the order the reply lists it. */
const fiscalTables = [
  'relation_agreements',
  'relation_agreement_documents',
  'relation_mandates',
  'relation_collections',
] as const;

async function count(query: { executeTakeFirst(): Promise<{ n: number | string | bigint } | undefined> }) {
  return Number((await query.executeTakeFirst())?.n ?? 0);
}

async function idsOf(query: { execute(): Promise<{ id: string }[]> }): Promise<string[]> {
  return (await query.execute()).map((r) => r.id);
}

/** Rows per relation-owned table that hang off `relationIds`. */
async function relationRows(
  trx: Kysely<DB>,
  orgId: string,
  relationIds: readonly string[],
): Promise<Record<RelationTable, number>> {
  const out: Record<RelationTable, number> = { ...noRows };
  for (const ids of chunks(relationIds)) {
    out.relations += await count(
      trx
        .selectFrom('relations')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('org_id', '=', orgId)
        .where('id', 'in', ids),
    );
    for (const table of [
      'relation_contacts',
      'relation_addresses',
      'relation_agreements',
      'relation_mandates',
    ] as const) {
      out[table] += await count(
        trx
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('org_id', '=', orgId)
          .where('relation_id', 'in', ids),
      );
    }
    out.relation_agreement_documents += await count(
      trx
        .selectFrom('relation_agreement_documents as d')
        .innerJoin('relation_agreements as a', 'a.id', 'd.agreement_id')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('d.org_id', '=', orgId)
        .where('a.relation_id', 'in', ids),
    );
    out.relation_collections += await count(
      trx
        .selectFrom('relation_collections as c')
        .innerJoin('relation_mandates as m', 'm.id', 'c.mandate_id')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('c.org_id', '=', orgId)
        .where('m.relation_id', 'in', ids),
    );
  }
  return out;
}

/** Agreements (of the kept relations) that still carried a signer's name before anonymising. */
async function signedAgreements(trx: Kysely<DB>, orgId: string, relationIds: readonly string[]) {
  let n = 0;
  for (const ids of chunks(relationIds)) {
    n += await count(
      trx
        .selectFrom('relation_agreements')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('org_id', '=', orgId)
        .where('relation_id', 'in', ids)
        .where('signed_by_name', 'is not', null),
    );
  }
  return n;
}

/** Ends the relations today (the fiscal duty is counted from then) and revokes active mandates. */
async function endRelations(trx: Kysely<DB>, ctx: ErasureContext, relationIds: readonly string[]) {
  const now = ctx.asOf.toISOString();
  const today = dayOf(ctx.asOf);
  let ended = 0;
  let revoked = 0;
  for (const ids of chunks(relationIds)) {
    const e = await trx
      .updateTable('relations')
      .set({ status: 'ended', ended_at: sql<string>`coalesce(ended_at, ${today})`, updated_at: now })
      .where('org_id', '=', ctx.orgId)
      .where('id', 'in', ids)
      .where((eb) => eb.or([eb('status', '!=', 'ended'), eb('ended_at', 'is', null)]))
      .executeTakeFirst();
    ended += Number(e.numUpdatedRows);
    const r = await trx
      .updateTable('relation_mandates')
      .set({ status: 'revoked', revoked_at: now, updated_at: now })
      .where('org_id', '=', ctx.orgId)
      .where('relation_id', 'in', ids)
      .where('status', '=', 'active')
      .executeTakeFirst();
    revoked += Number(r.numUpdatedRows);
  }
  return { ended, revoked };
}

/** Anonymises now (not after the grace period) and deletes what is already past the fiscal duty. */
async function anonymise(trx: Kysely<DB>, ctx: ErasureContext, relationIds: readonly string[]) {
  await clientDataTarget.apply(trx, ctx, relationIds, 'replay');
  // Sweep mode re-checks expiry: only what is past the duty goes.
  for (const ids of chunks(relationIds)) {
    const collections = await idsOf(
      trx
        .selectFrom('relation_collections as c')
        .innerJoin('relation_mandates as m', 'm.id', 'c.mandate_id')
        .select('c.id as id')
        .where('c.org_id', '=', ctx.orgId)
        .where('m.relation_id', 'in', ids),
    );
    for (const part of chunks(collections)) await fiscalCollectionsTarget.apply(trx, ctx, part, 'sweep');
    const mandates = await idsOf(
      trx
        .selectFrom('relation_mandates')
        .select('id')
        .where('org_id', '=', ctx.orgId)
        .where('relation_id', 'in', ids),
    );
    for (const part of chunks(mandates)) await fiscalMandatesTarget.apply(trx, ctx, part, 'sweep');
    await fiscalRelationsTarget.apply(trx, ctx, ids, 'sweep');
  }
}

/** The subject's own client relations: ended, anonymised, what the fiscal duty keeps restricted. */
async function eraseClientRelations(
  trx: Kysely<DB>,
  ctx: ErasureContext,
  subjectId: string,
  relationIds: readonly string[],
): Promise<ErasedRows> {
  const org = ctx.orgId;
  const before = await relationRows(trx, org, relationIds);
  const signed = await signedAgreements(trx, org, relationIds);
  const { ended, revoked } = await endRelations(trx, ctx, relationIds);
  await anonymise(trx, ctx, relationIds);
  const after = await relationRows(trx, org, relationIds);
  const deleted: Record<string, number> = {};
  for (const table of relationTables) {
    const gone = before[table] - after[table];
    if (gone > 0) deleted[table] = gone;
  }
  const cleared: Record<string, number> = {};
  if (after.relations > 0) cleared.relations = after.relations;
  const signedKept = Math.min(signed, after.relation_agreements);
  if (signedKept > 0) cleared.relation_agreements = signedKept;
  const kept = await trx
    .selectFrom('relations')
    .select(['id', 'ended_at'])
    .where('org_id', '=', org)
    .where('id', 'in', [...relationIds])
    .orderBy('id')
    .execute();
  const p = ctx.policies.fiscal_7y;
  const today = dayOf(ctx.asOf);
  const untils = kept.map((r) => expiresOn(p, p.value, dayOf(r.ended_at ?? today)));
  const until = untils.reduce<string | null>((max, u) => (max === null || u > max ? u : max), null);
  const retained: RetainedRows[] = fiscalTables
    .filter((table) => after[table] > 0)
    .map((table) => ({
      table,
      count: after[table],
      reason: 'fiscal_7y',
      until,
      restricted: true,
      // The kept agreement row is the agreement itself (title, version, dates).
      ...(table === 'relation_agreements' ? { categories: ['agreement'] as const } : {}),
    }));
  const createdSubjects: string[] = [];
  const remnants: RemnantCarry[] = [];
  if (ctx.keyring !== undefined) {
    for (const r of kept) {
      const remnant = await rehome(trx, ctx.keyring, ctx, subjectId, r.id);
      createdSubjects.push(remnant.subject);
      remnants.push(remnant);
    }
  } else if (ctx.carried !== undefined) {
    // A replay into a copy from before the erasure: the kept values come from the ledger line.
    await rebuildRemnants(
      trx,
      ctx,
      kept.map((r) => r.id),
      ctx.carried,
    );
  }
  return {
    deleted,
    cleared,
    retained,
    notes: { ended_relations: ended, revoked_mandates: revoked },
    createdSubjects,
    ...(remnants.length > 0 ? { carry: { remnants } } : {}),
  };
}

export const relationsErasure: SubjectErasure = {
  tables: relationTables,
  clears: {
    relations: ['given_name', 'family_name', 'form_of_address', 'email', 'phone'],
    relation_agreements: ['signed_by_name'],
  },

  /** The subject's relations (own and as contact person), their mandates and collections. */
  async heldRecords(db, ctx, subjectId) {
    const org = ctx.orgId;
    const relationIds = await idsOf(
      db
        .selectFrom('relations')
        .select('id')
        .where('org_id', '=', org)
        .where((eb) =>
          eb.or([
            eb('subject_id', '=', subjectId),
            eb(
              'id',
              'in',
              eb
                .selectFrom('relation_contacts')
                .select('relation_id')
                .where('org_id', '=', org)
                .where('subject_id', '=', subjectId),
            ),
          ]),
        ),
    );
    if (relationIds.length === 0) return [];
    const mandates = await idsOf(
      db
        .selectFrom('relation_mandates')
        .select('id')
        .where('org_id', '=', org)
        .where('relation_id', 'in', relationIds),
    );
    const collections = await idsOf(
      db
        .selectFrom('relation_collections as c')
        .innerJoin('relation_mandates as m', 'm.id', 'c.mandate_id')
        .select('c.id as id')
        .where('c.org_id', '=', org)
        .where('m.relation_id', 'in', relationIds),
    );
    return [
      ...relationIds.map((id) => `relations:${id}`),
      ...mandates.map((id) => `relation_mandates:${id}`),
      ...collections.map((id) => `relation_collections:${id}`),
    ];
  },

  async erase(trx, ctx, subjectId) {
    const relationIds = await idsOf(
      trx
        .selectFrom('relations')
        .select('id')
        .where('org_id', '=', ctx.orgId)
        .where('subject_id', '=', subjectId),
    );
    const rows: ErasedRows =
      relationIds.length > 0
        ? await eraseClientRelations(trx, ctx, subjectId, relationIds)
        : { deleted: {}, cleared: {}, retained: [], notes: { ended_relations: 0, revoked_mandates: 0 } };
    // The subject as a contact person of someone else's relation.
    const contacts = await trx
      .deleteFrom('relation_contacts')
      .where('org_id', '=', ctx.orgId)
      .where('subject_id', '=', subjectId)
      .executeTakeFirst();
    const gone = Number(contacts.numDeletedRows);
    if (gone === 0) return rows;
    return {
      ...rows,
      deleted: { ...rows.deleted, relation_contacts: (rows.deleted.relation_contacts ?? 0) + gone },
    };
  },
};
