/** Password-reset tokens (`password_reset_tokens`): SHA-256 of single-use, expiring tokens. */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { OrgScope } from '../../shared/actor.js';
import type { PasswordResetTokensTable } from './auth-schema.js';

export type ResetTokenRow = PasswordResetTokensTable;

export function createResetTokensRepository(db: Kysely<DB>) {
  return {
    async insertResetToken(row: ResetTokenRow): Promise<void> {
      await db.insertInto('password_reset_tokens').values(row).execute();
    },

    /** Reset only: the token with this hash (the caller checks expiry and use). */
    findResetTokenByHash(tokenHash: string): Promise<ResetTokenRow | undefined> {
      return db
        .selectFrom('password_reset_tokens')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
    },

    /** Marks a live token used; false when it was used already or has expired (single use, race-safe). */
    async claimResetToken(scope: OrgScope, tokenId: string, now: string): Promise<boolean> {
      const result = await db
        .updateTable('password_reset_tokens')
        .set({ used_at: now })
        .where('org_id', '=', scope.orgId)
        .where('id', '=', tokenId)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /** Ends every outstanding token of a user (marks them used); returns how many. */
    async invalidateResetTokens(scope: OrgScope, userId: string, now: string): Promise<number> {
      const result = await db
        .updateTable('password_reset_tokens')
        .set({ used_at: now })
        .where('org_id', '=', scope.orgId)
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    /** Housekeeping: tokens that expired before `before`. */
    async deleteResetTokensExpiredBefore(before: string): Promise<number> {
      const result = await db
        .deleteFrom('password_reset_tokens')
        .where('expires_at', '<=', before)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
