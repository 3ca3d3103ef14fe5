/**
 * Server-side sessions (ASVS V7). The cookie holds an opaque 256-bit random token; the database
 * holds only its SHA-256, so the table cannot be replayed as cookies. A session ends after
 * `sessionIdleMinutes` without use (sliding) and `sessionAbsoluteHours` after sign-in, whichever
 * comes first. A token that matches no live session is never adopted: sign-in always mints a new
 * one (no session fixation), and so does every step that raises privilege.
 */
import { hash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Config } from '../../config/env.js';
import type { ChangeStamp } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import { type Actor, scopeOf } from '../../shared/actor.js';
import { type Clock, HOUR, MINUTE } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import type { SessionState } from '../../shared/http/access.js';
import { appendAudit } from '../security/audit-chain.js';
import {
  createAuthRepository,
  createSessionLookup,
  pendingOf,
  type SessionForRequest,
  type UserWithOrg,
} from './auth-repository.js';
import { type GrantableRole, grantableRoles, type PendingStep } from './auth-schema.js';

export const SESSION_COOKIE = 'kluis_session';

/** `last_seen_at` is written at most this often, so reads stay reads. */
const TOUCH_INTERVAL_MS = MINUTE;
/** How long a password-verified session may wait for its second factor. */
const SECOND_FACTOR_MS = 10 * MINUTE;

export type SessionConfig = Pick<Config, 'sessionIdleMinutes' | 'sessionAbsoluteHours' | 'cookieSecure'>;

export interface SessionDeps {
  db: Kysely<DB>;
  clock: Clock;
  config: SessionConfig;
  /**
   * The database's change stamp. With one (SQLite), looked-up sessions are kept in memory while
   * the stamp stays the same, so a request costs no query until anything is written; without one
   * (PostgreSQL) every request reads the database.
   */
  changeStamp?: ChangeStamp | undefined;
}

/** Looked-up sessions kept at most; beyond, the cache starts over (it refills in one query each). */
const SESSION_CACHE_MAX = 10_000;

/**
 * Session look-ups by id, valid for one change stamp: when the stamp moves (any write by anyone,
 * this process included) every entry is dropped, so a logout, a disabled user or a role taken
 * away is seen by the very next request, as without the cache. A look-up is kept only if the
 * stamp did not move while it ran. Expiry and idle time are still judged on every request.
 */
function createSessionCache(
  lookup: (id: string) => Promise<SessionForRequest | undefined>,
  changeStamp: ChangeStamp | undefined,
) {
  const entries = new Map<string, SessionForRequest>();
  let filledUnder: string | undefined;
  let hits = 0;
  let misses = 0;
  return {
    async find(id: string): Promise<SessionForRequest | undefined> {
      const stamp = changeStamp?.();
      if (stamp === undefined) return lookup(id);
      if (stamp !== filledUnder) {
        entries.clear();
        filledUnder = stamp;
      }
      const hit = entries.get(id);
      if (hit !== undefined) {
        hits++;
        return hit;
      }
      misses++;
      const found = await lookup(id);
      if (found !== undefined && changeStamp?.() === stamp && filledUnder === stamp) {
        if (entries.size >= SESSION_CACHE_MAX) entries.clear();
        entries.set(id, found);
      }
      return found;
    },
    stats(): { hits: number; misses: number; size: number } {
      return { hits, misses, size: entries.size };
    },
  };
}

export interface IssuedSession {
  /** The cookie value: shown to the browser once, never stored. */
  readonly token: string;
  readonly id: string;
  readonly expiresAt: Date;
  readonly pending: readonly PendingStep[];
}

export type ResolvedSession =
  | { readonly kind: 'none' }
  /** A cookie was presented but names no live session: the caller clears it. */
  | { readonly kind: 'invalid' }
  | {
      readonly kind: 'valid';
      readonly actor: Extract<Actor, { kind: 'user' }>;
      readonly session: SessionState;
      readonly expiresAt: Date;
    };

export interface SessionSummary {
  readonly id: string;
  readonly createdAt: string;
  readonly lastSeenAt: string;
  readonly expiresAt: string;
  readonly current: boolean;
}

/** The roles a grant gives (only grantable ones, whatever the column holds). */
export function grantRolesOf(json: string): GrantableRole[] {
  try {
    const value: unknown = JSON.parse(json);
    if (!Array.isArray(value)) return [];
    return grantableRoles.filter((r) => value.includes(r));
  } catch {
    return [];
  }
}

/** SHA-256 hex of the token (UTF-8); the one-shot `hash` costs a third of a `createHash` chain. */
export function sessionIdOf(token: string): string {
  return hash('sha256', token, 'hex');
}

const tokenPattern = /^[A-Za-z0-9_-]{43}$/;

/** Cookie attributes for the session cookie (httpOnly, SameSite=Lax, Secure per configuration). */
export function sessionCookieOptions(config: Pick<Config, 'cookieSecure'>, expiresAt?: Date) {
  return {
    path: '/',
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: config.cookieSecure,
    ...(expiresAt === undefined ? {} : { expires: expiresAt }),
  };
}

export function createSessionService(deps: SessionDeps) {
  const { db, clock, config } = deps;
  const idleMs = config.sessionIdleMinutes * MINUTE;
  const absoluteMs = config.sessionAbsoluteHours * HOUR;
  const cache = createSessionCache(createSessionLookup(db), deps.changeStamp);

  /**
   * Starts a session for `user` inside the caller's transaction, deleting `options.replacing`
   * (the session the browser presented, if any). `options.startedAt` keeps the original sign-in
   * time when a session is rotated, so rotation never extends the absolute timeout. A session
   * still waiting for its second factor lives at most 10 minutes. Exported for other sign-in
   * paths (e.g. a password-reset link).
   */
  async function issue(
    trx: Kysely<DB>,
    user: Pick<UserWithOrg, 'id' | 'org_id'>,
    pending: readonly PendingStep[],
    options: {
      replacing?: string | undefined;
      startedAt?: Date;
      /** Operator staff entering a tenant's org under its grant (P8): the session is the tenant's. */
      grant?: { id: string; orgId: string; expiresAt: string } | undefined;
    } = {},
  ): Promise<IssuedSession> {
    const repo = createAuthRepository(trx);
    if (options.replacing !== undefined) await repo.deleteSessionById(options.replacing);
    const now = clock.now();
    const started = options.startedAt ?? now;
    let expires = started.getTime() + absoluteMs;
    if (pending.includes('totp')) expires = Math.min(expires, now.getTime() + SECOND_FACTOR_MS);
    if (options.grant !== undefined) expires = Math.min(expires, Date.parse(options.grant.expiresAt));
    const token = randomBytes(32).toString('base64url');
    const id = sessionIdOf(token);
    await repo.insertSession({
      id,
      user_id: user.id,
      org_id: options.grant?.orgId ?? user.org_id,
      created_at: started.toISOString(),
      last_seen_at: now.toISOString(),
      expires_at: new Date(expires).toISOString(),
      pending: JSON.stringify(pending),
      grant_id: options.grant?.id ?? null,
    });
    return { token, id, expiresAt: new Date(expires), pending };
  }

  return {
    issue,

    /** Hits and misses of the session cache since start (health page, tests). */
    cacheStats: cache.stats,

    /**
     * Replaces a session by a fresh token with the same owner and sign-in time and the given
     * pending steps (after a second factor, a password change, TOTP enrolment).
     */
    async rotate(
      trx: Kysely<DB>,
      sessionId: string,
      pending: readonly PendingStep[],
    ): Promise<IssuedSession> {
      const repo = createAuthRepository(trx);
      const found = await repo.findSessionForRequest(sessionId);
      if (found === undefined) throw new AppError('ERR_AUTH_SESSION_EXPIRED', { message: 'session ended' });
      return issue(trx, found.user, pending, {
        replacing: sessionId,
        startedAt: new Date(found.session.created_at),
      });
    },

    /** Resolves the cookie token of a request to its actor and session state. */
    async resolve(token: string | undefined): Promise<ResolvedSession> {
      if (token === undefined || token === '') return { kind: 'none' };
      if (!tokenPattern.test(token)) return { kind: 'invalid' };
      const id = sessionIdOf(token);
      const found = await cache.find(id);
      if (found === undefined) return { kind: 'invalid' };
      const { session, user, grant } = found;
      const now = clock.now().getTime();
      const lastSeen = Date.parse(session.last_seen_at);
      const expiresAt = Date.parse(session.expires_at);
      // A session is in its user's own org, or in a tenant's org under a grant that is still
      // given to this user, for this org, unrevoked and unexpired (P8): checked at every request.
      const orgAllowed =
        session.grant_id === null
          ? user.org_id === session.org_id
          : grant !== null &&
            grant.granteeUserId === user.id &&
            grant.orgId === session.org_id &&
            grant.revokedAt === null &&
            now < Date.parse(grant.expiresAt);
      const expired = now >= expiresAt || now - lastSeen >= idleMs || user.disabled === 1 || !orgAllowed;
      if (expired) {
        await createAuthRepository(db).deleteSessionById(id);
        return { kind: 'invalid' };
      }
      if (now - lastSeen >= TOUCH_INTERVAL_MS) {
        await createAuthRepository(db).touchSession(id, new Date(now).toISOString());
      }
      const pending = pendingOf(session);
      return {
        kind: 'valid',
        actor: {
          kind: 'user',
          orgId: session.org_id,
          orgKind: user.org_kind,
          userId: user.id,
          // While a step is pending the session holds no role at all (defence in depth). Under a
          // grant, the grant's roles, never the user's own. A copy: the looked-up session may be
          // shared with later requests (session cache).
          roles: pending.length > 0 ? [] : grant !== null ? grantRolesOf(grant.roles) : [...found.roles],
          ...(session.grant_id === null ? {} : { grantId: session.grant_id }),
        },
        session: { id, pending },
        expiresAt: new Date(expiresAt),
      };
    },

    /** Signs out of one session (POST /logout). */
    async logout(actor: Actor, sessionId: string): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await createAuthRepository(trx).deleteSessionById(sessionId);
        await appendAudit(trx, clock, { actor, action: 'auth.session.logout' });
      });
    },

    /** "Log out everywhere": ends every session of the actor, this one included. */
    async logoutEverywhere(actor: Actor & { kind: 'user' }): Promise<number> {
      return db.transaction().execute(async (trx) => {
        const count = await createAuthRepository(trx).deleteUserSessions(scopeOf(actor), actor.userId);
        await appendAudit(trx, clock, {
          actor,
          action: 'auth.session.logout_all',
          target: { type: 'user', id: actor.userId },
          meta: { sessions: count },
        });
        return count;
      });
    },

    /** The actor's own sessions, newest use first. */
    async listOwn(actor: Actor & { kind: 'user' }, currentId: string | undefined): Promise<SessionSummary[]> {
      const now = clock.now().getTime();
      const rows = await createAuthRepository(db).listUserSessions(scopeOf(actor), actor.userId);
      return rows
        .filter(
          (r) => new Date(r.expires_at).getTime() > now && now - new Date(r.last_seen_at).getTime() < idleMs,
        )
        .map((r) => ({
          id: r.id,
          createdAt: r.created_at,
          lastSeenAt: r.last_seen_at,
          expiresAt: r.expires_at,
          current: r.id === currentId,
        }));
    },

    /** Housekeeping for a scheduled job: deletes sessions past their absolute or idle limit. */
    async deleteExpired(): Promise<number> {
      const now = clock.now().getTime();
      const repo = createAuthRepository(db);
      return repo.deleteExpiredSessions(new Date(now).toISOString(), new Date(now - idleMs).toISOString());
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
