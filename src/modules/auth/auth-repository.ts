/**
 * The auth module's tables. Queries on users, roles, sessions and recovery codes are scoped by
 * org, except the few that authentication itself needs before an actor exists (finding the
 * accounts for an email at login, resolving a session from its cookie): those are named
 * `…ForLogin` / `…ForSession` and used only by the login and session services.
 */
import { type Kysely, sql } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { OrgKind, OrgScope, Role } from '../../shared/actor.js';
import type {
  ApiKeysTable,
  PasswordResetTokensTable,
  PendingStep,
  SessionsTable,
  UsersTable,
} from './auth-schema.js';

export type UserRow = UsersTable;

export interface UserWithOrg extends UserRow {
  org_kind: OrgKind;
  org_slug: string;
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

export type ApiKeyRow = ApiKeysTable;

export interface ApiKeyForRequest extends ApiKeyRow {
  org_kind: OrgKind;
  creator_disabled: number;
}

export type ResetTokenRow = PasswordResetTokensTable;

export interface SessionWithUser {
  session: SessionsTable;
  user: UserWithOrg;
}

/** What resolving a request's session needs: the session, its user's standing and roles. */
export interface SessionForRequest {
  readonly session: Pick<
    SessionsTable,
    'id' | 'org_id' | 'last_seen_at' | 'expires_at' | 'pending' | 'grant_id'
  >;
  /** `org_kind` is the kind of the session's org (the tenant's, under a grant). */
  readonly user: Pick<UserWithOrg, 'id' | 'org_id' | 'disabled' | 'org_kind'>;
  /** The user's roles in their own org, sorted. */
  readonly roles: Role[];
  /** The grant a session of operator staff in a tenant's org runs under (P8). */
  readonly grant: {
    readonly orgId: string;
    readonly granteeUserId: string;
    readonly roles: string;
    readonly expiresAt: string;
    readonly revokedAt: string | null;
  } | null;
}

/** Stands in for the session id while the lookup is compiled; replaced at every run. */
const SESSION_ID_PARAMETER = Symbol('session id');

/**
 * Session resolution only (every request with a session cookie): the session for a token hash
 * with its user's standing, org kind and roles, in one query (one row per role) that is built
 * and compiled once per database; each run only binds the id. Building and compiling the query
 * with Kysely cost more than running it.
 */
export function createSessionLookup(db: Kysely<DB>) {
  const compiled = db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .innerJoin('orgs', 'orgs.id', 'sessions.org_id')
    .leftJoin('operator_grants', 'operator_grants.id', 'sessions.grant_id')
    .leftJoin('user_roles', (join) =>
      join.onRef('user_roles.user_id', '=', 'users.id').onRef('user_roles.org_id', '=', 'users.org_id'),
    )
    .select([
      'sessions.id as session_id',
      'sessions.org_id as session_org_id',
      'sessions.last_seen_at',
      'sessions.expires_at',
      'sessions.pending',
      'sessions.grant_id',
      'operator_grants.org_id as grant_org_id',
      'operator_grants.grantee_user_id as grant_grantee_user_id',
      'operator_grants.roles as grant_roles',
      'operator_grants.expires_at as grant_expires_at',
      'operator_grants.revoked_at as grant_revoked_at',
      'users.id as user_id',
      'users.org_id as user_org_id',
      'users.disabled',
      'orgs.kind as org_kind',
      'user_roles.role',
    ])
    // The symbol is swapped for the id before each run (see below); it never reaches the driver.
    .where('sessions.id', '=', SESSION_ID_PARAMETER as unknown as string)
    .orderBy('user_roles.role')
    .compile();
  if (compiled.parameters.filter((p) => p === SESSION_ID_PARAMETER).length !== 1) {
    throw new Error('session lookup: expected exactly one session id parameter');
  }

  return async function findSessionForRequest(sessionId: string): Promise<SessionForRequest | undefined> {
    // The same compiled query with the id bound: Kysely runs a compiled query as often as asked.
    const parameters = compiled.parameters.map((p) => (p === SESSION_ID_PARAMETER ? sessionId : p));
    const bound: typeof compiled = { ...compiled, parameters };
    const { rows } = await db.executeQuery(bound);
    const first = rows[0];
    if (first === undefined) return undefined;
    const roles: Role[] = [];
    for (const row of rows) if (row.role !== null) roles.push(row.role);
    return {
      session: {
        id: first.session_id,
        org_id: first.session_org_id,
        last_seen_at: first.last_seen_at,
        expires_at: first.expires_at,
        pending: first.pending,
        grant_id: first.grant_id,
      },
      user: {
        id: first.user_id,
        org_id: first.user_org_id,
        disabled: first.disabled,
        org_kind: first.org_kind,
      },
      roles,
      grant:
        first.grant_id === null ||
        first.grant_org_id === null ||
        first.grant_grantee_user_id === null ||
        first.grant_roles === null ||
        first.grant_expires_at === null
          ? null
          : {
              orgId: first.grant_org_id,
              granteeUserId: first.grant_grantee_user_id,
              roles: first.grant_roles,
              expiresAt: first.grant_expires_at,
              revokedAt: first.grant_revoked_at,
            },
    };
  };
}

export type SessionLookup = ReturnType<typeof createSessionLookup>;

function parsePending(text: string): PendingStep[] {
  if (text === '[]') return [];
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value)) return [];
    return value.filter(
      (v): v is PendingStep => v === 'totp' || v === 'password_change' || v === 'totp_enrolment',
    );
  } catch {
    return [];
  }
}

export function pendingOf(session: Pick<SessionsTable, 'pending'>): PendingStep[] {
  return parsePending(session.pending);
}

const userColumns = [
  'users.id',
  'users.org_id',
  'users.email',
  'users.display_name',
  'users.password_hash',
  'users.must_change_password',
  'users.disabled',
  'users.totp_secret',
  'users.totp_enabled',
  'users.totp_last_step',
  'users.failed_logins',
  'users.lockout_count',
  'users.locked_until',
  'users.password_changed_at',
  'users.created_at',
  'users.updated_at',
  'users.last_login_at',
  'users.locale',
] as const;

export function createAuthRepository(db: Kysely<DB>) {
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
      if (userRoles.length > 0) {
        await db
          .insertInto('user_roles')
          .values(userRoles.map((role) => ({ user_id: row.id, org_id: row.org_id, role })))
          .execute();
      }
    },

    findUser(scope: OrgScope, userId: string): Promise<UserRow | undefined> {
      return db
        .selectFrom('users')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .where('id', '=', userId)
        .executeTakeFirst();
    },

    findUserByEmail(scope: OrgScope, email: string): Promise<UserRow | undefined> {
      return db
        .selectFrom('users')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .where('email', '=', email)
        .executeTakeFirst();
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

    /** Login only: every account with this email, across orgs (optionally narrowed to one org slug). */
    findUsersForLogin(email: string, orgSlug: string | undefined): Promise<UserWithOrg[]> {
      let query = db
        .selectFrom('users')
        .innerJoin('orgs', 'orgs.id', 'users.org_id')
        .select([...userColumns, 'orgs.kind as org_kind', 'orgs.slug as org_slug'])
        .where('users.email', '=', email);
      if (orgSlug !== undefined) query = query.where('orgs.slug', '=', orgSlug);
      return query.limit(10).execute();
    },

    /** Login only: the account behind a session that is half-way through signing in. */
    findUserForLogin(userId: string): Promise<UserWithOrg | undefined> {
      return db
        .selectFrom('users')
        .innerJoin('orgs', 'orgs.id', 'users.org_id')
        .select([...userColumns, 'orgs.kind as org_kind', 'orgs.slug as org_slug'])
        .where('users.id', '=', userId)
        .executeTakeFirst();
    },

    async updateUser(scope: OrgScope, userId: string, patch: UserPatch): Promise<void> {
      await db
        .updateTable('users')
        .set(patch)
        .where('org_id', '=', scope.orgId)
        .where('id', '=', userId)
        .execute();
    },

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

    // --- sessions ---------------------------------------------------------------------------

    async insertSession(row: SessionsTable): Promise<void> {
      await db.insertInto('sessions').values(row).execute();
    },

    /** Session resolution only: the session for a token hash, with its user and org. */
    async findSessionForRequest(sessionId: string): Promise<SessionWithUser | undefined> {
      const row = await db
        .selectFrom('sessions')
        .innerJoin('users', 'users.id', 'sessions.user_id')
        .innerJoin('orgs', 'orgs.id', 'users.org_id')
        .select([
          ...userColumns,
          'orgs.kind as org_kind',
          'orgs.slug as org_slug',
          'sessions.id as s_id',
          'sessions.user_id as s_user_id',
          'sessions.org_id as s_org_id',
          'sessions.created_at as s_created_at',
          'sessions.last_seen_at as s_last_seen_at',
          'sessions.expires_at as s_expires_at',
          'sessions.pending as s_pending',
          'sessions.grant_id as s_grant_id',
        ])
        .where('sessions.id', '=', sessionId)
        .executeTakeFirst();
      if (row === undefined) return undefined;
      const {
        s_id,
        s_user_id,
        s_org_id,
        s_created_at,
        s_last_seen_at,
        s_expires_at,
        s_pending,
        s_grant_id,
        ...user
      } = row;
      return {
        session: {
          id: s_id,
          user_id: s_user_id,
          org_id: s_org_id,
          created_at: s_created_at,
          last_seen_at: s_last_seen_at,
          expires_at: s_expires_at,
          pending: s_pending,
          grant_id: s_grant_id,
        },
        user,
      };
    },

    findOwnSession(scope: OrgScope, userId: string, sessionId: string): Promise<SessionsTable | undefined> {
      return db
        .selectFrom('sessions')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .where('user_id', '=', userId)
        .where('id', '=', sessionId)
        .executeTakeFirst();
    },

    async touchSession(sessionId: string, now: string): Promise<void> {
      await db.updateTable('sessions').set({ last_seen_at: now }).where('id', '=', sessionId).execute();
    },

    async deleteSessionById(sessionId: string): Promise<void> {
      await db.deleteFrom('sessions').where('id', '=', sessionId).execute();
    },

    async deleteUserSessions(scope: OrgScope, userId: string, exceptId?: string): Promise<number> {
      let query = db.deleteFrom('sessions').where('org_id', '=', scope.orgId).where('user_id', '=', userId);
      if (exceptId !== undefined) query = query.where('id', '!=', exceptId);
      const result = await query.executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    listUserSessions(scope: OrgScope, userId: string): Promise<SessionsTable[]> {
      return db
        .selectFrom('sessions')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .where('user_id', '=', userId)
        .orderBy('last_seen_at', 'desc')
        .execute();
    },

    /** Sessions past their absolute expiry (`now`) or idle since `idleBefore`. */
    async deleteExpiredSessions(now: string, idleBefore: string): Promise<number> {
      const result = await db
        .deleteFrom('sessions')
        .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<=', idleBefore)]))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    // --- recovery codes ---------------------------------------------------------------------

    async replaceRecoveryCodes(
      scope: OrgScope,
      userId: string,
      hashes: readonly string[],
      now: string,
    ): Promise<void> {
      await db
        .deleteFrom('recovery_codes')
        .where('org_id', '=', scope.orgId)
        .where('user_id', '=', userId)
        .execute();
      if (hashes.length > 0) {
        await db
          .insertInto('recovery_codes')
          .values(
            hashes.map((code_hash) => ({
              user_id: userId,
              org_id: scope.orgId,
              code_hash,
              created_at: now,
              used_at: null,
            })),
          )
          .execute();
      }
    },

    /** Marks an unused code as used; false when it does not exist or was used already. */
    async useRecoveryCode(scope: OrgScope, userId: string, codeHash: string, now: string): Promise<boolean> {
      const result = await db
        .updateTable('recovery_codes')
        .set({ used_at: now })
        .where('org_id', '=', scope.orgId)
        .where('user_id', '=', userId)
        .where('code_hash', '=', codeHash)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async countUnusedRecoveryCodes(scope: OrgScope, userId: string): Promise<number> {
      const row = await db
        .selectFrom('recovery_codes')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('org_id', '=', scope.orgId)
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },

    // --- API keys ---------------------------------------------------------------------------

    async insertApiKey(row: ApiKeyRow): Promise<void> {
      await db.insertInto('api_keys').values(row).execute();
    },

    listApiKeys(scope: OrgScope): Promise<ApiKeyRow[]> {
      return db
        .selectFrom('api_keys')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(500)
        .execute();
    },

    findApiKey(scope: OrgScope, keyId: string): Promise<ApiKeyRow | undefined> {
      return db
        .selectFrom('api_keys')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .where('id', '=', keyId)
        .executeTakeFirst();
    },

    async revokeApiKey(scope: OrgScope, keyId: string, now: string): Promise<boolean> {
      const result = await db
        .updateTable('api_keys')
        .set({ revoked_at: now })
        .where('org_id', '=', scope.orgId)
        .where('id', '=', keyId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /** Request authentication only: the key with this id, its org's kind and its creator's state. */
    findApiKeyForRequest(keyId: string): Promise<ApiKeyForRequest | undefined> {
      return db
        .selectFrom('api_keys')
        .innerJoin('orgs', 'orgs.id', 'api_keys.org_id')
        .innerJoin('users', (join) =>
          join.onRef('users.id', '=', 'api_keys.created_by').onRef('users.org_id', '=', 'api_keys.org_id'),
        )
        .selectAll('api_keys')
        .select(['orgs.kind as org_kind', 'users.disabled as creator_disabled'])
        .where('api_keys.id', '=', keyId)
        .executeTakeFirst();
    },

    /** Records use, at most once per `since` (the update is skipped when a newer use is on record). */
    async touchApiKey(keyId: string, now: string, since: string): Promise<void> {
      await db
        .updateTable('api_keys')
        .set({ last_used_at: now })
        .where('id', '=', keyId)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', since)]))
        .execute();
    },

    // --- password reset tokens --------------------------------------------------------------

    async insertResetToken(row: ResetTokenRow): Promise<void> {
      await db.insertInto('password_reset_tokens').values(row).execute();
    },

    /** Reset only: the token with this hash (the caller checks expiry and use). */
    findResetTokenByHash(tokenHash: string): Promise<ResetTokenRow | undefined> {
      return db
        .selectFrom('password_reset_tokens')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
    },

    /** Marks a live token used; false when it was used already or has expired (single use, race-safe). */
    async claimResetToken(scope: OrgScope, tokenId: string, now: string): Promise<boolean> {
      const result = await db
        .updateTable('password_reset_tokens')
        .set({ used_at: now })
        .where('org_id', '=', scope.orgId)
        .where('id', '=', tokenId)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /** Ends every outstanding token of a user (marks them used); returns how many. */
    async invalidateResetTokens(scope: OrgScope, userId: string, now: string): Promise<number> {
      const result = await db
        .updateTable('password_reset_tokens')
        .set({ used_at: now })
        .where('org_id', '=', scope.orgId)
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    /** Housekeeping: tokens that expired before `before`. */
    async deleteResetTokensExpiredBefore(before: string): Promise<number> {
      const result = await db
        .deleteFrom('password_reset_tokens')
        .where('expires_at', '<=', before)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    // --- throttling -------------------------------------------------------------------------

    async recordAttempt(key: string, at: string): Promise<void> {
      await db.insertInto('login_attempts').values({ key, at }).execute();
    },

    async countAttempts(key: string, since: string): Promise<number> {
      const row = await db
        .selectFrom('login_attempts')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('key', '=', key)
        .where('at', '>', since)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },

    async purgeAttempts(before: string): Promise<number> {
      const result = await db.deleteFrom('login_attempts').where('at', '<=', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

export type AuthRepository = ReturnType<typeof createAuthRepository>;
