/**
 * Field-level access by role and purpose (P5), decided in one place from the field catalogue: a
 * role may read a personal field in clear only when the catalogue lists it in `readRoles`. Support
 * and finance read contact data and addresses; only finance reads account holder, IBAN, BIC,
 * signatures and signed documents; support sees the masked IBAN. An admin or owner reads none of
 * it without such a role. (Who may use a page or a use case at all is the permission table's:
 * `relations.read`, `.edit`, `.read_payment`, `.manage_mandates`.) The use cases audit every read
 * of sensitive fields with its purpose.
 */
import type { Actor } from '../../shared/actor.js';
import { canRead, findField } from '../../shared/catalogue.js';
import { AppError } from '../../shared/errors.js';

/** A catalogue field as `table.column`. */
export type FieldRef = `${string}.${string}`;

/** May `actor` read this field in clear? Throws for a field the catalogue does not know (a bug). */
export function mayRead(actor: Actor, field: FieldRef): boolean {
  const [table = '', column = ''] = field.split('.');
  const declared = findField(table, column);
  if (declared === undefined) throw new Error(`${field} is not declared in the field catalogue`);
  return canRead(declared, actor.roles);
}

/** Refuses (403) unless `actor` may read every one of `fields`. */
export function assertMayRead(actor: Actor, ...fields: readonly FieldRef[]): void {
  const refused = fields.filter((f) => !mayRead(actor, f));
  if (refused.length > 0) {
    throw new AppError('ERR_FORBIDDEN', { message: `may not read ${refused.join(', ')}` });
  }
}
