/**
 * Client relations (P4, P5): organisations and persons who are clients, their contact persons
 * and billing address. Keeps P4 (exactly the statement's fields: contact details, form of address
 * as the only trace of gender, billing address; validated before anything is stored) and P5
 * (every personal value sealed with its data subject's key and opened only for roles the field
 * catalogue allows; another org's relation is a 404). Contact persons and the billing address are
 * in relations-contacts.ts, reading a relation in full in relations-detail.ts; agreements in
 * relations-agreements.ts, mandates in relations-mandates.ts, collections in
 * relations-collections.ts.
 */
import { type Actor, scopeOf } from '../../shared/actor.js';
import type { Purpose } from '../../shared/catalogue.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import { newId } from '../../shared/ids.js';
import { type PageInfo, pageOf } from '../../shared/paging.js';
import { assertCan } from '../../shared/permissions.js';
import { createSubjectsService } from '../subjects/index.js';
import { assertMayRead } from './relations-access.js';
import type { BillingAddress } from './relations-address.js';
import { createContactsService } from './relations-contacts.js';
import { readRelationDetail, restrictedOf, summaryOf } from './relations-detail.js';
import { type RelationInput, relationSchema } from './relations-forms.js';
import { auditReads, listReads } from './relations-read-audit.js';
import {
  loadRelation,
  type PersonView,
  personColumns,
  type RelationsDeps,
  sealerOf,
  sealPerson,
} from './relations-records.js';
import { createRelationsRepository, type RelationSort } from './relations-repository.js';
import type {
  ContactRole,
  MandateScheme,
  MandateSequence,
  MandateStatus,
  RelationKind,
  RelationStatus,
  SequenceType,
  SignatureChannel,
} from './relations-schema.js';
import type { RowSealer } from './relations-sealing.js';

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

export interface RelationListPage extends PageInfo {
  readonly items: readonly RelationSummary[];
}

const RELATION_PAGE_SIZE = 25;
/** Sorting by a sealed name decrypts the whole (filtered) list; beyond this, sort by date instead. */
const NAME_SORT_CAP = 5000;

/** The sealed person columns of a relation: a person's details, or only the contact details of an organisation. */
function sealRelationPerson(s: RowSealer, kind: RelationKind, v: RelationInput) {
  const person = kind === 'person';
  return sealPerson(s, {
    givenName: person ? v.givenName : null,
    familyName: person ? v.familyName : null,
    formOfAddress: person ? v.formOfAddress : undefined,
    email: v.email,
    phone: v.phone,
  });
}

/** Recording and changing relations. */
function createRelationRecords(deps: RelationsDeps) {
  const { db, keyring, clock, audit } = deps;
  const subjects = createSubjectsService({ keyring, clock });

  return {
    /** Records a new client relation; a person becomes (or is linked to) a data subject by email/phone. */
    async createRelation(input: { actor: Actor; values: unknown }): Promise<{ id: string }> {
      assertCan(input.actor, 'relations.edit');
      const v = parseOrThrow(relationSchema, input.values);
      const scope = scopeOf(input.actor);
      const id = newId();
      const now = clock.now().toISOString();
      await db.transaction().execute(async (trx) => {
        // A person is linked across channels by blind index; an organisation's record gets a key of its own.
        const subject = await subjects.findOrCreate(
          trx,
          scope,
          v.kind === 'person' ? { email: v.email ?? undefined, phone: v.phone ?? undefined } : {},
        );
        const s = sealerOf(keyring, { org_id: scope.orgId, subject_id: subject.id }, 'relations', id);
        const sealed = await sealRelationPerson(s, v.kind, v);
        await createRelationsRepository(trx).insertRelation({
          id,
          org_id: scope.orgId,
          subject_id: subject.id,
          kind: v.kind,
          organisation_name: v.kind === 'person' ? null : v.organisationName,
          ...sealed,
          status: v.status,
          started_at: v.startedAt ?? null,
          ended_at: v.endedAt ?? null,
          created_at: now,
          updated_at: now,
        });
        await audit.append(trx, {
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
      assertCan(input.actor, 'relations.edit');
      await db.transaction().execute(async (trx) => {
        const row = await loadRelation(trx, input.actor, input.relationId);
        const raw = (input.values ?? {}) as Record<string, unknown>;
        const v = parseOrThrow(relationSchema, { ...raw, kind: row.kind });
        const sealed = await sealRelationPerson(sealerOf(keyring, row, 'relations', row.id), row.kind, v);
        await createRelationsRepository(trx).updateRelation(scopeOf(input.actor), row.id, {
          organisation_name: row.kind === 'person' ? null : v.organisationName,
          ...sealed,
          status: v.status,
          started_at: v.startedAt ?? null,
          ended_at: v.endedAt ?? null,
          updated_at: clock.now().toISOString(),
        });
        await audit.append(trx, {
          actor: input.actor,
          action: 'relations.relation.updated',
          target: { type: 'relation', id: row.id },
          fields: personColumns.map((c) => `relations.${c}`),
          meta: { status: v.status, previous_status: row.status },
        });
      });
    },
  };
}

/** Reading relations: the list and one relation in full. */
function createRelationReads(deps: RelationsDeps) {
  const { db, keyring, audit } = deps;
  return {
    /** One page of relations, filtered by status and sorted (by name: decrypted in memory). */
    async listRelations(input: {
      actor: Actor;
      status?: RelationStatus | undefined;
      sort: RelationSort;
      dir: 'asc' | 'desc';
      page: number;
      /** Why the names are read (the audit entry of each shown relation names it). */
      purpose?: Purpose;
    }): Promise<RelationListPage> {
      assertCan(input.actor, 'relations.read');
      assertMayRead(input.actor, 'relations.family_name');
      const repo = createRelationsRepository(db);
      const scope = scopeOf(input.actor);
      const total = await repo.countRelations(input.actor, input.status);
      const { offset, ...at } = pageOf(total, input.page, RELATION_PAGE_SIZE);
      if (input.sort !== 'name') {
        const rows = await repo.listRelations(input.actor, {
          status: input.status,
          sort: input.sort,
          dir: input.dir,
          limit: RELATION_PAGE_SIZE,
          offset,
        });
        const marked = await restrictedOf(db, scope, 'relations', rows);
        const items = await Promise.all(rows.map((r) => summaryOf(keyring, r, marked)));
        await auditReads(
          db,
          audit,
          input.actor,
          listReads(items),
          input.purpose ?? 'contract_administration',
        );
        return { items, ...at };
      }
      const rows = await repo.listAllRelations(input.actor, input.status, NAME_SORT_CAP);
      const marked = await restrictedOf(db, scope, 'relations', rows);
      const all = await Promise.all(rows.map((r) => summaryOf(keyring, r, marked)));
      const collator = new Intl.Collator('nl', { sensitivity: 'base', numeric: true });
      all.sort(
        (a, b) => collator.compare(a.displayName ?? '', b.displayName ?? '') || a.id.localeCompare(b.id),
      );
      if (input.dir === 'desc') all.reverse();
      const items = all.slice(offset, offset + RELATION_PAGE_SIZE);
      await auditReads(db, audit, input.actor, listReads(items), input.purpose ?? 'contract_administration');
      return { items, ...at };
    },

    /**
     * A relation with its contacts, address, agreements and mandates as the actor may see them;
     * each record shown is audited with the purpose of the read.
     */
    async getRelation(input: {
      actor: Actor;
      relationId: string;
      purpose?: Purpose;
    }): Promise<RelationDetail> {
      assertCan(input.actor, 'relations.read');
      assertMayRead(
        input.actor,
        'relations.family_name',
        'relation_addresses.street',
        'relation_mandates.iban_masked',
      );
      const { detail, reads } = await readRelationDetail(deps, input.actor, input.relationId);
      await auditReads(db, audit, input.actor, reads, input.purpose ?? 'contract_administration');
      return detail;
    },
  };
}

/** Client relations: records, reading, contact persons and the billing address. */
export function createRelationsService(deps: RelationsDeps) {
  return {
    ...createRelationRecords(deps),
    ...createRelationReads(deps),
    ...createContactsService(deps),
  };
}

export type RelationsService = ReturnType<typeof createRelationsService>;
