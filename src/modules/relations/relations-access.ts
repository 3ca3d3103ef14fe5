/**
 * Access by role and purpose (P5), decided in one place from the field catalogue: a role may read
 * a personal field in clear only when the catalogue lists it in `readRoles`. Support and finance
 * read contact data and addresses; only finance reads account holder, IBAN, BIC, signatures and
 * signed documents; support sees the masked IBAN. An admin or owner reads none of it without
 * such a role. Reads of sensitive fields are audited with their purpose (`auditRead`).
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { type Actor, hasRole, type Role } from '../../shared/actor.js';
import { canRead, findField, type Purpose } from '../../shared/catalogue.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { appendAudit } from '../security/audit-chain.js';

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

/** Who may create and change relations, contacts, addresses and agreements. */
export const relationEditors: readonly Role[] = ['support', 'finance'];
/** Who may record mandates, run collections and set the creditor details. */
export const mandateEditors: readonly Role[] = ['finance'];

export function assertMayEdit(actor: Actor, editors: readonly Role[]): void {
  if (!hasRole(actor, ...editors)) {
    throw new AppError('ERR_FORBIDDEN', { message: `requires one of ${editors.join(',')}` });
  }
}

/** Records a read of sensitive fields with its purpose, in the caller's transaction (P5). */
export async function auditRead(
  db: Kysely<DB>,
  clock: Clock,
  event: {
    actor: Actor;
    action: string;
    target: { type: string; id: string };
    fields: readonly FieldRef[];
    purpose: Purpose;
    meta?: Readonly<Record<string, string | number | boolean | null>>;
  },
): Promise<void> {
  await appendAudit(db, clock, {
    actor: event.actor,
    action: event.action,
    target: event.target,
    fields: event.fields,
    purpose: event.purpose,
    ...(event.meta === undefined ? {} : { meta: event.meta }),
  });
}
