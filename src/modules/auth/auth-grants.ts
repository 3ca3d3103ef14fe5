/**
 * Operator access to a tenant's data only under the tenant's instruction (P8, decision 0013).
 * A tenant's owner or admin grants one operator staff member some roles (never owner or admin),
 * for a purpose, under a processor agreement, until a time (at most 30 days ahead); the grant can
 * be revoked at any moment. The grantee enters it: the session is rotated into one of the tenant's
 * org carrying the grant, and every request checks the grant again (auth-sessions.ts), so expiry
 * and revocation end it at the next request. Everything done under a grant is audited in the
 * tenant's org with the grant in the actor (`user:<id>@grant:<id>`), and the tenant's grants page
 * lists it.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { DB } from '../../db/schema.js';
import type { Actor } from '../../shared/actor.js';
import { type Clock, DAY } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import { newId } from '../../shared/ids.js';
import { assertCan } from '../../shared/permissions.js';
import type { OrgsService } from '../orgs/index.js';
import type { AuditAction, AuditService, SecurityService } from '../security/index.js';
import { createGrantsRepository, type GrantWithGrantee } from './auth-grants-repository.js';
import { grantableRoles } from './auth-schema.js';
import { grantRolesOf, type IssuedSession, type SessionService } from './auth-sessions.js';
import { createSessionsRepository } from './auth-sessions-repository.js';
import { createUsersRepository } from './auth-users-repository.js';

/** The longest a grant may run. */
export const MAX_GRANT_DAYS = 30;

export interface GrantView {
  readonly id: string;
  readonly orgId: string;
  readonly orgName: string;
  readonly granteeEmail: string;
  readonly roles: readonly string[];
  readonly purpose: string;
  readonly agreementRef: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly revokedAt: string | null;
  /** Unrevoked and unexpired now. */
  readonly active: boolean;
}

/** Something done under a grant, from the tenant's audit trail. */
export type GrantUse = AuditAction;

export const grantForm = z.object({
  granteeEmail: z
    .string({ message: 'auth.grants.field.email' })
    .trim()
    .toLowerCase()
    .pipe(z.email({ message: 'auth.grants.field.email' })),
  roles: z.preprocess(
    (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]),
    z
      .array(z.enum(grantableRoles, { message: 'auth.grants.field.roles' }))
      .min(1, { message: 'auth.grants.field.roles' }),
  ),
  purpose: z.string().trim().min(10, { message: 'auth.grants.field.purpose' }).max(1000),
  agreementRef: z.string().trim().min(1, { message: 'auth.grants.field.agreement' }).max(200),
  days: z.coerce
    .number({ message: 'auth.grants.field.days' })
    .int({ message: 'auth.grants.field.days' })
    .min(1, { message: 'auth.grants.field.days' })
    .max(MAX_GRANT_DAYS, { message: 'auth.grants.field.days' }),
});

/** A tenant's own owner or admin (never operator staff acting under a grant). */
function tenantManager(actor: Actor): Extract<Actor, { kind: 'user' }> {
  if (actor.kind !== 'user' || actor.orgKind !== 'tenant' || actor.grantId !== undefined) {
    throw new AppError('ERR_FORBIDDEN', { message: 'only a tenant’s own owner or admin grants access' });
  }
  assertCan(actor, 'grants.manage');
  return actor;
}

/** Grants as the pages show them, with each tenant's name. */
async function views(
  orgs: Pick<OrgsService, 'findById'>,
  now: string,
  rows: readonly GrantWithGrantee[],
): Promise<GrantView[]> {
  const names = new Map<string, string>();
  for (const orgId of new Set(rows.map((g) => g.org_id))) {
    names.set(orgId, (await orgs.findById(orgId))?.name ?? '');
  }
  return rows.map((g) => ({
    id: g.id,
    orgId: g.org_id,
    orgName: names.get(g.org_id) ?? '',
    granteeEmail: g.grantee_email,
    roles: grantRolesOf(g.roles),
    purpose: g.purpose,
    agreementRef: g.agreement_ref,
    createdAt: g.created_at,
    expiresAt: g.expires_at,
    revokedAt: g.revoked_at,
    active: g.revoked_at === null && now < g.expires_at,
  }));
}

interface GrantsDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly sessions: SessionService;
  readonly orgs: Pick<OrgsService, 'findOperator' | 'findById'>;
  readonly audit: AuditService;
  readonly security: Pick<SecurityService, 'actionsOf'>;
}

export function createGrantsService(deps: GrantsDeps) {
  const { db, clock, sessions, orgs, audit, security } = deps;
  const grants = createGrantsRepository(db);

  return {
    /** A tenant's owner or admin instructs one operator staff member. */
    async create(input: { actor: Actor; values: unknown }): Promise<{ id: string }> {
      const actor = tenantManager(input.actor);
      const v = parseOrThrow(grantForm, input.values);
      const operator = await orgs.findOperator();
      return db.transaction().execute(async (trx) => {
        const grantee =
          operator === undefined
            ? undefined
            : await createUsersRepository(trx).findUserByEmail({ orgId: operator.id }, v.granteeEmail);
        if (grantee === undefined || grantee.disabled !== 0) {
          throw new AppError('ERR_VALIDATION', {
            fields: { granteeEmail: 'auth.grants.field.unknownGrantee' },
          });
        }
        const now = clock.now();
        const id = newId();
        await createGrantsRepository(trx).insertGrant({
          id,
          org_id: actor.orgId,
          grantee_user_id: grantee.id,
          roles: JSON.stringify(v.roles),
          purpose: v.purpose,
          agreement_ref: v.agreementRef,
          created_by: actor.userId,
          created_at: now.toISOString(),
          expires_at: new Date(now.getTime() + v.days * DAY).toISOString(),
          revoked_at: null,
          revoked_by: null,
        });
        await audit.append(trx, {
          actor,
          action: 'auth.grant.created',
          target: { type: 'operator_grant', id },
          fields: ['operator_grants.roles', 'operator_grants.purpose', 'operator_grants.expires_at'],
          meta: { roles: v.roles.join(','), days: v.days },
        });
        return { id };
      });
    },

    /** Ends a grant at once: sessions under it stop at their next request. */
    async revoke(input: { actor: Actor; grantId: string }): Promise<void> {
      const actor = tenantManager(input.actor);
      await db.transaction().execute(async (trx) => {
        const revoked = await createGrantsRepository(trx).revokeGrant(
          actor,
          input.grantId,
          actor.userId,
          clock.now().toISOString(),
        );
        if (!revoked) throw new AppError('ERR_NOT_FOUND', { message: 'grant not found' });
        await createSessionsRepository(trx).deleteGrantSessions(input.grantId);
        await audit.append(trx, {
          actor,
          action: 'auth.grant.revoked',
          target: { type: 'operator_grant', id: input.grantId },
        });
      });
    },

    /** The tenant's grants, newest first, for its owner or admin. */
    async listForTenant(actor: Actor): Promise<GrantView[]> {
      const manager = tenantManager(actor);
      return views(orgs, clock.now().toISOString(), await grants.listGrants({ orgId: manager.orgId }));
    },

    /** What was done under a grant, from the tenant's audit trail (for the tenant's owner or admin). */
    async usesOf(actor: Actor, grantId: string): Promise<GrantUse[]> {
      const manager = tenantManager(actor);
      const grant = await grants.findGrant(manager, grantId);
      if (grant === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'grant not found' });
      return security.actionsOf(manager, `user:${grant.grantee_user_id}@grant:${grant.id}`);
    },

    /** The grants given to an operator staff member. */
    async listForGrantee(actor: Actor): Promise<GrantView[]> {
      if (actor.kind !== 'user' || actor.orgKind !== 'operator') return [];
      return views(orgs, clock.now().toISOString(), await grants.listGrants({ granteeUserId: actor.userId }));
    },

    /**
     * The grantee enters a grant: a new session in the tenant's org (the old one is deleted, as at
     * every change of privilege). Refused unless the grant is theirs, unrevoked and unexpired.
     */
    async enter(input: { actor: Actor; grantId: string; sessionId: string }): Promise<IssuedSession> {
      const actor = input.actor;
      if (actor.kind !== 'user' || actor.orgKind !== 'operator' || actor.grantId !== undefined) {
        throw new AppError('ERR_NOT_FOUND', { message: 'grant not found' });
      }
      return db.transaction().execute(async (trx) => {
        const grant = await createGrantsRepository(trx).findGrantOf(actor.userId, input.grantId);
        const now = clock.now().toISOString();
        if (grant === undefined || grant.revoked_at !== null || now >= grant.expires_at) {
          throw new AppError('ERR_NOT_FOUND', { message: 'grant not found or no longer valid' });
        }
        const issued = await sessions.issue(trx, { id: actor.userId, org_id: actor.orgId }, [], {
          replacing: input.sessionId,
          grant: { id: grant.id, orgId: grant.org_id, expiresAt: grant.expires_at },
        });
        await audit.append(trx, {
          actor: { ...actor, orgId: grant.org_id, orgKind: 'tenant', grantId: grant.id, roles: [] },
          action: 'auth.grant.entered',
          target: { type: 'operator_grant', id: grant.id },
        });
        return issued;
      });
    },

    /** Back to the operator's own org (a new session there). */
    async leave(input: { actor: Actor; sessionId: string }): Promise<IssuedSession> {
      const actor = input.actor;
      if (actor.kind !== 'user' || actor.grantId === undefined) {
        throw new AppError('ERR_NOT_FOUND', { message: 'not acting under a grant' });
      }
      return db.transaction().execute(async (trx) => {
        const user = await createUsersRepository(trx).findOwnAccount(actor.userId);
        if (user === undefined) throw new AppError('ERR_AUTH_SESSION_EXPIRED', { message: 'account gone' });
        await audit.append(trx, {
          actor,
          action: 'auth.grant.left',
          target: { type: 'operator_grant', id: actor.grantId ?? '' },
        });
        return sessions.issue(trx, user, [], { replacing: input.sessionId });
      });
    },
  };
}
