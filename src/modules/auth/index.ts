/**
 * Staff authentication and organisation administration (P8, P11): users and roles, argon2id
 * passwords, TOTP, sessions, API keys, password reset, and operator access under a tenant's
 * grant. Public surface of the module: the manifest and what other modules use.
 */
import { defineModule, type ModuleDeps, recurringJob } from '../module.js';
import { registerAuthCommands } from './auth-cli.js';
import { authFields } from './auth-fields.js';
import { authEn, authNl } from './auth-messages.js';
import { authPersonalData } from './auth-personal-data.js';
import { authRoutes, authSetup } from './auth-routes.js';
import { authMigrations } from './auth-schema.js';
import { type AuthService, createAuthService } from './auth-service.js';

export { createUserFromCli } from './auth-cli.js';

export type { AuthService } from './auth-service.js';
export type { StaffName, UserView } from './auth-users.js';

declare module '../module.js' {
  interface KluisServices {
    auth: AuthService;
  }
}

export const SWEEP_SESSIONS = 'auth.sweep';

export const authModule = defineModule({
  name: 'auth',
  migrations: authMigrations,
  tables: [
    'users',
    'user_roles',
    'sessions',
    'recovery_codes',
    'login_attempts',
    'api_keys',
    'password_reset_tokens',
    'operator_grants',
  ],
  catalogue: authFields,
  personalData: authPersonalData,
  messages: { nl: authNl, en: authEn },
  provides: ['auth'],
  needs: ['orgs', 'audit', 'security', 'mail'],
  services: (deps) => ({ auth: createAuthService(deps) }),
  ...recurringJob(
    SWEEP_SESSIONS,
    { everySeconds: 3600 },
    'expired sessions and old login attempts removed',
    (deps: ModuleDeps<'auth'>) => deps.auth.sweep(),
  ),
  cli: registerAuthCommands,
  navigation: [
    { href: '/staff/users', label: 'nav.users', order: 60, permission: 'users.manage' },
    { href: '/staff/api-keys', label: 'auth.nav.apiKeys', order: 70, permission: 'api_keys.manage' },
    {
      href: '/staff/grants',
      label: 'auth.grants.title',
      order: 80,
      permission: 'grants.manage',
      orgKinds: ['tenant'],
    },
    { href: '/staff/grants/mine', label: 'auth.grants.mineTitle', order: 90, orgKinds: ['operator'] },
  ],
  setup: authSetup,
  routes: authRoutes,
});
