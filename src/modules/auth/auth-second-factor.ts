/**
 * The second step of signing in (P11; ASVS 6.3.3 MFA, 6.5 one-time codes): a TOTP code, refused
 * when its time step was already used, or a single-use recovery code. Wrong codes count towards
 * the account lock like wrong passwords; the failure count is cleared only here, once every
 * factor has been verified. With a device cookie trusted for the account (issue 15) the account's
 * lock and the address throttle do not apply, wrong codes count against the cookie, and a
 * complete sign-in hands out a new cookie.
 */
import type { Kysely } from 'kysely';
import type { Keyring } from '../../crypto/keyring.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import type { OrgsService } from '../orgs/index.js';
import type { AuditService } from '../security/index.js';
import type { DeviceClaim, DeviceCookies, IssuedDeviceCookie } from './auth-device-cookies.js';
import { trusts, userActor, withOrgKind } from './auth-login.js';
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
  /** The device cookie the browser presented, if any. */
  readonly deviceCookie?: string | undefined;
}

interface SecondFactorDeps {
  db: Kysely<DB>;
  keyring: Keyring;
  clock: Clock;
  sessions: SessionService;
  limiter: LoginThrottle;
  devices: DeviceCookies;
  orgs: Pick<OrgsService, 'kindOf' | 'getById'>;
  audit: AuditService;
}

export function createSecondFactorService(deps: SecondFactorDeps) {
  const { db, clock, keyring, sessions, limiter, devices, orgs, audit } = deps;

  /** The presented device cookie when it is trusted for `user`. */
  async function trustOf(
    input: SecondFactorInput,
    user: UserWithOrg,
    now: Date,
  ): Promise<DeviceClaim | undefined> {
    const claim = devices.verify(input.deviceCookie, now);
    return claim !== undefined && (await trusts(limiter, claim, user, now)) ? claim : undefined;
  }

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
    async verifySecondFactor(
      input: SecondFactorInput,
    ): Promise<IssuedSession & { readonly device?: IssuedDeviceCookie | undefined }> {
      const now = clock.now();
      const found = await createSessionsRepository(db).findSessionWithUser(input.sessionId);
      const user = found === undefined ? undefined : await withOrgKind(orgs, found.user);
      const trust = user === undefined ? undefined : await trustOf(input, user, now);
      if (trust === undefined) await limiter.assertIpAllowed(input.ip, now);
      if (found === undefined || user === undefined || !pendingOf(found.session).includes('totp')) {
        throw new AppError('ERR_AUTH_SESSION_EXPIRED');
      }
      const { session } = found;
      if ((trust === undefined && isLocked(user, now)) || user.disabled === 1) {
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
        if (failure !== undefined && trust !== undefined) {
          await limiter.recordDeviceFailure(trx, user, trust.key, failure, 'second_factor');
          return { ok: false as const, locked: false };
        }
        if (failure !== undefined) {
          const locked = await limiter.recordUserFailure(trx, user, input.ip, failure, 'second_factor');
          if (locked) await createSessionsRepository(trx).deleteSessionById(session.id);
          return { ok: false as const, locked };
        }
        const scope = { orgId: user.org_id };
        const nowIso = clock.now().toISOString();
        // A trusted sign-in leaves the account's count and lock to the untrusted clients.
        await createUsersRepository(trx).updateUser(scope, user.id, {
          ...(trust === undefined ? { failed_logins: 0, lockout_count: 0, locked_until: null } : {}),
          last_login_at: nowIso,
          updated_at: nowIso,
        });
        if (trust !== undefined) await limiter.clearDeviceFailures(trx, trust.key);
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
            ...(trust === undefined ? {} : { device_cookie: true }),
            ...(remaining === undefined ? {} : { recovery_codes_left: remaining }),
          },
        });
        return { ok: true as const, issued };
      });
      if (!outcome.ok) throw new AppError(outcome.locked ? 'ERR_AUTH_LOCKED' : 'ERR_AUTH_TOTP_INVALID');
      const { issued } = outcome;
      if (issued.pending.length > 0) return issued;
      return { ...issued, device: devices.issue(user.id, user.device_epoch, clock.now()) };
    },
  };
}
