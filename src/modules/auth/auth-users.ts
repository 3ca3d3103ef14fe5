/**
 * Staff accounts as the admin pages, the CLI and other modules read them (P11): one user, a
 * filtered and sorted page, or everyone of the org. Owners, admins and the security role read
 * (`users.read`); a user may always read their own account. Another org's user is not found.
 * Changing accounts is in auth-users-admin.ts.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { DB } from '../../db/schema.js';
import { type Actor, type Role, scopeOf } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { type PageInfo, pageOf } from '../../shared/paging.js';
import { assertCan } from '../../shared/permissions.js';
import {
  createUserRolesRepository,
  createUsersRepository,
  type UserListQuery,
  type UserRow,
  type UserSort,
  type UserStatusFilter,
} from './auth-users-repository.js';

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
export interface UserListPage extends PageInfo {
  readonly users: readonly UserView[];
}

export const USER_PAGE_SIZE = 25;

/** A colleague as other modules show them: name and whether the account can be given work. */
export interface StaffName {
  readonly id: string;
  readonly name: string;
  readonly disabled: boolean;
  readonly locked: boolean;
}

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

/** Emails are compared in one form: Unicode-normalised, trimmed, lowercased. */
export function normaliseEmail(email: string): string {
  return email.normalize('NFKC').trim().toLowerCase();
}

export const emailSchema = z
  .string()
  .trim()
  .max(254, { message: 'field.tooLong' })
  .pipe(z.email({ message: 'field.invalidEmail' }))
  .transform(normaliseEmail);

export function createUsersService(deps: { readonly db: Kysely<DB>; readonly clock: Clock }) {
  const { db, clock } = deps;

  async function withRoles(actor: Actor, rows: readonly UserRow[]): Promise<UserView[]> {
    const roleMap = await createUserRolesRepository(db).rolesOfMany(
      scopeOf(actor),
      rows.map((r) => r.id),
    );
    return rows.map((r) => toUserView(r, roleMap.get(r.id) ?? []));
  }

  async function one(actor: Actor, row: UserRow | undefined): Promise<UserView | undefined> {
    return row === undefined ? undefined : (await withRoles(actor, [row]))[0];
  }

  return {
    /** A user of the actor's org (the actor themself, or anyone for holders of `users.read`). */
    async findUserById(input: { actor: Actor; userId: string }): Promise<UserView | undefined> {
      const self = input.actor.kind === 'user' && input.actor.userId === input.userId;
      if (!self) assertCan(input.actor, 'users.read');
      return one(input.actor, await createUsersRepository(db).findUser(scopeOf(input.actor), input.userId));
    },

    async findUserByEmail(input: { actor: Actor; email: string }): Promise<UserView | undefined> {
      assertCan(input.actor, 'users.read');
      const row = await createUsersRepository(db).findUserByEmail(
        scopeOf(input.actor),
        normaliseEmail(input.email),
      );
      return one(input.actor, row);
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
      assertCan(input.actor, 'users.manage');
      const repo = createUsersRepository(db);
      const scope = scopeOf(input.actor);
      const filter = { role: input.role, status: input.status, now: clock.now().toISOString() };
      const total = await repo.countUsers(scope, filter);
      const { offset, ...at } = pageOf(total, input.page ?? 1, USER_PAGE_SIZE);
      const query: UserListQuery = {
        ...filter,
        sort: input.sort ?? 'name',
        dir: input.dir ?? 'asc',
        limit: USER_PAGE_SIZE,
        offset,
      };
      const users = await withRoles(input.actor, await repo.listUsersPage(scope, query));
      return { users, ...at };
    },

    /**
     * Colleagues by name, for any staff member of the org (who wrote a note, who a conversation
     * is assigned to): names and account state only, never addresses or roles. Sorted by name.
     */
    async listStaffNames(input: { actor: Actor }): Promise<StaffName[]> {
      const now = clock.now().toISOString();
      const rows = await createUsersRepository(db).listUsersPage(scopeOf(input.actor), {
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

    /** The org's users by email, a page at a time. */
    async listUsers(input: { actor: Actor; limit?: number; offset?: number }): Promise<UserView[]> {
      assertCan(input.actor, 'users.read');
      const rows = await createUsersRepository(db).listUsers(scopeOf(input.actor), {
        limit: Math.min(Math.max(input.limit ?? 100, 1), 500),
        offset: Math.max(input.offset ?? 0, 0),
      });
      return withRoles(input.actor, rows);
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
      const rows = await createUsersRepository(db).listUsersPage({ orgId }, query);
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
