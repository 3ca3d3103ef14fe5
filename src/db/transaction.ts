/**
 * Joining a caller's transaction. A use case that is also a step of a larger one (a tenant's
 * onboarding writes its agreement, its owner and the invitation in one transaction) runs inside
 * that transaction when it is handed one, and opens its own otherwise. Kysely cannot nest
 * transactions, and on SQLite a second transaction on the one connection would wait for the
 * first forever, so the step must not open another.
 */
import type { Kysely } from 'kysely';

/** Runs `work` in `db` when it is a transaction already, else in a new transaction of `db`. */
export function inTransaction<DB, T>(db: Kysely<DB>, work: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}
