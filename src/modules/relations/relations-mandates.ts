/**
 * SEPA direct-debit mandates and collections (P4: "incassogegevens: naam rekeninghouder,
 * handtekening, IBAN/BIC"; P5: finance only). IBAN check digits, country format and BIC are
 * validated before anything is stored; the IBAN is sealed with the relation's subject key, with
 * a blind index for look-ups and a masked form for support. Mandate references are unique per
 * creditor (org). Finance exports a pain.008.001.02 file for chosen mandates and amounts; the
 * export records each transaction (bookkeeping) and moves recurrent mandates from FRST to RCUR.
 * Every read of IBAN, BIC, account holder or signature is audited with its purpose.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { type Actor, actorRef, scopeOf } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import type { MessageKey } from '../../shared/i18n/messages.js';
import { newId } from '../../shared/ids.js';
import { isRestricted, visibleTo } from '../retention/retention-restriction.js';
import { appendAudit } from '../security/audit-chain.js';
import { assertMayEdit, assertMayRead, auditRead, mandateEditors } from './relations-access.js';
import { creditorSchema, mandateSchema } from './relations-forms.js';
import { buildPain008, type Pain008Transaction } from './relations-pain008.js';
import { createRelationsRepository, type MandateRow } from './relations-repository.js';
import type {
  MandateScheme,
  MandateSequence,
  MandateStatus,
  SequenceType,
  SignatureChannel,
} from './relations-schema.js';
import { rowSealer } from './relations-sealing.js';
import {
  checkBic,
  checkCreditorId,
  checkIban,
  checkMandateReference,
  maskIban,
  nextSequenceType,
  normaliseIban,
  parseEuroAmount,
} from './relations-sepa.js';
import { displayNameOf, type RelationsDeps } from './relations-service.js';

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

export interface CollectableMandate {
  readonly id: string;
  readonly relationId: string;
  readonly relationName: string | null;
  readonly reference: string;
  readonly scheme: MandateScheme;
  readonly ibanMasked: string;
  readonly sequenceType: SequenceType;
}

export interface CreditorView {
  readonly name: string;
  readonly creditorId: string;
  readonly iban: string;
  readonly bic: string | null;
}

export interface CollectionLine {
  readonly mandateId: string;
  /** As typed: "12,50". */
  readonly amount: string;
  readonly remittance: string;
}

const sensitiveMandateFields = [
  'relation_mandates.account_holder',
  'relation_mandates.iban',
  'relation_mandates.bic',
  'relation_mandates.signature_name',
] as const;

function validationError(fields: Record<string, MessageKey>, message: string): AppError {
  return new AppError('ERR_VALIDATION', { message, fields });
}

function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  return (
    e.code === '23505' ||
    e.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    (typeof e.message === 'string' && e.message.includes('UNIQUE constraint failed'))
  );
}

/** The day after `now` (UTC), as an ISO date: the earliest collection date accepted. */
export function earliestCollectionDate(now: Date): string {
  return new Date(now.getTime() + 24 * 3600 * 1000).toISOString().slice(0, 10);
}

export function createMandatesService(deps: RelationsDeps) {
  const { db, keyring, clock } = deps;

  async function loadRelation(trx: Kysely<DB>, actor: Actor, relationId: string) {
    const row = await createRelationsRepository(trx).findRelation(actor, relationId);
    if (row === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'relation not found' });
    return row;
  }

  async function openMandate(row: MandateRow, subjectId: string) {
    const s = rowSealer(keyring, { orgId: row.org_id, subjectId, table: 'relation_mandates', rowId: row.id });
    return {
      accountHolder: await s.open('account_holder', row.account_holder),
      iban: await s.open('iban', row.iban),
      bic: await s.openOptional('bic', row.bic),
      signatureName: await s.openOptional('signature_name', row.signature_name),
    };
  }

  return {
    /** Records a signed mandate after checking IBAN, BIC and reference; nothing is stored when invalid. */
    async createMandate(input: {
      actor: Actor;
      relationId: string;
      values: unknown;
    }): Promise<{ id: string }> {
      assertMayEdit(input.actor, mandateEditors);
      const v = parseOrThrow(mandateSchema, input.values);
      const fields: Record<string, MessageKey> = {};
      const reference = checkMandateReference(v.reference);
      if (!reference.ok) fields.reference = reference.error;
      const iban = checkIban(v.iban);
      if (!iban.ok) fields.iban = iban.error;
      const bic = checkBic(v.bic, iban.ok ? iban.value : undefined);
      if (!bic.ok) fields.bic = bic.error;
      if (v.signedAt > clock.now().toISOString().slice(0, 10))
        fields.signedAt = 'relations.mandate.signedInFuture';
      if (!reference.ok || !iban.ok || !bic.ok || Object.keys(fields).length > 0) {
        throw validationError(fields, 'invalid mandate');
      }
      const scope = scopeOf(input.actor);
      const id = newId();
      const now = clock.now().toISOString();
      const referenceTaken = () =>
        new AppError('ERR_CONFLICT', {
          message: 'mandate reference taken',
          fields: { reference: 'relations.mandate.referenceTaken' },
        });
      try {
        await db.transaction().execute(async (trx) => {
          const relation = await loadRelation(trx, input.actor, input.relationId);
          const repo = createRelationsRepository(trx);
          if ((await repo.findMandateByReference(scope, reference.value)) !== undefined)
            throw referenceTaken();
          const s = rowSealer(keyring, {
            orgId: scope.orgId,
            subjectId: relation.subject_id,
            table: 'relation_mandates',
            rowId: id,
          });
          await repo.insertMandate({
            id,
            org_id: scope.orgId,
            relation_id: relation.id,
            reference: reference.value,
            scheme: v.scheme,
            sequence: v.sequence,
            account_holder: await s.seal('account_holder', v.accountHolder),
            iban: await s.seal('iban', iban.value),
            iban_bidx: await keyring.blindIndex(scope.orgId, 'iban', iban.value),
            iban_masked: maskIban(iban.value),
            bic: await s.sealOptional('bic', bic.value),
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
          await appendAudit(trx, clock, {
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
      assertMayRead(input.actor, ...sensitiveMandateFields);
      return db.transaction().execute(async (trx) => {
        const relation = await loadRelation(trx, input.actor, input.relationId);
        const m = await createRelationsRepository(trx).findMandate(input.actor, relation.id, input.mandateId);
        if (m === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'mandate not found' });
        const open = await openMandate(m, relation.subject_id);
        await auditRead(trx, clock, {
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
          accountHolder: open.accountHolder,
          iban: open.iban,
          ibanMasked: m.iban_masked,
          bic: open.bic,
          signedAt: m.signed_at,
          signatureName: open.signatureName,
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
      assertMayRead(input.actor, 'relation_mandates.iban');
      const bidx = await keyring.blindIndex(input.actor.orgId, 'iban', normaliseIban(input.iban));
      const rows = await db
        .selectFrom('relation_mandates')
        .select('relation_id')
        .distinct()
        .where('org_id', '=', input.actor.orgId)
        .where('iban_bidx', '=', bidx)
        .where(visibleTo(input.actor, 'relation_mandates', 'relation_mandates.id'))
        .where(visibleTo(input.actor, 'relations', 'relation_mandates.relation_id'))
        .execute();
      return rows.map((r) => r.relation_id);
    },

    /** Ends a mandate: it is no longer offered for collection. */
    async revokeMandate(input: { actor: Actor; relationId: string; mandateId: string }): Promise<void> {
      assertMayEdit(input.actor, mandateEditors);
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
        await appendAudit(trx, clock, {
          actor: input.actor,
          action: 'relations.mandate.revoked',
          target: { type: 'mandate', id: m.id },
          meta: { relation_id: relation.id },
        });
      });
    },

    /** Active mandates that can be collected now, with the sequence type the next collection gets. */
    async listCollectable(input: { actor: Actor }): Promise<CollectableMandate[]> {
      assertMayEdit(input.actor, mandateEditors);
      const rows = await createRelationsRepository(db).listActiveMandates(scopeOf(input.actor));
      const out: CollectableMandate[] = [];
      for (const r of rows) {
        const sequenceType = nextSequenceType({
          sequence: r.sequence,
          status: r.status,
          firstCollectionAt: r.first_collection_at,
        });
        if (sequenceType === undefined) continue;
        let relationName: string | null = r.organisation_name;
        if (r.kind === 'person') {
          const s = rowSealer(keyring, {
            orgId: r.org_id,
            subjectId: r.subject_id,
            table: 'relations',
            rowId: r.relation_id,
          });
          try {
            relationName = displayNameOf('person', null, {
              formOfAddress: 'neutral',
              givenName: await s.openOptional('given_name', r.given_name),
              familyName: r.family_name === null ? '' : await s.open('family_name', r.family_name),
              email: null,
              phone: null,
            });
          } catch {
            relationName = null;
          }
        }
        out.push({
          id: r.id,
          relationId: r.relation_id,
          relationName,
          reference: r.reference,
          scheme: r.scheme,
          ibanMasked: r.iban_masked,
          sequenceType,
        });
      }
      return out;
    },

    async getCreditor(input: { actor: Actor }): Promise<CreditorView | undefined> {
      assertMayEdit(input.actor, mandateEditors);
      const row = await createRelationsRepository(db).findCreditor(scopeOf(input.actor));
      return row === undefined
        ? undefined
        : { name: row.name, creditorId: row.creditor_identifier, iban: row.iban, bic: row.bic };
    },

    /** Sets the organisation's creditor details (name, creditor identifier, account), validated. */
    async setCreditor(input: { actor: Actor; values: unknown }): Promise<CreditorView> {
      assertMayEdit(input.actor, mandateEditors);
      const v = parseOrThrow(creditorSchema, input.values);
      const fields: Record<string, MessageKey> = {};
      const ci = checkCreditorId(v.creditorId);
      if (!ci.ok) fields.creditorId = v.creditorId.trim() === '' ? 'field.required' : ci.error;
      const iban = checkIban(v.iban);
      if (!iban.ok) fields.iban = iban.error;
      const bic = checkBic(v.bic, iban.ok ? iban.value : undefined);
      if (!bic.ok) fields.bic = bic.error;
      if (!ci.ok || !iban.ok || !bic.ok) throw validationError(fields, 'invalid creditor');
      const view: CreditorView = { name: v.name, creditorId: ci.value, iban: iban.value, bic: bic.value };
      await db.transaction().execute(async (trx) => {
        await createRelationsRepository(trx).upsertCreditor({
          org_id: input.actor.orgId,
          name: view.name,
          creditor_identifier: view.creditorId,
          iban: view.iban,
          bic: view.bic,
          updated_at: clock.now().toISOString(),
        });
        await appendAudit(trx, clock, {
          actor: input.actor,
          action: 'relations.creditor.set',
          target: { type: 'org', id: input.actor.orgId },
        });
      });
      return view;
    },

    /**
     * Builds a pain.008.001.02 file for the lines with an amount, records each transaction and
     * moves the mandates on (FRST → RCUR, one-off → completed), all in one transaction.
     */
    async exportCollection(input: {
      actor: Actor;
      requestedDate: string;
      lines: readonly CollectionLine[];
    }): Promise<{ messageId: string; fileName: string; xml: string; count: number; totalCents: number }> {
      assertMayEdit(input.actor, mandateEditors);
      assertMayRead(input.actor, ...sensitiveMandateFields);
      const scope = scopeOf(input.actor);
      const fields: Record<string, MessageKey> = {};
      const now = clock.now();
      if (!/^\d{4}-\d{2}-\d{2}$/.test(input.requestedDate) || Number.isNaN(Date.parse(input.requestedDate))) {
        fields.requestedDate = 'relations.dateInvalid';
      } else if (input.requestedDate < earliestCollectionDate(now)) {
        fields.requestedDate = 'relations.collection.dateTooEarly';
      }
      const lines: { mandateId: string; cents: number; remittance: string }[] = [];
      for (const line of input.lines) {
        if (line.amount.trim() === '') continue;
        const cents = parseEuroAmount(line.amount);
        if (cents === undefined) fields[`amount.${line.mandateId}`] = 'relations.collection.amountInvalid';
        else lines.push({ mandateId: line.mandateId, cents, remittance: line.remittance });
      }
      if (lines.length === 0 && Object.keys(fields).every((k) => !k.startsWith('amount.'))) {
        fields._form = 'relations.collection.noItems';
      }
      if (Object.keys(fields).length > 0) throw validationError(fields, 'invalid collection');

      return db.transaction().execute(async (trx) => {
        const repo = createRelationsRepository(trx);
        const creditor = await repo.findCreditor(scope);
        if (creditor === undefined)
          throw validationError({ _form: 'relations.collection.noCreditor' }, 'no creditor');
        const active = new Map((await repo.listActiveMandates(scope)).map((m) => [m.id, m]));
        const stamp = now.toISOString().slice(0, 10).replace(/-/g, '');
        const messageId = `KLUIS-${stamp}-${randomBytes(5).toString('hex').toUpperCase()}`;
        const txs: Pain008Transaction[] = [];
        const recorded: { mandate: MandateRow; sequenceType: SequenceType; cents: number }[] = [];
        for (const [index, line] of lines.entries()) {
          const m = active.get(line.mandateId);
          const sequenceType =
            m === undefined
              ? undefined
              : nextSequenceType({
                  sequence: m.sequence,
                  status: m.status,
                  firstCollectionAt: m.first_collection_at,
                });
          if (m === undefined || sequenceType === undefined) {
            throw validationError(
              { [`amount.${line.mandateId}`]: 'relations.collection.mandateNotCollectable' },
              'mandate',
            );
          }
          const open = await openMandate(m, m.subject_id);
          txs.push({
            endToEndId: `${messageId.slice(6)}-${index + 1}`,
            amountCents: line.cents,
            mandateReference: m.reference,
            mandateSignedAt: m.signed_at,
            sequenceType,
            scheme: m.scheme,
            debtorName: open.accountHolder,
            debtorIban: open.iban,
            debtorBic: open.bic,
            remittance: line.remittance,
          });
          recorded.push({ mandate: m, sequenceType, cents: line.cents });
        }
        const xml = buildPain008({
          messageId,
          createdAt: now,
          requestedCollectionDate: input.requestedDate,
          creditor: {
            name: creditor.name,
            creditorId: creditor.creditor_identifier,
            iban: creditor.iban,
            bic: creditor.bic,
          },
          transactions: txs,
        });
        const at = now.toISOString();
        for (const r of recorded) {
          await repo.insertCollection({
            id: newId(),
            org_id: scope.orgId,
            batch_id: messageId,
            mandate_id: r.mandate.id,
            sequence_type: r.sequenceType,
            amount_cents: r.cents,
            requested_at: input.requestedDate,
            created_by_id: actorRef(input.actor),
            created_at: at,
          });
          await repo.updateMandate(scope, r.mandate.id, {
            first_collection_at: r.mandate.first_collection_at ?? at,
            last_collection_at: at,
            status: r.sequenceType === 'OOFF' ? 'completed' : r.mandate.status,
            updated_at: at,
          });
        }
        const totalCents = recorded.reduce((sum, r) => sum + r.cents, 0);
        await auditRead(trx, clock, {
          actor: input.actor,
          action: 'relations.collection.exported',
          target: { type: 'collection', id: messageId },
          fields: ['relation_mandates.account_holder', 'relation_mandates.iban', 'relation_mandates.bic'],
          purpose: 'direct_debit_collection',
          meta: { transactions: recorded.length, total_cents: totalCents },
        });
        return { messageId, fileName: `${messageId}.xml`, xml, count: recorded.length, totalCents };
      });
    },
  };
}

export type MandatesService = ReturnType<typeof createMandatesService>;
