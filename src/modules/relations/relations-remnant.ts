/**
 * The fiscal remnant (docs/decisions/0010): when a client is erased on request, each relation the
 * fiscal duty keeps is handed to a fresh subject without blind indexes (nobody finds it by
 * address), and exactly its retained values — mandate account holder, IBAN, BIC, signature; the
 * signed agreement PDF and its name — are re-sealed under that subject's key, so they outlive the
 * erased person's key. When the fiscal sweep deletes the relation's records, the remnant has
 * nothing left and the retention engine destroys its key like any other subject's.
 *
 * A database restored from a backup taken before the erasure holds those values sealed under the
 * erased person's key, which is gone (and which the ledger replay destroys again in a restored key
 * store). So the erasure also carries in its ledger line the remnant's id and the re-sealed values
 * — ciphertext under the remnant's key, never a clear value — and the replay puts them back and
 * hands the relation to the same remnant: finance reads the fiscal records again, with the key the
 * live key store holds. When the fiscal duty ends the remnant's key is destroyed, and the copies in
 * the ledger open no more.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Keyring } from '../../crypto/keyring.js';
import type { DB } from '../../db/schema.js';
import type { ErasureContext } from '../personal-data.js';
import { insertRemnantSubject } from '../subjects/index.js';
import { rowSealer } from './relations-sealing.js';

/** The values erasure re-seals under the remnant's key: the fiscal record's sealed fields. */
export const resealedColumns = {
  relation_mandates: ['account_holder', 'iban', 'bic', 'signature_name'],
  relation_agreement_documents: ['file_name', 'content'],
} as const;

const sealed = z.base64();
const remnantSchema = z.object({
  relation: z.string(),
  subject: z.string(),
  created_at: z.string(),
  mandates: z.array(
    z.object({
      id: z.string(),
      account_holder: sealed,
      iban: sealed,
      bic: sealed.nullable(),
      signature_name: sealed.nullable(),
    }),
  ),
  documents: z.array(z.object({ id: z.string(), file_name: sealed, content: sealed })),
});
/** What an erasure carries in its ledger line for the replay: one entry per kept relation. */
export const remnantCarrySchema = z.object({ remnants: z.array(remnantSchema) });
export type RemnantCarry = z.infer<typeof remnantSchema>;

const b64 = (b: Buffer) => b.toString('base64');
const b64OrNull = (b: Buffer | null) => (b === null ? null : b.toString('base64'));
const bytes = (s: string) => Buffer.from(s, 'base64');
const bytesOrNull = (s: string | null) => (s === null ? null : Buffer.from(s, 'base64'));

/**
 * Hands a kept relation to a new remnant subject and re-seals its retained values under the
 * remnant's key (they are read with the erased subject's key, which still exists here). Returns
 * what the ledger line carries so a replay can do the same without that key.
 */
export async function rehome(
  trx: Kysely<DB>,
  keyring: Keyring,
  ctx: ErasureContext,
  subjectId: string,
  relationId: string,
): Promise<RemnantCarry> {
  const org = ctx.orgId;
  const createdAt = ctx.asOf.toISOString();
  const remnant = await insertRemnantSubject(trx, { orgId: org }, createdAt);
  const carry: RemnantCarry = {
    relation: relationId,
    subject: remnant,
    created_at: createdAt,
    mandates: [],
    documents: [],
  };
  const sealers = (table: string, rowId: string) => ({
    from: rowSealer(keyring, { orgId: org, subjectId, table, rowId }),
    to: rowSealer(keyring, { orgId: org, subjectId: remnant, table, rowId }),
  });
  const mandates = await trx
    .selectFrom('relation_mandates')
    .select(['id', 'account_holder', 'iban', 'bic', 'signature_name'])
    .where('org_id', '=', org)
    .where('relation_id', '=', relationId)
    .execute();
  for (const m of mandates) {
    const s = sealers('relation_mandates', m.id);
    const values = {
      account_holder: await s.to.seal(
        'account_holder',
        await s.from.open('account_holder', m.account_holder),
      ),
      iban: await s.to.seal('iban', await s.from.open('iban', m.iban)),
      bic: await s.to.sealOptional('bic', await s.from.openOptional('bic', m.bic)),
      signature_name: await s.to.sealOptional(
        'signature_name',
        await s.from.openOptional('signature_name', m.signature_name),
      ),
    };
    await trx
      .updateTable('relation_mandates')
      .set(values)
      .where('org_id', '=', org)
      .where('id', '=', m.id)
      .execute();
    carry.mandates.push({
      id: m.id,
      account_holder: b64(values.account_holder),
      iban: b64(values.iban),
      bic: b64OrNull(values.bic),
      signature_name: b64OrNull(values.signature_name),
    });
  }
  const documents = await trx
    .selectFrom('relation_agreement_documents as d')
    .innerJoin('relation_agreements as a', 'a.id', 'd.agreement_id')
    .select(['d.id as id', 'd.file_name as file_name', 'd.content as content'])
    .where('d.org_id', '=', org)
    .where('a.relation_id', '=', relationId)
    .execute();
  for (const d of documents) {
    const s = sealers('relation_agreement_documents', d.id);
    const values = {
      file_name: await s.to.seal('file_name', await s.from.open('file_name', d.file_name)),
      content: await s.to.seal('content', await s.from.open('content', d.content)),
    };
    await trx
      .updateTable('relation_agreement_documents')
      .set(values)
      .where('org_id', '=', org)
      .where('id', '=', d.id)
      .execute();
    carry.documents.push({ id: d.id, file_name: b64(values.file_name), content: b64(values.content) });
  }
  await trx
    .updateTable('relations')
    .set({ subject_id: remnant })
    .where('org_id', '=', org)
    .where('id', '=', relationId)
    .execute();
  return carry;
}

/**
 * The replay's half: in a database restored from before the erasure, the kept relations of the
 * erased subject (`relationIds`, still under that subject here) get the remnant the erasure made —
 * same id, the re-sealed values the ledger line carried — so they open with the remnant's key.
 * Rows the copy does not hold (created after it was taken) are left alone. Returns the remnants.
 */
export async function rebuildRemnants(
  trx: Kysely<DB>,
  ctx: ErasureContext,
  relationIds: readonly string[],
  carried: unknown,
): Promise<string[]> {
  const parsed = remnantCarrySchema.safeParse(carried);
  if (!parsed.success) return [];
  const org = ctx.orgId;
  const named = parsed.data.remnants.filter((r) => relationIds.includes(r.relation));
  // Only relations this org's copy really holds (a line is never applied across orgs).
  const here = new Set(
    named.length === 0
      ? []
      : (
          await trx
            .selectFrom('relations')
            .select('id')
            .where('org_id', '=', org)
            .where(
              'id',
              'in',
              named.map((r) => r.relation),
            )
            .execute()
        ).map((r) => r.id),
  );
  const rebuilt: string[] = [];
  for (const r of named) {
    if (!here.has(r.relation)) continue;
    await insertRemnantSubject(trx, { orgId: org }, r.created_at, r.subject);
    for (const m of r.mandates) {
      await trx
        .updateTable('relation_mandates')
        .set({
          account_holder: bytes(m.account_holder),
          iban: bytes(m.iban),
          bic: bytesOrNull(m.bic),
          signature_name: bytesOrNull(m.signature_name),
        })
        .where('org_id', '=', org)
        .where('relation_id', '=', r.relation)
        .where('id', '=', m.id)
        .execute();
    }
    for (const d of r.documents) {
      await trx
        .updateTable('relation_agreement_documents')
        .set({ file_name: bytes(d.file_name), content: bytes(d.content) })
        .where('org_id', '=', org)
        .where('id', '=', d.id)
        .where('agreement_id', 'in', (eb) =>
          eb
            .selectFrom('relation_agreements')
            .select('id')
            .where('org_id', '=', org)
            .where('relation_id', '=', r.relation),
        )
        .execute();
    }
    await trx
      .updateTable('relations')
      .set({ subject_id: r.subject })
      .where('org_id', '=', org)
      .where('id', '=', r.relation)
      .execute();
    rebuilt.push(r.subject);
  }
  return rebuilt;
}
