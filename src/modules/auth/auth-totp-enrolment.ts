/**
 * Enrolling TOTP on one's own account (P11; required for operator staff): a new secret sealed
 * with the org key, confirmed with a code from the app, then recovery codes shown once. The
 * session is rotated when enrolment completes (privilege change); wrong codes count towards the
 * same per-user throttle as wrong current passwords.
 */
import type { Kysely } from 'kysely';
import type { Keyring } from '../../crypto/keyring.js';
import type { DB } from '../../db/schema.js';
import { scopeOf } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import type { OrgsService } from '../orgs/index.js';
import type { AuditService } from '../security/index.js';
import { type AccountGuards, type UserActor, without } from './auth-account.js';
import { createRecoveryCodesRepository } from './auth-recovery-codes-repository.js';
import type { IssuedSession, SessionService } from './auth-sessions.js';
import {
  generateRecoveryCodes,
  generateTotpSecret,
  hashRecoveryCode,
  matchTotp,
  totpUri,
} from './auth-totp.js';
import { createUsersRepository } from './auth-users-repository.js';

const totpLocation = (userId: string) => ({ table: 'users', column: 'totp_secret', rowId: userId });

interface TotpEnrolmentDeps {
  db: Kysely<DB>;
  keyring: Keyring;
  clock: Clock;
  sessions: SessionService;
  orgs: Pick<OrgsService, 'getById'>;
  audit: AuditService;
  guards: AccountGuards;
}

export function createTotpEnrolmentService(deps: TotpEnrolmentDeps) {
  const { db, clock, keyring, sessions, orgs, audit } = deps;
  const { loadSelf, assertReauthAllowed, recordReauthFailure, verifyCurrentPassword } = deps.guards;

  return {
    /**
     * Starts (or resumes) TOTP enrolment: a new secret, sealed with the org key, not yet active.
     * Returns the secret and the otpauth:// URI for the QR code.
     */
    async beginTotpEnrolment(input: {
      actor: UserActor;
      sessionId: string;
    }): Promise<{ secret: string; uri: string }> {
      const { actor } = input;
      const { user } = await loadSelf(actor, input.sessionId);
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
          await createUsersRepository(trx).updateUser(scopeOf(actor), actor.userId, {
            totp_secret: sealed,
            updated_at: clock.now().toISOString(),
          });
          await audit.append(trx, {
            actor,
            action: 'auth.totp.enrolment_started',
            target: { type: 'user', id: actor.userId },
            fields: ['totp_secret'],
          });
        });
      }
      const org = await orgs.getById(user.org_id);
      return { secret, uri: totpUri(secret, user.email, `Kluis ${org.name}`) };
    },

    /**
     * Confirms enrolment with a code from the app; returns the recovery codes, shown once. Outside
     * the set-up steps (which follow a password typed moments before), the current password is
     * asked too (ASVS 7.5.1): a borrowed session must not tie the account to someone else's app.
     */
    async confirmTotpEnrolment(input: {
      actor: UserActor;
      sessionId: string;
      code: string;
      password?: string | undefined;
    }): Promise<{ recoveryCodes: string[]; session: IssuedSession }> {
      const { actor } = input;
      const { user, pending } = await loadSelf(actor, input.sessionId);
      if (user.totp_enabled === 1 || user.totp_secret === null) {
        throw new AppError('ERR_CONFLICT', { message: 'no enrolment in progress' });
      }
      if (!pending.includes('totp_enrolment')) {
        await verifyCurrentPassword(actor, user.password_hash, input.password);
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
        const users = createUsersRepository(trx);
        const scope = scopeOf(actor);
        const now = clock.now().toISOString();
        if (!(await users.claimTotpStep(scope, actor.userId, step, now))) {
          throw new AppError('ERR_AUTH_TOTP_INVALID', { fields: { code: 'auth.totpInvalid' } });
        }
        await users.updateUser(scope, actor.userId, { totp_enabled: 1, updated_at: now });
        await createRecoveryCodesRepository(trx).replaceRecoveryCodes(
          scope,
          actor.userId,
          recoveryCodes.map(hashRecoveryCode),
          now,
        );
        const issued = await sessions.rotate(trx, input.sessionId, without(pending, 'totp_enrolment'));
        await audit.append(trx, {
          actor,
          action: 'auth.totp.enabled',
          target: { type: 'user', id: actor.userId },
          meta: { recovery_codes: recoveryCodes.length },
        });
        return issued;
      });
      return { recoveryCodes, session };
    },
  };
}
