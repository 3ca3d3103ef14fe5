/**
 * A staff user's own account (P11): choosing a new password (required after a one-time
 * password), recovery codes (TOTP enrolment: auth-totp-enrolment.ts). Each step that
 * raises the session's standing rotates the session id; a password change also ends every other
 * session (ASVS 7.4.3). Re-entering the current password is throttled per user.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { type Actor, scopeOf } from '../../shared/actor.js';
import { type Clock, MINUTE } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import type { OrgsService } from '../orgs/index.js';
import type { AuditService } from '../security/index.js';
import { hashNewPassword, type PasswordHasher } from './auth-passwords.js';
import { createRecoveryCodesRepository } from './auth-recovery-codes-repository.js';
import type { PendingStep } from './auth-schema.js';
import type { IssuedSession, SessionService } from './auth-sessions.js';
import { createSessionsRepository, pendingOf } from './auth-sessions-repository.js';
import { createThrottleRepository } from './auth-throttle-repository.js';
import { generateRecoveryCodes, hashRecoveryCode } from './auth-totp.js';
import { toUserView, type UserView } from './auth-users.js';
import { createUserRolesRepository, createUsersRepository } from './auth-users-repository.js';

export type UserActor = Extract<Actor, { kind: 'user' }>;

export interface AccountDeps {
  db: Kysely<DB>;
  clock: Clock;
  hasher: PasswordHasher;
  sessions: SessionService;
  orgs: Pick<OrgsService, 'getById'>;
  audit: AuditService;
}

/** Wrong current passwords or enrolment codes per user within 15 minutes before refusing. */
export const REAUTH_MAX_FAILURES = 5;
const REAUTH_WINDOW_MS = 15 * MINUTE;

/**
 * What every own-account step shares: the actor's own account and session (never before the
 * second factor), and re-authentication throttled per user.
 */
export function createAccountGuards(deps: Pick<AccountDeps, 'db' | 'clock' | 'hasher' | 'audit'>) {
  const { db, clock, hasher, audit } = deps;

  async function loadSelf(actor: UserActor, sessionId: string) {
    const scope = scopeOf(actor);
    const [user, session] = await Promise.all([
      createUsersRepository(db).findUser(scope, actor.userId),
      createSessionsRepository(db).findOwnSession(scope, actor.userId, sessionId),
    ]);
    if (user === undefined || session === undefined) throw new AppError('ERR_AUTH_SESSION_EXPIRED');
    const pending = pendingOf(session);
    // Account set-up pages are reachable with pending steps, but never before the second factor.
    if (pending.includes('totp')) throw new AppError('ERR_AUTH_TOTP_REQUIRED');
    return { user, pending };
  }

  async function assertReauthAllowed(actor: UserActor): Promise<void> {
    const since = new Date(clock.now().getTime() - REAUTH_WINDOW_MS).toISOString();
    const failures = await createThrottleRepository(db).countAttempts(`reauth:${actor.userId}`, since);
    if (failures >= REAUTH_MAX_FAILURES) {
      throw new AppError('ERR_RATE_LIMITED', {
        message: 'too many wrong passwords or codes for this account',
      });
    }
  }

  async function recordReauthFailure(actor: UserActor, action: string): Promise<void> {
    await db.transaction().execute(async (trx) => {
      await createThrottleRepository(trx).recordAttempt(`reauth:${actor.userId}`, clock.now().toISOString());
      await audit.append(trx, { actor, action, target: { type: 'user', id: actor.userId } });
    });
  }

  async function verifyCurrentPassword(actor: UserActor, hash: string, password: string | undefined) {
    await assertReauthAllowed(actor);
    if (password === undefined || !(await hasher.verify(hash, password))) {
      await recordReauthFailure(actor, 'auth.reauth.failure');
      throw new AppError('ERR_AUTH_INVALID_CREDENTIALS', {
        message: 'current password wrong',
        fields: { currentPassword: 'auth.account.currentPasswordWrong' },
      });
    }
  }

  return { loadSelf, assertReauthAllowed, recordReauthFailure, verifyCurrentPassword };
}

export type AccountGuards = ReturnType<typeof createAccountGuards>;

export const without = (pending: readonly PendingStep[], step: PendingStep): PendingStep[] =>
  pending.filter((p) => p !== step);

export function createAccountService(deps: AccountDeps & { guards: AccountGuards }) {
  const { db, clock, hasher, sessions, orgs, audit } = deps;
  const { loadSelf, verifyCurrentPassword } = deps.guards;

  return {
    /** The actor's own account, for the account page. */
    async getAccount(actor: UserActor): Promise<{ user: UserView; recoveryCodesLeft: number }> {
      const scope = scopeOf(actor);
      const row = await createUsersRepository(db).findUser(scope, actor.userId);
      if (row === undefined) throw new AppError('ERR_AUTH_SESSION_EXPIRED');
      return {
        user: toUserView(row, await createUserRolesRepository(db).rolesOf(scope, row.id)),
        recoveryCodesLeft: await createRecoveryCodesRepository(db).countUnusedRecoveryCodes(scope, row.id),
      };
    },

    /**
     * Changes the actor's password. The current password is asked for, except right after a
     * one-time password (pending `password_change`). Ends every other session.
     */
    async changePassword(input: {
      actor: UserActor;
      sessionId: string;
      currentPassword?: string | undefined;
      newPassword: string;
    }): Promise<IssuedSession> {
      const { actor } = input;
      const { user, pending } = await loadSelf(actor, input.sessionId);
      if (!pending.includes('password_change')) {
        await verifyCurrentPassword(actor, user.password_hash, input.currentPassword);
      }
      const newHash = await hashNewPassword({ hasher, orgs }, user, input.newPassword);
      return db.transaction().execute(async (trx) => {
        const now = clock.now().toISOString();
        const scope = scopeOf(actor);
        await createUsersRepository(trx).updateUser(scope, actor.userId, {
          password_hash: newHash,
          must_change_password: 0,
          password_changed_at: now,
          updated_at: now,
        });
        // Every device cookie of the user stops being trusted (issue 15).
        await createUsersRepository(trx).bumpDeviceEpoch(scope, actor.userId);
        const ended = await createSessionsRepository(trx).deleteUserSessions(
          scope,
          actor.userId,
          input.sessionId,
        );
        const issued = await sessions.rotate(trx, input.sessionId, without(pending, 'password_change'));
        await audit.append(trx, {
          actor,
          action: 'auth.password.changed',
          target: { type: 'user', id: actor.userId },
          meta: { other_sessions_ended: ended, was_one_time: pending.includes('password_change') },
        });
        return issued;
      });
    },

    /** New recovery codes (the old ones stop working); asks for the current password. */
    async regenerateRecoveryCodes(input: {
      actor: UserActor;
      sessionId: string;
      password: string;
    }): Promise<string[]> {
      const { actor } = input;
      const { user } = await loadSelf(actor, input.sessionId);
      if (user.totp_enabled !== 1) {
        throw new AppError('ERR_CONFLICT', { message: 'two-step verification is off' });
      }
      await verifyCurrentPassword(actor, user.password_hash, input.password);
      const codes = generateRecoveryCodes();
      await db.transaction().execute(async (trx) => {
        await createRecoveryCodesRepository(trx).replaceRecoveryCodes(
          scopeOf(actor),
          actor.userId,
          codes.map(hashRecoveryCode),
          clock.now().toISOString(),
        );
        await audit.append(trx, {
          actor,
          action: 'auth.recovery_codes.regenerated',
          target: { type: 'user', id: actor.userId },
          meta: { recovery_codes: codes.length },
        });
      });
      return codes;
    },
  };
}
