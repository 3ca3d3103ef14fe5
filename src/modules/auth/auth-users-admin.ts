/**
 * Managing staff accounts (P5, P11): create with a one-time password, reset, roles, disable,
 * unlock, reset TOTP. Holders of `users.manage` (owners and admins of the same org, or a system
 * actor such as the CLI) manage; only holders of `users.manage_owners` grant, take away or act
 * on the owner role, and the last active owner cannot be removed. Nobody gives themselves a
 * purpose role (support, finance, privacy officer, security): another owner or admin must, so
 * that access to personal data is always decided by a second person, and audited. Another org's
 * user is a 404.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { DB } from '../../db/schema.js';
import { inTransaction } from '../../db/transaction.js';
import { type Actor, roles as allRoles, type Role, scopeOf } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import { assertCan, can, isPurposeRole, type PurposeRole } from '../../shared/permissions.js';
import { createOrgsRepository, type OrgsService } from '../orgs/index.js';
import type { AuditService } from '../security/index.js';
import { generateOneTimePassword, type PasswordHasher } from './auth-passwords.js';
import { createRecoveryCodesRepository } from './auth-recovery-codes-repository.js';
import { createSessionsRepository } from './auth-sessions-repository.js';
import { emailSchema, toUserView, type UserView } from './auth-users.js';
import {
  createUserRolesRepository,
  createUsersRepository,
  type UserPatch,
  type UserRow,
} from './auth-users-repository.js';

const rolesSchema = z.array(z.enum(allRoles)).min(1, { message: 'auth.user.rolesRequired' });

const createUserSchema = z.object({
  email: emailSchema,
  displayName: z.string().trim().min(1, { message: 'field.required' }).max(200),
  roles: rolesSchema,
});

interface UserAdminDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly hasher: PasswordHasher;
  readonly orgs: Pick<OrgsService, 'getById'>;
  readonly audit: AuditService;
}

type UserTarget = { actor: Actor; userId: string };

interface CreateUserInput {
  actor: Actor;
  orgId: string;
  email: string;
  displayName: string;
  roles: readonly Role[];
}

/** The purpose roles `wanted` adds to the actor's own account (none when it is someone else's). */
function selfGivenPurposeRoles(
  actor: Actor,
  userId: string,
  current: readonly Role[],
  wanted: readonly Role[],
): PurposeRole[] {
  if (actor.kind !== 'user' || actor.userId !== userId) return [];
  return wanted.filter((r): r is PurposeRole => isPurposeRole(r) && !current.includes(r));
}

function assertMayTouchOwnerRole(actor: Actor, message: string): void {
  if (!can(actor, 'users.manage_owners')) throw new AppError('ERR_FORBIDDEN', { message });
}

/** The managed user in the actor's org, loaded inside the use case's transaction. */
async function loadManaged(trx: Kysely<DB>, actor: Actor, userId: string) {
  assertCan(actor, 'users.manage');
  const row = await createUsersRepository(trx).findUser(scopeOf(actor), userId);
  if (row === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'user not found' });
  const userRoles = await createUserRolesRepository(trx).rolesOf(scopeOf(actor), userId);
  // Only an owner may act on an owner's account (an admin must not take it over).
  if (userRoles.includes('owner')) assertMayTouchOwnerRole(actor, 'only an owner may manage an owner');
  return { row, userRoles };
}

async function assertNotLastOwner(trx: Kysely<DB>, actor: Actor, userRoles: readonly Role[]) {
  if (!userRoles.includes('owner')) return;
  if ((await createUserRolesRepository(trx).countActiveOwners(scopeOf(actor))) <= 1) {
    throw new AppError('ERR_CONFLICT', {
      message: 'the last active owner cannot be removed',
      fields: { _form: 'auth.users.lastOwner' },
    });
  }
}

/** A new account: must change its one-time password at first sign-in, no TOTP yet. */
function newUserRow(
  orgId: string,
  data: { email: string; displayName: string },
  passwordHash: string,
  now: string,
): UserRow {
  return {
    id: randomUUID(),
    org_id: orgId,
    email: data.email,
    display_name: data.displayName,
    password_hash: passwordHash,
    must_change_password: 1,
    disabled: 0,
    totp_secret: null,
    totp_enabled: 0,
    totp_last_step: null,
    failed_logins: 0,
    lockout_count: 0,
    locked_until: null,
    device_epoch: 0,
    password_changed_at: now,
    created_at: now,
    updated_at: now,
    last_login_at: null,
    locale: null,
  };
}

export function createUserAdminService(deps: UserAdminDeps) {
  const { db, clock, hasher, orgs, audit } = deps;

  /** Changes the account's row, ends its sessions when asked, and audits, in one transaction. */
  async function change(
    input: UserTarget,
    o: {
      action: string;
      patch: (now: string) => UserPatch;
      endSessions: boolean;
      before?: (trx: Kysely<DB>, loaded: { row: UserRow; userRoles: Role[] }) => Promise<void>;
    },
  ): Promise<void> {
    await db.transaction().execute(async (trx) => {
      const loaded = await loadManaged(trx, input.actor, input.userId);
      await o.before?.(trx, loaded);
      const scope = scopeOf(input.actor);
      await createUsersRepository(trx).updateUser(scope, input.userId, o.patch(clock.now().toISOString()));
      const ended = o.endSessions
        ? await createSessionsRepository(trx).deleteUserSessions(scope, input.userId)
        : undefined;
      // What ends the sessions (disabling, a new password or second factor) ends the trust of
      // the user's device cookies too (issue 15).
      if (o.endSessions) await createUsersRepository(trx).bumpDeviceEpoch(scope, input.userId);
      await audit.append(trx, {
        actor: input.actor,
        action: o.action,
        target: { type: 'user', id: input.userId },
        ...(ended === undefined ? {} : { meta: { sessions_ended: ended } }),
      });
    });
  }

  /** Disables (or re-enables) an account; disabling ends its sessions at once. */
  async function setDisabled(input: UserTarget & { disabled: boolean }): Promise<void> {
    await change(input, {
      action: input.disabled ? 'auth.user.disabled' : 'auth.user.enabled',
      patch: (now) => ({ disabled: input.disabled ? 1 : 0, updated_at: now }),
      endSessions: true,
      before: async (trx, { row, userRoles }) => {
        if (input.disabled && input.actor.kind === 'user' && input.actor.userId === input.userId) {
          throw new AppError('ERR_CONFLICT', {
            message: 'you cannot disable your own account',
            fields: { _form: 'auth.users.cannotDisableSelf' },
          });
        }
        if (input.disabled && row.disabled === 0) await assertNotLastOwner(trx, input.actor, userRoles);
      },
    });
  }

  /** Creates the account within `conn` (a caller's transaction, or `db` for a new one). */
  async function createUserIn(
    conn: Kysely<DB>,
    input: CreateUserInput,
  ): Promise<{ user: UserView; oneTimePassword: string }> {
    const { actor } = input;
    if (actor.orgId !== input.orgId) throw new AppError('ERR_NOT_FOUND', { message: 'org not found' });
    assertCan(actor, 'users.manage');
    const data = parseOrThrow(createUserSchema, input);
    const userRoles = [...new Set(data.roles)].sort();
    if (userRoles.includes('owner')) assertMayTouchOwnerRole(actor, 'only an owner may grant the owner role');
    await (conn.isTransaction ? createOrgsRepository(conn).getById(input.orgId) : orgs.getById(input.orgId));
    const oneTimePassword = generateOneTimePassword();
    const passwordHash = await hasher.hash(oneTimePassword);
    const user = await inTransaction(conn, async (trx) => {
      const repo = createUsersRepository(trx);
      if ((await repo.findUserByEmail(scopeOf(actor), data.email)) !== undefined) {
        throw new AppError('ERR_CONFLICT', {
          message: 'a user with this email exists in the org',
          fields: { email: 'auth.user.emailTaken' },
        });
      }
      const row = newUserRow(input.orgId, data, passwordHash, clock.now().toISOString());
      await repo.insertUser(row, userRoles);
      await audit.append(trx, {
        actor,
        action: 'auth.user.created',
        target: { type: 'user', id: row.id },
        fields: ['email', 'display_name'],
        meta: { roles: userRoles.join(',') },
      });
      return toUserView(row, userRoles);
    });
    return { user, oneTimePassword };
  }

  return {
    /** Creates a staff account with a one-time password the user must change at first sign-in. */
    createUser: (input: CreateUserInput): Promise<{ user: UserView; oneTimePassword: string }> =>
      createUserIn(db, input),

    /** The same, as a step of the caller's transaction `trx` (a tenant's onboarding). */
    createUserIn,

    /** Sets a new one-time password, clears any lock and ends all the user's sessions. */
    async resetPassword(input: UserTarget): Promise<{ oneTimePassword: string }> {
      const oneTimePassword = generateOneTimePassword();
      const passwordHash = await hasher.hash(oneTimePassword);
      await change(input, {
        action: 'auth.user.password_reset',
        patch: (now) => ({
          password_hash: passwordHash,
          must_change_password: 1,
          failed_logins: 0,
          lockout_count: 0,
          locked_until: null,
          password_changed_at: now,
          updated_at: now,
        }),
        endSessions: true,
      });
      return { oneTimePassword };
    },

    setDisabled,

    /** Disables an account (it can no longer sign in) and ends its sessions. */
    disableUser: (input: UserTarget) => setDisabled({ ...input, disabled: true }),

    enableUser: (input: UserTarget) => setDisabled({ ...input, disabled: false }),

    /** Lifts a lock after too many failed sign-ins. */
    unlockUser: (input: UserTarget): Promise<void> =>
      change(input, {
        action: 'auth.user.unlocked',
        patch: (now) => ({ failed_logins: 0, lockout_count: 0, locked_until: null, updated_at: now }),
        endSessions: false,
      }),

    /** Removes the user's TOTP and recovery codes (lost phone); they enrol again at next sign-in. */
    resetTotp: (input: UserTarget): Promise<void> =>
      change(input, {
        action: 'auth.totp.reset',
        patch: (now) => ({ totp_secret: null, totp_enabled: 0, totp_last_step: null, updated_at: now }),
        endSessions: true,
        before: (trx) =>
          createRecoveryCodesRepository(trx).replaceRecoveryCodes(
            scopeOf(input.actor),
            input.userId,
            [],
            clock.now().toISOString(),
          ),
      }),
  };
}

/** Roles of staff accounts (P5): who may do what with personal data is decided here. */
export function createRoleAdminService(deps: Pick<UserAdminDeps, 'db' | 'clock' | 'audit'>) {
  const { db, clock, audit } = deps;
  return {
    /**
     * Replaces the user's roles; takes effect on the user's next request. A purpose role the
     * actor would give themself is refused (ERR_FORBIDDEN, nothing changes) and the attempt is
     * audited.
     */
    async setRoles(input: UserTarget & { roles: readonly Role[] }): Promise<UserView> {
      const { actor, userId } = input;
      const wanted = [...new Set(parseOrThrow(rolesSchema, input.roles))].sort();
      const outcome = await db.transaction().execute(async (trx) => {
        const { row, userRoles } = await loadManaged(trx, actor, userId);
        const selfGiven = selfGivenPurposeRoles(actor, userId, userRoles, wanted);
        if (selfGiven.length > 0) return { kind: 'refused', roles: selfGiven } as const;
        if (userRoles.includes('owner') !== wanted.includes('owner')) {
          assertMayTouchOwnerRole(actor, 'only an owner may grant or remove the owner role');
        }
        if (!wanted.includes('owner') && row.disabled === 0) await assertNotLastOwner(trx, actor, userRoles);
        const scope = scopeOf(actor);
        await createUserRolesRepository(trx).setRoles(scope, userId, wanted);
        const now = clock.now().toISOString();
        await createUsersRepository(trx).updateUser(scope, userId, { updated_at: now });
        await audit.append(trx, {
          actor,
          action: 'auth.user.roles_changed',
          target: { type: 'user', id: userId },
          meta: { from: userRoles.join(','), to: wanted.join(',') },
        });
        return { kind: 'changed', user: toUserView({ ...row, updated_at: now }, wanted) } as const;
      });
      if (outcome.kind === 'changed') return outcome.user;
      // An attempt at giving oneself access to personal data: on the record, then refused.
      await audit.append(db, {
        actor,
        action: 'auth.user.roles_refused',
        target: { type: 'user', id: userId },
        meta: { reason: 'self_purpose_role', roles: outcome.roles.join(',') },
      });
      throw new AppError('ERR_FORBIDDEN', {
        message: 'a purpose role is given by another owner or admin, never by oneself',
        fields: { roles: 'auth.user.noSelfPurposeRole' },
      });
    },
  };
}
