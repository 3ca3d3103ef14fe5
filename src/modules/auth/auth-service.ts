/**
 * The staff authentication core. Keeps P11 (systems not accessible without authorisation) to
 * ASVS 5.0 level 2: V6 (argon2id passwords, local weak-password refusal, throttling and lockout,
 * TOTP with replay refusal and recovery codes) and V7 (database sessions with opaque tokens,
 * idle and absolute timeouts, rotation at sign-in and privilege change, log out everywhere).
 *
 * `createAuthService` is the one entry point for routes, the CLI and other modules; it groups
 * the use cases of `auth-users.ts` (managing accounts), `auth-login.ts` (signing in),
 * `auth-account.ts` (one's own account), `auth-sessions.ts` (sessions), `auth-api-keys.ts` (API
 * keys) and `auth-password-reset.ts` (reset links by email).
 */
import type { Kysely } from 'kysely';
import type { Config } from '../../config/env.js';
import type { Keyring } from '../../crypto/keyring.js';
import type { ChangeStamp } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import { type Clock, MINUTE } from '../../shared/clock.js';
import type { KluisCore } from '../module.js';
import { createAccountService } from './auth-account.js';
import { createApiKeysService } from './auth-api-keys.js';
import { createLoginService, defaultThrottlePolicy, type ThrottlePolicy } from './auth-login.js';
import { createPasswordResetService, type ResetThrottlePolicy } from './auth-password-reset.js';
import { createPasswordHasher, type PasswordHasher } from './auth-passwords.js';
import { createAuthRepository } from './auth-repository.js';
import { createSessionService } from './auth-sessions.js';
import { createUsersService } from './auth-users.js';

export type AuthConfig = Pick<
  Config,
  'sessionIdleMinutes' | 'sessionAbsoluteHours' | 'requireTotpForOperator' | 'cookieSecure' | 'publicOrigin'
>;

export interface AuthDeps {
  db: Kysely<DB>;
  keyring: Keyring;
  clock: Clock;
  config: AuthConfig;
  /** The database's change stamp: lets the session look-up skip the query while nothing changed. */
  changeStamp?: ChangeStamp | undefined;
  /** Defaults to argon2id with the OWASP parameters. */
  hasher?: PasswordHasher;
  /** Defaults to `defaultThrottlePolicy` (5 failures lock 15 min, doubling; 20 per IP per 15 min). */
  throttle?: Partial<ThrottlePolicy>;
  /** Defaults to `defaultResetThrottle` (10 per IP, 3 per address, per 15 min). */
  resetThrottle?: Partial<ResetThrottlePolicy>;
}

export function createAuthService(deps: AuthDeps) {
  const { db, keyring, clock, config } = deps;
  const hasher = deps.hasher ?? createPasswordHasher();
  const throttle: ThrottlePolicy = { ...defaultThrottlePolicy, ...deps.throttle };
  const sessions = createSessionService({ db, clock, config, changeStamp: deps.changeStamp });
  const users = createUsersService({ db, clock, hasher });
  const login = createLoginService({ db, keyring, clock, config, hasher, sessions, throttle });
  const account = createAccountService({ db, keyring, clock, hasher, sessions });
  const apiKeys = createApiKeysService({ db, clock });
  const reset = createPasswordResetService({
    db,
    keyring,
    clock,
    hasher,
    config,
    ...(deps.resetThrottle === undefined ? {} : { throttle: deps.resetThrottle }),
  });
  return {
    hasher,
    throttle,
    sessions,
    /**
     * Housekeeping for a recurring job: deletes expired sessions, throttle records older than
     * twice the throttle window and reset links expired over a day ago. Not audited (no use
     * case, no personal values).
     */
    async sweep(): Promise<{ sessions: number; loginAttempts: number; resetTokens: number }> {
      const cutoff = new Date(clock.now().getTime() - 2 * throttle.windowMinutes * MINUTE).toISOString();
      return {
        sessions: await sessions.deleteExpired(),
        loginAttempts: await createAuthRepository(db).purgeAttempts(cutoff),
        resetTokens: await reset.deleteExpiredResetTokens(),
      };
    },
    ...users,
    ...login,
    ...account,
    ...apiKeys,
    ...reset,
  };
}

export type AuthService = ReturnType<typeof createAuthService>;

/** What the auth module's routes and hooks use: the core and the auth service. */
export type AuthRouteDeps = KluisCore & { readonly auth: AuthService };
