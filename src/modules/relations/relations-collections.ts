/**
 * SEPA direct-debit collections (P4, P5: finance only): the organisation's creditor details, the
 * mandates that can be collected now, and a pain.008.001.02 file for chosen mandates and
 * amounts. The export records each transaction (bookkeeping) and moves recurrent mandates from
 * FRST to RCUR, in one transaction with its audit entry. A restricted mandate or relation is never
 * collected: that would be processing for the ordinary purpose, which ended.
 */
import { randomBytes } from 'node:crypto';
import { type Actor, actorRef, type OrgScope, scopeOf } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import type { MessageKey } from '../../shared/i18n/messages.js';
import { newId } from '../../shared/ids.js';
import { assertCan } from '../../shared/permissions.js';
import { assertMayRead } from './relations-access.js';
import { creditorSchema } from './relations-forms.js';
import { buildPain008, type Pain008Transaction } from './relations-pain008.js';
import {
  displayNameOf,
  openMandate,
  type RelationsDeps,
  sealerOf,
  sensitiveMandateFields,
} from './relations-records.js';
import {
  createRelationsRepository,
  type MandateRow,
  type RelationsRepository,
} from './relations-repository.js';
import type { MandateScheme, SequenceType } from './relations-schema.js';
import { unlessErased } from './relations-sealing.js';
import { checkBic, checkCreditorId, checkIban, nextSequenceType, parseEuroAmount } from './relations-sepa.js';

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

export interface CollectionFile {
  readonly messageId: string;
  readonly fileName: string;
  readonly xml: string;
  readonly count: number;
  readonly totalCents: number;
}

type ActiveMandate = Awaited<ReturnType<RelationsRepository['listActiveMandates']>>[number];

interface PricedLine {
  readonly mandateId: string;
  readonly cents: number;
  readonly remittance: string;
}

function validationError(fields: Record<string, MessageKey>, message: string): AppError {
  return new AppError('ERR_VALIDATION', { message, fields });
}

/** The day after `now` (UTC), as an ISO date: the earliest collection date accepted. */
export function earliestCollectionDate(now: Date): string {
  return new Date(now.getTime() + 24 * 3600 * 1000).toISOString().slice(0, 10);
}

/** The lines with an amount, in cents; every wrong amount and the date checked at once. */
function priceLines(
  input: { requestedDate: string; lines: readonly CollectionLine[] },
  now: Date,
): PricedLine[] {
  const fields: Record<string, MessageKey> = {};
  if (!/^\d{4}-\d{2}-\d{2}$/.test(input.requestedDate) || Number.isNaN(Date.parse(input.requestedDate))) {
    fields.requestedDate = 'relations.dateInvalid';
  } else if (input.requestedDate < earliestCollectionDate(now)) {
    fields.requestedDate = 'relations.collection.dateTooEarly';
  }
  const lines: PricedLine[] = [];
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
  return lines;
}

/** The relation's name for the collection list (null once the person is erased). */
async function relationNameOf(keyring: RelationsDeps['keyring'], r: ActiveMandate): Promise<string | null> {
  if (r.kind !== 'person') return r.organisation_name;
  const s = sealerOf(keyring, r, 'relations', r.relation_id);
  const name = await unlessErased(async () =>
    displayNameOf('person', null, {
      givenName: await s.openOptional('given_name', r.given_name),
      familyName: r.family_name === null ? '' : await s.open('family_name', r.family_name),
    }),
  );
  return name ?? null;
}

type Recorded = { mandate: MandateRow; sequenceType: SequenceType; cents: number };

/** The pain.008 transactions of the priced lines; a line for a mandate that cannot be collected refuses the run. */
async function transactionsOf(
  keyring: RelationsDeps['keyring'],
  active: ReadonlyMap<string, ActiveMandate>,
  lines: readonly PricedLine[],
  messageId: string,
): Promise<{ txs: Pain008Transaction[]; recorded: Recorded[] }> {
  const txs: Pain008Transaction[] = [];
  const recorded: Recorded[] = [];
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
    const open = await openMandate(keyring, m, m.subject_id);
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
  return { txs, recorded };
}

/** Records a collection run: each transaction, and each mandate moved on to its next sequence type. */
async function recordRun(
  repo: RelationsRepository,
  scope: OrgScope,
  o: {
    actor: Actor;
    messageId: string;
    requestedDate: string;
    at: string;
    recorded: readonly Recorded[];
  },
): Promise<void> {
  for (const r of o.recorded) {
    await repo.insertCollection({
      id: newId(),
      org_id: scope.orgId,
      batch_id: o.messageId,
      mandate_id: r.mandate.id,
      sequence_type: r.sequenceType,
      amount_cents: r.cents,
      requested_at: o.requestedDate,
      created_by_id: actorRef(o.actor),
      created_at: o.at,
    });
    await repo.updateMandate(scope, r.mandate.id, {
      first_collection_at: r.mandate.first_collection_at ?? o.at,
      last_collection_at: o.at,
      status: r.sequenceType === 'OOFF' ? 'completed' : r.mandate.status,
      updated_at: o.at,
    });
  }
}

export function createCollectionsService(deps: RelationsDeps) {
  const { db, keyring, clock, audit } = deps;

  return {
    /** Active mandates that can be collected now, with the sequence type the next collection gets. */
    async listCollectable(input: { actor: Actor }): Promise<CollectableMandate[]> {
      assertCan(input.actor, 'relations.manage_mandates');
      const rows = await createRelationsRepository(db).listActiveMandates(scopeOf(input.actor));
      const out: CollectableMandate[] = [];
      for (const r of rows) {
        const sequenceType = nextSequenceType({
          sequence: r.sequence,
          status: r.status,
          firstCollectionAt: r.first_collection_at,
        });
        if (sequenceType === undefined) continue;
        out.push({
          id: r.id,
          relationId: r.relation_id,
          relationName: await relationNameOf(keyring, r),
          reference: r.reference,
          scheme: r.scheme,
          ibanMasked: r.iban_masked,
          sequenceType,
        });
      }
      return out;
    },

    async getCreditor(input: { actor: Actor }): Promise<CreditorView | undefined> {
      assertCan(input.actor, 'relations.manage_mandates');
      const row = await createRelationsRepository(db).findCreditor(scopeOf(input.actor));
      return row === undefined
        ? undefined
        : { name: row.name, creditorId: row.creditor_identifier, iban: row.iban, bic: row.bic };
    },

    /** Sets the organisation's creditor details (name, creditor identifier, account), validated. */
    async setCreditor(input: { actor: Actor; values: unknown }): Promise<CreditorView> {
      assertCan(input.actor, 'relations.manage_mandates');
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
        await audit.append(trx, {
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
    }): Promise<CollectionFile> {
      assertCan(input.actor, 'relations.manage_mandates');
      assertMayRead(input.actor, ...sensitiveMandateFields);
      const scope = scopeOf(input.actor);
      const now = clock.now();
      const lines = priceLines(input, now);
      return db.transaction().execute(async (trx) => {
        const repo = createRelationsRepository(trx);
        const creditor = await repo.findCreditor(scope);
        if (creditor === undefined)
          throw validationError({ _form: 'relations.collection.noCreditor' }, 'no creditor');
        const active = new Map((await repo.listActiveMandates(scope)).map((m) => [m.id, m]));
        const stamp = now.toISOString().slice(0, 10).replace(/-/g, '');
        const messageId = `KLUIS-${stamp}-${randomBytes(5).toString('hex').toUpperCase()}`;
        const { txs, recorded } = await transactionsOf(keyring, active, lines, messageId);
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
        await recordRun(repo, scope, {
          actor: input.actor,
          messageId,
          requestedDate: input.requestedDate,
          at,
          recorded,
        });
        const totalCents = recorded.reduce((sum, r) => sum + r.cents, 0);
        await audit.append(trx, {
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
