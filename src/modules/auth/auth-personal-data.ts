/**
 * Staff accounts and credentials: staff are not data subjects of the organisation's register (their
 * own account page shows what is stored), so nothing here is linked to a data subject.
 */
import type { PersonalDataProvider } from '../personal-data.js';

export const authPersonalData: PersonalDataProvider = {
  module: 'auth',
  notLinked: {
    users:
      'staff accounts: staff are not data subjects of the organisation’s register (their own account page shows what is stored)',
    user_roles: 'staff roles',
    sessions: 'staff sign-in sessions',
    recovery_codes: 'hashes of staff recovery codes',
    api_keys: 'organisation credentials',
    password_reset_tokens: 'hashes of staff password-reset tokens',
    operator_grants:
      'a tenant’s instructions to operator staff (P8): about staff access, not about a data subject',
    login_attempts: 'sign-in throttling keys, kept less than a day and never tied to a data subject',
  },
};
