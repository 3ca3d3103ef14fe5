/**
 * Server-side sessions (`sessions`). Resolving a request's session runs before any actor exists,
 * so that look-up (by the token's hash) is the one unscoped read; everything else is scoped by
 * org or names one session id the caller already holds.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { OrgScope, Role } from '../../shared/actor.js';
import type { PendingStep, SessionsTable } from './auth-schema.js';
import type { UserRow } from './auth-users-repository.js';

/** What resolving a request's session needs: the session, its user's standing and roles. */
export interface SessionForRequest {
  readonly session: Pick<
    SessionsTable,
    'id' | 'org_id' | 'last_seen_at' | 'expires_at' | 'pending' | 'grant_id'
  >;
  readonly user: Pick<UserRow, 'id' | 'org_id' | 'disabled'>;
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
 * with its user's standing, roles and grant, in one query (one row per role) that is built and
 * compiled once per database; each run only binds the id. Building and compiling the query with
 * Kysely cost more than running it.
 */
export function createSessionLookup(db: Kysely<DB>) {
  const compiled = db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
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
      user: { id: first.user_id, org_id: first.user_org_id, disabled: first.disabled },
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

/** The steps a session still waits for (an unreadable value counts as none). */
export function pendingOf(session: Pick<SessionsTable, 'pending'>): PendingStep[] {
  if (session.pending === '[]') return [];
  try {
    const value: unknown = JSON.parse(session.pending);
    if (!Array.isArray(value)) return [];
    return value.filter(
      (v): v is PendingStep => v === 'totp' || v === 'password_change' || v === 'totp_enrolment',
    );
  } catch {
    return [];
  }
}

export function createSessionsRepository(db: Kysely<DB>) {
  return {
    async insertSession(row: SessionsTable): Promise<void> {
      await db.insertInto('sessions').values(row).execute();
    },

    /** Sign-in steps only: a session by id with its user's account (whatever its org). */
    async findSessionWithUser(
      sessionId: string,
    ): Promise<{ session: SessionsTable; user: UserRow } | undefined> {
      const session = await db
        .selectFrom('sessions')
        .selectAll()
        .where('id', '=', sessionId)
        .executeTakeFirst();
      if (session === undefined) return undefined;
      const user = await db
        .selectFrom('users')
        .selectAll()
        .where('id', '=', session.user_id)
        .executeTakeFirst();
      return user === undefined ? undefined : { session, user };
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

    /** Ends every session of an organisation's own staff (the organisation was suspended). */
    async deleteOrgSessions(scope: OrgScope): Promise<number> {
      const result = await db.deleteFrom('sessions').where('org_id', '=', scope.orgId).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    /** Ends every session entered under a grant (the grant was revoked). */
    async deleteGrantSessions(grantId: string): Promise<number> {
      const result = await db.deleteFrom('sessions').where('grant_id', '=', grantId).executeTakeFirst();
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
  };
}
