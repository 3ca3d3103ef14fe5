/**
 * Client relations (P4, P5): organisations and persons who are clients, their contact persons
 * and billing address. Keeps P4 (exactly the statement's fields: contact details, form of address
 * as the only trace of gender, billing address; validated before anything is stored) and P5
 * (every personal value sealed with its data subject's key and opened only for roles the field
 * catalogue allows; another org's relation is a 404). Agreements are in relations-agreements.ts,
 * mandates and collections in relations-mandates.ts.
 */
import type { Kysely } from 'kysely';
import type { Keyring } from '../../crypto/keyring.js';
import type { DB } from '../../db/schema.js';
import { type Actor, scopeOf } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import { newId } from '../../shared/ids.js';
import { restrictedAmong } from '../retention/retention-restriction.js';
import { appendAudit } from '../security/audit-chain.js';
import { createSubjectsService } from '../subjects/subjects-service.js';
import { assertMayEdit, assertMayRead, relationEditors } from './relations-access.js';
import { type BillingAddress, validateBillingAddress } from './relations-address.js';
import { addressSchema, contactSchema, type PersonInput, relationSchema } from './relations-forms.js';
import {
  type ContactRow,
  createRelationsRepository,
  type RelationRow,
  type RelationSort,
} from './relations-repository.js';
import type {
  ContactRole,
  FormOfAddress,
  MandateScheme,
  MandateSequence,
  MandateStatus,
  RelationKind,
  RelationStatus,
  SequenceType,
  SignatureChannel,
} from './relations-schema.js';
import { rowSealer, unlessErased } from './relations-sealing.js';
import { nextSequenceType } from './relations-sepa.js';

export interface RelationsDeps {
  db: Kysely<DB>;
  keyring: Keyring;
  clock: Clock;
}

/** A person's details in clear (a person relation or a contact person). */
export interface PersonView {
  readonly formOfAddress: FormOfAddress;
  readonly givenName: string | null;
  readonly familyName: string;
  readonly email: string | null;
  readonly phone: string | null;
}

export interface RelationSummary {
  readonly id: string;
  readonly kind: RelationKind;
  /** Null when the subject was erased. */
  readonly displayName: string | null;
  readonly status: RelationStatus;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  readonly createdAt: string;
  /** Kept only for a legal duty (GDPR Art. 18): finance alone sees it, marked as such. */
  readonly restricted: boolean;
}

export interface ContactView extends PersonView {
  readonly id: string;
  readonly role: ContactRole;
}

export interface AgreementSummary {
  readonly id: string;
  readonly title: string;
  readonly version: string;
  readonly effectiveFrom: string;
  readonly effectiveUntil: string | null;
  readonly signed: boolean;
  readonly signedAt: string | null;
  readonly signatureChannel: SignatureChannel | null;
  readonly hasDocument: boolean;
  readonly documentSize: number | null;
  readonly restricted: boolean;
}

/** What support and finance both see of a mandate: never the IBAN itself. */
export interface MandateSummary {
  readonly id: string;
  readonly reference: string;
  readonly scheme: MandateScheme;
  readonly sequence: MandateSequence;
  readonly status: MandateStatus;
  readonly ibanMasked: string;
  readonly signedAt: string;
  readonly nextSequenceType: SequenceType | null;
  readonly lastCollectionAt: string | null;
  readonly restricted: boolean;
}

export interface RelationDetail extends RelationSummary {
  readonly organisationName: string | null;
  readonly person: PersonView | null;
  readonly email: string | null;
  readonly phone: string | null;
  readonly contacts: readonly ContactView[];
  readonly address: BillingAddress | null;
  readonly agreements: readonly AgreementSummary[];
  readonly mandates: readonly MandateSummary[];
}

export interface RelationListPage {
  readonly items: readonly RelationSummary[];
  readonly total: number;
  readonly page: number;
  readonly pageSize: number;
  readonly pages: number;
}

export const RELATION_PAGE_SIZE = 25;
/** Sorting by a sealed name decrypts the whole (filtered) list; beyond this, sort by date instead. */
export const NAME_SORT_CAP = 5000;

const relationFields = ['given_name', 'family_name', 'form_of_address', 'email', 'phone'] as const;

const idsOf = (rows: readonly { id: string }[]) => rows.map((r) => r.id);

export function displayNameOf(
  kind: RelationKind,
  organisationName: string | null,
  person: PersonView | null,
): string {
  if (kind === 'organisation') return organisationName ?? '';
  return [person?.givenName, person?.familyName]
    .filter((s) => s !== null && s !== undefined && s !== '')
    .join(' ');
}

export function createRelationsService(deps: RelationsDeps) {
  const { db, keyring, clock } = deps;
  const subjects = createSubjectsService({ keyring, clock });

  async function openPerson(
    row: { org_id: string; subject_id: string; id: string } & Record<
      (typeof relationFields)[number],
      Buffer | null
    >,
    table: 'relations' | 'relation_contacts',
  ): Promise<PersonView | null> {
    const s = rowSealer(keyring, { orgId: row.org_id, subjectId: row.subject_id, table, rowId: row.id });
    if (row.family_name === null || row.form_of_address === null) return null;
    return {
      formOfAddress: (await s.open('form_of_address', row.form_of_address)) as FormOfAddress,
      givenName: await s.openOptional('given_name', row.given_name),
      familyName: await s.open('family_name', row.family_name),
      email: await s.openOptional('email', row.email),
      phone: await s.openOptional('phone', row.phone),
    };
  }

  async function summaryOf(row: RelationRow, restricted: ReadonlySet<string>): Promise<RelationSummary> {
    const displayName =
      row.kind === 'organisation'
        ? row.organisation_name
        : ((await unlessErased(async () =>
            displayNameOf('person', null, await openPerson(row, 'relations')),
          )) ?? null);
    return {
      id: row.id,
      kind: row.kind,
      displayName,
      status: row.status,
      startedAt: row.started_at,
      endedAt: row.ended_at,
      createdAt: row.created_at,
      restricted: restricted.has(row.id),
    };
  }

  async function loadRelation(trx: Kysely<DB>, actor: Actor, relationId: string): Promise<RelationRow> {
    const row = await createRelationsRepository(trx).findRelation(actor, relationId);
    if (row === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'relation not found' });
    return row;
  }

  async function sealPerson(
    s: ReturnType<typeof rowSealer>,
    p: Pick<PersonInput, 'givenName' | 'email' | 'phone'> & {
      familyName: string | null;
      formOfAddress?: FormOfAddress | undefined;
    },
  ) {
    return {
      given_name: await s.sealOptional('given_name', p.givenName),
      family_name: await s.sealOptional('family_name', p.familyName),
      form_of_address: await s.sealOptional('form_of_address', p.formOfAddress ?? null),
      email: await s.sealOptional('email', p.email),
      phone: await s.sealOptional('phone', p.phone),
    };
  }

  return {
    /** Records a new client relation; a person becomes (or is linked to) a data subject by email/phone. */
    async createRelation(input: { actor: Actor; values: unknown }): Promise<{ id: string }> {
      assertMayEdit(input.actor, relationEditors);
      const v = parseOrThrow(relationSchema, input.values);
      const scope = scopeOf(input.actor);
      const id = newId();
      const now = clock.now().toISOString();
      await db.transaction().execute(async (trx) => {
        // A person is linked across channels by blind index; an organisation's record gets a key of its own.
        const subject =
          v.kind === 'person'
            ? await subjects.findOrCreate(trx, scope, {
                email: v.email ?? undefined,
                phone: v.phone ?? undefined,
              })
            : await subjects.findOrCreate(trx, scope, {});
        const s = rowSealer(keyring, {
          orgId: scope.orgId,
          subjectId: subject.id,
          table: 'relations',
          rowId: id,
        });
        const person = v.kind === 'person';
        const sealed = await sealPerson(s, {
          givenName: person ? v.givenName : null,
          familyName: person ? v.familyName : null,
          formOfAddress: person ? v.formOfAddress : undefined,
          email: v.email,
          phone: v.phone,
        });
        await createRelationsRepository(trx).insertRelation({
          id,
          org_id: scope.orgId,
          subject_id: subject.id,
          kind: v.kind,
          organisation_name: person ? null : v.organisationName,
          ...sealed,
          status: v.status,
          started_at: v.startedAt ?? null,
          ended_at: v.endedAt ?? null,
          created_at: now,
          updated_at: now,
        });
        await appendAudit(trx, clock, {
          actor: input.actor,
          action: 'relations.relation.created',
          target: { type: 'relation', id },
          fields: Object.entries(sealed)
            .filter(([, value]) => value !== null)
            .map(([column]) => `relations.${column}`),
          meta: { kind: v.kind, status: v.status },
        });
      });
      return { id };
    },

    /** Changes a relation's details and status (the kind stays); the end date drives retention. */
    async updateRelation(input: { actor: Actor; relationId: string; values: unknown }): Promise<void> {
      assertMayEdit(input.actor, relationEditors);
      await db.transaction().execute(async (trx) => {
        const row = await loadRelation(trx, input.actor, input.relationId);
        const raw = (input.values ?? {}) as Record<string, unknown>;
        const v = parseOrThrow(relationSchema, { ...raw, kind: row.kind });
        const s = rowSealer(keyring, {
          orgId: row.org_id,
          subjectId: row.subject_id,
          table: 'relations',
          rowId: row.id,
        });
        const person = row.kind === 'person';
        const sealed = await sealPerson(s, {
          givenName: person ? v.givenName : null,
          familyName: person ? v.familyName : null,
          formOfAddress: person ? v.formOfAddress : undefined,
          email: v.email,
          phone: v.phone,
        });
        await createRelationsRepository(trx).updateRelation(scopeOf(input.actor), row.id, {
          organisation_name: person ? null : v.organisationName,
          ...sealed,
          status: v.status,
          started_at: v.startedAt ?? null,
          ended_at: v.endedAt ?? null,
          updated_at: clock.now().toISOString(),
        });
        await appendAudit(trx, clock, {
          actor: input.actor,
          action: 'relations.relation.updated',
          target: { type: 'relation', id: row.id },
          fields: relationFields.map((c) => `relations.${c}`),
          meta: { status: v.status, previous_status: row.status },
        });
      });
    },

    /** One page of relations, filtered by status and sorted (by name: decrypted in memory). */
    async listRelations(input: {
      actor: Actor;
      status?: RelationStatus | undefined;
      sort: RelationSort;
      dir: 'asc' | 'desc';
      page: number;
    }): Promise<RelationListPage> {
      assertMayRead(input.actor, 'relations.family_name');
      const repo = createRelationsRepository(db);
      const scope = scopeOf(input.actor);
      const total = await repo.countRelations(input.actor, input.status);
      const pages = Math.max(1, Math.ceil(total / RELATION_PAGE_SIZE));
      const page = Math.min(Math.max(1, input.page), pages);
      const offset = (page - 1) * RELATION_PAGE_SIZE;
      let items: RelationSummary[];
      if (input.sort === 'name') {
        const rows = await repo.listAllRelations(input.actor, input.status, NAME_SORT_CAP);
        const marked = await restrictedAmong(db, scope, 'relations', idsOf(rows));
        const all = await Promise.all(rows.map((r) => summaryOf(r, marked)));
        const collator = new Intl.Collator('nl', { sensitivity: 'base', numeric: true });
        all.sort(
          (a, b) => collator.compare(a.displayName ?? '', b.displayName ?? '') || a.id.localeCompare(b.id),
        );
        if (input.dir === 'desc') all.reverse();
        items = all.slice(offset, offset + RELATION_PAGE_SIZE);
      } else {
        const rows = await repo.listRelations(input.actor, {
          status: input.status,
          sort: input.sort,
          dir: input.dir,
          limit: RELATION_PAGE_SIZE,
          offset,
        });
        const marked = await restrictedAmong(db, scope, 'relations', idsOf(rows));
        items = await Promise.all(rows.map((r) => summaryOf(r, marked)));
      }
      return { items, total, page, pageSize: RELATION_PAGE_SIZE, pages };
    },

    /** A relation with its contacts, address, agreements and mandates as the actor may see them. */
    async getRelation(input: { actor: Actor; relationId: string }): Promise<RelationDetail> {
      assertMayRead(
        input.actor,
        'relations.family_name',
        'relation_addresses.street',
        'relation_mandates.iban_masked',
      );
      const scope = scopeOf(input.actor);
      const repo = createRelationsRepository(db);
      const row = await loadRelation(db, input.actor, input.relationId);
      const summary = await summaryOf(row, await restrictedAmong(db, scope, 'relations', [row.id]));
      const person =
        row.kind === 'person' ? ((await unlessErased(() => openPerson(row, 'relations'))) ?? null) : null;
      const s = rowSealer(keyring, {
        orgId: row.org_id,
        subjectId: row.subject_id,
        table: 'relations',
        rowId: row.id,
      });
      const contactRows = await repo.listContacts(scope, row.id);
      const contacts: ContactView[] = [];
      for (const c of contactRows) {
        const p = await unlessErased(() => openPerson(c, 'relation_contacts'));
        if (p !== undefined && p !== null) contacts.push({ id: c.id, role: c.role, ...p });
      }
      const addressRow = await repo.findAddress(scope, row.id);
      let address: BillingAddress | null = null;
      if (addressRow !== undefined) {
        const a = rowSealer(keyring, {
          orgId: row.org_id,
          subjectId: row.subject_id,
          table: 'relation_addresses',
          rowId: addressRow.id,
        });
        address =
          (await unlessErased(async () => ({
            country: await a.open('country', addressRow.country),
            city: await a.open('city', addressRow.city),
            postcode: await a.open('postcode', addressRow.postcode),
            street: await a.open('street', addressRow.street),
            houseNumber: await a.open('house_number', addressRow.house_number),
            houseNumberAddition: await a.openOptional(
              'house_number_addition',
              addressRow.house_number_addition,
            ),
          }))) ?? null;
      }
      const agreementRows = await repo.listAgreements(input.actor, row.id);
      const restrictedAgreements = await restrictedAmong(
        db,
        scope,
        'relation_agreements',
        idsOf(agreementRows),
      );
      const agreements: AgreementSummary[] = agreementRows.map((a) => ({
        id: a.id,
        title: a.title,
        version: a.version,
        effectiveFrom: a.effective_from,
        effectiveUntil: a.effective_until,
        signed: a.signed_by_name !== null,
        signedAt: a.signed_at,
        signatureChannel: a.signature_channel,
        hasDocument: a.document_id !== null,
        documentSize: a.document_size === null ? null : Number(a.document_size),
        restricted: restrictedAgreements.has(a.id),
      }));
      const mandateRows = await repo.listMandates(input.actor, row.id);
      const restrictedMandates = await restrictedAmong(db, scope, 'relation_mandates', idsOf(mandateRows));
      const mandates: MandateSummary[] = mandateRows.map((m) => ({
        id: m.id,
        reference: m.reference,
        scheme: m.scheme,
        sequence: m.sequence,
        status: m.status,
        ibanMasked: m.iban_masked,
        signedAt: m.signed_at,
        nextSequenceType:
          nextSequenceType({
            sequence: m.sequence,
            status: m.status,
            firstCollectionAt: m.first_collection_at,
          }) ?? null,
        lastCollectionAt: m.last_collection_at,
        restricted: restrictedMandates.has(m.id),
      }));
      return {
        ...summary,
        organisationName: row.organisation_name,
        person,
        email: (await unlessErased(() => s.openOptional('email', row.email))) ?? null,
        phone: (await unlessErased(() => s.openOptional('phone', row.phone))) ?? null,
        contacts,
        address,
        agreements,
        mandates,
      };
    },

    /** Adds a contact person, linked to (or becoming) a data subject by email/phone. */
    async addContact(input: { actor: Actor; relationId: string; values: unknown }): Promise<{ id: string }> {
      assertMayEdit(input.actor, relationEditors);
      const v = parseOrThrow(contactSchema, input.values);
      const scope = scopeOf(input.actor);
      const id = newId();
      await db.transaction().execute(async (trx) => {
        await loadRelation(trx, input.actor, input.relationId);
        const subject = await subjects.findOrCreate(trx, scope, {
          email: v.email ?? undefined,
          phone: v.phone ?? undefined,
        });
        const s = rowSealer(keyring, {
          orgId: scope.orgId,
          subjectId: subject.id,
          table: 'relation_contacts',
          rowId: id,
        });
        const now = clock.now().toISOString();
        const row: ContactRow = {
          id,
          org_id: scope.orgId,
          relation_id: input.relationId,
          subject_id: subject.id,
          role: v.role,
          given_name: await s.sealOptional('given_name', v.givenName),
          family_name: await s.seal('family_name', v.familyName),
          form_of_address: await s.seal('form_of_address', v.formOfAddress),
          email: await s.sealOptional('email', v.email),
          phone: await s.sealOptional('phone', v.phone),
          created_at: now,
          updated_at: now,
        };
        await createRelationsRepository(trx).insertContact(row);
        await appendAudit(trx, clock, {
          actor: input.actor,
          action: 'relations.contact.added',
          target: { type: 'relation', id: input.relationId },
          fields: relationFields.map((c) => `relation_contacts.${c}`),
          meta: { contact_id: id, subject_id: subject.id, role: v.role },
        });
      });
      return { id };
    },

    async removeContact(input: { actor: Actor; relationId: string; contactId: string }): Promise<void> {
      assertMayEdit(input.actor, relationEditors);
      await db.transaction().execute(async (trx) => {
        await loadRelation(trx, input.actor, input.relationId);
        const removed = await createRelationsRepository(trx).deleteContact(
          scopeOf(input.actor),
          input.relationId,
          input.contactId,
        );
        if (!removed) throw new AppError('ERR_NOT_FOUND', { message: 'contact not found' });
        await appendAudit(trx, clock, {
          actor: input.actor,
          action: 'relations.contact.removed',
          target: { type: 'relation', id: input.relationId },
          meta: { contact_id: input.contactId },
        });
      });
    },

    /** Sets the billing address after validating it (Dutch postcode and house number rules); nothing stored when invalid. */
    async setAddress(input: { actor: Actor; relationId: string; values: unknown }): Promise<BillingAddress> {
      assertMayEdit(input.actor, relationEditors);
      const raw = parseOrThrow(addressSchema, input.values);
      const checked = validateBillingAddress(raw);
      if (!checked.ok) {
        throw new AppError('ERR_VALIDATION', { message: 'invalid billing address', fields: checked.errors });
      }
      const a = checked.value;
      await db.transaction().execute(async (trx) => {
        const row = await loadRelation(trx, input.actor, input.relationId);
        const repo = createRelationsRepository(trx);
        const id = (await repo.findAddress(scopeOf(input.actor), row.id))?.id ?? newId();
        const s = rowSealer(keyring, {
          orgId: row.org_id,
          subjectId: row.subject_id,
          table: 'relation_addresses',
          rowId: id,
        });
        await repo.upsertAddress({
          id,
          org_id: row.org_id,
          relation_id: row.id,
          country: await s.seal('country', a.country),
          city: await s.seal('city', a.city),
          postcode: await s.seal('postcode', a.postcode),
          street: await s.seal('street', a.street),
          house_number: await s.seal('house_number', a.houseNumber),
          house_number_addition: await s.sealOptional('house_number_addition', a.houseNumberAddition),
          updated_at: clock.now().toISOString(),
        });
        await appendAudit(trx, clock, {
          actor: input.actor,
          action: 'relations.address.set',
          target: { type: 'relation', id: row.id },
          fields: ['country', 'city', 'postcode', 'street', 'house_number', 'house_number_addition'].map(
            (c) => `relation_addresses.${c}`,
          ),
        });
      });
      return a;
    },
  };
}

export type RelationsService = ReturnType<typeof createRelationsService>;
