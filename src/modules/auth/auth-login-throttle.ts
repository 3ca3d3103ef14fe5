/**
 * Throttling sign-in (ASVS 6.3.1), checked before any password is hashed: per IP address
 * (failures across accounts in a sliding window) and per account (consecutive failures, password
 * or second factor, lock it, each lock twice as long as the last). An unknown email is counted
 * like an account, so neither the answer nor the time tells whether an account exists. Every
 * failure is audited, without the email when no account matched.
 *
 * Failed passwords are written through the group-commit journal (auth-login-journal.ts): many
 * attempts' rows and audit entries in one transaction, each attempt answered once its own are
 * committed. A sign-in with a trusted device cookie (auth-device-cookies.ts) counts its failures
 * against the cookie (`device:<hash>`), not against the account or the address: the account's
 * lock is for untrusted clients only.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { type Clock, MINUTE } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import type { AuditService } from '../security/index.js';
import { createLoginJournal } from './auth-login-journal.js';
import { createThrottleRepository } from './auth-throttle-repository.js';
import { createUsersRepository, type UserWithOrg } from './auth-users-repository.js';

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

type FailureStage = 'password' | 'second_factor';

const ipKey = (ip: string) => `ip:${ip}`;

export const anonymous = (orgId: string | null): { kind: 'anonymous'; orgId: string | null } => ({
  kind: 'anonymous',
  orgId,
});

export function isLocked(user: Pick<UserWithOrg, 'locked_until'>, now: Date): boolean {
  return user.locked_until !== null && new Date(user.locked_until).getTime() > now.getTime();
}

interface FailureDeps {
  readonly clock: Clock;
  readonly throttle: ThrottlePolicy;
  readonly audit: AuditService;
}

/** A failure with a trusted device cookie: counted against the cookie, audited. */
async function deviceFailureIn(
  deps: FailureDeps,
  trx: Kysely<DB>,
  user: UserWithOrg,
  deviceKey: string,
  reason: string,
  stage: FailureStage,
): Promise<void> {
  const { clock, audit } = deps;
  await createThrottleRepository(trx).recordAttempt(deviceKey, clock.now().toISOString());
  await audit.append(trx, {
    actor: anonymous(user.org_id),
    action: 'auth.login.failure',
    target: { type: 'user', id: user.id },
    meta: { reason, stage, device_cookie: true },
  });
}

/**
 * Counts a failure against `user` (locking it when the limit is reached) and the IP address,
 * and audits it, inside `trx`. Returns true when this failure locked it.
 */
/** A failure against an account: in `trx`, by `user`, from `ip`, why, and at which step. */
type UserFailure = [trx: Kysely<DB>, user: UserWithOrg, ip: string, reason: string, stage: FailureStage];

async function userFailureIn(
  deps: FailureDeps,
  ...[trx, user, ip, reason, stage]: UserFailure
): Promise<boolean> {
  const { clock, throttle, audit } = deps;
  const users = createUsersRepository(trx);
  const attempts = createThrottleRepository(trx);
  const now = clock.now();
  const nowIso = now.toISOString();
  const scope = { orgId: user.org_id };
  let locked = false;
  if (reason !== 'locked' && reason !== 'disabled') {
    const counts = await users.incrementFailedLogins(scope, user.id, nowIso);
    if (counts.failedLogins >= throttle.accountMaxFailures) {
      const minutes = Math.min(
        throttle.accountLockMinutes * 2 ** counts.lockoutCount,
        throttle.accountMaxLockMinutes,
      );
      await users.updateUser(scope, user.id, {
        failed_logins: 0,
        lockout_count: counts.lockoutCount + 1,
        locked_until: new Date(now.getTime() + minutes * MINUTE).toISOString(),
        updated_at: nowIso,
      });
      await audit.append(trx, {
        actor: anonymous(user.org_id),
        action: 'auth.account.locked',
        target: { type: 'user', id: user.id },
        meta: { minutes, lockouts: counts.lockoutCount + 1 },
      });
      locked = true;
    }
  }
  await attempts.recordAttempt(ipKey(ip), nowIso);
  await audit.append(trx, {
    actor: anonymous(user.org_id),
    action: 'auth.login.failure',
    target: { type: 'user', id: user.id },
    meta: { reason, stage },
  });
  return locked;
}

export function createLoginThrottle(deps: {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly throttle: ThrottlePolicy;
  readonly audit: AuditService;
}) {
  const { db, clock, throttle, audit } = deps;
  const windowMs = throttle.windowMinutes * MINUTE;
  const windowStart = (now: Date) => new Date(now.getTime() - windowMs).toISOString();
  const purgeBefore = () => new Date(clock.now().getTime() - 2 * windowMs).toISOString();
  const journal = createLoginJournal({
    db,
    afterBatch: async (trx) => {
      await createThrottleRepository(trx).purgeAttempts(purgeBefore());
    },
  });
  /** Failures under `key` within the window: committed ones and those waiting in the journal. */
  const failuresOf = async (key: string, now: Date): Promise<number> =>
    (await createThrottleRepository(db).countAttempts(key, windowStart(now))) + journal.pending(key);

  return {
    /** The group-commit journal of failed sign-ins (flushed on shutdown). */
    journal,

    /** Refuses (ERR_RATE_LIMITED) an address with too many recent failures. */
    async assertIpAllowed(ip: string, now: Date): Promise<void> {
      if ((await failuresOf(ipKey(ip), now)) >= throttle.ipMaxFailures) {
        throw new AppError('ERR_RATE_LIMITED', { message: 'too many failed sign-ins from this address' });
      }
    },

    /** Failures recorded for an unknown account's key within the window. */
    unknownFailures: (key: string, now: Date): Promise<number> => failuresOf(key, now),

    /** Failures with one device cookie within the window (trust ends at `DEVICE_MAX_FAILURES`). */
    deviceFailures: (deviceKey: string, now: Date): Promise<number> => failuresOf(deviceKey, now),

    /**
     * Counts a failure against `user` and the IP address and audits it, inside the caller's
     * transaction (the second factor, whose code is spent in the same one). True when it locked.
     */
    async recordUserFailure(...failure: UserFailure): Promise<boolean> {
      const locked = await userFailureIn(deps, ...failure);
      await createThrottleRepository(failure[0]).purgeAttempts(purgeBefore());
      return locked;
    },

    /** The same for a failed password, through the journal: resolves once committed. */
    journalUserFailure: (user: UserWithOrg, ip: string, reason: string): Promise<boolean> =>
      journal.record([ipKey(ip)], (trx) => userFailureIn(deps, trx, user, ip, reason, 'password')),

    /** A failure with a trusted device cookie, inside the caller's transaction. */
    recordDeviceFailure: (
      trx: Kysely<DB>,
      user: UserWithOrg,
      deviceKey: string,
      reason: string,
      stage: FailureStage,
    ) => deviceFailureIn(deps, trx, user, deviceKey, reason, stage),

    /** The same for a failed password, through the journal. */
    journalDeviceFailure: (user: UserWithOrg, deviceKey: string, reason: string): Promise<void> =>
      journal.record([deviceKey], (trx) => deviceFailureIn(deps, trx, user, deviceKey, reason, 'password')),

    /** A device cookie's failures are forgotten once it completes a sign-in. */
    async clearDeviceFailures(trx: Kysely<DB>, deviceKey: string): Promise<void> {
      await createThrottleRepository(trx).deleteAttempts(deviceKey);
    },

    /**
     * An unknown email: counts it under its account key like an account would be counted, audits
     * without any identifier, and returns the failures on that key within the window.
     */
    recordUnknownFailure(key: string, ip: string, reason: string): Promise<number> {
      return journal.record([key, ipKey(ip)], async (trx) => {
        const repo = createThrottleRepository(trx);
        const now = clock.now();
        await repo.recordAttempt(key, now.toISOString());
        await repo.recordAttempt(ipKey(ip), now.toISOString());
        await audit.append(trx, {
          actor: anonymous(null),
          action: 'auth.login.failure',
          meta: { reason, stage: 'password' },
        });
        return repo.countAttempts(key, windowStart(now));
      });
    },
  };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
