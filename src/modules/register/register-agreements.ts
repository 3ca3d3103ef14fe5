/**
 * Processor agreements (Art. 28) with each client (tenant org) and each sub-processor: version,
 * signing date, parties and the document. The operator keeps client agreements; a tenant sees the
 * agreement kept WITH it (read-only) next to the agreements it keeps itself. Reading a document
 * (it carries signatures) is audited.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Keyring } from '../../crypto/keyring.js';
import type { DB } from '../../db/schema.js';
import { inTransaction } from '../../db/transaction.js';
import { type Actor, scopeOf } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import { assertCan, can } from '../../shared/permissions.js';
import type { KluisServices } from '../module.js';
import {
  readDocument,
  type StoredDocument,
  storeDocument,
  type UploadedDocument,
  validateDocument,
} from './register-documents.js';
import type { OrgDirectory } from './register-orgs.js';
import { type AgreementRow, createRegisterRepository, type DocumentMeta } from './register-repository.js';
import type { CounterpartyKind } from './register-schema.js';
import { isoDate } from './register-subprocessors.js';

export interface AgreementView {
  readonly id: string;
  /** The org that keeps the agreement on record. */
  readonly orgId: string;
  readonly counterpartyKind: CounterpartyKind;
  readonly clientOrgId: string | null;
  readonly subprocessorId: string | null;
  /** The client org's or sub-processor's name. */
  readonly counterpartyName: string;
  readonly version: string;
  readonly signedOn: string;
  readonly parties: string;
  readonly document:
    | { readonly id: string; readonly filename: string; readonly sizeBytes: number }
    | undefined;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface CounterpartyOption {
  /** `client:<org id>` or `subprocessor:<id>`. */
  readonly value: string;
  readonly kind: CounterpartyKind;
  readonly name: string;
}

export const agreementInput = z.object({
  version: z.string().trim().min(1, { message: 'field.required' }).max(50, { message: 'field.tooLong' }),
  signedOn: isoDate,
  parties: z.string().trim().max(1000, { message: 'field.tooLong' }).default(''),
});

export const newAgreementInput = agreementInput.extend({
  counterparty: z
    .string()
    .regex(/^(client|subprocessor):[0-9a-f-]{36}$/, { message: 'register.ag.chooseCounterparty' }),
});
export type AgreementInput = z.input<typeof agreementInput>;
export type NewAgreementInput = z.input<typeof newAgreementInput>;

export interface AgreementsDeps {
  db: Kysely<DB>;
  clock: Clock;
  keyring: Pick<Keyring, 'encryptForOrg' | 'decryptForOrg'>;
  audit: Pick<KluisServices['audit'], 'append'>;
  orgs: OrgDirectory;
}

/** Agreement rows as shown: with the counterparty's name and the document's name and size. */
async function toViews(
  db: Kysely<DB>,
  orgs: OrgDirectory,
  rows: readonly AgreementRow[],
): Promise<AgreementView[]> {
  const repo = createRegisterRepository(db);
  const orgNames = new Map((await orgs.list()).map((o) => [o.id, o.name]));
  const spNames = new Map<string, string>();
  const docs = new Map<string, DocumentMeta>();
  for (const keeper of new Set(rows.map((r) => r.org_id))) {
    for (const sp of await repo.listSubprocessors({ orgId: keeper })) spNames.set(sp.id, sp.name);
    const ids = rows
      .filter((r) => r.org_id === keeper && r.document_id !== null)
      .map((r) => r.document_id ?? '');
    for (const d of await repo.listDocumentMeta({ orgId: keeper }, ids)) docs.set(d.id, d);
  }
  return rows.map((r) => {
    const doc = r.document_id === null ? undefined : docs.get(r.document_id);
    return {
      id: r.id,
      orgId: r.org_id,
      counterpartyKind: r.counterparty_kind,
      clientOrgId: r.client_org_id,
      subprocessorId: r.subprocessor_id,
      counterpartyName:
        r.counterparty_kind === 'client'
          ? (orgNames.get(r.client_org_id ?? '') ?? '')
          : (spNames.get(r.subprocessor_id ?? '') ?? ''),
      version: r.version,
      signedOn: r.signed_on,
      parties: r.parties,
      document:
        doc === undefined ? undefined : { id: doc.id, filename: doc.filename, sizeBytes: doc.size_bytes },
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    };
  });
}

/** Who the actor's org can record an agreement with: its clients (the operator only) and its sub-processors. */
async function counterpartyOptions(
  db: Kysely<DB>,
  orgs: OrgDirectory,
  actor: Actor,
): Promise<CounterpartyOption[]> {
  const clients =
    actor.orgKind === 'operator'
      ? (await orgs.list())
          .filter((o) => o.kind === 'tenant')
          .map((o): CounterpartyOption => ({ value: `client:${o.id}`, kind: 'client', name: o.name }))
      : [];
  const sps = (await createRegisterRepository(db).listSubprocessors(scopeOf(actor))).map(
    (s): CounterpartyOption => ({ value: `subprocessor:${s.id}`, kind: 'subprocessor', name: s.name }),
  );
  return [...clients, ...sps];
}

async function getHeld(
  deps: AgreementsDeps,
  actor: Actor,
  id: string,
  conn: Kysely<DB> = deps.db,
): Promise<AgreementView> {
  const { orgs } = deps;
  const row = await createRegisterRepository(conn).findAgreement(scopeOf(actor), id);
  if (row === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'agreement not found' });
  const [view] = await toViews(conn, orgs.within(conn), [row]);
  if (view === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'agreement not found' });
  return view;
}

/** Records an agreement within `conn` (a caller's transaction, or `db` for a new one). */
async function createAgreementIn(
  deps: AgreementsDeps,
  conn: Kysely<DB>,
  input: { actor: Actor; values: NewAgreementInput; document?: UploadedDocument | undefined },
): Promise<AgreementView> {
  const { clock, keyring, audit, orgs } = deps;
  const v = parseOrThrow(newAgreementInput, input.values);
  // The operator's owners and admins record a client's agreement when onboarding the tenant.
  if (!(v.counterparty.startsWith('client:') && can(input.actor, 'tenants.manage')))
    assertCan(input.actor, 'register.edit');
  if (input.document !== undefined) validateDocument(input.document, 'document');
  const option = (await counterpartyOptions(conn, orgs.within(conn), input.actor)).find(
    (o) => o.value === v.counterparty,
  );
  if (option === undefined) {
    throw new AppError('ERR_VALIDATION', {
      message: 'unknown counterparty',
      fields: { counterparty: 'register.ag.chooseCounterparty' },
    });
  }
  const counterpartyId = v.counterparty.slice(v.counterparty.indexOf(':') + 1);
  const id = randomUUID();
  return inTransaction(conn, async (trx) => {
    const documentId =
      input.document === undefined
        ? null
        : await storeDocument(trx, clock, keyring, input.actor.orgId, input.document);
    const now = clock.now().toISOString();
    await createRegisterRepository(trx).insertAgreement({
      id,
      org_id: input.actor.orgId,
      counterparty_kind: option.kind,
      client_org_id: option.kind === 'client' ? counterpartyId : null,
      subprocessor_id: option.kind === 'subprocessor' ? counterpartyId : null,
      version: v.version,
      signed_on: v.signedOn,
      parties: v.parties,
      document_id: documentId,
      created_at: now,
      updated_at: now,
    });
    await audit.append(trx, {
      actor: input.actor,
      action: 'register.agreement.create',
      target: { type: 'processor_agreement', id },
      fields: [
        'processor_agreements.parties',
        ...(documentId === null ? [] : ['register_documents.content']),
      ],
      meta: { counterpartyKind: option.kind, counterpartyId },
    });
    return getHeld(deps, input.actor, id, trx);
  });
}

export function createAgreementsService(deps: AgreementsDeps) {
  const { db, clock, keyring, audit, orgs } = deps;

  return {
    /** The agreements the actor's org keeps, those kept with it as a client, and who keeps those. */
    async listAgreements(input: {
      actor: Actor;
    }): Promise<{ held: AgreementView[]; withUs: AgreementView[]; operatorName: string }> {
      assertCan(input.actor, 'register.read');
      const repo = createRegisterRepository(db);
      return {
        held: await toViews(db, orgs, await repo.listAgreements(scopeOf(input.actor))),
        withUs: await toViews(db, orgs, await repo.listForClient(scopeOf(input.actor))),
        operatorName: (await orgs.findPublic(undefined))?.name ?? '',
      };
    },

    async getAgreement(input: { actor: Actor; id: string }): Promise<AgreementView> {
      assertCan(input.actor, 'register.read');
      return getHeld(deps, input.actor, input.id);
    },

    async counterpartyOptions(input: { actor: Actor }): Promise<CounterpartyOption[]> {
      assertCan(input.actor, 'register.edit');
      return counterpartyOptions(db, orgs, input.actor);
    },

    /** Records an agreement with a client (operator only) or one of the org's sub-processors. */
    createAgreement: (input: {
      actor: Actor;
      values: NewAgreementInput;
      document?: UploadedDocument | undefined;
    }): Promise<AgreementView> => createAgreementIn(deps, db, input),

    /** The same, as a step of the caller's transaction `trx` (a tenant's onboarding). */
    createAgreementIn: (trx: Kysely<DB>, input: Parameters<typeof createAgreementIn>[2]) =>
      createAgreementIn(deps, trx, input),

    async updateAgreement(input: {
      actor: Actor;
      id: string;
      values: AgreementInput;
      document?: UploadedDocument | undefined;
    }): Promise<AgreementView> {
      assertCan(input.actor, 'register.edit');
      await getHeld(deps, input.actor, input.id);
      const v = parseOrThrow(agreementInput, input.values);
      if (input.document !== undefined) validateDocument(input.document, 'document');
      await db.transaction().execute(async (trx) => {
        const documentId =
          input.document === undefined
            ? undefined
            : await storeDocument(trx, clock, keyring, input.actor.orgId, input.document);
        await createRegisterRepository(trx).updateAgreement(scopeOf(input.actor), input.id, {
          version: v.version,
          signed_on: v.signedOn,
          parties: v.parties,
          updated_at: clock.now().toISOString(),
          ...(documentId === undefined ? {} : { document_id: documentId }),
        });
        await audit.append(trx, {
          actor: input.actor,
          action: 'register.agreement.update',
          target: { type: 'processor_agreement', id: input.id },
          fields: [
            'processor_agreements.parties',
            ...(documentId === undefined ? [] : ['register_documents.content']),
          ],
        });
      });
      return getHeld(deps, input.actor, input.id);
    },

    /** The document of an agreement the org keeps or is the client of; the read is audited. */
    async readAgreementDocument(input: { actor: Actor; id: string }): Promise<StoredDocument> {
      assertCan(input.actor, 'register.read');
      const row = await createRegisterRepository(db).findVisibleAgreement(scopeOf(input.actor), input.id);
      if (row?.document_id === null || row === undefined) {
        throw new AppError('ERR_NOT_FOUND', { message: 'agreement document not found' });
      }
      const doc = await readDocument(db, keyring, row.org_id, row.document_id);
      await audit.append(db, {
        actor: input.actor,
        action: 'register.agreement.document.read',
        target: { type: 'processor_agreement', id: row.id },
        purpose: 'contract_administration',
        fields: ['register_documents.content'],
      });
      return doc;
    },
  };
}
