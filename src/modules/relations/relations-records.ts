/**
 * What every relations use case shares: its dependencies, finding the relation a request is
 * about (another org's relation, or a restricted one for anyone but finance, is a 404), and a
 * person's sealed details (a person relation or a contact person) opened or sealed with the data
 * subject's key.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Actor } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import type { KluisCore, KluisServices } from '../module.js';
import { createRelationsRepository, type MandateRow, type RelationRow } from './relations-repository.js';
import type { FormOfAddress, RelationKind } from './relations-schema.js';
import { type RowSealer, rowSealer } from './relations-sealing.js';

/** What the relations use cases need: the database, the keys, the clock and the audit trail. */
export type RelationsDeps = Pick<KluisCore, 'db' | 'keyring' | 'clock'> & Pick<KluisServices, 'audit'>;

/** A person's details in clear (a person relation or a contact person). */
export interface PersonView {
  readonly formOfAddress: FormOfAddress;
  readonly givenName: string | null;
  readonly familyName: string;
  readonly email: string | null;
  readonly phone: string | null;
}

/** The sealed columns of a person, in the `relations` and `relation_contacts` tables alike. */
export const personColumns = ['given_name', 'family_name', 'form_of_address', 'email', 'phone'] as const;

type PersonRow = { org_id: string; subject_id: string; id: string } & Record<
  (typeof personColumns)[number],
  Buffer | null
>;

/** The relation, if it is in the actor's org and the actor may see it; else a 404. */
export async function loadRelation(db: Kysely<DB>, actor: Actor, relationId: string): Promise<RelationRow> {
  const row = await createRelationsRepository(db).findRelation(actor, relationId);
  if (row === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'relation not found' });
  return row;
}

/** The sealer of one row of a relations table, with the key of the row's data subject. */
export function sealerOf(
  keyring: KluisCore['keyring'],
  row: { org_id: string; subject_id: string },
  table: string,
  rowId: string,
): RowSealer {
  return rowSealer(keyring, { orgId: row.org_id, subjectId: row.subject_id, table, rowId });
}

/** A person's details opened, or null when the row holds no person (an organisation). */
export async function openPerson(
  keyring: KluisCore['keyring'],
  row: PersonRow,
  table: 'relations' | 'relation_contacts',
): Promise<PersonView | null> {
  const s = sealerOf(keyring, row, table, row.id);
  if (row.family_name === null || row.form_of_address === null) return null;
  return {
    formOfAddress: (await s.open('form_of_address', row.form_of_address)) as FormOfAddress,
    givenName: await s.openOptional('given_name', row.given_name),
    familyName: await s.open('family_name', row.family_name),
    email: await s.openOptional('email', row.email),
    phone: await s.openOptional('phone', row.phone),
  };
}

/** A person's details sealed for storage (absent values stay null). */
export async function sealPerson(
  s: RowSealer,
  p: {
    givenName: string | null;
    familyName: string | null;
    formOfAddress?: FormOfAddress | undefined;
    email: string | null;
    phone: string | null;
  },
): Promise<Record<(typeof personColumns)[number], Buffer | null>> {
  return {
    given_name: await s.sealOptional('given_name', p.givenName),
    family_name: await s.sealOptional('family_name', p.familyName),
    form_of_address: await s.sealOptional('form_of_address', p.formOfAddress ?? null),
    email: await s.sealOptional('email', p.email),
    phone: await s.sealOptional('phone', p.phone),
  };
}

export function displayNameOf(
  kind: RelationKind,
  organisationName: string | null,
  person: Pick<PersonView, 'givenName' | 'familyName'> | null,
): string {
  if (kind === 'organisation') return organisationName ?? '';
  return [person?.givenName, person?.familyName]
    .filter((s) => s !== null && s !== undefined && s !== '')
    .join(' ');
}

/** The columns of a mandate only finance reads in clear (P5); every read is audited with its purpose. */
export const sensitiveMandateFields = [
  'relation_mandates.account_holder',
  'relation_mandates.iban',
  'relation_mandates.bic',
  'relation_mandates.signature_name',
] as const;

/** A mandate's sealed columns opened with its relation's subject key. */
export async function openMandate(keyring: KluisCore['keyring'], row: MandateRow, subjectId: string) {
  const s = sealerOf(keyring, { org_id: row.org_id, subject_id: subjectId }, 'relation_mandates', row.id);
  return {
    accountHolder: await s.open('account_holder', row.account_holder),
    iban: await s.open('iban', row.iban),
    bic: await s.openOptional('bic', row.bic),
    signatureName: await s.openOptional('signature_name', row.signature_name),
  };
}
