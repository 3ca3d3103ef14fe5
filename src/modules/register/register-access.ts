/** Who may do what in the register and the statement: the privacy officer edits, owners and admins view. */
import { type Actor, hasRole, type Role } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';

export const viewerRoles: readonly Role[] = ['owner', 'admin', 'privacy_officer'];
export const editorRoles: readonly Role[] = ['privacy_officer'];

/** Refuses an actor that holds none of `roles` (system actors — CLI, jobs, demo seed — may act). */
export function assertCan(actor: Actor, roles: readonly Role[]): void {
  if (actor.kind === 'system' || hasRole(actor, ...roles)) return;
  throw new AppError('ERR_FORBIDDEN', { message: `requires one of ${roles.join(',')}` });
}
