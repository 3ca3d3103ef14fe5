/**
 * Spent contact-form tokens (issue 15, decision 0020): one row per token an accepted submission
 * used, in the main database, so every node of a cluster refuses a token any node took — on
 * PostgreSQL as on SQLite, with or without Redis. The row is written in the submission's own
 * transaction: a request that was stored always spent its token, and a failed one spent nothing.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { HOUR } from '../../shared/clock.js';
import type { SpentFormToken } from '../../shared/http/form-guard.js';

/**
 * Rows are kept this long past their token's expiry: nodes' clocks may differ a little, and a
 * token one node still takes must not be forgotten by another node's sweep.
 */
const CLOCK_MARGIN_MS = HOUR;

/** Whether an accepted submission spent `token` already (a cheap look-up by primary key). */
export async function isFormTokenSpent(db: Kysely<DB>, token: SpentFormToken): Promise<boolean> {
  const row = await db
    .selectFrom('intake_spent_tokens')
    .select('token_hash')
    .where('org_id', '=', token.orgId)
    .where('token_hash', '=', token.hash)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Records `token` as spent; false when it already was — by this node or another, committed or
 * (on PostgreSQL) still in flight: the insert then waits for the other transaction and loses if
 * it commits. Meant to run inside the submission's transaction.
 */
export async function spendFormToken(trx: Kysely<DB>, token: SpentFormToken): Promise<boolean> {
  const result = await trx
    .insertInto('intake_spent_tokens')
    .values({ token_hash: token.hash, org_id: token.orgId, expires_at: token.expiresAt })
    .onConflict((oc) => oc.columns(['org_id', 'token_hash']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
}

/** Removes the records of tokens that are refused as expired anyway; returns how many. */
export async function pruneSpentFormTokens(db: Kysely<DB>, now: Date): Promise<number> {
  const before = new Date(now.getTime() - CLOCK_MARGIN_MS).toISOString();
  const result = await db
    .deleteFrom('intake_spent_tokens')
    .where('expires_at', '<', before)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
