/**
 * Staff accounts and their roles (`users`, `user_roles`). Every query is scoped by org, except
 * the look-up by email that signing in needs before any org is known (`findUsersForLogin`).
 */
import { type Kysely, sql } from 'kysely';
import type { DB } from '../../db/schema.js';
import { findInOrg } from '../../db/scoped.js';
import type { OrgKind, OrgScope, Role } from '../../shared/actor.js';
import type { OrgStatus } from '../orgs/index.js';
import type { UsersTable } from './auth-schema.js';

export type UserRow = UsersTable;

/** A user with the kind of their own organisation (sign-in needs it: operator staff enrol TOTP). */
export interface UserWithOrg extends UserRow {
  readonly org_kind: OrgKind;
  /** Only an active organisation's staff may sign in (a suspended tenant's may not). */
  readonly org_status: OrgStatus;
  /** 1 when the organisation requires TOTP of all its staff. */
  readonly org_require_totp: number;
}

export type UserPatch = Partial<
  Pick<
    UserRow,
    | 'email'
    | 'display_name'
    | 'password_hash'
    | 'must_change_password'
    | 'disabled'
    | 'totp_secret'
    | 'totp_enabled'
    | 'totp_last_step'
    | 'failed_logins'
    | 'lockout_count'
    | 'locked_until'
    | 'password_changed_at'
    | 'last_login_at'
    | 'locale'
  >
> & { updated_at: string };

export type UserSort = 'name' | 'email' | 'lastLogin';
export type UserStatusFilter = 'active' | 'disabled' | 'locked';

export interface UserListQuery {
  readonly sort: UserSort;
  readonly dir: 'asc' | 'desc';
  readonly role?: Role | undefined;
  readonly status?: UserStatusFilter | undefined;
  /** Now, for telling locked accounts apart. */
  readonly now: string;
  readonly limit: number;
  readonly offset: number;
}

/**
 * Ends the trust of every device cookie of the user (a password change or reset, disabling, a new
 * second factor): cookies carry the epoch they were issued at.
 */
async function raiseDeviceEpoch(db: Kysely<DB>, scope: OrgScope, userId: string): Promise<void> {
  await db
    .updateTable('users')
    .set((eb) => ({ device_epoch: eb('device_epoch', '+', 1) }))
    .where('org_id', '=', scope.orgId)
    .where('id', '=', userId)
    .execute();
}

export function createUsersRepository(db: Kysely<DB>) {
  function filteredUsers(scope: OrgScope, q: Pick<UserListQuery, 'role' | 'status' | 'now'>) {
    let query = db.selectFrom('users').where('users.org_id', '=', scope.orgId);
    if (q.role !== undefined) {
      const role = q.role;
      query = query.where((eb) =>
        eb.exists(
          eb
            .selectFrom('user_roles')
            .select('user_roles.role')
            .whereRef('user_roles.user_id', '=', 'users.id')
            .where('user_roles.org_id', '=', scope.orgId)
            .where('user_roles.role', '=', role),
        ),
      );
    }
    if (q.status === 'disabled') query = query.where('users.disabled', '=', 1);
    if (q.status === 'locked') {
      query = query.where('users.disabled', '=', 0).where('users.locked_until', '>', q.now);
    }
    if (q.status === 'active') {
      query = query
        .where('users.disabled', '=', 0)
        .where((eb) => eb.or([eb('users.locked_until', 'is', null), eb('users.locked_until', '<=', q.now)]));
    }
    return query;
  }

  return {
    async insertUser(row: UserRow, userRoles: readonly Role[]): Promise<void> {
      await db.insertInto('users').values(row).execute();
      await createUserRolesRepository(db).setRoles({ orgId: row.org_id }, row.id, userRoles);
    },

    findUser(scope: OrgScope, userId: string): Promise<UserRow | undefined> {
      return findInOrg(db, 'users', scope, userId);
    },

    /**
     * The acting user's own account by id, whatever org their session runs in (operator staff
     * leaving a tenant's org under a grant go back to their own).
     */
    findOwnAccount(userId: string): Promise<UserRow | undefined> {
      return db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
    },

    findUserByEmail(scope: OrgScope, email: string): Promise<UserRow | undefined> {
      return db
        .selectFrom('users')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .where('email', '=', email)
        .executeTakeFirst();
    },

    /**
     * Sign-in and password reset only: the accounts with this email across orgs (at most 10), or
     * in one org when the caller names it.
     */
    findUsersForLogin(email: string, orgId: string | undefined): Promise<UserRow[]> {
      let query = db.selectFrom('users').selectAll().where('email', '=', email);
      if (orgId !== undefined) query = query.where('org_id', '=', orgId);
      return query.orderBy('id').limit(10).execute();
    },

    listUsers(scope: OrgScope, page: { limit: number; offset: number }): Promise<UserRow[]> {
      return db
        .selectFrom('users')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .orderBy('email')
        .orderBy('id')
        .limit(page.limit)
        .offset(page.offset)
        .execute();
    },

    /** A page of the org's users, filtered by role and status and sorted (ties broken by id). */
    async listUsersPage(scope: OrgScope, q: UserListQuery): Promise<UserRow[]> {
      let query = filteredUsers(scope, q).selectAll('users');
      const column = q.sort === 'name' ? 'display_name' : q.sort === 'email' ? 'email' : 'last_login_at';
      if (column === 'last_login_at') {
        // Never signed in sorts last either way (SQLite and PostgreSQL order NULLs differently).
        query = query.orderBy(sql`case when users.last_login_at is null then 1 else 0 end`);
      }
      return query
        .orderBy(`users.${column}`, q.dir)
        .orderBy('users.id')
        .limit(q.limit)
        .offset(q.offset)
        .execute();
    },

    async countUsers(
      scope: OrgScope,
      q: Omit<UserListQuery, 'sort' | 'dir' | 'limit' | 'offset'>,
    ): Promise<number> {
      const row = await filteredUsers(scope, q)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },

    async updateUser(scope: OrgScope, userId: string, patch: UserPatch): Promise<void> {
      await db
        .updateTable('users')
        .set(patch)
        .where('org_id', '=', scope.orgId)
        .where('id', '=', userId)
        .execute();
    },

    /** Ends the trust of every device cookie of the user (see `raiseDeviceEpoch`). */
    bumpDeviceEpoch: (scope: OrgScope, userId: string) => raiseDeviceEpoch(db, scope, userId),

    /** Counts one more failed login; returns the new count and the lock history (atomic increment). */
    async incrementFailedLogins(
      scope: OrgScope,
      userId: string,
      now: string,
    ): Promise<{ failedLogins: number; lockoutCount: number }> {
      const row = await db
        .updateTable('users')
        .set((eb) => ({ failed_logins: eb('failed_logins', '+', 1), updated_at: now }))
        .where('org_id', '=', scope.orgId)
        .where('id', '=', userId)
        .returning(['failed_logins', 'lockout_count'])
        .executeTakeFirst();
      return { failedLogins: Number(row?.failed_logins ?? 0), lockoutCount: Number(row?.lockout_count ?? 0) };
    },

    /** Records `step` as used unless it (or a later step) was used already; false means replay. */
    async claimTotpStep(scope: OrgScope, userId: string, step: number, now: string): Promise<boolean> {
      const result = await db
        .updateTable('users')
        .set({ totp_last_step: step, updated_at: now })
        .where('org_id', '=', scope.orgId)
        .where('id', '=', userId)
        .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}

/** Roles per user and org (`user_roles`): an account holds roles only in its own org. */
export function createUserRolesRepository(db: Kysely<DB>) {
  return {
    async setRoles(scope: OrgScope, userId: string, userRoles: readonly Role[]): Promise<void> {
      await db
        .deleteFrom('user_roles')
        .where('org_id', '=', scope.orgId)
        .where('user_id', '=', userId)
        .execute();
      if (userRoles.length > 0) {
        await db
          .insertInto('user_roles')
          .values(userRoles.map((role) => ({ user_id: userId, org_id: scope.orgId, role })))
          .execute();
      }
    },

    async rolesOf(scope: OrgScope, userId: string): Promise<Role[]> {
      const rows = await db
        .selectFrom('user_roles')
        .select('role')
        .where('org_id', '=', scope.orgId)
        .where('user_id', '=', userId)
        .orderBy('role')
        .execute();
      return rows.map((r) => r.role);
    },

    async rolesOfMany(scope: OrgScope, userIds: readonly string[]): Promise<Map<string, Role[]>> {
      const out = new Map<string, Role[]>();
      if (userIds.length === 0) return out;
      const rows = await db
        .selectFrom('user_roles')
        .select(['user_id', 'role'])
        .where('org_id', '=', scope.orgId)
        .where('user_id', 'in', userIds)
        .orderBy('role')
        .execute();
      for (const r of rows) out.set(r.user_id, [...(out.get(r.user_id) ?? []), r.role]);
      return out;
    },

    /** Enabled users holding the owner role in the org. */
    async countActiveOwners(scope: OrgScope): Promise<number> {
      const row = await db
        .selectFrom('user_roles')
        .innerJoin('users', 'users.id', 'user_roles.user_id')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_roles.org_id', '=', scope.orgId)
        .where('user_roles.role', '=', 'owner')
        .where('users.disabled', '=', 0)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
  };
}
