/**
 * A relation as the actor may see it (P5): its details, contact persons and billing address
 * opened with the subject's key, its agreements and mandates summarised — never the IBAN itself,
 * only its masked form — and every record kept only for the fiscal duty marked as restricted.
 * An erased person's fields read as absent (their key is gone).
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { type Actor, type OrgScope, scopeOf } from '../../shared/actor.js';
import type { KluisCore } from '../module.js';
import { restrictedAmong } from '../retention/index.js';
import type { BillingAddress } from './relations-address.js';
import { detailReads, type RecordRead } from './relations-read-audit.js';
import {
  displayNameOf,
  loadRelation,
  openPerson,
  type RelationsDeps,
  sealerOf,
} from './relations-records.js';
import { createRelationsRepository, type RelationRow } from './relations-repository.js';
import { unlessErased } from './relations-sealing.js';
import { nextSequenceType } from './relations-sepa.js';
import type {
  AgreementSummary,
  ContactView,
  MandateSummary,
  RelationDetail,
  RelationSummary,
} from './relations-service.js';

const idsOf = (rows: readonly { id: string }[]) => rows.map((r) => r.id);

/** Which of these rows of `table` are restricted (kept only for a legal duty). */
export function restrictedOf(
  db: Kysely<DB>,
  scope: OrgScope,
  table: 'relations' | 'relation_agreements' | 'relation_mandates',
  rows: readonly { id: string }[],
): Promise<Set<string>> {
  return restrictedAmong(db, scope, table, idsOf(rows));
}

/** A relation's list entry: its name opened (null once the person is erased). */
export async function summaryOf(
  keyring: KluisCore['keyring'],
  row: RelationRow,
  restricted: ReadonlySet<string>,
): Promise<RelationSummary> {
  const displayName =
    row.kind === 'organisation'
      ? row.organisation_name
      : ((await unlessErased(async () =>
          displayNameOf('person', null, await openPerson(keyring, row, 'relations')),
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

async function contactsOf(deps: RelationsDeps, scope: OrgScope, row: RelationRow): Promise<ContactView[]> {
  const contacts: ContactView[] = [];
  for (const c of await createRelationsRepository(deps.db).listContacts(scope, row.id)) {
    const p = await unlessErased(() => openPerson(deps.keyring, c, 'relation_contacts'));
    if (p !== undefined && p !== null) contacts.push({ id: c.id, role: c.role, ...p });
  }
  return contacts;
}

async function addressOf(
  deps: RelationsDeps,
  scope: OrgScope,
  row: RelationRow,
): Promise<{ id: string; address: BillingAddress } | null> {
  const addressRow = await createRelationsRepository(deps.db).findAddress(scope, row.id);
  if (addressRow === undefined) return null;
  const a = sealerOf(deps.keyring, row, 'relation_addresses', addressRow.id);
  const address = await unlessErased(async () => ({
    country: await a.open('country', addressRow.country),
    city: await a.open('city', addressRow.city),
    postcode: await a.open('postcode', addressRow.postcode),
    street: await a.open('street', addressRow.street),
    houseNumber: await a.open('house_number', addressRow.house_number),
    houseNumberAddition: await a.openOptional('house_number_addition', addressRow.house_number_addition),
  }));
  return address === undefined ? null : { id: addressRow.id, address };
}

async function agreementsOf(db: Kysely<DB>, actor: Actor, row: RelationRow): Promise<AgreementSummary[]> {
  const rows = await createRelationsRepository(db).listAgreements(actor, row.id);
  const restricted = await restrictedOf(db, scopeOf(actor), 'relation_agreements', rows);
  return rows.map((a) => ({
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
    restricted: restricted.has(a.id),
  }));
}

async function mandatesOf(db: Kysely<DB>, actor: Actor, row: RelationRow): Promise<MandateSummary[]> {
  const rows = await createRelationsRepository(db).listMandates(actor, row.id);
  const restricted = await restrictedOf(db, scopeOf(actor), 'relation_mandates', rows);
  return rows.map((m) => ({
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
    restricted: restricted.has(m.id),
  }));
}

/**
 * A relation with its contacts, address, agreements and mandates (the caller checks who may read),
 * and the reads of personal data it made (the caller audits them before showing anything).
 */
export async function readRelationDetail(
  deps: RelationsDeps,
  actor: Actor,
  relationId: string,
): Promise<{ detail: RelationDetail; reads: RecordRead[] }> {
  const { db, keyring } = deps;
  const scope = scopeOf(actor);
  const row = await loadRelation(db, actor, relationId);
  const s = sealerOf(keyring, row, 'relations', row.id);
  const address = await addressOf(deps, scope, row);
  const detail: RelationDetail = {
    ...(await summaryOf(keyring, row, await restrictedOf(db, scope, 'relations', [row]))),
    organisationName: row.organisation_name,
    person:
      row.kind === 'person'
        ? ((await unlessErased(() => openPerson(keyring, row, 'relations'))) ?? null)
        : null,
    email: (await unlessErased(() => s.openOptional('email', row.email))) ?? null,
    phone: (await unlessErased(() => s.openOptional('phone', row.phone))) ?? null,
    contacts: await contactsOf(deps, scope, row),
    address: address?.address ?? null,
    agreements: await agreementsOf(db, actor, row),
    mandates: await mandatesOf(db, actor, row),
  };
  return { detail, reads: detailReads(detail, address?.id ?? null) };
}
