/**
 * Every read of a relation's personal data is audited with its purpose (P5, P8, Art. 15): the
 * list (the names it shows), the detail (the person, contact persons, billing address, agreements
 * and mandates it shows). One entry per record, with the audit type the access export looks for,
 * so the tenant's grant page lists what operator staff read and the person's export lists each
 * consultation. Entries name fields only, never values.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Actor } from '../../shared/actor.js';
import type { Purpose } from '../../shared/catalogue.js';
import type { AuditService } from '../security/index.js';
import type { PersonView } from './relations-records.js';
import type { RelationDetail, RelationSummary } from './relations-service.js';

/** One record whose personal fields were shown. */
export interface RecordRead {
  readonly action: string;
  readonly type: string;
  readonly id: string;
  readonly fields: readonly string[];
}

/** The person fields (`table.column`) a view shows: only those holding a value. */
export function personFieldsShown(table: string, p: Partial<PersonView> | null): string[] {
  if (p === null) return [];
  const shown: string[] = [`${table}.family_name`, `${table}.form_of_address`];
  if (p.givenName !== null && p.givenName !== undefined) shown.push(`${table}.given_name`);
  if (p.email !== null && p.email !== undefined) shown.push(`${table}.email`);
  if (p.phone !== null && p.phone !== undefined) shown.push(`${table}.phone`);
  return shown;
}

/** The reads a relation list page makes: the name of each person relation it shows. */
export function listReads(items: readonly RelationSummary[]): RecordRead[] {
  return items
    .filter((r) => r.kind === 'person' && r.displayName !== null)
    .map((r) => ({
      action: 'relations.relation.list',
      type: 'relation',
      id: r.id,
      fields: ['relations.family_name', 'relations.given_name'],
    }));
}

/** The reads a relation's detail makes: each record it shows with personal fields. */
export function detailReads(detail: RelationDetail, addressId: string | null): RecordRead[] {
  const relationFields = new Set(personFieldsShown('relations', detail.person));
  if (detail.email !== null) relationFields.add('relations.email');
  if (detail.phone !== null) relationFields.add('relations.phone');
  const reads: RecordRead[] = [
    { action: 'relations.relation.read', type: 'relation', id: detail.id, fields: [...relationFields] },
    ...detail.contacts.map((c) => ({
      action: 'relations.contact.read',
      type: 'relation_contact',
      id: c.id,
      fields: personFieldsShown('relation_contacts', c),
    })),
    ...detail.agreements.map((a) => ({
      action: 'relations.agreement.read',
      type: 'agreement',
      id: a.id,
      fields: [],
    })),
    ...detail.mandates.map((m) => ({
      action: 'relations.mandate.summary.read',
      type: 'mandate',
      id: m.id,
      fields: ['relation_mandates.iban_masked'],
    })),
  ];
  if (detail.address !== null && addressId !== null) {
    const a = detail.address;
    reads.push({
      action: 'relations.address.read',
      type: 'relation_address',
      id: addressId,
      fields: [
        'relation_addresses.city',
        'relation_addresses.country',
        'relation_addresses.house_number',
        'relation_addresses.postcode',
        'relation_addresses.street',
        ...(a.houseNumberAddition === null ? [] : ['relation_addresses.house_number_addition']),
      ],
    });
  }
  return reads;
}

/**
 * Writes one audit entry per read, all in one transaction, before the caller shows anything: if
 * the trail cannot take them, the read fails (Vault's rule).
 */
export async function auditReads(
  db: Kysely<DB>,
  audit: AuditService,
  actor: Actor,
  reads: readonly RecordRead[],
  purpose: Purpose,
): Promise<void> {
  if (reads.length === 0) return;
  const write = async (trx: Kysely<DB>) => {
    for (const r of reads) {
      await audit.append(trx, {
        actor,
        action: r.action,
        target: { type: r.type, id: r.id },
        purpose,
        fields: r.fields,
      });
    }
  };
  if (db.isTransaction) await write(db);
  else await db.transaction().execute(write);
}
