/**
 * The sweep of orphan org keys (P11). An org key is minted in the key store — a database of its
 * own — on the org's first use of it, inside the transaction that creates the org. A failed
 * onboarding removes its key at once (tenants-service.ts), but a process that dies between the
 * key store's write and the main database's rollback leaves a key whose org never existed. Such
 * a key wraps nothing that survived; this daily sweep removes it, audited, so the key store holds
 * keys of real organisations only.
 *
 * What it leaves alone, on purpose:
 * - keys younger than an hour: another node may be onboarding that org right now, and removing
 *   its key before the commit would leave an org whose sealed rows nobody can open;
 * - keys that wrap subject keys: a failed onboarding makes none, so such a key points at a
 *   database mix-up (a main database restored apart from its key store), which is the operator's
 *   to look at, not a sweep's to settle; it is counted and logged;
 * - everything, when the main database has no operator: a wrong or empty database must not make
 *   every key look orphaned.
 */
import type { Kysely } from 'kysely';
import type { Keyring } from '../../crypto/keyring.js';
import type { DB } from '../../db/schema.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { HOUR } from '../../shared/clock.js';
import type { OrgsService } from '../orgs/index.js';
import type { AuditService } from '../security/index.js';

export const ORPHAN_KEYS_JOB = 'tenants.orphan_keys';

/** How old a key without an org must be before the sweep takes it. */
export const ORPHAN_KEY_GRACE_MS = HOUR;

export interface OrphanKeySweepDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly keyring: Pick<Keyring, 'listOrgKeys' | 'forgetUnbornOrg'>;
  readonly orgs: Pick<OrgsService, 'list' | 'findById' | 'findOperator'>;
  readonly audit: Pick<AuditService, 'append'>;
}

export interface OrphanKeySweep {
  /** Orphan org keys removed (each audited as `keys.orphan_removed`). */
  readonly removed: number;
  /** Orphans too young to take yet. */
  readonly young: number;
  /** Orphans that wrap subject keys: left for the operator. */
  readonly withSubjectKeys: number;
  /** True when the main database has no operator and nothing was looked at. */
  readonly skipped: boolean;
}

/** Removes org keys whose org does not exist in the main database (see the file's comment). */
export async function sweepOrphanOrgKeys(deps: OrphanKeySweepDeps): Promise<OrphanKeySweep> {
  const { db, clock, keyring, orgs, audit } = deps;
  const operator = await orgs.findOperator();
  if (operator === undefined) return { removed: 0, young: 0, withSubjectKeys: 0, skipped: true };
  const keys = await keyring.listOrgKeys();
  const existing = new Set((await orgs.list()).map((o) => o.id));
  const cutoff = clock.now().getTime() - ORPHAN_KEY_GRACE_MS;
  const actor: Actor = {
    kind: 'system',
    orgId: operator.id,
    orgKind: 'operator',
    reason: ORPHAN_KEYS_JOB,
    roles: [],
  };
  let removed = 0;
  let young = 0;
  let withSubjectKeys = 0;
  for (const key of keys) {
    if (existing.has(key.orgId)) continue;
    if (Date.parse(key.createdAt) > cutoff) {
      young++;
    } else if (key.subjectKeys > 0) {
      withSubjectKeys++;
    } else if ((await orgs.findById(key.orgId)) === undefined) {
      // Audit first (vault's rule): an entry without the removal is retried by the next sweep.
      await audit.append(db, {
        actor,
        action: 'keys.orphan_removed',
        target: { type: 'org', id: key.orgId },
        meta: { minted_at: key.createdAt },
      });
      await keyring.forgetUnbornOrg(key.orgId);
      removed++;
    }
  }
  return { removed, young, withSubjectKeys, skipped: false };
}
