/**
 * A relation's contact persons and billing address (P4): validated before anything is stored,
 * sealed with the data subject's key; a contact person becomes (or is linked to) a data subject
 * of their own by email or phone.
 */
import { type Actor, scopeOf } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import { newId } from '../../shared/ids.js';
import { assertCan } from '../../shared/permissions.js';
import { createSubjectsService } from '../subjects/index.js';
import { type BillingAddress, validateBillingAddress } from './relations-address.js';
import { addressSchema, contactSchema } from './relations-forms.js';
import { loadRelation, personColumns, type RelationsDeps, sealerOf } from './relations-records.js';
import { createRelationsRepository } from './relations-repository.js';

const addressColumns = ['country', 'city', 'postcode', 'street', 'house_number', 'house_number_addition'];

export function createContactsService(deps: RelationsDeps) {
  const { db, keyring, clock, audit } = deps;
  const subjects = createSubjectsService({ keyring, clock });

  return {
    /** Adds a contact person, linked to (or becoming) a data subject by email/phone. */
    async addContact(input: { actor: Actor; relationId: string; values: unknown }): Promise<{ id: string }> {
      assertCan(input.actor, 'relations.edit');
      const v = parseOrThrow(contactSchema, input.values);
      const scope = scopeOf(input.actor);
      const id = newId();
      await db.transaction().execute(async (trx) => {
        await loadRelation(trx, input.actor, input.relationId);
        const subject = await subjects.findOrCreate(trx, scope, {
          email: v.email ?? undefined,
          phone: v.phone ?? undefined,
        });
        const s = sealerOf(keyring, { org_id: scope.orgId, subject_id: subject.id }, 'relation_contacts', id);
        const now = clock.now().toISOString();
        await createRelationsRepository(trx).insertContact({
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
        });
        await audit.append(trx, {
          actor: input.actor,
          action: 'relations.contact.added',
          target: { type: 'relation', id: input.relationId },
          fields: personColumns.map((c) => `relation_contacts.${c}`),
          meta: { contact_id: id, subject_id: subject.id, role: v.role },
        });
      });
      return { id };
    },

    async removeContact(input: { actor: Actor; relationId: string; contactId: string }): Promise<void> {
      assertCan(input.actor, 'relations.edit');
      await db.transaction().execute(async (trx) => {
        await loadRelation(trx, input.actor, input.relationId);
        const removed = await createRelationsRepository(trx).deleteContact(
          scopeOf(input.actor),
          input.relationId,
          input.contactId,
        );
        if (!removed) throw new AppError('ERR_NOT_FOUND', { message: 'contact not found' });
        await audit.append(trx, {
          actor: input.actor,
          action: 'relations.contact.removed',
          target: { type: 'relation', id: input.relationId },
          meta: { contact_id: input.contactId },
        });
      });
    },

    /** Sets the billing address after validating it (Dutch postcode and house number rules); nothing stored when invalid. */
    async setAddress(input: { actor: Actor; relationId: string; values: unknown }): Promise<BillingAddress> {
      assertCan(input.actor, 'relations.edit');
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
        const s = sealerOf(keyring, row, 'relation_addresses', id);
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
        await audit.append(trx, {
          actor: input.actor,
          action: 'relations.address.set',
          target: { type: 'relation', id: row.id },
          fields: addressColumns.map((c) => `relation_addresses.${c}`),
        });
      });
      return a;
    },
  };
}
