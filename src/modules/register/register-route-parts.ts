/** What the register's route files share: who may call them, and the shapes of ids and notices. */
import { z } from 'zod';

/** Owners, admins and the privacy officer read the register. */
export const readAccess = { kind: 'staff', permission: 'register.read' } as const;
/** Only the privacy officer changes it. */
export const editAccess = { kind: 'staff', permission: 'register.edit' } as const;

export const idParams = z.object({ id: z.uuid() });

/** `?done=…` after a redirect: which confirmation to show (anything else shows none). */
export function doneQuery<const V extends readonly [string, ...string[]]>(values: V) {
  return z.object({ done: z.enum(values).optional().catch(undefined) });
}
