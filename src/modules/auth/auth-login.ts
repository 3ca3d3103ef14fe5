/**
 * Signing in with email and password (P11; ASVS 6.3.1 brute force, 6.3.3 MFA). Throttling is
 * checked before any password is hashed (auth-login-throttle.ts). A locked account gets the same
 * answer whether the password was right or not; an unknown email costs the same hashing as a
 * real one and is "locked" after as many failures, so neither the answer nor the time tells
 * whether an account exists. The second factor is auth-second-factor.ts.
 *
 * Under a guessing flood (issue 15): every attempt first takes a slot of the sign-in work budget
 * (auth-login-budget.ts) or is refused at once, before any database read or hashing; failures
 * are written in groups (auth-login-journal.ts); and an attempt that presents a valid device
 * cookie for the account it signs into (auth-device-cookies.ts) is trusted: its own budget lane,
 * not refused by the account's lock or the address throttle, its failures counted per cookie.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Config } from '../../config/env.js';
import type { DB } from '../../db/schema.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import type { Locale } from '../../shared/i18n/messages.js';
import type { OrgsService } from '../orgs/index.js';
import type { AuditService } from '../security/index.js';
import {
  DEVICE_MAX_FAILURES,
  type DeviceClaim,
  type DeviceCookies,
  type IssuedDeviceCookie,
} from './auth-device-cookies.js';
import type { LoginBudget, Release } from './auth-login-budget.js';
import { isLocked, type LoginThrottle, type ThrottlePolicy } from './auth-login-throttle.js';
import type { PasswordHasher } from './auth-passwords.js';
import type { PendingStep } from './auth-schema.js';
import type { IssuedSession, SessionService } from './auth-sessions.js';
import { normaliseEmail } from './auth-users.js';
import { createUsersRepository, type UserRow, type UserWithOrg } from './auth-users-repository.js';

export interface LoginDeps {
  db: Kysely<DB>;
  clock: Clock;
  config: Pick<Config, 'requireTotpForOperator'>;
  hasher: PasswordHasher;
  sessions: SessionService;
  throttle: ThrottlePolicy;
  limiter: LoginThrottle;
  budget: LoginBudget;
  devices: DeviceCookies;
  orgs: Pick<OrgsService, 'findBySlug' | 'kindOf' | 'getById'>;
  audit: AuditService;
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
  /** The device cookie the browser presented, if any. */
  readonly deviceCookie?: string | undefined;
}

export type PasswordLoginResult =
  | {
      readonly kind: 'signed_in';
      readonly session: IssuedSession;
      readonly userId: string;
      /** A new device cookie when the sign-in is complete (no step left). */
      readonly device?: IssuedDeviceCookie | undefined;
    }
  /** The email is known in several organisations: ask which one (nothing was checked or counted). */
  | { readonly kind: 'org_required' };

export async function withOrgKind(orgs: Pick<OrgsService, 'getById'>, user: UserRow): Promise<UserWithOrg> {
  const org = await orgs.getById(user.org_id);
  return { ...user, org_kind: org.kind, org_status: org.status, org_require_totp: org.require_totp };
}

/**
 * Sign-in and password reset: the accounts an email names (in the org of `orgSlug`, when given),
 * with their org's kind. An unknown slug names no account.
 */
export async function loginCandidates(
  deps: { db: Kysely<DB>; orgs: Pick<OrgsService, 'findBySlug' | 'getById'> },
  email: string,
  orgSlug: string | undefined,
): Promise<UserWithOrg[]> {
  let orgId: string | undefined;
  if (orgSlug !== undefined) {
    const org = await deps.orgs.findBySlug(orgSlug);
    if (org === undefined) return [];
    orgId = org.id;
  }
  const rows = await createUsersRepository(deps.db).findUsersForLogin(normaliseEmail(email), orgId);
  return Promise.all(rows.map((row) => withOrgKind(deps.orgs, row)));
}

function accountKey(email: string, orgSlug: string | undefined): string {
  const digest = createHash('sha256')
    .update(`kluis/login-account/v1|${orgSlug ?? ''}|${email}`)
    .digest('hex');
  return `acct:${digest.slice(0, 32)}`;
}

/** The user as the actor of their own sign-in (no roles until every step is done). */
export function userActor(user: UserWithOrg): Actor {
  return { kind: 'user', orgId: user.org_id, orgKind: user.org_kind, userId: user.id, roles: [] };
}

/**
 * A device cookie's claim is trust only for its own account, at the account's current epoch, while
 * the account is enabled and the cookie has failures left.
 */
export async function trusts(
  limiter: Pick<LoginThrottle, 'deviceFailures'>,
  claim: DeviceClaim,
  user: Pick<UserWithOrg, 'id' | 'device_epoch' | 'disabled'>,
  now: Date,
): Promise<boolean> {
  if (claim.userId !== user.id || claim.epoch !== user.device_epoch || user.disabled === 1) return false;
  return (await limiter.deviceFailures(claim.key, now)) < DEVICE_MAX_FAILURES;
}

/** The trust a sign-in attempt carries: none, or a device cookie that matched its account. */
type Trust = DeviceClaim | undefined;

/** The steps a freshly password-verified session must complete, in order. */
function pendingAfterPassword(deps: Pick<LoginDeps, 'config'>, user: UserWithOrg): PendingStep[] {
  const steps: PendingStep[] = [];
  if (user.totp_enabled === 1) steps.push('totp');
  if (user.must_change_password === 1) steps.push('password_change');
  const required =
    user.org_require_totp === 1 || (user.org_kind === 'operator' && deps.config.requireTotpForOperator);
  if (user.totp_enabled !== 1 && required) {
    steps.push('totp_enrolment');
  }
  return steps;
}

/**
 * The password was right: a session with the steps still to do, the sign-in audited. A trusted
 * sign-in leaves the account's count and lock alone (they are the untrusted clients').
 */
async function startSession(
  deps: LoginDeps,
  input: PasswordLoginInput,
  user: UserWithOrg,
  trust: Trust,
): Promise<PasswordLoginResult & { kind: 'signed_in' }> {
  const { db, clock, hasher, sessions, limiter, devices, audit } = deps;
  // A pending, suspended or offboarded tenant's staff cannot sign in (offboarding: the owner
  // still downloads the export during the notice period).
  if (user.org_status !== 'active' && user.org_status !== 'offboarding') {
    throw new AppError('ERR_ORG_NOT_ACTIVE', { message: 'organisation not active' });
  }
  const newHash = hasher.needsRehash(user.password_hash) ? await hasher.hash(input.password) : undefined;
  const pending = pendingAfterPassword(deps, user);
  const session = await db.transaction().execute(async (trx) => {
    const nowIso = clock.now().toISOString();
    // The failure count is only cleared once every factor has been verified: otherwise an
    // attacker who knows the password could retry the second factor without limit.
    const done = !pending.includes('totp');
    const localeChanged = input.locale !== undefined && input.locale !== user.locale;
    if (done || newHash !== undefined || localeChanged) {
      await createUsersRepository(trx).updateUser({ orgId: user.org_id }, user.id, {
        ...(done && trust === undefined ? { failed_logins: 0, lockout_count: 0, locked_until: null } : {}),
        ...(done ? { last_login_at: nowIso } : {}),
        ...(newHash === undefined ? {} : { password_hash: newHash }),
        ...(localeChanged ? { locale: input.locale } : {}),
        updated_at: nowIso,
      });
    }
    if (done && trust !== undefined) await limiter.clearDeviceFailures(trx, trust.key);
    const issued = await sessions.issue(trx, user, pending, { replacing: input.presentedSessionId });
    await audit.append(trx, {
      actor: userActor(user),
      action: pending.includes('totp') ? 'auth.login.password_verified' : 'auth.login.success',
      target: { type: 'user', id: user.id },
      meta: {
        rehashed: newHash !== undefined,
        pending: pending.join(','),
        ...(trust === undefined ? {} : { device_cookie: true }),
      },
    });
    return issued;
  });
  const device = pending.length === 0 ? devices.issue(user.id, user.device_epoch, clock.now()) : undefined;
  return { kind: 'signed_in', session, userId: user.id, device };
}

export function createLoginService(deps: LoginDeps) {
  const { db, clock, hasher, throttle, limiter, budget, devices, orgs } = deps;

  /** No account has this email: the same hashing and counting as for one, then a refusal. */
  async function refuseUnknown(
    input: PasswordLoginInput,
    email: string,
    orgSlug: string | undefined,
    release: Release,
  ): Promise<never> {
    const key = accountKey(email, orgSlug);
    if ((await limiter.unknownFailures(key, clock.now())) >= throttle.accountMaxFailures) {
      release();
      await limiter.recordUnknownFailure(key, input.ip, 'locked');
      throw new AppError('ERR_AUTH_LOCKED');
    }
    await hasher.verifyDummy(input.password);
    release();
    const failures = await limiter.recordUnknownFailure(key, input.ip, 'unknown_account');
    throw new AppError(
      failures >= throttle.accountMaxFailures ? 'ERR_AUTH_LOCKED' : 'ERR_AUTH_INVALID_CREDENTIALS',
    );
  }

  /** A sign-in with a device cookie trusted for `user`, in the trusted lane (`release` is its slot). */
  async function trustedAttempt(
    input: PasswordLoginInput,
    user: UserWithOrg,
    claim: DeviceClaim,
    release: Release,
  ): Promise<PasswordLoginResult> {
    const ok = await hasher.verify(user.password_hash, input.password);
    release();
    if (!ok) {
      await limiter.journalDeviceFailure(user, claim.key, 'bad_password');
      throw new AppError('ERR_AUTH_INVALID_CREDENTIALS');
    }
    return startSession(deps, input, user, claim);
  }

  /**
   * A sign-in without trust, in the untrusted lane: the address throttle, the account's lock,
   * then the password. `known`: the accounts already looked up (a device cookie that did not match).
   */
  async function untrustedAttempt(
    input: PasswordLoginInput,
    known: UserWithOrg[] | undefined,
  ): Promise<PasswordLoginResult> {
    const release = await budget.acquire('untrusted');
    try {
      const now = clock.now();
      await limiter.assertIpAllowed(input.ip, now);
      const email = normaliseEmail(input.email);
      const orgSlug = input.orgSlug?.trim().toLowerCase() || undefined;
      const candidates = known ?? (await loginCandidates({ db, orgs }, email, orgSlug));
      if (candidates.length > 1) return { kind: 'org_required' };
      const user = candidates[0];
      if (user === undefined) return await refuseUnknown(input, email, orgSlug, release);
      if (isLocked(user, now)) {
        release();
        await limiter.journalUserFailure(user, input.ip, 'locked');
        throw new AppError('ERR_AUTH_LOCKED');
      }
      const ok = await hasher.verify(user.password_hash, input.password);
      release();
      if (!ok || user.disabled === 1) {
        const reason = user.disabled === 1 ? 'disabled' : 'bad_password';
        const locked = await limiter.journalUserFailure(user, input.ip, reason);
        throw new AppError(locked ? 'ERR_AUTH_LOCKED' : 'ERR_AUTH_INVALID_CREDENTIALS');
      }
      return await startSession(deps, input, user, undefined);
    } finally {
      release();
    }
  }

  return {
    /**
     * Checks email and password; on success starts a session (with its pending steps) and, when
     * no step is left, hands out a new device cookie. ERR_RATE_LIMITED at once when the sign-in
     * work budget has no slot.
     */
    async loginWithPassword(input: PasswordLoginInput): Promise<PasswordLoginResult> {
      const claim = devices.verify(input.deviceCookie, clock.now());
      if (claim === undefined) return untrustedAttempt(input, undefined);
      const release = await budget.acquire('trusted');
      let candidates: UserWithOrg[];
      try {
        const orgSlug = input.orgSlug?.trim().toLowerCase() || undefined;
        candidates = await loginCandidates({ db, orgs }, normaliseEmail(input.email), orgSlug);
        const user = candidates.length === 1 ? candidates[0] : undefined;
        if (user !== undefined && (await trusts(limiter, claim, user, clock.now()))) {
          return await trustedAttempt(input, user, claim, release);
        }
      } finally {
        release();
      }
      // Another account's cookie, an old epoch, or one that failed too often: no trust.
      return untrustedAttempt(input, candidates);
    },
  };
}
