/**
 * Throttle records (`login_attempts`): recent failures and requests per key (`ip:<addr>`,
 * `acct:<hash>`, `reauth:<user>`, `reset-ip:<addr>`, `reset-acct:<hash>`), short-lived.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';

export function createThrottleRepository(db: Kysely<DB>) {
  return {
    async recordAttempt(key: string, at: string): Promise<void> {
      await db.insertInto('login_attempts').values({ key, at }).execute();
    },

    async countAttempts(key: string, since: string): Promise<number> {
      const row = await db
        .selectFrom('login_attempts')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('key', '=', key)
        .where('at', '>', since)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },

    async deleteAttempts(key: string): Promise<void> {
      await db.deleteFrom('login_attempts').where('key', '=', key).execute();
    },

    async purgeAttempts(before: string): Promise<number> {
      const result = await db.deleteFrom('login_attempts').where('at', '<=', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
