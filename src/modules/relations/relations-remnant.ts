/**
 * The fiscal remnant (docs/decisions/0010): when a client is erased on request, each relation the
 * fiscal duty keeps is handed to a fresh subject without blind indexes (nobody finds it by
 * address), and exactly its retained values — mandate account holder, IBAN, BIC, signature; the
 * signed agreement PDF and its name — are re-sealed under that subject's key, so they outlive the
 * erased person's key. When the fiscal sweep deletes the relation's records, the remnant has
 * nothing left and the retention engine destroys its key like any other subject's.
 */
import type { Kysely } from 'kysely';
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

/**
 * Hands a kept relation to a new remnant subject and re-seals its retained values under the
 * remnant's key (they are read with the erased subject's key, which still exists here).
 */
export async function rehome(
  trx: Kysely<DB>,
  keyring: Keyring,
  ctx: ErasureContext,
  subjectId: string,
  relationId: string,
): Promise<string> {
  const org = ctx.orgId;
  const remnant = await insertRemnantSubject(trx, { orgId: org }, ctx.asOf.toISOString());
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
    await trx
      .updateTable('relation_mandates')
      .set({
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
      })
      .where('org_id', '=', org)
      .where('id', '=', m.id)
      .execute();
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
    await trx
      .updateTable('relation_agreement_documents')
      .set({
        file_name: await s.to.seal('file_name', await s.from.open('file_name', d.file_name)),
        content: await s.to.seal('content', await s.from.open('content', d.content)),
      })
      .where('org_id', '=', org)
      .where('id', '=', d.id)
      .execute();
  }
  await trx
    .updateTable('relations')
    .set({ subject_id: remnant })
    .where('org_id', '=', org)
    .where('id', '=', relationId)
    .execute();
  return remnant;
}
