/**
 * Retention targets for client relations, part 2 (P4, P6): 7 years after the end of the fiscal
 * year a relation or mandate ended in (AWR art. 52), everything the fiscal duty kept is deleted —
 * collections, mandates, signed documents, agreements, the relation — and the restriction marks
 * go with them. See `relations-retention.ts` for the life of a relation before that.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import {
  chunks,
  countOf,
  expiringByMonth,
  inOrg,
  nextBatch,
  type RetentionTarget,
  stillExpired,
  type TargetContext,
  unrestrict,
} from '../retention/index.js';
import {
  deleteContactsAndAddresses,
  endedMandates,
  fiscalCutoff,
  listMandates,
  mandateEnd,
  relationCandidates,
} from './relations-retention.js';

async function deleteMandates(trx: Kysely<DB>, org: string, mandateIds: readonly string[]): Promise<void> {
  if (mandateIds.length === 0) return;
  for (const part of chunks(mandateIds)) {
    await trx
      .deleteFrom('relation_collections')
      .where('org_id', '=', org)
      .where('mandate_id', 'in', part)
      .execute();
    await trx.deleteFrom('relation_mandates').where('org_id', '=', org).where('id', 'in', part).execute();
  }
  await unrestrict(trx, org, 'relation_mandates', mandateIds);
}

function relationsPastDuty(db: Kysely<DB>, ctx: TargetContext) {
  return db
    .selectFrom('relations')
    .where(inOrg(ctx, 'relations.org_id'))
    .where('status', '=', 'ended')
    .where('ended_at', 'is not', null)
    .where('ended_at', '<', fiscalCutoff(ctx));
}

export const fiscalRelationsTarget: RetentionTarget = {
  id: 'relations.fiscal_records',
  phase: 'records',
  policy: 'fiscal_7y',
  action: 'delete',
  table: 'relations',
  covers: [
    'relation_agreement_documents.content',
    'relation_agreement_documents.file_name',
    'relation_mandates.account_holder',
    'relation_mandates.iban',
    'relation_mandates.iban_bidx',
    'relation_mandates.iban_masked',
    'relation_mandates.bic',
    'relation_mandates.signature_name',
    'relation_collections.amount_cents',
  ],

  async listExpired(db, ctx, limit, after) {
    const query = relationsPastDuty(db, ctx).select(['id', 'subject_id']);
    const rows = await nextBatch(query, ctx, 'relations', after, limit).execute();
    return relationCandidates(db, ctx.orgId, rows);
  },

  countExpired: (db, ctx) => countOf(relationsPastDuty(db, ctx)),

  async apply(trx, ctx, ids, mode) {
    const still = await stillExpired(mode, ids, (some) =>
      relationsPastDuty(trx, ctx).select('id').where('id', 'in', some).execute(),
    );
    if (still.length === 0) return { applied: 0 };
    const org = ctx.orgId;
    const mandates = await trx
      .selectFrom('relation_mandates')
      .select('id')
      .where('org_id', '=', org)
      .where('relation_id', 'in', still)
      .execute();
    await deleteMandates(
      trx,
      org,
      mandates.map((m) => m.id),
    );
    const agreements = (
      await trx
        .selectFrom('relation_agreements')
        .select('id')
        .where('org_id', '=', org)
        .where('relation_id', 'in', still)
        .execute()
    ).map((a) => a.id);
    if (agreements.length > 0) {
      for (const part of chunks(agreements)) {
        await trx
          .deleteFrom('relation_agreement_documents')
          .where('org_id', '=', org)
          .where('agreement_id', 'in', part)
          .execute();
      }
      await trx
        .deleteFrom('relation_agreements')
        .where('org_id', '=', org)
        .where('relation_id', 'in', still)
        .execute();
      await unrestrict(trx, org, 'relation_agreements', agreements);
    }
    await deleteContactsAndAddresses(trx, org, still);
    const result = await trx
      .deleteFrom('relations')
      .where('org_id', '=', org)
      .where('id', 'in', still)
      .executeTakeFirst();
    await unrestrict(trx, org, 'relations', still);
    return { applied: Number(result.numDeletedRows) };
  },

  countExpiringByMonth(db, ctx, months) {
    const ended = db
      .selectFrom('relations')
      .where('org_id', '=', ctx.orgId)
      .where('status', '=', 'ended')
      .where('ended_at', 'is not', null);
    const p = ctx.policies.fiscal_7y;
    return expiringByMonth(ended, { from: 'ended_at', perYear: true, period: p, value: p.value, months });
  },
};

function mandatesPastDuty(db: Kysely<DB>, ctx: TargetContext) {
  return endedMandates(db, ctx).where(mandateEnd, '<', fiscalCutoff(ctx));
}

export const fiscalMandatesTarget: RetentionTarget = {
  id: 'relations.fiscal_mandates',
  phase: 'records',
  policy: 'fiscal_7y',
  action: 'delete',
  table: 'relation_mandates',
  covers: [],

  listExpired: (db, ctx, limit, after) => listMandates(mandatesPastDuty(db, ctx), ctx, limit, after),

  countExpired: (db, ctx) => countOf(mandatesPastDuty(db, ctx)),

  async apply(trx, ctx, ids, mode) {
    const still = await stillExpired(mode, ids, (some) =>
      mandatesPastDuty(trx, ctx)
        .select('relation_mandates.id as id')
        .where('relation_mandates.id', 'in', some)
        .execute(),
    );
    await deleteMandates(trx, ctx.orgId, still);
    return { applied: still.length };
  },

  countExpiringByMonth(db, ctx, months) {
    const p = ctx.policies.fiscal_7y;
    const ended = endedMandates(db, ctx);
    return expiringByMonth(ended, { from: mandateEnd, perYear: true, period: p, value: p.value, months });
  },
};

function collectionsPastDuty(db: Kysely<DB>, ctx: TargetContext) {
  return db
    .selectFrom('relation_collections')
    .innerJoin('relation_mandates', 'relation_mandates.id', 'relation_collections.mandate_id')
    .innerJoin('relations', 'relations.id', 'relation_mandates.relation_id')
    .where(inOrg(ctx, 'relation_collections.org_id'))
    .where('relation_collections.requested_at', '<', fiscalCutoff(ctx));
}

export const fiscalCollectionsTarget: RetentionTarget = {
  id: 'relations.fiscal_collections',
  phase: 'records',
  policy: 'fiscal_7y',
  action: 'delete',
  table: 'relation_collections',
  covers: [],

  async listExpired(db, ctx, limit, after) {
    const query = collectionsPastDuty(db, ctx).select([
      'relation_collections.id as id',
      'relations.subject_id as subject_id',
      'relations.id as relation_id',
      'relation_mandates.id as mandate_id',
    ]);
    const rows = await nextBatch(query, ctx, 'relation_collections', after, limit).execute();
    return rows.map((r) => ({
      id: r.id,
      cursor: String(r.cursor),
      subjectIds: [r.subject_id],
      parents: [`relations:${r.relation_id}`, `relation_mandates:${r.mandate_id}`],
    }));
  },

  countExpired: (db, ctx) => countOf(collectionsPastDuty(db, ctx)),

  async apply(trx, ctx, ids, mode) {
    const query =
      mode === 'sweep'
        ? trx.deleteFrom('relation_collections').where('requested_at', '<', fiscalCutoff(ctx))
        : trx.deleteFrom('relation_collections');
    const result = await query.where('org_id', '=', ctx.orgId).where('id', 'in', ids).executeTakeFirst();
    return { applied: Number(result.numDeletedRows) };
  },

  countExpiringByMonth(db, ctx, months) {
    const all = db.selectFrom('relation_collections').where('org_id', '=', ctx.orgId);
    const p = ctx.policies.fiscal_7y;
    return expiringByMonth(all, { from: 'requested_at', perYear: true, period: p, value: p.value, months });
  },
};
