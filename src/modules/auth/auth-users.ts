/**
 * Managing staff accounts (P11): create with a one-time password, reset, roles, disable,
 * unlock, reset TOTP. Owners and admins of the same org (or a system actor, e.g. the CLI) may
 * manage; only an owner (or the system) may grant, take away or reset the owner role, and the
 * last active owner cannot be removed. Another org's user is a 404.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { DB } from '../../db/schema.js';
import { type Actor, roles as allRoles, hasRole, type Role, scopeOf } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import { createOrgsRepository } from '../orgs/orgs-repository.js';
import { appendAudit } from '../security/audit-chain.js';
import { normaliseEmail } from './auth-login.js';
import { generateOneTimePassword, type PasswordHasher } from './auth-passwords.js';
import {
  createAuthRepository,
  type UserListQuery,
  type UserRow,
  type UserSort,
  type UserStatusFilter,
} from './auth-repository.js';

/** A staff account as other modules and views see it: never the hash or the TOTP seed. */
export interface UserView {
  readonly id: string;
  readonly orgId: string;
  readonly email: string;
  readonly displayName: string;
  readonly roles: readonly Role[];
  readonly disabled: boolean;
  readonly mustChangePassword: boolean;
  readonly totpEnabled: boolean;
  readonly lockedUntil: string | null;
  readonly lastLoginAt: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Where a staff member is told about work for their role. */
export interface UserContact {
  readonly id: string;
  readonly email: string;
  readonly displayName: string;
  readonly locale: string | null;
}

/** One page of the user list, with what the list page needs to paginate. */
export interface UserListPage {
  readonly users: readonly UserView[];
  readonly total: number;
  readonly page: number;
  readonly pageSize: number;
  readonly pages: number;
}

export const USER_PAGE_SIZE = 25;

export function toUserView(row: UserRow, userRoles: readonly Role[]): UserView {
  return {
    id: row.id,
    orgId: row.org_id,
    email: row.email,
    displayName: row.display_name,
    roles: userRoles,
    disabled: row.disabled === 1,
    mustChangePassword: row.must_change_password === 1,
    totpEnabled: row.totp_enabled === 1,
    lockedUntil: row.locked_until,
    lastLoginAt: row.last_login_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export const emailSchema = z
  .string()
  .trim()
  .max(254, { message: 'field.tooLong' })
  .pipe(z.email({ message: 'field.invalidEmail' }))
  .transform(normaliseEmail);

const rolesSchema = z.array(z.enum(allRoles)).min(1, { message: 'auth.user.rolesRequired' });

const createUserSchema = z.object({
  email: emailSchema,
  displayName: z.string().trim().min(1, { message: 'field.required' }).max(200),
  roles: rolesSchema,
});

export interface UsersDeps {
  db: Kysely<DB>;
  clock: Clock;
  hasher: PasswordHasher;
}

const managerRoles: readonly Role[] = ['owner', 'admin'];
const readerRoles: readonly Role[] = ['owner', 'admin', 'security'];

function assertCan(actor: Actor, anyOf: readonly Role[]): void {
  if (actor.kind === 'system' || hasRole(actor, ...anyOf)) return;
  throw new AppError('ERR_FORBIDDEN', { message: `requires one of ${anyOf.join(',')}` });
}

function isOwnerOrSystem(actor: Actor): boolean {
  return actor.kind === 'system' || hasRole(actor, 'owner');
}

export function createUsersService(deps: UsersDeps) {
  const { db, clock, hasher } = deps;

  /** Disables (or re-enables) an account; disabling ends its sessions at once. */
  async function setDisabled(input: { actor: Actor; userId: string; disabled: boolean }): Promise<void> {
    await db.transaction().execute(async (trx) => {
      const { repo, row, userRoles } = await loadManaged(trx, input.actor, input.userId);
      if (input.disabled && input.actor.kind === 'user' && input.actor.userId === input.userId) {
        throw new AppError('ERR_CONFLICT', {
          message: 'you cannot disable your own account',
          fields: { _form: 'auth.users.cannotDisableSelf' },
        });
      }
      if (input.disabled && row.disabled === 0) await assertNotLastOwner(trx, input.actor, userRoles);
      const scope = scopeOf(input.actor);
      await repo.updateUser(scope, input.userId, {
        disabled: input.disabled ? 1 : 0,
        updated_at: clock.now().toISOString(),
      });
      const ended = input.disabled ? await repo.deleteUserSessions(scope, input.userId) : 0;
      await appendAudit(trx, clock, {
        actor: input.actor,
        action: input.disabled ? 'auth.user.disabled' : 'auth.user.enabled',
        target: { type: 'user', id: input.userId },
        meta: { sessions_ended: ended },
      });
    });
  }

  async function loadManaged(trx: Kysely<DB>, actor: Actor, userId: string) {
    assertCan(actor, managerRoles);
    const repo = createAuthRepository(trx);
    const row = await repo.findUser(scopeOf(actor), userId);
    if (row === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'user not found' });
    const userRoles = await repo.rolesOf(scopeOf(actor), userId);
    // Only an owner may act on an owner's account (an admin must not take it over).
    if (userRoles.includes('owner') && !isOwnerOrSystem(actor)) {
      throw new AppError('ERR_FORBIDDEN', { message: 'only an owner may manage an owner' });
    }
    return { repo, row, userRoles };
  }

  async function assertNotLastOwner(trx: Kysely<DB>, actor: Actor, userRoles: readonly Role[]) {
    if (!userRoles.includes('owner')) return;
    if ((await createAuthRepository(trx).countActiveOwners(scopeOf(actor))) <= 1) {
      throw new AppError('ERR_CONFLICT', {
        message: 'the last active owner cannot be removed',
        fields: { _form: 'auth.users.lastOwner' },
      });
    }
  }

  return {
    /** Creates a staff account with a one-time password the user must change at first sign-in. */
    async createUser(input: {
      actor: Actor;
      orgId: string;
      email: string;
      displayName: string;
      roles: readonly Role[];
    }): Promise<{ user: UserView; oneTimePassword: string }> {
      const { actor } = input;
      if (actor.orgId !== input.orgId) throw new AppError('ERR_NOT_FOUND', { message: 'org not found' });
      assertCan(actor, managerRoles);
      const data = parseOrThrow(createUserSchema, input);
      const userRoles = [...new Set(data.roles)].sort();
      if (userRoles.includes('owner') && !isOwnerOrSystem(actor)) {
        throw new AppError('ERR_FORBIDDEN', { message: 'only an owner may grant the owner role' });
      }
      const oneTimePassword = generateOneTimePassword();
      const passwordHash = await hasher.hash(oneTimePassword);
      const user = await db.transaction().execute(async (trx) => {
        await createOrgsRepository(trx).getById(input.orgId);
        const repo = createAuthRepository(trx);
        if ((await repo.findUserByEmail(scopeOf(actor), data.email)) !== undefined) {
          throw new AppError('ERR_CONFLICT', {
            message: 'a user with this email exists in the org',
            fields: { email: 'auth.user.emailTaken' },
          });
        }
        const now = clock.now().toISOString();
        const row: UserRow = {
          id: randomUUID(),
          org_id: input.orgId,
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
          password_changed_at: now,
          created_at: now,
          updated_at: now,
          last_login_at: null,
          locale: null,
        };
        await repo.insertUser(row, userRoles);
        await appendAudit(trx, clock, {
          actor,
          action: 'auth.user.created',
          target: { type: 'user', id: row.id },
          fields: ['email', 'display_name'],
          meta: { roles: userRoles.join(',') },
        });
        return toUserView(row, userRoles);
      });
      return { user, oneTimePassword };
    },

    /** Sets a new one-time password, clears any lock and ends all the user's sessions. */
    async resetPassword(input: { actor: Actor; userId: string }): Promise<{ oneTimePassword: string }> {
      const oneTimePassword = generateOneTimePassword();
      const passwordHash = await hasher.hash(oneTimePassword);
      await db.transaction().execute(async (trx) => {
        const { repo } = await loadManaged(trx, input.actor, input.userId);
        const now = clock.now().toISOString();
        const scope = scopeOf(input.actor);
        await repo.updateUser(scope, input.userId, {
          password_hash: passwordHash,
          must_change_password: 1,
          failed_logins: 0,
          lockout_count: 0,
          locked_until: null,
          password_changed_at: now,
          updated_at: now,
        });
        const ended = await repo.deleteUserSessions(scope, input.userId);
        await appendAudit(trx, clock, {
          actor: input.actor,
          action: 'auth.user.password_reset',
          target: { type: 'user', id: input.userId },
          meta: { sessions_ended: ended },
        });
      });
      return { oneTimePassword };
    },

    /** Replaces the user's roles. Takes effect on the user's next request. */
    async setRoles(input: { actor: Actor; userId: string; roles: readonly Role[] }): Promise<UserView> {
      const wanted = [...new Set(parseOrThrow(rolesSchema, input.roles))].sort();
      return db.transaction().execute(async (trx) => {
        const { repo, row, userRoles } = await loadManaged(trx, input.actor, input.userId);
        const ownerChanges = userRoles.includes('owner') !== wanted.includes('owner');
        if (ownerChanges && !isOwnerOrSystem(input.actor)) {
          throw new AppError('ERR_FORBIDDEN', {
            message: 'only an owner may grant or remove the owner role',
          });
        }
        if (!wanted.includes('owner') && row.disabled === 0)
          await assertNotLastOwner(trx, input.actor, userRoles);
        const scope = scopeOf(input.actor);
        await repo.setRoles(scope, input.userId, wanted);
        const now = clock.now().toISOString();
        await repo.updateUser(scope, input.userId, { updated_at: now });
        await appendAudit(trx, clock, {
          actor: input.actor,
          action: 'auth.user.roles_changed',
          target: { type: 'user', id: input.userId },
          meta: { from: userRoles.join(','), to: wanted.join(',') },
        });
        return toUserView({ ...row, updated_at: now }, wanted);
      });
    },

    setDisabled,

    /** Disables an account (it can no longer sign in) and ends its sessions. */
    disableUser: (input: { actor: Actor; userId: string }) => setDisabled({ ...input, disabled: true }),

    enableUser: (input: { actor: Actor; userId: string }) => setDisabled({ ...input, disabled: false }),

    /** Lifts a lock after too many failed sign-ins. */
    async unlockUser(input: { actor: Actor; userId: string }): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const { repo } = await loadManaged(trx, input.actor, input.userId);
        await repo.updateUser(scopeOf(input.actor), input.userId, {
          failed_logins: 0,
          lockout_count: 0,
          locked_until: null,
          updated_at: clock.now().toISOString(),
        });
        await appendAudit(trx, clock, {
          actor: input.actor,
          action: 'auth.user.unlocked',
          target: { type: 'user', id: input.userId },
        });
      });
    },

    /** Removes the user's TOTP and recovery codes (lost phone); they enrol again at next sign-in. */
    async resetTotp(input: { actor: Actor; userId: string }): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const { repo } = await loadManaged(trx, input.actor, input.userId);
        const scope = scopeOf(input.actor);
        const now = clock.now().toISOString();
        await repo.updateUser(scope, input.userId, {
          totp_secret: null,
          totp_enabled: 0,
          totp_last_step: null,
          updated_at: now,
        });
        await repo.replaceRecoveryCodes(scope, input.userId, [], now);
        const ended = await repo.deleteUserSessions(scope, input.userId);
        await appendAudit(trx, clock, {
          actor: input.actor,
          action: 'auth.totp.reset',
          target: { type: 'user', id: input.userId },
          meta: { sessions_ended: ended },
        });
      });
    },

    /** A user of the actor's org (the actor themself, or anyone for owners/admins/security). */
    async findUserById(input: { actor: Actor; userId: string }): Promise<UserView | undefined> {
      const self = input.actor.kind === 'user' && input.actor.userId === input.userId;
      if (!self) assertCan(input.actor, readerRoles);
      const repo = createAuthRepository(db);
      const row = await repo.findUser(scopeOf(input.actor), input.userId);
      if (row === undefined) return undefined;
      return toUserView(row, await repo.rolesOf(scopeOf(input.actor), row.id));
    },

    async findUserByEmail(input: { actor: Actor; email: string }): Promise<UserView | undefined> {
      assertCan(input.actor, readerRoles);
      const repo = createAuthRepository(db);
      const row = await repo.findUserByEmail(scopeOf(input.actor), normaliseEmail(input.email));
      if (row === undefined) return undefined;
      return toUserView(row, await repo.rolesOf(scopeOf(input.actor), row.id));
    },

    /** The user list of the admin pages: filtered by role and status, sorted, a page at a time. */
    async listUsersPage(input: {
      actor: Actor;
      sort?: UserSort | undefined;
      dir?: 'asc' | 'desc' | undefined;
      role?: Role | undefined;
      status?: UserStatusFilter | undefined;
      page?: number | undefined;
    }): Promise<UserListPage> {
      assertCan(input.actor, managerRoles);
      const repo = createAuthRepository(db);
      const scope = scopeOf(input.actor);
      const filter = { role: input.role, status: input.status, now: clock.now().toISOString() };
      const total = await repo.countUsers(scope, filter);
      const pages = Math.max(1, Math.ceil(total / USER_PAGE_SIZE));
      const page = Math.min(Math.max(1, Math.floor(input.page ?? 1)), pages);
      const query: UserListQuery = {
        ...filter,
        sort: input.sort ?? 'name',
        dir: input.dir ?? 'asc',
        limit: USER_PAGE_SIZE,
        offset: (page - 1) * USER_PAGE_SIZE,
      };
      const rows = await repo.listUsersPage(scope, query);
      const roleMap = await repo.rolesOfMany(
        scope,
        rows.map((r) => r.id),
      );
      return {
        users: rows.map((r) => toUserView(r, roleMap.get(r.id) ?? [])),
        total,
        page,
        pageSize: USER_PAGE_SIZE,
        pages,
      };
    },

    /** The org's users by email, a page at a time. */
    async listUsers(input: { actor: Actor; limit?: number; offset?: number }): Promise<UserView[]> {
      assertCan(input.actor, readerRoles);
      const repo = createAuthRepository(db);
      const scope = scopeOf(input.actor);
      const rows = await repo.listUsers(scope, {
        limit: Math.min(Math.max(input.limit ?? 100, 1), 500),
        offset: Math.max(input.offset ?? 0, 0),
      });
      const roleMap = await repo.rolesOfMany(
        scope,
        rows.map((r) => r.id),
      );
      return rows.map((r) => toUserView(r, roleMap.get(r.id) ?? []));
    },

    /**
     * Colleagues by name, for any staff member of the org (who wrote a note, who a conversation
     * is assigned to): names and account state only, never addresses or roles. Sorted by name.
     */
    async listStaffNames(input: { actor: Actor }): Promise<StaffName[]> {
      const now = clock.now().toISOString();
      const rows = await createAuthRepository(db).listUsersPage(scopeOf(input.actor), {
        sort: 'name',
        dir: 'asc',
        now,
        limit: 1000,
        offset: 0,
      });
      return rows.map((u) => ({
        id: u.id,
        name: u.display_name,
        disabled: u.disabled === 1,
        locked: u.locked_until !== null && u.locked_until > now,
      }));
    },

    /** The enabled users of `orgId` holding `role`, to tell them about that role's work (system jobs). */
    async listUsersWithRole(orgId: string, role: Role): Promise<UserContact[]> {
      const query = {
        sort: 'name',
        dir: 'asc',
        role,
        now: clock.now().toISOString(),
        limit: 500,
        offset: 0,
      } as const;
      const rows = await createAuthRepository(db).listUsersPage({ orgId }, query);
      return rows
        .filter((r) => r.disabled === 0)
        .map((r) => ({ id: r.id, email: r.email, displayName: r.display_name, locale: r.locale }));
    },
  };
}

/** A colleague as other modules show them: name and whether the account can be given work. */
export interface StaffName {
  readonly id: string;
  readonly name: string;
  readonly disabled: boolean;
  readonly locked: boolean;
}

export type UsersService = ReturnType<typeof createUsersService>;
