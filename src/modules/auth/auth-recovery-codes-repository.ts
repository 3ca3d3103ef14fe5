/** Single-use recovery codes of the second factor (`recovery_codes`): SHA-256 only, scoped by org. */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { OrgScope } from '../../shared/actor.js';

export function createRecoveryCodesRepository(db: Kysely<DB>) {
  return {
    /** Replaces every code of the user (none: the second factor was removed). */
    async replaceRecoveryCodes(
      scope: OrgScope,
      userId: string,
      hashes: readonly string[],
      now: string,
    ): Promise<void> {
      await db
        .deleteFrom('recovery_codes')
        .where('org_id', '=', scope.orgId)
        .where('user_id', '=', userId)
        .execute();
      if (hashes.length > 0) {
        await db
          .insertInto('recovery_codes')
          .values(
            hashes.map((code_hash) => ({
              user_id: userId,
              org_id: scope.orgId,
              code_hash,
              created_at: now,
              used_at: null,
            })),
          )
          .execute();
      }
    },

    /** Marks an unused code as used; false when it does not exist or was used already. */
    async useRecoveryCode(scope: OrgScope, userId: string, codeHash: string, now: string): Promise<boolean> {
      const result = await db
        .updateTable('recovery_codes')
        .set({ used_at: now })
        .where('org_id', '=', scope.orgId)
        .where('user_id', '=', userId)
        .where('code_hash', '=', codeHash)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async countUnusedRecoveryCodes(scope: OrgScope, userId: string): Promise<number> {
      const row = await db
        .selectFrom('recovery_codes')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('org_id', '=', scope.orgId)
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
  };
}
