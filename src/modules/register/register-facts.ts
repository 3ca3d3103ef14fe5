/**
 * What a data subject's access export says about the controller and the recipients (P15): the
 * organisation, its published details, the register's activities and its sub-processors. Read
 * for every export, changed a few times a year: kept in memory per organisation until the
 * register's stamp moves (issue 15).
 *
 * Exact, not timed: the stamp (`register_stamp`) is replaced by database triggers on every change
 * to the register's tables and `orgs` (migration 0907), whoever makes it — a service, offboarding,
 * the CLI, another node. Each use reads the stamp (one look-up by primary key) before the cache:
 * facts filled under a stamp were read after it, so they are never older than the stamp says.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { RegisterSnapshot } from './register-service.js';

export type RegisterFacts = Pick<RegisterSnapshot, 'org' | 'settings' | 'activities' | 'subprocessors'>;

/** Organisations kept at most (the least recently used go first). */
const MAX_ORGS = 1000;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** The register's current stamp; undefined without the row (then nothing is cached). */
export async function registerStamp(db: Kysely<DB>): Promise<string | undefined> {
  const row = await db.selectFrom('register_stamp').select('stamp').where('id', '=', 1).executeTakeFirst();
  return row?.stamp;
}

/** `load` cached per organisation under the register's stamp. */
export function createFactsCache(db: Kysely<DB>, load: (orgId: string) => Promise<RegisterFacts>) {
  const cache = new Map<string, { readonly stamp: string; readonly facts: RegisterFacts }>();
  let fills = 0;
  return {
    async factsOf(orgId: string): Promise<RegisterFacts> {
      const stamp = await registerStamp(db);
      const hit = cache.get(orgId);
      if (hit !== undefined && stamp !== undefined && hit.stamp === stamp) {
        cache.delete(orgId);
        cache.set(orgId, hit);
        return hit.facts;
      }
      const facts = deepFreeze(await load(orgId));
      fills++;
      if (stamp === undefined) return facts;
      cache.delete(orgId);
      cache.set(orgId, { stamp, facts });
      if (cache.size > MAX_ORGS) {
        const oldest = cache.keys().next();
        if (oldest.done !== true) cache.delete(oldest.value);
      }
      return facts;
    },
    /** How often the facts were read from the database (tests). */
    fills: () => fills,
  };
}
