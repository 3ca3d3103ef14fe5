/**
 * Password reset by email (P11; ASVS 6.4: single-use, expiring, no enumeration). Asking for a
 * link always gets the same answer; only a known, enabled account gets a mail, queued through
 * the mail job (the address and the link are sealed in the queue, sent over SMTP by the worker).
 * Requests are throttled per IP address and per email address (counted whether or not the
 * address is known). A link is good for 30 minutes and once: using it sets the new password
 * (policy applies), ends every session of the user and every other outstanding link. It signs
 * nobody in: the user signs in afterwards, with the second factor when TOTP is on.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Config } from '../../config/env.js';
import type { DB } from '../../db/schema.js';
import { inTransaction } from '../../db/transaction.js';
import type { Actor } from '../../shared/actor.js';
import { type Clock, MINUTE } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { isLocale, type Locale } from '../../shared/i18n/messages.js';
import type { MailService } from '../mail/index.js';
import type { OrgsService } from '../orgs/index.js';
import type { AuditService } from '../security/index.js';
import { loginCandidates } from './auth-login.js';
import { hashNewPassword, type PasswordHasher } from './auth-passwords.js';
import { createResetTokensRepository, type ResetTokenRow } from './auth-reset-tokens-repository.js';
import { createSessionsRepository } from './auth-sessions-repository.js';
import { createThrottleRepository } from './auth-throttle-repository.js';
import { normaliseEmail } from './auth-users.js';
import { createUsersRepository } from './auth-users-repository.js';

export const RESET_TOKEN_MINUTES = 30;
/** An invitation link (a new org's first owner) works for a week, once. */
export const INVITATION_DAYS = 7;

export interface ResetThrottlePolicy {
  /** Requests from one IP address within the window (any addresses asked for). */
  readonly ipMax: number;
  /** Requests for one email address (and org) within the window, known or not. */
  readonly accountMax: number;
  readonly windowMinutes: number;
}

export const defaultResetThrottle: ResetThrottlePolicy = { ipMax: 10, accountMax: 3, windowMinutes: 15 };

export interface PasswordResetDeps {
  db: Kysely<DB>;
  clock: Clock;
  hasher: PasswordHasher;
  config: Pick<Config, 'publicOrigin'>;
  orgs: Pick<OrgsService, 'findBySlug' | 'kindOf' | 'getById'>;
  audit: AuditService;
  mail: MailService;
  throttle?: Partial<ResetThrottlePolicy> | undefined;
}

export type ResetRequestResult =
  /** The same answer whether or not a mail went out. */
  | { readonly kind: 'accepted' }
  /** The address is known in several organisations: ask which one (as the sign-in page does). */
  | { readonly kind: 'org_required' };

const tokenPattern = /^[A-Za-z0-9_-]{43}$/;

export function resetTokenHash(token: string): string {
  return createHash('sha256').update(`kluis/password-reset/v1|${token}`, 'utf8').digest('hex');
}

function accountKey(email: string, orgSlug: string | undefined): string {
  const digest = createHash('sha256')
    .update(`kluis/reset-account/v1|${orgSlug ?? ''}|${email}`)
    .digest('hex');
  return `reset-acct:${digest.slice(0, 32)}`;
}

/**
 * Issues a single-use link for `user` in `trx`, ending the links issued before it (how many it
 * returns): a fresh token whose hash alone is stored, valid until `expiresAt`, and the address of
 * the page where it sets a password. Reset and invitation links share the table and the page.
 */
async function issueLink(
  trx: Kysely<DB>,
  origin: string,
  user: { readonly id: string; readonly org_id: string },
  now: Date,
  expiresAt: Date,
): Promise<{ tokenId: string; url: string; ended: number }> {
  const tokens = createResetTokensRepository(trx);
  const ended = await tokens.invalidateResetTokens({ orgId: user.org_id }, user.id, now.toISOString());
  const token = randomBytes(32).toString('base64url');
  const tokenId = randomUUID();
  await tokens.insertResetToken({
    id: tokenId,
    org_id: user.org_id,
    user_id: user.id,
    token_hash: resetTokenHash(token),
    created_at: now.toISOString(),
    expires_at: expiresAt.toISOString(),
    used_at: null,
  });
  const url = new URL('/login/reset', origin);
  url.searchParams.set('token', token);
  return { tokenId, url: url.toString(), ended };
}

const invalidToken = (message: string) => new AppError('ERR_AUTH_TOKEN_INVALID', { message });

export function createPasswordResetService(deps: PasswordResetDeps) {
  const { db, clock, hasher, config, orgs, audit, mail } = deps;
  const throttle: ResetThrottlePolicy = { ...defaultResetThrottle, ...deps.throttle };
  const windowMs = throttle.windowMinutes * MINUTE;

  /** The live token behind `token`, or ERR_AUTH_TOKEN_INVALID (unknown, used, expired). */
  async function liveToken(token: string): Promise<ResetTokenRow> {
    if (!tokenPattern.test(token)) throw invalidToken('malformed reset token');
    const row = await createResetTokensRepository(db).findResetTokenByHash(resetTokenHash(token));
    if (row === undefined) throw invalidToken('unknown reset token');
    if (row.used_at !== null) throw invalidToken('reset token already used');
    if (new Date(row.expires_at).getTime() <= clock.now().getTime())
      throw invalidToken('reset token expired');
    return row;
  }

  return {
    /**
     * Handles "forgot my password": throttles, and when the address names one known, enabled
     * account, makes a token (ending earlier ones) and queues the mail in the user's language.
     */
    async requestReset(input: {
      email: string;
      orgSlug?: string | undefined;
      ip: string;
      locale: Locale;
    }): Promise<ResetRequestResult> {
      const email = normaliseEmail(input.email);
      const orgSlug = input.orgSlug?.trim().toLowerCase() || undefined;
      const now = clock.now();
      const since = new Date(now.getTime() - windowMs).toISOString();
      const repo = createThrottleRepository(db);
      const ipKey = `reset-ip:${input.ip}`;
      const acctKey = accountKey(email, orgSlug);
      if ((await repo.countAttempts(ipKey, since)) >= throttle.ipMax) {
        throw new AppError('ERR_RATE_LIMITED', { message: 'too many reset requests from this address' });
      }
      const candidates = await loginCandidates({ db, orgs }, email, orgSlug);
      if (candidates.length > 1) return { kind: 'org_required' };
      if ((await repo.countAttempts(acctKey, since)) >= throttle.accountMax) {
        throw new AppError('ERR_RATE_LIMITED', { message: 'too many reset requests for this account' });
      }
      const user = candidates[0];

      await db.transaction().execute(async (trx) => {
        const attempts = createThrottleRepository(trx);
        const nowIso = clock.now().toISOString();
        await attempts.recordAttempt(ipKey, nowIso);
        await attempts.recordAttempt(acctKey, nowIso);
        if (user === undefined || user.disabled === 1) {
          await audit.append(trx, {
            actor: { kind: 'anonymous', orgId: user?.org_id ?? null },
            action: 'auth.password_reset.requested',
            ...(user === undefined ? {} : { target: { type: 'user', id: user.id } }),
            meta: { outcome: user === undefined ? 'unknown_account' : 'disabled' },
          });
          return;
        }
        const { tokenId, url, ended } = await issueLink(
          trx,
          config.publicOrigin,
          user,
          new Date(nowIso),
          new Date(now.getTime() + RESET_TOKEN_MINUTES * MINUTE),
        );
        const job = await mail.enqueue(trx, {
          orgId: user.org_id,
          to: user.email,
          template: 'password_reset',
          locale: isLocale(user.locale) ? user.locale : input.locale,
          vars: {
            recipientName: user.display_name,
            resetUrl: url,
            expiresInMinutes: RESET_TOKEN_MINUTES,
          },
        });
        await audit.append(trx, {
          actor: { kind: 'anonymous', orgId: user.org_id },
          action: 'auth.password_reset.requested',
          target: { type: 'user', id: user.id },
          meta: { outcome: 'sent', token_id: tokenId, job_id: job.id, earlier_tokens_ended: ended },
        });
      });
      return { kind: 'accepted' };
    },

    /** Throws ERR_AUTH_TOKEN_INVALID unless `token` is live (for showing the form). */
    async checkResetToken(token: string): Promise<void> {
      const row = await liveToken(token);
      const user = await createUsersRepository(db).findUser({ orgId: row.org_id }, row.user_id);
      if (user === undefined || user.disabled === 1) throw invalidToken('account gone or disabled');
    },

    /**
     * Sets a new password with a live token: marks it used, ends every other token and every
     * session of the user. Refuses weak passwords (ERR_AUTH_PASSWORD_WEAK, the token stays live).
     */
    async completeReset(input: { token: string; newPassword: string }): Promise<void> {
      const row = await liveToken(input.token);
      const scope = { orgId: row.org_id };
      const user = await createUsersRepository(db).findUser(scope, row.user_id);
      if (user === undefined || user.disabled === 1) throw invalidToken('account gone or disabled');
      const newHash = await hashNewPassword({ hasher, orgs }, user, input.newPassword);
      await db.transaction().execute(async (trx) => {
        const tokens = createResetTokensRepository(trx);
        const now = clock.now().toISOString();
        // The claim is the single-use check: of two requests racing with one link, one wins.
        if (!(await tokens.claimResetToken(scope, row.id, now)))
          throw invalidToken('reset token used or expired');
        await createUsersRepository(trx).updateUser(scope, user.id, {
          password_hash: newHash,
          must_change_password: 0,
          password_changed_at: now,
          updated_at: now,
        });
        // Every device cookie of the user stops being trusted (issue 15).
        await createUsersRepository(trx).bumpDeviceEpoch(scope, user.id);
        const sessionsEnded = await createSessionsRepository(trx).deleteUserSessions(scope, user.id);
        const tokensEnded = await tokens.invalidateResetTokens(scope, user.id, now);
        await audit.append(trx, {
          actor: { kind: 'anonymous', orgId: user.org_id, ref: `user:${user.id}` },
          action: 'auth.password_reset.completed',
          target: { type: 'user', id: user.id },
          meta: { token_id: row.id, sessions_ended: sessionsEnded, other_tokens_ended: tokensEnded },
        });
      });
    },

    /** Housekeeping: removes tokens that expired more than a day ago. */
    async deleteExpiredResetTokens(): Promise<number> {
      const before = new Date(clock.now().getTime() - 24 * 60 * MINUTE).toISOString();
      return createResetTokensRepository(db).deleteResetTokensExpiredBefore(before);
    },
  };
}

interface InvitationInput {
  actor: Actor;
  userId: string;
  orgName: string;
  locale: Locale;
}

/**
 * Invitations (a new org's first owner): the same token table and page as a reset link, valid
 * for INVITATION_DAYS instead of minutes.
 */
export function createInvitationService(
  deps: Pick<PasswordResetDeps, 'db' | 'clock' | 'config' | 'audit' | 'mail'>,
) {
  const { db, clock, config, audit, mail } = deps;
  /** Mails the invitation within `conn` (a caller's transaction, or `db` for a new one). */
  async function sendInvitationIn(
    conn: Kysely<DB>,
    input: InvitationInput,
  ): Promise<{ tokenId: string; jobId: string }> {
    const scope = { orgId: input.actor.orgId };
    const user = await createUsersRepository(conn).findUser(scope, input.userId);
    if (user === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'user not found' });
    return inTransaction(conn, async (trx) => {
      const now = clock.now();
      const expiresAt = new Date(now.getTime() + INVITATION_DAYS * 24 * 60 * MINUTE);
      const { tokenId, url } = await issueLink(trx, config.publicOrigin, user, now, expiresAt);
      const job = await mail.enqueue(trx, {
        orgId: user.org_id,
        to: user.email,
        template: 'staff_invitation',
        locale: input.locale,
        vars: {
          recipientName: user.display_name,
          orgName: input.orgName,
          inviteUrl: url,
          expiresInDays: INVITATION_DAYS,
        },
      });
      await audit.append(trx, {
        actor: input.actor,
        action: 'auth.invitation.sent',
        target: { type: 'user', id: user.id },
        meta: { token_id: tokenId, job_id: job.id },
      });
      return { tokenId, jobId: job.id };
    });
  }

  return {
    /**
     * Mails an invitation to a new account: a single-use link (its hash stored, like a reset
     * link) valid for INVITATION_DAYS, leading to the page where the user chooses a password;
     * at sign-in they then enrol TOTP when the organisation requires it. Audited as `actor`.
     */
    sendInvitation: (input: InvitationInput): Promise<{ tokenId: string; jobId: string }> =>
      sendInvitationIn(db, input),

    /** The same, as a step of the caller's transaction `trx` (a tenant's onboarding). */
    sendInvitationIn,
  };
}
