/**
 * What the relations module knows about data subjects (P4, P15, P6): a person relation is its
 * subject's, with its address, agreements, signed documents, mandates and collections hanging off
 * it; a contact person is a subject of its own (a company's record, or a sole trader's: the
 * relation's export does not include its contact persons, and a contact person's export shows only
 * the company's name as context). Relations and contact persons keep their subjects; the retention
 * engine runs the targets of `relations-retention.ts`; erasure is `relations-erasure.ts`; records
 * kept for the fiscal duty can be restricted; the newsletter reaches a subject at the address of
 * their (visible) relation.
 */
import type { Actor, OrgScope } from '../../shared/actor.js';
import type { ContactAddress, ContactLookupDeps, PersonalDataProvider } from '../personal-data.js';
import { notRestricted } from '../retention/index.js';
import { relationsErasure } from './relations-erasure.js';
import { clientDataTarget, endedMandatesTarget } from './relations-retention.js';
import {
  fiscalCollectionsTarget,
  fiscalMandatesTarget,
  fiscalRelationsTarget,
} from './relations-retention-fiscal.js';
import { createRelationsService } from './relations-service.js';

/** Relations and contact rows (not restricted) of `subjectIds`, oldest first. */
async function rowsOf(deps: ContactLookupDeps, orgId: string, subjectIds: readonly string[]) {
  const relations = await deps.db
    .selectFrom('relations')
    .select(['id', 'subject_id'])
    .where('org_id', '=', orgId)
    .where('subject_id', 'in', subjectIds)
    .where(notRestricted('relations', 'relations.id'))
    .orderBy('created_at')
    .execute();
  const contacts = await deps.db
    .selectFrom('relation_contacts')
    .select(['id', 'relation_id', 'subject_id'])
    .where('org_id', '=', orgId)
    .where('subject_id', 'in', subjectIds)
    .where(notRestricted('relations', 'relation_contacts.relation_id'))
    .orderBy('created_at')
    .execute();
  return { relations, contacts };
}

/**
 * The email address of each subject's first relation, else of their first contact-person row,
 * read as support would see it (decrypted through the relations service).
 */
async function contactAddresses(
  deps: ContactLookupDeps,
  scope: OrgScope,
  subjectIds: readonly string[],
): Promise<ReadonlyMap<string, ContactAddress>> {
  const found = new Map<string, ContactAddress>();
  if (subjectIds.length === 0) return found;
  const { relations, contacts } = await rowsOf(deps, scope.orgId, subjectIds);
  const reader: Actor = {
    kind: 'system',
    orgId: scope.orgId,
    orgKind: 'tenant',
    reason: 'contact-addresses',
    roles: ['support'],
  };
  const service = createRelationsService(deps);
  const details = new Map<string, Awaited<ReturnType<typeof service.getRelation>>>();
  const detailOf = async (relationId: string) => {
    const hit = details.get(relationId);
    if (hit !== undefined) return hit;
    const detail = await service.getRelation({ actor: reader, relationId });
    details.set(relationId, detail);
    return detail;
  };
  for (const r of relations) {
    if (found.has(r.subject_id)) continue;
    const d = await detailOf(r.id);
    const email = d.email ?? d.person?.email ?? null;
    if (email !== null) found.set(r.subject_id, { email, name: d.displayName ?? '' });
  }
  for (const c of contacts) {
    if (found.has(c.subject_id)) continue;
    const contact = (await detailOf(c.relation_id)).contacts.find((x) => x.id === c.id);
    if (contact?.email) {
      const name = [contact.givenName, contact.familyName].filter((s) => s !== null && s !== '').join(' ');
      found.set(c.subject_id, { email: contact.email, name });
    }
  }
  return found;
}

export const relationsPersonalData: PersonalDataProvider = {
  module: 'relations',
  subjectLinks: [
    { table: 'relations', via: 'subject', orderBy: ['created_at'], auditType: 'relation' },
    {
      table: 'relation_contacts',
      via: 'subject',
      orderBy: ['created_at'],
      context: { via: 'relation_id', parent: 'relations', columns: ['kind', 'organisation_name'] },
      auditType: 'relation_contact',
    },
    {
      table: 'relation_addresses',
      via: 'parent',
      column: 'relation_id',
      parent: 'relations',
      orderBy: ['updated_at'],
      auditType: 'relation_address',
    },
    {
      table: 'relation_agreements',
      via: 'parent',
      column: 'relation_id',
      parent: 'relations',
      orderBy: ['effective_from', 'created_at'],
      auditType: 'agreement',
    },
    {
      table: 'relation_agreement_documents',
      via: 'parent',
      column: 'agreement_id',
      parent: 'relation_agreements',
      orderBy: ['created_at'],
      files: { content: 'file_name' },
    },
    {
      table: 'relation_mandates',
      via: 'parent',
      column: 'relation_id',
      parent: 'relations',
      orderBy: ['created_at'],
      auditType: 'mandate',
    },
    {
      table: 'relation_collections',
      via: 'parent',
      column: 'mandate_id',
      parent: 'relation_mandates',
      orderBy: ['requested_at', 'created_at'],
      numbers: ['amount_cents'],
      auditType: 'collection',
    },
  ],
  notLinked: { relation_creditors: 'the organisation’s own SEPA creditor details' },
  subjectReferences: [
    { table: 'relations', column: 'subject_id' },
    { table: 'relation_contacts', column: 'subject_id' },
  ],
  retentionTargets: [
    clientDataTarget,
    endedMandatesTarget,
    fiscalCollectionsTarget,
    fiscalMandatesTarget,
    fiscalRelationsTarget,
  ],
  restrictable: ['relations', 'relation_agreements', 'relation_mandates'],
  holdable: ['relations', 'relation_mandates', 'relation_collections'],
  erasure: relationsErasure,
  contactPoints: {
    fields: ['relations.email', 'relation_contacts.email', 'relations.given_name', 'relations.family_name'],
    lookup: contactAddresses,
  },
};
