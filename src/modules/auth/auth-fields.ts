/** Personal data held by the auth module: staff accounts (see register-catalogue.ts). */
import type { ModuleCatalogue } from '../../shared/catalogue.js';

const account = {
  category: 'staff_account',
  purposes: ['staff_access', 'system_security'],
  legalBasis: 'contract',
  subjects: 'staff',
  retention: 'staff_account',
  readRoles: ['owner', 'admin'],
  protection: 'plain',
} as const;

export const authFields: ModuleCatalogue = {
  fields: [
    { table: 'users', column: 'email', ...account },
    { table: 'users', column: 'display_name', ...account },
    { table: 'users', column: 'locale', ...account },
    {
      table: 'users',
      column: 'password_hash',
      ...account,
      category: 'staff_credentials',
      readRoles: [],
      protection: 'hash',
    },
    {
      table: 'users',
      column: 'totp_secret',
      ...account,
      category: 'staff_credentials',
      readRoles: [],
      protection: 'org_key',
    },
    {
      table: 'login_attempts',
      column: 'key',
      category: 'technical_metadata',
      purposes: ['system_security'],
      legalBasis: 'legitimate_interest',
      subjects: 'visitor',
      retention: 'login_throttle',
      readRoles: [],
      protection: 'plain',
    },
  ],
  notPersonal: {
    users: {
      must_change_password: 'account state flag',
      disabled: 'account state flag',
      totp_enabled: 'account state flag',
      totp_last_step: 'TOTP replay counter (a time step number)',
      failed_logins: 'lockout counter',
      lockout_count: 'lockout counter',
      device_epoch: 'generation counter of device cookies',
    },
    user_roles: { role: 'role name from a fixed list' },
    sessions: { pending: 'names of pending set-up steps', grant_id: 'id of an operator grant (structural)' },
    recovery_codes: { code_hash: 'hash of a random code, not derived from the person' },
    api_keys: {
      name: 'label of an organisation credential',
      prefix: 'public part of a random token',
      secret_hash: 'hash of a random token',
      roles: 'role names from a fixed list',
      scopes: 'interface names from a fixed list',
      created_by: 'staff user id (structural)',
    },
    password_reset_tokens: { token_hash: 'hash of a random token' },
    operator_grants: {
      grantee_user_id: 'staff user id (structural)',
      roles: 'role names from a fixed list',
      purpose: 'the tenant’s instruction to its processor (what and why); the form asks for no personal data',
      agreement_ref: 'reference to a processor agreement',
      created_by: 'staff user id (structural)',
      revoked_by: 'staff user id (structural)',
    },
  },
};
