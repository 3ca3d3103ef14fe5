/**
 * Signing in (P11; ASVS 6.3.1 brute force, 6.3.3 MFA, 6.5 one-time codes). Throttling is
 * checked before any password is hashed: per IP (failures across accounts in a sliding window)
 * and per account (consecutive failures lock the account, each lock twice as long as the last).
 * A locked account gets the same answer whether the password was right or not; an unknown email
 * costs the same hashing as a real one and is "locked" after as many failures, so neither the
 * answer nor the time tells whether an account exists.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Config } from '../../config/env.js';
import type { Keyring } from '../../crypto/keyring.js';
import type { DB } from '../../db/schema.js';
import type { Actor } from '../../shared/actor.js';
import { type Clock, MINUTE } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import type { Locale } from '../../shared/i18n/messages.js';
import { appendAudit } from '../security/audit-chain.js';
import type { PasswordHasher } from './auth-passwords.js';
import { createAuthRepository, pendingOf, type UserWithOrg } from './auth-repository.js';
import type { PendingStep } from './auth-schema.js';
import type { IssuedSession, SessionService } from './auth-sessions.js';
import { hashRecoveryCode, looksLikeRecoveryCode, matchTotp } from './auth-totp.js';

export interface ThrottlePolicy {
  /** Consecutive failures (password or second factor) that lock an account. */
  readonly accountMaxFailures: number;
  /** First lock; each further lock doubles, up to `accountMaxLockMinutes`. */
  readonly accountLockMinutes: number;
  readonly accountMaxLockMinutes: number;
  /** Failures from one IP address, across accounts, within `windowMinutes`. */
  readonly ipMaxFailures: number;
  readonly windowMinutes: number;
}

export const defaultThrottlePolicy: ThrottlePolicy = {
  accountMaxFailures: 5,
  accountLockMinutes: 15,
  accountMaxLockMinutes: 24 * 60,
  ipMaxFailures: 20,
  windowMinutes: 15,
};

export interface LoginDeps {
  db: Kysely<DB>;
  keyring: Keyring;
  clock: Clock;
  config: Pick<Config, 'requireTotpForOperator'>;
  hasher: PasswordHasher;
  sessions: SessionService;
  throttle: ThrottlePolicy;
}

export interface PasswordLoginInput {
  readonly email: string;
  readonly password: string;
  /** Only needed when the email belongs to accounts in several organisations. */
  readonly orgSlug?: string | undefined;
  readonly ip: string;
  /** The session id the browser presented, if any: it is ended, never reused. */
  readonly presentedSessionId?: string | undefined;
  /** The language of the sign-in page, remembered for mail to the user (password reset). */
  readonly locale?: Locale | undefined;
}

export type PasswordLoginResult =
  | { readonly kind: 'signed_in'; readonly session: IssuedSession; readonly userId: string }
  /** The email is known in several organisations: ask which one (nothing was checked or counted). */
  | { readonly kind: 'org_required' };

export interface SecondFactorInput {
  readonly sessionId: string;
  readonly code: string;
  readonly ip: string;
}

export function normaliseEmail(email: string): string {
  return email.normalize('NFKC').trim().toLowerCase();
}

function accountKey(email: string, orgSlug: string | undefined): string {
  const digest = createHash('sha256')
    .update(`kluis/login-account/v1|${orgSlug ?? ''}|${email}`)
    .digest('hex');
  return `acct:${digest.slice(0, 32)}`;
}

const ipKey = (ip: string) => `ip:${ip}`;

const anonymous = (orgId: string | null): { kind: 'anonymous'; orgId: string | null } => ({
  kind: 'anonymous',
  orgId,
});

function userActor(user: UserWithOrg): Actor {
  return { kind: 'user', orgId: user.org_id, orgKind: user.org_kind, userId: user.id, roles: [] };
}

export function createLoginService(deps: LoginDeps) {
  const { db, clock, hasher, sessions, throttle, keyring } = deps;
  const windowMs = throttle.windowMinutes * MINUTE;

  const isLocked = (user: UserWithOrg, now: Date) =>
    user.locked_until !== null && new Date(user.locked_until).getTime() > now.getTime();

  async function assertIpAllowed(ip: string, now: Date): Promise<void> {
    const since = new Date(now.getTime() - windowMs).toISOString();
    const failures = await createAuthRepository(db).countAttempts(ipKey(ip), since);
    if (failures >= throttle.ipMaxFailures) {
      throw new AppError('ERR_RATE_LIMITED', { message: 'too many failed sign-ins from this address' });
    }
  }

  /** The steps a freshly password-verified session must complete, in order. */
  function pendingAfterPassword(user: UserWithOrg): PendingStep[] {
    const steps: PendingStep[] = [];
    if (user.totp_enabled === 1) steps.push('totp');
    if (user.must_change_password === 1) steps.push('password_change');
    if (user.totp_enabled !== 1 && user.org_kind === 'operator' && deps.config.requireTotpForOperator) {
      steps.push('totp_enrolment');
    }
    return steps;
  }

  /**
   * Counts a failure against `user` (locking it when the limit is reached) and the IP address,
   * and audits it. Returns true when this failure locked the account.
   */
  async function recordUserFailure(
    trx: Kysely<DB>,
    user: UserWithOrg,
    ip: string,
    reason: string,
    stage: 'password' | 'second_factor',
  ): Promise<boolean> {
    const repo = createAuthRepository(trx);
    const now = clock.now();
    const nowIso = now.toISOString();
    const scope = { orgId: user.org_id };
    let locked = false;
    if (reason !== 'locked' && reason !== 'disabled') {
      const counts = await repo.incrementFailedLogins(scope, user.id, nowIso);
      if (counts.failedLogins >= throttle.accountMaxFailures) {
        const minutes = Math.min(
          throttle.accountLockMinutes * 2 ** counts.lockoutCount,
          throttle.accountMaxLockMinutes,
        );
        await repo.updateUser(scope, user.id, {
          failed_logins: 0,
          lockout_count: counts.lockoutCount + 1,
          locked_until: new Date(now.getTime() + minutes * MINUTE).toISOString(),
          updated_at: nowIso,
        });
        await appendAudit(trx, clock, {
          actor: anonymous(user.org_id),
          action: 'auth.account.locked',
          target: { type: 'user', id: user.id },
          meta: { minutes, lockouts: counts.lockoutCount + 1 },
        });
        locked = true;
      }
    }
    await repo.recordAttempt(ipKey(ip), nowIso);
    await repo.purgeAttempts(new Date(now.getTime() - 2 * windowMs).toISOString());
    await appendAudit(trx, clock, {
      actor: anonymous(user.org_id),
      action: 'auth.login.failure',
      target: { type: 'user', id: user.id },
      meta: { reason, stage },
    });
    return locked;
  }

  /** An unknown email: count it like an account would be counted, audit without any identifier. */
  async function recordUnknownFailure(key: string, ip: string, reason: string): Promise<number> {
    return db.transaction().execute(async (trx) => {
      const repo = createAuthRepository(trx);
      const now = clock.now();
      await repo.recordAttempt(key, now.toISOString());
      await repo.recordAttempt(ipKey(ip), now.toISOString());
      await repo.purgeAttempts(new Date(now.getTime() - 2 * windowMs).toISOString());
      await appendAudit(trx, clock, {
        actor: anonymous(null),
        action: 'auth.login.failure',
        meta: { reason, stage: 'password' },
      });
      return repo.countAttempts(key, new Date(now.getTime() - windowMs).toISOString());
    });
  }

  return {
    /** Checks email and password; on success starts a session (with its pending steps). */
    async loginWithPassword(input: PasswordLoginInput): Promise<PasswordLoginResult> {
      const now = clock.now();
      await assertIpAllowed(input.ip, now);
      const email = normaliseEmail(input.email);
      const orgSlug = input.orgSlug?.trim().toLowerCase() || undefined;
      const repo = createAuthRepository(db);
      const candidates = await repo.findUsersForLogin(email, orgSlug);
      if (candidates.length > 1) return { kind: 'org_required' };
      const user = candidates[0];

      if (user === undefined) {
        const key = accountKey(email, orgSlug);
        const since = new Date(now.getTime() - windowMs).toISOString();
        if ((await repo.countAttempts(key, since)) >= throttle.accountMaxFailures) {
          await recordUnknownFailure(key, input.ip, 'locked');
          throw new AppError('ERR_AUTH_LOCKED');
        }
        await hasher.verifyDummy(input.password);
        const failures = await recordUnknownFailure(key, input.ip, 'unknown_account');
        throw new AppError(
          failures >= throttle.accountMaxFailures ? 'ERR_AUTH_LOCKED' : 'ERR_AUTH_INVALID_CREDENTIALS',
        );
      }

      if (isLocked(user, now)) {
        await db.transaction().execute((trx) => recordUserFailure(trx, user, input.ip, 'locked', 'password'));
        throw new AppError('ERR_AUTH_LOCKED');
      }

      const ok = await hasher.verify(user.password_hash, input.password);
      if (!ok || user.disabled === 1) {
        const reason = user.disabled === 1 ? 'disabled' : 'bad_password';
        const locked = await db
          .transaction()
          .execute((trx) => recordUserFailure(trx, user, input.ip, reason, 'password'));
        throw new AppError(locked ? 'ERR_AUTH_LOCKED' : 'ERR_AUTH_INVALID_CREDENTIALS');
      }

      const newHash = hasher.needsRehash(user.password_hash) ? await hasher.hash(input.password) : undefined;
      const pending = pendingAfterPassword(user);
      const session = await db.transaction().execute(async (trx) => {
        const nowIso = clock.now().toISOString();
        // The failure count is only cleared once every factor has been verified: otherwise an
        // attacker who knows the password could retry the second factor without limit.
        const localeChanged = input.locale !== undefined && input.locale !== user.locale;
        if (!pending.includes('totp') || newHash !== undefined || localeChanged) {
          await createAuthRepository(trx).updateUser({ orgId: user.org_id }, user.id, {
            ...(pending.includes('totp')
              ? {}
              : { failed_logins: 0, lockout_count: 0, locked_until: null, last_login_at: nowIso }),
            ...(newHash === undefined ? {} : { password_hash: newHash }),
            ...(localeChanged ? { locale: input.locale } : {}),
            updated_at: nowIso,
          });
        }
        const issued = await sessions.issue(trx, user, pending, { replacing: input.presentedSessionId });
        await appendAudit(trx, clock, {
          actor: userActor(user),
          action: pending.includes('totp') ? 'auth.login.password_verified' : 'auth.login.success',
          target: { type: 'user', id: user.id },
          meta: { rehashed: newHash !== undefined, pending: pending.join(',') },
        });
        return issued;
      });
      return { kind: 'signed_in', session, userId: user.id };
    },

    /**
     * Completes sign-in with a TOTP code (refused when its time step was already used) or a
     * single-use recovery code. Wrong codes count towards the account lock like wrong passwords.
     */
    async verifySecondFactor(input: SecondFactorInput): Promise<IssuedSession> {
      const now = clock.now();
      await assertIpAllowed(input.ip, now);
      const repo = createAuthRepository(db);
      const found = await repo.findSessionForRequest(input.sessionId);
      if (found === undefined || !pendingOf(found.session).includes('totp')) {
        throw new AppError('ERR_AUTH_SESSION_EXPIRED');
      }
      const { user, session } = found;
      if (isLocked(user, now) || user.disabled === 1) {
        await db.transaction().execute(async (trx) => {
          await createAuthRepository(trx).deleteSessionById(session.id);
          await recordUserFailure(
            trx,
            user,
            input.ip,
            user.disabled === 1 ? 'disabled' : 'locked',
            'second_factor',
          );
        });
        throw new AppError(user.disabled === 1 ? 'ERR_AUTH_SESSION_EXPIRED' : 'ERR_AUTH_LOCKED');
      }
      const scope = { orgId: user.org_id };
      const useRecovery = looksLikeRecoveryCode(input.code);
      let step: number | undefined;
      if (!useRecovery && user.totp_secret !== null) {
        const secret = await keyring.decryptForOrg(
          user.org_id,
          { table: 'users', column: 'totp_secret', rowId: user.id },
          user.totp_secret,
        );
        step = matchTotp(secret, input.code.replace(/\s+/g, ''), now);
      }

      const outcome = await db.transaction().execute(async (trx) => {
        const txRepo = createAuthRepository(trx);
        const nowIso = clock.now().toISOString();
        let failure: string | undefined;
        if (useRecovery) {
          const used = await txRepo.useRecoveryCode(scope, user.id, hashRecoveryCode(input.code), nowIso);
          if (!used) failure = 'recovery_code_invalid';
        } else if (step === undefined) {
          failure = 'totp_invalid';
        } else if (!(await txRepo.claimTotpStep(scope, user.id, step, nowIso))) {
          failure = 'totp_replay';
        }
        if (failure !== undefined) {
          const locked = await recordUserFailure(trx, user, input.ip, failure, 'second_factor');
          if (locked) await txRepo.deleteSessionById(session.id);
          return { ok: false as const, locked };
        }
        await txRepo.updateUser(scope, user.id, {
          failed_logins: 0,
          lockout_count: 0,
          locked_until: null,
          last_login_at: nowIso,
          updated_at: nowIso,
        });
        const pending = pendingOf(session).filter((p) => p !== 'totp');
        const issued = await sessions.rotate(trx, session.id, pending);
        const remaining = useRecovery ? await txRepo.countUnusedRecoveryCodes(scope, user.id) : undefined;
        await appendAudit(trx, clock, {
          actor: userActor(user),
          action: 'auth.login.success',
          target: { type: 'user', id: user.id },
          meta: {
            second_factor: useRecovery ? 'recovery_code' : 'totp',
            ...(remaining === undefined ? {} : { recovery_codes_left: remaining }),
          },
        });
        return { ok: true as const, issued };
      });
      if (!outcome.ok) throw new AppError(outcome.locked ? 'ERR_AUTH_LOCKED' : 'ERR_AUTH_TOTP_INVALID');
      return outcome.issued;
    },
  };
}

export type LoginService = ReturnType<typeof createLoginService>;
