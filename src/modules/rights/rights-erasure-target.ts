/**
 * The database half of erasure on request (P15, Art. 17 GDPR), built from the retention engine's
 * targets (docs/decisions/0008 and 0010): everything stored about one data subject goes now,
 * except what a legal duty still needs.
 *
 * - Contact requests (every channel) are deleted (`intake.conversations`).
 * - The subject's client relations end today (active mandates are revoked) and are anonymised
 *   at once (`relations.client_data`: contact persons and address deleted, names and contact
 *   details cleared, the signer's name cleared); what the 7-year fiscal duty keeps (agreements,
 *   signed documents, mandates, collections) is restricted to finance until the duty ends;
 *   what is already past that duty is deleted now (`relations.fiscal_*`).
 * - The subject's rows as a contact person of someone else's relation are deleted.
 * - Consent records and export copies are deleted; closed rights requests keep their skeleton
 *   (right, dates, outcome: proof that they were handled) with contact details and texts cleared.
 * - The subject row stays as a tombstone: blind indexes cleared, `erased_at` set.
 *
 * Re-sealing the retained values under a key of their own happens in `rights-erasure.ts`, which
 * needs the subject's key; this half needs no key, so the ledger replay after a backup restore
 * (`retention-replay.ts`) applies it too, through `rightsErasureTarget`.
 */
import { type Kysely, sql } from 'kysely';
import type { DB } from '../../db/schema.js';
import { dayOf, expiresOn } from '../retention/retention-policies.js';
import { chunks, type RetentionTarget, type TargetContext } from '../retention/retention-target.js';
import { conversationsTarget } from '../retention/retention-targets-intake.js';
import {
  clientDataTarget,
  fiscalCollectionsTarget,
  fiscalMandatesTarget,
  fiscalRelationsTarget,
} from '../retention/retention-targets-relations.js';

/** The ledger's name for an erasure on request (one line per subject). */
export const RIGHTS_ERASURE_TARGET = 'rights.erasure';

/** Tables whose rows erasure counts, in the order of the outcome. */
export const erasureTables = [
  'conversations',
  'conversation_entries',
  'conversation_attachments',
  'relations',
  'relation_contacts',
  'relation_addresses',
  'relation_agreements',
  'relation_agreement_documents',
  'relation_mandates',
  'relation_collections',
  'consent_records',
  'rights_exports',
  'rights_requests',
  'data_subjects',
] as const;
export type ErasureTable = (typeof erasureTables)[number];

type Counts = Partial<Record<ErasureTable, number>>;

/** Columns erasure clears in rows it keeps (the rest of a kept row holds no personal value). */
export const clearedColumns = {
  relations: ['given_name', 'family_name', 'form_of_address', 'email', 'phone'],
  relation_agreements: ['signed_by_name'],
  rights_requests: [
    'requester_email',
    'requester_phone',
    'requester_email_bidx',
    'requester_phone_bidx',
    'details',
    'identity_note',
    'extension_reason',
    'outcome_reason',
  ],
  data_subjects: ['email_bidx', 'phone_bidx'],
} as const satisfies Partial<Record<ErasureTable, readonly string[]>>;

export interface FiscalRelation {
  readonly relationId: string;
  /** The day the fiscal duty ends and the fiscal sweep deletes the relation's records. */
  readonly until: string;
}

export interface ErasedRows {
  /** Rows deleted, per table. */
  readonly deleted: Counts;
  /** Rows kept with their personal values cleared, per table. */
  readonly cleared: Counts;
  /** Rows kept because a legal duty needs them, per table (restricted where restrictable). */
  readonly retained: Counts;
  /** Relations kept (restricted) for the fiscal duty. */
  readonly fiscal: readonly FiscalRelation[];
  readonly endedRelations: number;
  readonly revokedMandates: number;
}

const closedStatuses = ['completed', 'refused', 'lapsed'] as const;
const relationTables = [
  'relations',
  'relation_contacts',
  'relation_addresses',
  'relation_agreements',
  'relation_agreement_documents',
  'relation_mandates',
  'relation_collections',
] as const;
type RelationTable = (typeof relationTables)[number];

async function count(query: { executeTakeFirst(): Promise<{ n: number | string | bigint } | undefined> }) {
  return Number((await query.executeTakeFirst())?.n ?? 0);
}

/** Rows per relation-owned table that hang off `relationIds`. */
async function relationRows(
  trx: Kysely<DB>,
  orgId: string,
  relationIds: readonly string[],
): Promise<Record<RelationTable, number>> {
  const out: Record<RelationTable, number> = {
    relations: 0,
    relation_contacts: 0,
    relation_addresses: 0,
    relation_agreements: 0,
    relation_agreement_documents: 0,
    relation_mandates: 0,
    relation_collections: 0,
  };
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

async function idsOf(query: { execute(): Promise<{ id: string }[]> }): Promise<string[]> {
  return (await query.execute()).map((r) => r.id);
}

/**
 * Erases everything about `subjectId` in the main database that no legal duty keeps, in the
 * caller's transaction. Unconditional and idempotent (a second call finds nothing left to do),
 * so the ledger replay can apply it to a restored copy.
 */
export async function eraseSubjectRows(
  trx: Kysely<DB>,
  ctx: TargetContext,
  subjectId: string,
  options: { readonly keepRequestId?: string | undefined } = {},
): Promise<ErasedRows> {
  const org = ctx.orgId;
  const now = ctx.asOf.toISOString();
  const today = dayOf(ctx.asOf);
  const deleted: Counts = {};
  const cleared: Counts = {};
  const retained: Counts = {};

  // --- client relations of which this subject is the client ---------------------------------
  const relationIds = await idsOf(
    trx.selectFrom('relations').select('id').where('org_id', '=', org).where('subject_id', '=', subjectId),
  );
  let endedRelations = 0;
  let revokedMandates = 0;
  let fiscal: FiscalRelation[] = [];
  if (relationIds.length > 0) {
    const before = await relationRows(trx, org, relationIds);
    const signed = await signedAgreements(trx, org, relationIds);
    for (const ids of chunks(relationIds)) {
      // The relationship ends with the erasure: the fiscal duty is counted from today.
      const ended = await trx
        .updateTable('relations')
        .set({ status: 'ended', ended_at: sql<string>`coalesce(ended_at, ${today})`, updated_at: now })
        .where('org_id', '=', org)
        .where('id', 'in', ids)
        .where((eb) => eb.or([eb('status', '!=', 'ended'), eb('ended_at', 'is', null)]))
        .executeTakeFirst();
      endedRelations += Number(ended.numUpdatedRows);
      const revoked = await trx
        .updateTable('relation_mandates')
        .set({ status: 'revoked', revoked_at: now, updated_at: now })
        .where('org_id', '=', org)
        .where('relation_id', 'in', ids)
        .where('status', '=', 'active')
        .executeTakeFirst();
      revokedMandates += Number(revoked.numUpdatedRows);
    }
    // Anonymise now (not after the grace period) and restrict what the fiscal duty keeps.
    await clientDataTarget.apply(trx, ctx, relationIds, 'replay');
    // Whatever is already past the fiscal duty goes now (sweep mode re-checks expiry).
    for (const ids of chunks(relationIds)) {
      const collections = await idsOf(
        trx
          .selectFrom('relation_collections as c')
          .innerJoin('relation_mandates as m', 'm.id', 'c.mandate_id')
          .select('c.id as id')
          .where('c.org_id', '=', org)
          .where('m.relation_id', 'in', ids),
      );
      for (const part of chunks(collections)) await fiscalCollectionsTarget.apply(trx, ctx, part, 'sweep');
      const mandates = await idsOf(
        trx
          .selectFrom('relation_mandates')
          .select('id')
          .where('org_id', '=', org)
          .where('relation_id', 'in', ids),
      );
      for (const part of chunks(mandates)) await fiscalMandatesTarget.apply(trx, ctx, part, 'sweep');
      await fiscalRelationsTarget.apply(trx, ctx, ids, 'sweep');
    }
    const after = await relationRows(trx, org, relationIds);
    for (const table of relationTables) {
      const gone = before[table] - after[table];
      if (gone > 0) deleted[table] = gone;
    }
    if (after.relations > 0) cleared.relations = after.relations;
    const signedKept = Math.min(signed, after.relation_agreements);
    if (signedKept > 0) cleared.relation_agreements = signedKept;
    for (const table of [
      'relation_agreements',
      'relation_agreement_documents',
      'relation_mandates',
      'relation_collections',
    ] as const) {
      if (after[table] > 0) retained[table] = after[table];
    }
    const kept = await trx
      .selectFrom('relations')
      .select(['id', 'ended_at'])
      .where('org_id', '=', org)
      .where('id', 'in', relationIds)
      .orderBy('id')
      .execute();
    const p = ctx.policies.fiscal_7y;
    fiscal = kept.map((r) => ({
      relationId: r.id,
      until: expiresOn(p, p.value, dayOf(r.ended_at ?? today)),
    }));
  }

  // --- the subject as a contact person of someone else's relation ---------------------------
  const contacts = await trx
    .deleteFrom('relation_contacts')
    .where('org_id', '=', org)
    .where('subject_id', '=', subjectId)
    .executeTakeFirst();
  const contactsGone = Number(contacts.numDeletedRows);
  if (contactsGone > 0) deleted.relation_contacts = (deleted.relation_contacts ?? 0) + contactsGone;

  // --- contact requests, every channel --------------------------------------------------------
  const conversationIds = await idsOf(
    trx
      .selectFrom('conversations')
      .select('id')
      .where('org_id', '=', org)
      .where('subject_id', '=', subjectId),
  );
  for (const ids of chunks(conversationIds)) {
    const entries = await count(
      trx
        .selectFrom('conversation_entries')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('org_id', '=', org)
        .where('conversation_id', 'in', ids),
    );
    const attachments = await count(
      trx
        .selectFrom('conversation_attachments')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('org_id', '=', org)
        .where('conversation_id', 'in', ids),
    );
    const result = await conversationsTarget.apply(trx, ctx, ids, 'replay');
    deleted.conversations = (deleted.conversations ?? 0) + result.applied;
    deleted.conversation_entries = (deleted.conversation_entries ?? 0) + entries;
    if (attachments > 0)
      deleted.conversation_attachments = (deleted.conversation_attachments ?? 0) + attachments;
  }

  // --- the rights module's own rows -----------------------------------------------------------
  const consents = await trx
    .deleteFrom('consent_records')
    .where('org_id', '=', org)
    .where('subject_id', '=', subjectId)
    .executeTakeFirst();
  if (Number(consents.numDeletedRows) > 0) deleted.consent_records = Number(consents.numDeletedRows);
  const exports = await trx
    .deleteFrom('rights_exports')
    .where('org_id', '=', org)
    .where('subject_id', '=', subjectId)
    .executeTakeFirst();
  if (Number(exports.numDeletedRows) > 0) deleted.rights_exports = Number(exports.numDeletedRows);
  // Closed requests keep their skeleton as proof they were handled; open ones (this erasure's own
  // request among them) keep the address the reply goes to until the workflow closes them.
  let clear = trx
    .updateTable('rights_requests')
    .set({
      requester_email: null,
      requester_phone: null,
      requester_email_bidx: null,
      requester_phone_bidx: null,
      details: null,
      identity_note: null,
      extension_reason: null,
      outcome_reason: null,
    })
    .where('org_id', '=', org)
    .where('subject_id', '=', subjectId)
    .where('status', 'in', [...closedStatuses])
    .where((eb) => eb.or(clearedColumns.rights_requests.map((c) => eb(c, 'is not', null))));
  if (options.keepRequestId !== undefined) clear = clear.where('id', '!=', options.keepRequestId);
  const clearedRequests = Number((await clear.executeTakeFirst()).numUpdatedRows);
  if (clearedRequests > 0) cleared.rights_requests = clearedRequests;
  const requests = await count(
    trx
      .selectFrom('rights_requests')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('org_id', '=', org)
      .where('subject_id', '=', subjectId),
  );
  if (requests > 0) retained.rights_requests = requests;

  // --- the subject itself: a tombstone without blind indexes ----------------------------------
  const subject = await trx
    .updateTable('data_subjects')
    .set({ erased_at: sql<string>`coalesce(erased_at, ${now})`, email_bidx: null, phone_bidx: null })
    .where('org_id', '=', org)
    .where('id', '=', subjectId)
    .where((eb) =>
      eb.or([
        eb('erased_at', 'is', null),
        eb('email_bidx', 'is not', null),
        eb('phone_bidx', 'is not', null),
      ]),
    )
    .executeTakeFirst();
  if (Number(subject.numUpdatedRows) > 0) cleared.data_subjects = Number(subject.numUpdatedRows);

  return { deleted, cleared, retained, fiscal, endedRelations, revokedMandates };
}

/**
 * The erasure as the ledger replay sees it: ids are data subjects. Only the replay applies it
 * (`retention-replay.ts`); it is not in the sweep's registry, so it lists nothing as expired.
 */
export const rightsErasureTarget: RetentionTarget = {
  id: RIGHTS_ERASURE_TARGET,
  policy: 'data_subject',
  action: 'delete',
  table: 'data_subjects',
  covers: [],
  listExpired: async () => [],
  countExpired: async () => 0,
  async apply(trx, ctx, ids) {
    for (const id of ids) await eraseSubjectRows(trx, ctx, id);
    return { applied: ids.length };
  },
  countExpiringByMonth: async (_db, _ctx, months) => new Map(months.map((m) => [m, 0])),
};
