/**
 * The staff authentication core. Keeps P11 (systems not accessible without authorisation) to
 * ASVS 5.0 level 2: V6 (argon2id passwords, local weak-password refusal, throttling and lockout,
 * TOTP with replay refusal and recovery codes) and V7 (database sessions with opaque tokens,
 * idle and absolute timeouts, rotation at sign-in and privilege change, log out everywhere), and
 * P5/P8 (access follows purpose; operator access only under a tenant's grant).
 *
 * `createAuthService` is built once per Kluis (the manifest) and is the one entry point for
 * routes, the CLI and other modules. It groups the use cases of `auth-users.ts` and
 * `auth-users-admin.ts` (accounts), `auth-login.ts` and `auth-second-factor.ts` (signing in),
 * `auth-account.ts` and `auth-totp-enrolment.ts` (one's own account), `auth-sessions.ts`,
 * `auth-api-keys.ts`, `auth-password-reset.ts` and `auth-grants.ts` (`grants`).
 *
 * Every use case audits through the security module's audit service, handed in once here and
 * passed to each part, in the use case's own transaction (Vault's rule).
 */
import type { Kysely } from 'kysely';
import type { Config } from '../../config/env.js';
import type { Keyring } from '../../crypto/keyring.js';
import type { ChangeStamp } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import { type Clock, MINUTE } from '../../shared/clock.js';
import type { MailService } from '../mail/index.js';
import type { OrgsService } from '../orgs/index.js';
import type { AuditService, SecurityService } from '../security/index.js';
import { createAccountGuards, createAccountService } from './auth-account.js';
import { createApiKeysService } from './auth-api-keys.js';
import { createDeviceCookies } from './auth-device-cookies.js';
import { createGrantsService } from './auth-grants.js';
import { createLoginService } from './auth-login.js';
import { createLoginBudget } from './auth-login-budget.js';
import {
  anonymous,
  createLoginThrottle,
  defaultThrottlePolicy,
  type ThrottlePolicy,
} from './auth-login-throttle.js';
import {
  createInvitationService,
  createPasswordResetService,
  type ResetThrottlePolicy,
} from './auth-password-reset.js';
import { createPasswordHasher, type PasswordHasher } from './auth-passwords.js';
import { createSecondFactorService } from './auth-second-factor.js';
import { createSessionService } from './auth-sessions.js';
import { createSessionsRepository } from './auth-sessions-repository.js';
import { createThrottleRepository } from './auth-throttle-repository.js';
import { createTotpEnrolmentService } from './auth-totp-enrolment.js';
import { createUsersService } from './auth-users.js';
import { createRoleAdminService, createUserAdminService } from './auth-users-admin.js';
import { createUsersRepository } from './auth-users-repository.js';

export type AuthConfig = Pick<
  Config,
  | 'sessionIdleMinutes'
  | 'sessionAbsoluteHours'
  | 'requireTotpForOperator'
  | 'cookieSecure'
  | 'publicOrigin'
  | 'loginBudget'
  | 'masterKey'
  | 'previousMasterKeys'
>;

export interface AuthDeps {
  readonly db: Kysely<DB>;
  readonly keyring: Keyring;
  readonly clock: Clock;
  readonly config: AuthConfig;
  /** The database's change stamp: lets the session look-up skip the query while nothing changed. */
  readonly changeStamp?: ChangeStamp | undefined;
  readonly orgs: OrgsService;
  readonly audit: AuditService;
  readonly security: Pick<SecurityService, 'actionsOf'>;
  readonly mail: MailService;
  /** Defaults to argon2id with the OWASP parameters. */
  readonly hasher?: PasswordHasher;
  /** Defaults to `defaultThrottlePolicy` (5 failures lock 15 min, doubling; 20 per IP per 15 min). */
  readonly throttle?: Partial<ThrottlePolicy>;
  /** Defaults to `defaultResetThrottle` (10 per IP, 3 per address, per 15 min). */
  readonly resetThrottle?: Partial<ResetThrottlePolicy>;
}

export function createAuthService(deps: AuthDeps) {
  const { db, clock } = deps;
  const hasher = deps.hasher ?? createPasswordHasher();
  const throttle: ThrottlePolicy = { ...defaultThrottlePolicy, ...deps.throttle };
  const common = { ...deps, hasher, throttle };
  const sessions = createSessionService(common);
  const limiter = createLoginThrottle(common);
  const budget = createLoginBudget(deps.config.loginBudget);
  const devices = createDeviceCookies(deps.config);
  const signIns = createLoginService({ ...common, sessions, limiter, budget, devices });
  const guards = createAccountGuards(common);
  const reset = createPasswordResetService({ ...common, throttle: deps.resetThrottle });
  return {
    hasher,
    throttle,
    sessions,
    /** Operator access under a tenant's grant (P8). */
    grants: createGrantsService({ ...common, sessions }),
    /**
     * Housekeeping for a recurring job: deletes expired sessions, throttle records older than
     * twice the throttle window and reset links expired over a day ago. Not audited (no use
     * case, no personal values).
     */
    async sweep(): Promise<{ sessions: number; loginAttempts: number; resetTokens: number }> {
      const cutoff = new Date(clock.now().getTime() - 2 * throttle.windowMinutes * MINUTE).toISOString();
      return {
        sessions: await sessions.deleteExpired(),
        loginAttempts: await createThrottleRepository(db).purgeAttempts(cutoff),
        resetTokens: await reset.deleteExpiredResetTokens(),
      };
    },
    /** The device cookies of sign-in (issue 15): verifying one the browser presents. */
    devices,
    /** The sign-in work budget (issue 15): its lanes' use, for the health of the process. */
    loginBudget: budget,
    /**
     * Writes one audit entry with the number of sign-ins the budget refused since the last call
     * (none when there were none): refusals are counted in memory, never written one by one.
     * Called every minute and at shutdown by the web process (auth-routes.ts).
     */
    async reportLoginRefusals(): Promise<number> {
      const refused = budget.takeRefused();
      const total = refused.trusted + refused.untrusted;
      if (total > 0) {
        await deps.audit.append(db, {
          actor: anonymous(null),
          action: 'auth.login.refused_busy',
          meta: { untrusted: refused.untrusted, trusted: refused.trusted },
        });
      }
      return total;
    },
    /** Writes the failed sign-ins still waiting for their group commit (shutdown). */
    flushLoginFailures: (): Promise<void> => limiter.journal.flush(),
    /** Ends every session of an organisation's own staff (it was suspended); returns how many. */
    endOrgSessions: (orgId: string): Promise<number> =>
      createSessionsRepository(db).deleteOrgSessions({ orgId }),
    /** How many staff accounts an organisation has (a count only: for the operator's tenant list). */
    countStaff: (orgId: string): Promise<number> =>
      createUsersRepository(db).countUsers({ orgId }, { now: clock.now().toISOString() }),
    ...createUsersService(common),
    ...createUserAdminService(common),
    ...createRoleAdminService(common),
    ...signIns,
    ...createSecondFactorService({ ...common, sessions, limiter, devices }),
    ...createAccountService({ ...common, sessions, guards }),
    ...createTotpEnrolmentService({ ...common, sessions, guards }),
    ...createApiKeysService(common),
    ...reset,
    ...createInvitationService(common),
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
