/**
 * A staff user's own account (P11): choosing a new password (required after a one-time
 * password), enrolling TOTP (required for operator staff), recovery codes. Each step that
 * raises the session's standing rotates the session id; a password change also ends every other
 * session (ASVS 7.4.3). Re-entering the current password is throttled per user.
 */
import type { Kysely } from 'kysely';
import type { Keyring } from '../../crypto/keyring.js';
import type { DB } from '../../db/schema.js';
import { type Actor, scopeOf } from '../../shared/actor.js';
import { type Clock, MINUTE } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { createOrgsRepository } from '../orgs/orgs-repository.js';
import { appendAudit } from '../security/audit-chain.js';
import { hashNewPassword, type PasswordHasher } from './auth-passwords.js';
import { type AuthRepository, createAuthRepository, pendingOf } from './auth-repository.js';
import type { PendingStep } from './auth-schema.js';
import type { IssuedSession, SessionService } from './auth-sessions.js';
import {
  generateRecoveryCodes,
  generateTotpSecret,
  hashRecoveryCode,
  matchTotp,
  totpUri,
} from './auth-totp.js';
import { toUserView, type UserView } from './auth-users.js';

export type UserActor = Extract<Actor, { kind: 'user' }>;

export interface AccountDeps {
  db: Kysely<DB>;
  keyring: Keyring;
  clock: Clock;
  hasher: PasswordHasher;
  sessions: SessionService;
}

/** Wrong current passwords or enrolment codes per user within 15 minutes before refusing. */
const REAUTH_MAX_FAILURES = 5;
const REAUTH_WINDOW_MS = 15 * MINUTE;

const totpLocation = (userId: string) => ({ table: 'users', column: 'totp_secret', rowId: userId });

export function createAccountService(deps: AccountDeps) {
  const { db, clock, hasher, sessions, keyring } = deps;

  async function loadSelf(repo: AuthRepository, actor: UserActor, sessionId: string) {
    const scope = scopeOf(actor);
    const [user, session] = await Promise.all([
      repo.findUser(scope, actor.userId),
      repo.findOwnSession(scope, actor.userId, sessionId),
    ]);
    if (user === undefined || session === undefined) throw new AppError('ERR_AUTH_SESSION_EXPIRED');
    const pending = pendingOf(session);
    // Account set-up pages are reachable with pending steps, but never before the second factor.
    if (pending.includes('totp')) throw new AppError('ERR_AUTH_TOTP_REQUIRED');
    return { user, pending };
  }

  async function assertReauthAllowed(actor: UserActor): Promise<void> {
    const since = new Date(clock.now().getTime() - REAUTH_WINDOW_MS).toISOString();
    const failures = await createAuthRepository(db).countAttempts(`reauth:${actor.userId}`, since);
    if (failures >= REAUTH_MAX_FAILURES) {
      throw new AppError('ERR_RATE_LIMITED', {
        message: 'too many wrong passwords or codes for this account',
      });
    }
  }

  async function recordReauthFailure(actor: UserActor, action: string): Promise<void> {
    await db.transaction().execute(async (trx) => {
      await createAuthRepository(trx).recordAttempt(`reauth:${actor.userId}`, clock.now().toISOString());
      await appendAudit(trx, clock, { actor, action, target: { type: 'user', id: actor.userId } });
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

  const without = (pending: readonly PendingStep[], step: PendingStep) => pending.filter((p) => p !== step);

  return {
    /** The actor's own account, for the account page. */
    async getAccount(actor: UserActor): Promise<{ user: UserView; recoveryCodesLeft: number }> {
      const repo = createAuthRepository(db);
      const scope = scopeOf(actor);
      const row = await repo.findUser(scope, actor.userId);
      if (row === undefined) throw new AppError('ERR_AUTH_SESSION_EXPIRED');
      return {
        user: toUserView(row, await repo.rolesOf(scope, row.id)),
        recoveryCodesLeft: await repo.countUnusedRecoveryCodes(scope, row.id),
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
      const repo = createAuthRepository(db);
      const { user, pending } = await loadSelf(repo, actor, input.sessionId);
      if (!pending.includes('password_change')) {
        await verifyCurrentPassword(actor, user.password_hash, input.currentPassword);
      }
      const newHash = await hashNewPassword({ db, hasher }, user, input.newPassword);
      return db.transaction().execute(async (trx) => {
        const txRepo = createAuthRepository(trx);
        const now = clock.now().toISOString();
        const scope = scopeOf(actor);
        await txRepo.updateUser(scope, actor.userId, {
          password_hash: newHash,
          must_change_password: 0,
          password_changed_at: now,
          updated_at: now,
        });
        const ended = await txRepo.deleteUserSessions(scope, actor.userId, input.sessionId);
        const issued = await sessions.rotate(trx, input.sessionId, without(pending, 'password_change'));
        await appendAudit(trx, clock, {
          actor,
          action: 'auth.password.changed',
          target: { type: 'user', id: actor.userId },
          meta: { other_sessions_ended: ended, was_one_time: pending.includes('password_change') },
        });
        return issued;
      });
    },

    /**
     * Starts (or resumes) TOTP enrolment: a new secret, sealed with the org key, not yet active.
     * Returns the secret and the otpauth:// URI for the QR code.
     */
    async beginTotpEnrolment(input: {
      actor: UserActor;
      sessionId: string;
    }): Promise<{ secret: string; uri: string }> {
      const { actor } = input;
      const repo = createAuthRepository(db);
      const { user } = await loadSelf(repo, actor, input.sessionId);
      if (user.totp_enabled === 1) {
        throw new AppError('ERR_CONFLICT', { message: 'two-step verification is already on' });
      }
      let secret: string;
      if (user.totp_secret !== null) {
        secret = await keyring.decryptForOrg(user.org_id, totpLocation(user.id), user.totp_secret);
      } else {
        secret = generateTotpSecret();
        const sealed = await keyring.encryptForOrg(user.org_id, totpLocation(user.id), secret);
        await db.transaction().execute(async (trx) => {
          await createAuthRepository(trx).updateUser(scopeOf(actor), actor.userId, {
            totp_secret: sealed,
            updated_at: clock.now().toISOString(),
          });
          await appendAudit(trx, clock, {
            actor,
            action: 'auth.totp.enrolment_started',
            target: { type: 'user', id: actor.userId },
            fields: ['totp_secret'],
          });
        });
      }
      const org = await createOrgsRepository(db).getById(user.org_id);
      return { secret, uri: totpUri(secret, user.email, `Kluis ${org.name}`) };
    },

    /** Confirms enrolment with a code from the app; returns the recovery codes, shown once. */
    async confirmTotpEnrolment(input: {
      actor: UserActor;
      sessionId: string;
      code: string;
    }): Promise<{ recoveryCodes: string[]; session: IssuedSession }> {
      const { actor } = input;
      const repo = createAuthRepository(db);
      const { user, pending } = await loadSelf(repo, actor, input.sessionId);
      if (user.totp_enabled === 1 || user.totp_secret === null) {
        throw new AppError('ERR_CONFLICT', { message: 'no enrolment in progress' });
      }
      await assertReauthAllowed(actor);
      const secret = await keyring.decryptForOrg(user.org_id, totpLocation(user.id), user.totp_secret);
      const step = matchTotp(secret, input.code.replace(/\s+/g, ''), clock.now());
      if (step === undefined) {
        await recordReauthFailure(actor, 'auth.totp.enrolment_failure');
        throw new AppError('ERR_AUTH_TOTP_INVALID', { fields: { code: 'auth.totpInvalid' } });
      }
      const recoveryCodes = generateRecoveryCodes();
      const session = await db.transaction().execute(async (trx) => {
        const txRepo = createAuthRepository(trx);
        const scope = scopeOf(actor);
        const now = clock.now().toISOString();
        if (!(await txRepo.claimTotpStep(scope, actor.userId, step, now))) {
          throw new AppError('ERR_AUTH_TOTP_INVALID', { fields: { code: 'auth.totpInvalid' } });
        }
        await txRepo.updateUser(scope, actor.userId, { totp_enabled: 1, updated_at: now });
        await txRepo.replaceRecoveryCodes(scope, actor.userId, recoveryCodes.map(hashRecoveryCode), now);
        const issued = await sessions.rotate(trx, input.sessionId, without(pending, 'totp_enrolment'));
        await appendAudit(trx, clock, {
          actor,
          action: 'auth.totp.enabled',
          target: { type: 'user', id: actor.userId },
          meta: { recovery_codes: recoveryCodes.length },
        });
        return issued;
      });
      return { recoveryCodes, session };
    },

    /** New recovery codes (the old ones stop working); asks for the current password. */
    async regenerateRecoveryCodes(input: {
      actor: UserActor;
      sessionId: string;
      password: string;
    }): Promise<string[]> {
      const { actor } = input;
      const repo = createAuthRepository(db);
      const { user } = await loadSelf(repo, actor, input.sessionId);
      if (user.totp_enabled !== 1) {
        throw new AppError('ERR_CONFLICT', { message: 'two-step verification is off' });
      }
      await verifyCurrentPassword(actor, user.password_hash, input.password);
      const codes = generateRecoveryCodes();
      await db.transaction().execute(async (trx) => {
        await createAuthRepository(trx).replaceRecoveryCodes(
          scopeOf(actor),
          actor.userId,
          codes.map(hashRecoveryCode),
          clock.now().toISOString(),
        );
        await appendAudit(trx, clock, {
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

export type AccountService = ReturnType<typeof createAccountService>;
