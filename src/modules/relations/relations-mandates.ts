/**
 * SEPA direct-debit mandates and collections (P4: "incassogegevens: naam rekeninghouder,
 * handtekening, IBAN/BIC"; P5: finance only). IBAN check digits, country format and BIC are
 * validated before anything is stored; the IBAN is sealed with the relation's subject key, with
 * a blind index for look-ups and a masked form for support. Mandate references are unique per
 * creditor (org). Every read of IBAN, BIC, account holder or signature is audited with its purpose;
 * collections (the pain.008 export) are in relations-collections.ts.
 */
import type { Kysely } from 'kysely';
import { isUniqueViolation } from '../../db/dialect.js';
import type { DB } from '../../db/schema.js';
import { type Actor, scopeOf } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import type { MessageKey } from '../../shared/i18n/messages.js';
import { newId } from '../../shared/ids.js';
import { assertCan } from '../../shared/permissions.js';
import { isRestricted } from '../retention/index.js';
import { assertMayRead } from './relations-access.js';
import { createCollectionsService } from './relations-collections.js';
import { type MandateInput, mandateSchema } from './relations-forms.js';
import {
  loadRelation,
  openMandate,
  type RelationsDeps,
  sealerOf,
  sensitiveMandateFields,
} from './relations-records.js';
import { createRelationsRepository, type RelationRow } from './relations-repository.js';
import type { MandateScheme, MandateSequence, MandateStatus, SignatureChannel } from './relations-schema.js';
import { checkBic, checkIban, checkMandateReference, maskIban, normaliseIban } from './relations-sepa.js';

export interface MandateView {
  readonly id: string;
  readonly relationId: string;
  readonly reference: string;
  readonly scheme: MandateScheme;
  readonly sequence: MandateSequence;
  readonly status: MandateStatus;
  readonly accountHolder: string;
  readonly iban: string;
  readonly ibanMasked: string;
  readonly bic: string | null;
  readonly signedAt: string;
  readonly signatureName: string | null;
  readonly signatureChannel: SignatureChannel;
  readonly firstCollectionAt: string | null;
  readonly lastCollectionAt: string | null;
  readonly revokedAt: string | null;
  /** Kept only for the fiscal duty (Art. 18): shown to finance with that mark. */
  readonly restricted: boolean;
}

type CheckedMandate = Omit<MandateInput, 'reference' | 'iban' | 'bic'> & {
  reference: string;
  iban: string;
  bic: string | null;
};

const referenceTaken = () =>
  new AppError('ERR_CONFLICT', {
    message: 'mandate reference taken',
    fields: { reference: 'relations.mandate.referenceTaken' },
  });

/** The mandate form checked in full: reference, IBAN, BIC and a signature date not in the future. */
function checkMandate(values: unknown, today: string): CheckedMandate {
  const v = parseOrThrow(mandateSchema, values);
  const fields: Record<string, MessageKey> = {};
  const reference = checkMandateReference(v.reference);
  if (!reference.ok) fields.reference = reference.error;
  const iban = checkIban(v.iban);
  if (!iban.ok) fields.iban = iban.error;
  const bic = checkBic(v.bic, iban.ok ? iban.value : undefined);
  if (!bic.ok) fields.bic = bic.error;
  if (v.signedAt > today) fields.signedAt = 'relations.mandate.signedInFuture';
  if (!reference.ok || !iban.ok || !bic.ok || Object.keys(fields).length > 0) {
    throw new AppError('ERR_VALIDATION', { message: 'invalid mandate', fields });
  }
  return { ...v, reference: reference.value, iban: iban.value, bic: bic.value };
}

/** Stores a checked mandate for `relation`, sealed with its subject key, with a blind index and a masked IBAN. */
async function insertMandate(
  trx: Kysely<DB>,
  deps: RelationsDeps,
  o: { id: string; relation: RelationRow; v: CheckedMandate; now: string },
): Promise<void> {
  const { id, relation, v, now } = o;
  const s = sealerOf(deps.keyring, relation, 'relation_mandates', id);
  await createRelationsRepository(trx).insertMandate({
    id,
    org_id: relation.org_id,
    relation_id: relation.id,
    reference: v.reference,
    scheme: v.scheme,
    sequence: v.sequence,
    account_holder: await s.seal('account_holder', v.accountHolder),
    iban: await s.seal('iban', v.iban),
    iban_bidx: await deps.keyring.blindIndex(relation.org_id, 'iban', v.iban),
    iban_masked: maskIban(v.iban),
    bic: await s.sealOptional('bic', v.bic),
    signed_at: v.signedAt,
    signature_name: await s.sealOptional('signature_name', v.signatureName),
    signature_channel: v.signatureChannel,
    status: 'active',
    first_collection_at: null,
    last_collection_at: null,
    revoked_at: null,
    created_at: now,
    updated_at: now,
  });
}

function createMandateRecords(deps: RelationsDeps) {
  const { db, keyring, clock, audit } = deps;

  return {
    /** Records a signed mandate after checking IBAN, BIC and reference; nothing is stored when invalid. */
    async createMandate(input: {
      actor: Actor;
      relationId: string;
      values: unknown;
    }): Promise<{ id: string }> {
      assertCan(input.actor, 'relations.manage_mandates');
      const v = checkMandate(input.values, clock.now().toISOString().slice(0, 10));
      const scope = scopeOf(input.actor);
      const id = newId();
      try {
        await db.transaction().execute(async (trx) => {
          const relation = await loadRelation(trx, input.actor, input.relationId);
          const repo = createRelationsRepository(trx);
          if ((await repo.findMandateByReference(scope, v.reference)) !== undefined) throw referenceTaken();
          await insertMandate(trx, deps, { id, relation, v, now: clock.now().toISOString() });
          await audit.append(trx, {
            actor: input.actor,
            action: 'relations.mandate.created',
            target: { type: 'mandate', id },
            fields: [
              ...sensitiveMandateFields,
              'relation_mandates.iban_bidx',
              'relation_mandates.iban_masked',
            ],
            meta: { relation_id: relation.id, scheme: v.scheme, sequence: v.sequence },
          });
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw referenceTaken();
        throw error;
      }
      return { id };
    },

    /** A mandate in full, for finance: IBAN, BIC, account holder and signature; an audited read. */
    async getMandate(input: { actor: Actor; relationId: string; mandateId: string }): Promise<MandateView> {
      assertCan(input.actor, 'relations.read_payment');
      assertMayRead(input.actor, ...sensitiveMandateFields);
      return db.transaction().execute(async (trx) => {
        const relation = await loadRelation(trx, input.actor, input.relationId);
        const m = await createRelationsRepository(trx).findMandate(input.actor, relation.id, input.mandateId);
        if (m === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'mandate not found' });
        const open = await openMandate(keyring, m, relation.subject_id);
        await audit.append(trx, {
          actor: input.actor,
          action: 'relations.mandate.read',
          target: { type: 'mandate', id: m.id },
          fields: sensitiveMandateFields,
          purpose: 'direct_debit_collection',
        });
        return {
          id: m.id,
          relationId: relation.id,
          reference: m.reference,
          scheme: m.scheme,
          sequence: m.sequence,
          status: m.status,
          ...open,
          ibanMasked: m.iban_masked,
          signedAt: m.signed_at,
          signatureChannel: m.signature_channel,
          firstCollectionAt: m.first_collection_at,
          lastCollectionAt: m.last_collection_at,
          revokedAt: m.revoked_at,
          restricted: await isRestricted(trx, 'relation_mandates', m.id),
        };
      });
    },

    /** The relations with a mandate for this IBAN (blind index, no IBAN in clear). */
    async findRelationIdsByIban(input: { actor: Actor; iban: string }): Promise<string[]> {
      assertCan(input.actor, 'relations.read_payment');
      assertMayRead(input.actor, 'relation_mandates.iban');
      const bidx = await keyring.blindIndex(input.actor.orgId, 'iban', normaliseIban(input.iban));
      return createRelationsRepository(db).findRelationIdsByIbanIndex(input.actor, bidx);
    },

    /** Ends a mandate: it is no longer offered for collection. */
    async revokeMandate(input: { actor: Actor; relationId: string; mandateId: string }): Promise<void> {
      assertCan(input.actor, 'relations.manage_mandates');
      await db.transaction().execute(async (trx) => {
        const relation = await loadRelation(trx, input.actor, input.relationId);
        const repo = createRelationsRepository(trx);
        const m = await repo.findMandate(input.actor, relation.id, input.mandateId);
        if (m === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'mandate not found' });
        if (m.status === 'revoked') return;
        const now = clock.now().toISOString();
        await repo.updateMandate(scopeOf(input.actor), m.id, {
          status: 'revoked',
          revoked_at: now,
          updated_at: now,
        });
        await audit.append(trx, {
          actor: input.actor,
          action: 'relations.mandate.revoked',
          target: { type: 'mandate', id: m.id },
          meta: { relation_id: relation.id },
        });
      });
    },
  };
}

/** SEPA mandates and the collections made with them (finance). */
export function createMandatesService(deps: RelationsDeps) {
  return { ...createMandateRecords(deps), ...createCollectionsService(deps) };
}

export type MandatesService = ReturnType<typeof createMandatesService>;
