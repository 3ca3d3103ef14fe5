/**
 * The relations module's tables, every query filtered by the actor's org (`OrgScope`). Returns
 * rows as stored (sealed values stay sealed); the services decide who may see what in clear.
 *
 * Reads of relations, agreements and mandates take the viewing actor instead of a scope: a record
 * kept only for the fiscal duty (restricted by the retention engine, P6) is left out for everyone
 * without `records.read_restricted` (`visibleTo`), so a list skips it and a detail look-up finds
 * nothing (a 404).
 */
import { type Kysely, type RawBuilder, type Selectable, type SqlBool, sql } from 'kysely';
import type { DB } from '../../db/schema.js';
import { type Actor, type OrgScope, scopeOf } from '../../shared/actor.js';
import { can } from '../../shared/permissions.js';
import { notRestricted } from '../retention/index.js';
import type {
  RelationAddressesTable,
  RelationAgreementDocumentsTable,
  RelationAgreementsTable,
  RelationCollectionsTable,
  RelationContactsTable,
  RelationCreditorsTable,
  RelationMandatesTable,
  RelationStatus,
  RelationsTable,
} from './relations-schema.js';

export type RelationRow = Selectable<RelationsTable>;
export type ContactRow = Selectable<RelationContactsTable>;
export type AddressRow = Selectable<RelationAddressesTable>;
export type AgreementRow = Selectable<RelationAgreementsTable>;
export type AgreementDocumentRow = Selectable<RelationAgreementDocumentsTable>;
export type CollectionRow = Selectable<RelationCollectionsTable>;
export type MandateRow = Selectable<RelationMandatesTable>;
export type CreditorRow = Selectable<RelationCreditorsTable>;

export type RelationSort = 'name' | 'status' | 'started' | 'created';

export interface RelationListQuery {
  readonly status?: RelationStatus | undefined;
  readonly sort: Exclude<RelationSort, 'name'>;
  readonly dir: 'asc' | 'desc';
  readonly limit: number;
  readonly offset: number;
}

type RestrictableTable = 'relations' | 'relation_agreements' | 'relation_mandates';

/** A where-condition: the record is one `viewer` may see (restricted records: `records.read_restricted` only). */
function visibleTo(viewer: Actor, table: RestrictableTable, idRef: string): RawBuilder<SqlBool> {
  return can(viewer, 'records.read_restricted') ? sql<SqlBool>`1 = 1` : notRestricted(table, idRef);
}

/** Relations, their contact persons and billing addresses. */
function relationQueries(db: Kysely<DB>) {
  return {
    insertRelation: (row: RelationRow) => db.insertInto('relations').values(row).execute(),

    updateRelation: (scope: OrgScope, id: string, patch: Partial<Omit<RelationRow, 'id' | 'org_id'>>) =>
      db.updateTable('relations').set(patch).where('org_id', '=', scope.orgId).where('id', '=', id).execute(),

    /** The relation, if `viewer` may see it (restricted: finance only). */
    findRelation: (viewer: Actor, id: string) =>
      db
        .selectFrom('relations')
        .selectAll()
        .where('org_id', '=', scopeOf(viewer).orgId)
        .where('id', '=', id)
        .where(visibleTo(viewer, 'relations', 'relations.id'))
        .executeTakeFirst(),

    async countRelations(viewer: Actor, status: RelationStatus | undefined): Promise<number> {
      let q = db
        .selectFrom('relations')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('org_id', '=', scopeOf(viewer).orgId)
        .where(visibleTo(viewer, 'relations', 'relations.id'));
      if (status !== undefined) q = q.where('status', '=', status);
      return Number((await q.executeTakeFirst())?.n ?? 0);
    },

    /** One page ordered in SQL (status, dates). */
    listRelations(viewer: Actor, query: RelationListQuery): Promise<RelationRow[]> {
      const column = { status: 'status', started: 'started_at', created: 'created_at' } as const;
      let q = db
        .selectFrom('relations')
        .selectAll()
        .where('org_id', '=', scopeOf(viewer).orgId)
        .where(visibleTo(viewer, 'relations', 'relations.id'));
      if (query.status !== undefined) q = q.where('status', '=', query.status);
      return q
        .orderBy(column[query.sort], query.dir)
        .orderBy('created_at', 'asc')
        .orderBy('id', 'asc')
        .limit(query.limit)
        .offset(query.offset)
        .execute();
    },

    /** Every relation (with a status filter), for sorting by a name that is sealed. */
    listAllRelations(viewer: Actor, status: RelationStatus | undefined, cap: number): Promise<RelationRow[]> {
      let q = db
        .selectFrom('relations')
        .selectAll()
        .where('org_id', '=', scopeOf(viewer).orgId)
        .where(visibleTo(viewer, 'relations', 'relations.id'));
      if (status !== undefined) q = q.where('status', '=', status);
      return q.orderBy('created_at', 'asc').orderBy('id', 'asc').limit(cap).execute();
    },

    insertContact: (row: ContactRow) => db.insertInto('relation_contacts').values(row).execute(),

    listContacts: (scope: OrgScope, relationId: string) =>
      db
        .selectFrom('relation_contacts')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .where('relation_id', '=', relationId)
        .orderBy('created_at')
        .orderBy('id')
        .execute(),

    async deleteContact(scope: OrgScope, relationId: string, contactId: string): Promise<boolean> {
      const result = await db
        .deleteFrom('relation_contacts')
        .where('org_id', '=', scope.orgId)
        .where('relation_id', '=', relationId)
        .where('id', '=', contactId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    findAddress: (scope: OrgScope, relationId: string) =>
      db
        .selectFrom('relation_addresses')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .where('relation_id', '=', relationId)
        .executeTakeFirst(),

    async upsertAddress(row: AddressRow): Promise<void> {
      const { id: _id, org_id: _org, relation_id: _rel, ...values } = row;
      await db
        .insertInto('relation_addresses')
        .values(row)
        .onConflict((oc) => oc.column('relation_id').doUpdateSet(values))
        .execute();
    },
  };
}

/** Agreements and their signed documents. */
function agreementQueries(db: Kysely<DB>) {
  /** A relation's agreements `viewer` may see, each with its document's id and size (if any). */
  const agreementsOf = (viewer: Actor, relationId: string) =>
    db
      .selectFrom('relation_agreements as a')
      .leftJoin('relation_agreement_documents as d', (join) =>
        join.onRef('d.agreement_id', '=', 'a.id').onRef('d.org_id', '=', 'a.org_id'),
      )
      .selectAll('a')
      .select(['d.id as document_id', 'd.size_bytes as document_size'])
      .where('a.org_id', '=', scopeOf(viewer).orgId)
      .where('a.relation_id', '=', relationId)
      .where(visibleTo(viewer, 'relation_agreements', 'a.id'));

  return {
    insertAgreement: (row: AgreementRow) => db.insertInto('relation_agreements').values(row).execute(),

    insertAgreementDocument: (row: AgreementDocumentRow) =>
      db.insertInto('relation_agreement_documents').values(row).execute(),

    listAgreements: (viewer: Actor, relationId: string) =>
      agreementsOf(viewer, relationId)
        .orderBy('a.effective_from', 'desc')
        .orderBy('a.created_at', 'desc')
        .execute(),

    findAgreement: (viewer: Actor, relationId: string, agreementId: string) =>
      agreementsOf(viewer, relationId).where('a.id', '=', agreementId).executeTakeFirst(),

    findAgreementDocument: (scope: OrgScope, agreementId: string) =>
      db
        .selectFrom('relation_agreement_documents')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .where('agreement_id', '=', agreementId)
        .executeTakeFirst(),
  };
}

/** Mandates, collections and the creditor details. */
function mandateQueries(db: Kysely<DB>) {
  return {
    insertMandate: (row: MandateRow) => db.insertInto('relation_mandates').values(row).execute(),

    updateMandate: (scope: OrgScope, id: string, patch: Partial<Omit<MandateRow, 'id' | 'org_id'>>) =>
      db
        .updateTable('relation_mandates')
        .set(patch)
        .where('org_id', '=', scope.orgId)
        .where('id', '=', id)
        .execute(),

    findMandate: (viewer: Actor, relationId: string, mandateId: string) =>
      db
        .selectFrom('relation_mandates')
        .selectAll()
        .where('org_id', '=', scopeOf(viewer).orgId)
        .where('relation_id', '=', relationId)
        .where('id', '=', mandateId)
        .where(visibleTo(viewer, 'relation_mandates', 'relation_mandates.id'))
        .executeTakeFirst(),

    /** The relations with a mandate whose IBAN has this blind index, as far as `viewer` may see them. */
    async findRelationIdsByIbanIndex(viewer: Actor, ibanIndex: string): Promise<string[]> {
      const rows = await db
        .selectFrom('relation_mandates')
        .select('relation_id')
        .distinct()
        .where('org_id', '=', scopeOf(viewer).orgId)
        .where('iban_bidx', '=', ibanIndex)
        .where(visibleTo(viewer, 'relation_mandates', 'relation_mandates.id'))
        .where(visibleTo(viewer, 'relations', 'relation_mandates.relation_id'))
        .execute();
      return rows.map((r) => r.relation_id);
    },

    /** Any mandate with this reference, restricted or not (references stay unique per creditor). */
    findMandateByReference: (scope: OrgScope, reference: string) =>
      db
        .selectFrom('relation_mandates')
        .select(['id'])
        .where('org_id', '=', scope.orgId)
        .where('reference', '=', reference)
        .executeTakeFirst(),

    listMandates: (viewer: Actor, relationId: string) =>
      db
        .selectFrom('relation_mandates')
        .selectAll()
        .where('org_id', '=', scopeOf(viewer).orgId)
        .where('relation_id', '=', relationId)
        .where(visibleTo(viewer, 'relation_mandates', 'relation_mandates.id'))
        .orderBy('created_at')
        .orderBy('id')
        .execute(),

    /**
     * Active mandates of the org with their relation's subject, for a collection run. Never a
     * restricted mandate or relation, whoever asks: collecting is processing for the ordinary
     * purpose, which ended; the fiscal duty only keeps the record.
     */
    listActiveMandates: (scope: OrgScope) =>
      db
        .selectFrom('relation_mandates as m')
        .innerJoin('relations as r', (join) =>
          join.onRef('r.id', '=', 'm.relation_id').onRef('r.org_id', '=', 'm.org_id'),
        )
        .selectAll('m')
        .select(['r.subject_id', 'r.kind', 'r.organisation_name', 'r.given_name', 'r.family_name'])
        .where('m.org_id', '=', scope.orgId)
        .where('m.status', '=', 'active')
        .where(notRestricted('relation_mandates', 'm.id'))
        .where(notRestricted('relations', 'r.id'))
        .orderBy('m.reference')
        .execute(),

    insertCollection: (row: CollectionRow) => db.insertInto('relation_collections').values(row).execute(),

    async countBatches(scope: OrgScope): Promise<number> {
      const row = await db
        .selectFrom('relation_collections')
        .select((eb) => eb.fn.count<number | string>('batch_id').distinct().as('n'))
        .where('org_id', '=', scope.orgId)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },

    findCreditor: (scope: OrgScope) =>
      db.selectFrom('relation_creditors').selectAll().where('org_id', '=', scope.orgId).executeTakeFirst(),

    async upsertCreditor(row: CreditorRow): Promise<void> {
      const { org_id: _org, ...values } = row;
      await db
        .insertInto('relation_creditors')
        .values(row)
        .onConflict((oc) => oc.column('org_id').doUpdateSet(values))
        .execute();
    },
  };
}

export function createRelationsRepository(db: Kysely<DB>) {
  return { ...relationQueries(db), ...agreementQueries(db), ...mandateQueries(db) };
}

export type RelationsRepository = ReturnType<typeof createRelationsRepository>;
