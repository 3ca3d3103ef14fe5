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
import { type Actor, type OrgKind, scopeOf } from '../../shared/actor.js';
import { type Clock, HOUR, MINUTE, nowMsOf } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import type { SessionState } from '../../shared/http/access.js';
import { cookieName } from '../../shared/http/cookies.js';
import type { OrgsService } from '../orgs/index.js';
import type { AuditService } from '../security/index.js';
import { type GrantableRole, grantableRoles, type PendingStep } from './auth-schema.js';
import {
  createSessionLookup,
  createSessionsRepository,
  pendingOf,
  type SessionForRequest,
} from './auth-sessions-repository.js';
import type { UserRow } from './auth-users-repository.js';

export const SESSION_COOKIE = 'kluis_session';

/** The session cookie's name: `__Host-kluis_session` when cookies are Secure (ASVS 3.3.1). */
export function sessionCookieName(config: Pick<Config, 'cookieSecure'>): string {
  return cookieName(SESSION_COOKIE, config.cookieSecure);
}

/** `last_seen_at` is written at most this often, so reads stay reads. */
const TOUCH_INTERVAL_MS = MINUTE;
/** How long a password-verified session may wait for its second factor. */
const SECOND_FACTOR_MS = 10 * MINUTE;

export type SessionConfig = Pick<Config, 'sessionIdleMinutes' | 'sessionAbsoluteHours' | 'cookieSecure'>;

export interface SessionDeps {
  db: Kysely<DB>;
  clock: Clock;
  config: SessionConfig;
  orgs: Pick<OrgsService, 'kindOf'>;
  audit: AuditService;
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
 * A looked-up session with the kind of the org it runs in (the tenant's, under a grant), its times
 * parsed once, and the resolution it gives while live: built once per look-up and frozen, so a
 * request answered from the cache parses no date and allocates no actor.
 */
interface FoundSession extends SessionForRequest {
  readonly orgKind: OrgKind;
  readonly expiresAtMs: number;
  readonly lastSeenAtMs: number;
  /** The grant's expiry (`NaN` without a grant, never read then). */
  readonly grantExpiresAtMs: number;
  readonly valid: ValidSession;
}

/**
 * Session look-ups by cookie token, valid for one change stamp: when the stamp moves (any write by
 * anyone, this process included) every entry is dropped, so a logout, a disabled user or a role
 * taken away is seen by the very next request, as without the cache. A look-up is kept only if the
 * stamp did not move while it ran. Expiry and idle time are still judged on every request.
 * Keyed by the token, not its hash, so that a request answered from memory hashes nothing: the
 * tokens of the sessions in use are in this process's memory anyway (every request carries one),
 * and only tokens of live sessions are kept (the database still holds hashes only).
 */
function createSessionCache(
  lookup: (token: string) => Promise<FoundSession | undefined>,
  changeStamp: ChangeStamp | undefined,
) {
  const entries = new Map<string, FoundSession>();
  let filledUnder: string | undefined;
  let hits = 0;
  let misses = 0;
  return {
    /** The session kept for `token` under the current stamp (never anything without a stamp). */
    peek(token: string): FoundSession | undefined {
      const stamp = changeStamp?.();
      if (stamp === undefined) return undefined;
      if (stamp !== filledUnder) {
        entries.clear();
        filledUnder = stamp;
        return undefined;
      }
      const hit = entries.get(token);
      if (hit !== undefined) hits++;
      return hit;
    },
    /** Reads the session and keeps it, if the stamp did not move while it was read. */
    async load(token: string): Promise<FoundSession | undefined> {
      const stamp = changeStamp?.();
      if (stamp === undefined) return lookup(token);
      misses++;
      const found = await lookup(token);
      if (found !== undefined && changeStamp?.() === stamp && filledUnder === stamp) {
        if (entries.size >= SESSION_CACHE_MAX) entries.clear();
        entries.set(token, found);
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
  | ValidSession;

/** A live session's resolution (frozen: the same object answers every request while cached). */
export interface ValidSession {
  readonly kind: 'valid';
  readonly actor: Extract<Actor, { kind: 'user' }>;
  readonly session: SessionState;
}

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

interface IssueOptions {
  replacing?: string | undefined;
  startedAt?: Date;
  /** Operator staff entering a tenant's org under its grant (P8): the session is the tenant's. */
  grant?: { id: string; orgId: string; expiresAt: string } | undefined;
}

function createSessionIssuer(deps: Pick<SessionDeps, 'clock' | 'config'>) {
  const { clock } = deps;
  const absoluteMs = deps.config.sessionAbsoluteHours * HOUR;
  /**
   * Starts a session for `user` inside the caller's transaction, deleting `options.replacing`
   * (the session the browser presented, if any). `options.startedAt` keeps the original sign-in
   * time when a session is rotated, so rotation never extends the absolute timeout. A session
   * still waiting for its second factor lives at most 10 minutes. Exported for other sign-in
   * paths (e.g. a password-reset link).
   */
  async function issue(
    trx: Kysely<DB>,
    user: Pick<UserRow, 'id' | 'org_id'>,
    pending: readonly PendingStep[],
    options: IssueOptions = {},
  ): Promise<IssuedSession> {
    const repo = createSessionsRepository(trx);
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

  return issue;
}

/**
 * Whether a looked-up session may still be used at `now`: unexpired, not idle, its user enabled,
 * and in its user's own org or in a tenant's org under a grant that is still given to this user,
 * for this org, unrevoked and unexpired (P8). Judged at every request, cached look-up or not.
 */
function isLive(found: FoundSession, now: number, idleMs: number): boolean {
  const { session, user, grant } = found;
  const orgAllowed =
    session.grant_id === null
      ? user.org_id === session.org_id
      : grant !== null &&
        grant.granteeUserId === user.id &&
        grant.orgId === session.org_id &&
        grant.revokedAt === null &&
        now < found.grantExpiresAtMs;
  return now < found.expiresAtMs && now - found.lastSeenAtMs < idleMs && user.disabled !== 1 && orgAllowed;
}

const NO_SESSION: ResolvedSession = { kind: 'none' };
const INVALID_SESSION: ResolvedSession = { kind: 'invalid' };

/**
 * The actor and session state of a live session, frozen all the way down: the cache hands the
 * same object to every request of the session until the change stamp moves, so no request can
 * change what the next one sees.
 */
function validSession(found: SessionForRequest, orgKind: OrgKind): ValidSession {
  const { session, user, grant } = found;
  const pending = Object.freeze(pendingOf(session));
  // While a step is pending the session holds no role at all (defence in depth). Under a grant,
  // the grant's roles, never the user's own.
  const roles = pending.length > 0 ? [] : grant !== null ? grantRolesOf(grant.roles) : [...found.roles];
  return Object.freeze({
    kind: 'valid' as const,
    actor: Object.freeze({
      kind: 'user' as const,
      orgId: session.org_id,
      orgKind,
      userId: user.id,
      roles: Object.freeze(roles),
      ...(session.grant_id === null ? {} : { grantId: session.grant_id }),
    }),
    session: Object.freeze({ id: session.id, pending }),
  });
}

/** A looked-up session made ready for the cache: times parsed, resolution built. */
function foundSession(found: SessionForRequest, orgKind: OrgKind): FoundSession {
  return {
    ...found,
    orgKind,
    expiresAtMs: Date.parse(found.session.expires_at),
    lastSeenAtMs: Date.parse(found.session.last_seen_at),
    grantExpiresAtMs: found.grant === null ? Number.NaN : Date.parse(found.grant.expiresAt),
    valid: validSession(found, orgKind),
  };
}

export function createSessionService(deps: SessionDeps) {
  const { db, clock, config, orgs, audit } = deps;
  const idleMs = config.sessionIdleMinutes * MINUTE;
  const issue = createSessionIssuer(deps);
  const lookup = createSessionLookup(db);
  const sessionsRepo = createSessionsRepository(db);
  const cache = createSessionCache(async (token) => {
    const found = await lookup(sessionIdOf(token));
    return found === undefined ? undefined : foundSession(found, await orgs.kindOf(found.session.org_id));
  }, deps.changeStamp);

  /** The resolution of a looked-up session: ended (and deleted), or valid (touched once a minute). */
  function conclude(id: string, found: FoundSession): ResolvedSession | Promise<ResolvedSession> {
    const now = nowMsOf(clock);
    if (!isLive(found, now, idleMs)) return sessionsRepo.deleteSessionById(id).then(() => INVALID_SESSION);
    if (now - found.lastSeenAtMs < TOUCH_INTERVAL_MS) return found.valid;
    return sessionsRepo.touchSession(id, new Date(now).toISOString()).then(() => found.valid);
  }

  /**
   * Resolves the cookie token of a request to its actor and session state: at once when the
   * session is in the cache and nothing needs writing (the common case on SQLite), otherwise a
   * promise (the database is read, or `last_seen_at` written, or an ended session deleted).
   */
  function resolveNow(token: string | undefined): ResolvedSession | Promise<ResolvedSession> {
    if (token === undefined || token === '') return NO_SESSION;
    if (!tokenPattern.test(token)) return INVALID_SESSION;
    const cached = cache.peek(token);
    if (cached !== undefined) return conclude(cached.session.id, cached);
    return cache
      .load(token)
      .then((found) => (found === undefined ? INVALID_SESSION : conclude(found.session.id, found)));
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
      const found = await createSessionsRepository(trx).findSessionWithUser(sessionId);
      if (found === undefined) throw new AppError('ERR_AUTH_SESSION_EXPIRED', { message: 'session ended' });
      return issue(trx, found.user, pending, {
        replacing: sessionId,
        startedAt: new Date(found.session.created_at),
      });
    },

    resolveNow,

    /** Resolves the cookie token of a request to its actor and session state. */
    async resolve(token: string | undefined): Promise<ResolvedSession> {
      return resolveNow(token);
    },

    /** Signs out of one session (POST /logout). */
    async logout(actor: Actor, sessionId: string): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await createSessionsRepository(trx).deleteSessionById(sessionId);
        await audit.append(trx, { actor, action: 'auth.session.logout' });
      });
    },

    /** "Log out everywhere": ends every session of the actor, this one included. */
    async logoutEverywhere(actor: Actor & { kind: 'user' }): Promise<number> {
      return db.transaction().execute(async (trx) => {
        const count = await createSessionsRepository(trx).deleteUserSessions(scopeOf(actor), actor.userId);
        await audit.append(trx, {
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
      const rows = await sessionsRepo.listUserSessions(scopeOf(actor), actor.userId);
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
      return sessionsRepo.deleteExpiredSessions(
        new Date(now).toISOString(),
        new Date(now - idleMs).toISOString(),
      );
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
