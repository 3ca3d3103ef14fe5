/**
 * API keys (`api_keys`), scoped by org; the look-up by key id that authenticates a request runs
 * before any actor exists.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { findInOrg } from '../../db/scoped.js';
import type { OrgScope } from '../../shared/actor.js';
import type { ApiKeysTable } from './auth-schema.js';

export type ApiKeyRow = ApiKeysTable;

interface ApiKeyForRequest extends ApiKeyRow {
  readonly creator_disabled: number;
}

export function createApiKeysRepository(db: Kysely<DB>) {
  return {
    async insertApiKey(row: ApiKeyRow): Promise<void> {
      await db.insertInto('api_keys').values(row).execute();
    },

    listApiKeys(scope: OrgScope): Promise<ApiKeyRow[]> {
      return db
        .selectFrom('api_keys')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(500)
        .execute();
    },

    findApiKey(scope: OrgScope, keyId: string): Promise<ApiKeyRow | undefined> {
      return findInOrg(db, 'api_keys', scope, keyId);
    },

    async revokeApiKey(scope: OrgScope, keyId: string, now: string): Promise<boolean> {
      const result = await db
        .updateTable('api_keys')
        .set({ revoked_at: now })
        .where('org_id', '=', scope.orgId)
        .where('id', '=', keyId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /** Request authentication only: the key with this id and whether its creator is disabled. */
    findApiKeyForRequest(keyId: string): Promise<ApiKeyForRequest | undefined> {
      return db
        .selectFrom('api_keys')
        .innerJoin('users', (join) =>
          join.onRef('users.id', '=', 'api_keys.created_by').onRef('users.org_id', '=', 'api_keys.org_id'),
        )
        .selectAll('api_keys')
        .select(['users.disabled as creator_disabled'])
        .where('api_keys.id', '=', keyId)
        .executeTakeFirst();
    },

    /** Records use, at most once per `since` (the update is skipped when a newer use is on record). */
    async touchApiKey(keyId: string, now: string, since: string): Promise<void> {
      await db
        .updateTable('api_keys')
        .set({ last_used_at: now })
        .where('id', '=', keyId)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', since)]))
        .execute();
    },
  };
}
