/**
 * The second step of signing in (P11; ASVS 6.3.3 MFA, 6.5 one-time codes): a TOTP code, refused
 * when its time step was already used, or a single-use recovery code. Wrong codes count towards
 * the account lock like wrong passwords; the failure count is cleared only here, once every
 * factor has been verified.
 */
import type { Kysely } from 'kysely';
import type { Keyring } from '../../crypto/keyring.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import type { OrgsService } from '../orgs/index.js';
import type { AuditService } from '../security/index.js';
import { userActor, withOrgKind } from './auth-login.js';
import { isLocked, type LoginThrottle } from './auth-login-throttle.js';
import { createRecoveryCodesRepository } from './auth-recovery-codes-repository.js';
import type { IssuedSession, SessionService } from './auth-sessions.js';
import { createSessionsRepository, pendingOf } from './auth-sessions-repository.js';
import { hashRecoveryCode, looksLikeRecoveryCode, matchTotp } from './auth-totp.js';
import { createUsersRepository, type UserWithOrg } from './auth-users-repository.js';

export interface SecondFactorInput {
  readonly sessionId: string;
  readonly code: string;
  readonly ip: string;
}

interface SecondFactorDeps {
  db: Kysely<DB>;
  keyring: Keyring;
  clock: Clock;
  sessions: SessionService;
  limiter: LoginThrottle;
  orgs: Pick<OrgsService, 'kindOf' | 'getById'>;
  audit: AuditService;
}

export function createSecondFactorService(deps: SecondFactorDeps) {
  const { db, clock, keyring, sessions, limiter, orgs, audit } = deps;

  /** The time step a TOTP code matches now (undefined: no match, or a recovery code was given). */
  async function totpStepOf(user: UserWithOrg, code: string, now: Date): Promise<number | undefined> {
    if (looksLikeRecoveryCode(code) || user.totp_secret === null) return undefined;
    const secret = await keyring.decryptForOrg(
      user.org_id,
      { table: 'users', column: 'totp_secret', rowId: user.id },
      user.totp_secret,
    );
    return matchTotp(secret, code.replace(/\s+/g, ''), now);
  }

  /** Uses the code inside `trx`: the reason it fails, or undefined when it is good (and now spent). */
  async function spendCode(
    trx: Kysely<DB>,
    user: UserWithOrg,
    code: string,
    step: number | undefined,
  ): Promise<string | undefined> {
    const scope = { orgId: user.org_id };
    const nowIso = clock.now().toISOString();
    if (looksLikeRecoveryCode(code)) {
      const used = await createRecoveryCodesRepository(trx).useRecoveryCode(
        scope,
        user.id,
        hashRecoveryCode(code),
        nowIso,
      );
      return used ? undefined : 'recovery_code_invalid';
    }
    if (step === undefined) return 'totp_invalid';
    const claimed = await createUsersRepository(trx).claimTotpStep(scope, user.id, step, nowIso);
    return claimed ? undefined : 'totp_replay';
  }

  return {
    /**
     * Completes sign-in with a TOTP code or a recovery code: the session is rotated without its
     * `totp` step. Refused (and counted) when the code is wrong, replayed or already used.
     */
    async verifySecondFactor(input: SecondFactorInput): Promise<IssuedSession> {
      const now = clock.now();
      await limiter.assertIpAllowed(input.ip, now);
      const found = await createSessionsRepository(db).findSessionWithUser(input.sessionId);
      if (found === undefined || !pendingOf(found.session).includes('totp')) {
        throw new AppError('ERR_AUTH_SESSION_EXPIRED');
      }
      const { session } = found;
      const user = await withOrgKind(orgs, found.user);
      if (isLocked(user, now) || user.disabled === 1) {
        const reason = user.disabled === 1 ? 'disabled' : 'locked';
        await db.transaction().execute(async (trx) => {
          await createSessionsRepository(trx).deleteSessionById(session.id);
          await limiter.recordUserFailure(trx, user, input.ip, reason, 'second_factor');
        });
        throw new AppError(user.disabled === 1 ? 'ERR_AUTH_SESSION_EXPIRED' : 'ERR_AUTH_LOCKED');
      }
      const recovery = looksLikeRecoveryCode(input.code);
      const step = await totpStepOf(user, input.code, now);

      const outcome = await db.transaction().execute(async (trx) => {
        const failure = await spendCode(trx, user, input.code, step);
        if (failure !== undefined) {
          const locked = await limiter.recordUserFailure(trx, user, input.ip, failure, 'second_factor');
          if (locked) await createSessionsRepository(trx).deleteSessionById(session.id);
          return { ok: false as const, locked };
        }
        const scope = { orgId: user.org_id };
        const nowIso = clock.now().toISOString();
        await createUsersRepository(trx).updateUser(scope, user.id, {
          failed_logins: 0,
          lockout_count: 0,
          locked_until: null,
          last_login_at: nowIso,
          updated_at: nowIso,
        });
        const pending = pendingOf(session).filter((p) => p !== 'totp');
        const issued = await sessions.rotate(trx, session.id, pending);
        const remaining = recovery
          ? await createRecoveryCodesRepository(trx).countUnusedRecoveryCodes(scope, user.id)
          : undefined;
        await audit.append(trx, {
          actor: userActor(user),
          action: 'auth.login.success',
          target: { type: 'user', id: user.id },
          meta: {
            second_factor: recovery ? 'recovery_code' : 'totp',
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
