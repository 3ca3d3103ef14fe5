/**
 * Replaying the erasure ledger (P6, P15): after a backup is restored, every erasure recorded
 * since (a day before) the backup was taken is applied again — records deleted, anonymised or
 * restricted in a restored database, subject keys destroyed in a restored key store — so nobody
 * erased since the backup comes back. Replays apply unconditionally (the restored copy may
 * predate the event that made the record expire) and are idempotent.
 *
 * `retentionRestoreStep` is the post-restore step of `kluis backup restore` (SQLite);
 * `kluis retention replay --since <time>` does the same on a live database after a PostgreSQL
 * `pg_restore`.
 */
import type { Kysely } from 'kysely';
import type { KeystoreDB } from '../../crypto/keystore-schema.js';
import type { DialectName } from '../../db/database.js';
import { isPostgres } from '../../db/dialect.js';
import type { DB } from '../../db/schema.js';
import { DAY } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { type LineSource, whereOf } from '../../shared/json-lines.js';
import type { PostRestoreStep } from '../ops/index.js';
import { createOrgsRepository } from '../orgs/index.js';
import { installedPersonalData, type PersonalDataProvider } from '../personal-data.js';
import { createAuditService } from '../security/index.js';
import { type LedgerLine, ledgerPathOf, readErasureLedger } from './retention-ledger.js';
import { effectivePolicies, policyDefinitions } from './retention-policies.js';
import { findTarget, replayTargets } from './retention-registry.js';
import { createRetentionRepository } from './retention-repository.js';
import { chunks } from './retention-target.js';

/** Ledger lines are written before their commit; a backup taken in between lacks the erasure. */
export const REPLAY_MARGIN_MS = DAY;

export interface ReplayReport {
  readonly entries: number;
  readonly records: number;
  readonly keys: number;
  readonly skipped: number;
  /**
   * Key store only: subjects an erasure created to hold kept records (the fiscal remnant) whose
   * key this key store lacks — it was copied before they existed, so those records do not open.
   */
  readonly missingKeys?: number;
}

async function* erasuresSince(
  file: LineSource,
  since: string | undefined,
): AsyncGenerator<Extract<LedgerLine, { kind: 'erasure' }>> {
  for await (const read of readErasureLedger(file)) {
    if (!read.ok) {
      throw new AppError('ERR_VALIDATION', {
        message: `erasure ledger ${whereOf(file)} line ${read.lineNo} is unreadable: run \`kluis retention ledger verify\`; nothing replayed past it`,
      });
    }
    if (read.line.kind !== 'erasure') continue;
    if (since !== undefined && read.line.at < since) continue;
    yield read.line;
  }
}

/** Re-applies the ledger's erasures to a (restored) main database, through the providers' targets. */
export async function replayLedgerOnDatabase(
  db: Kysely<DB>,
  config: Parameters<typeof policyDefinitions>[0],
  providers: readonly PersonalDataProvider[],
  file: LineSource,
  since: string | undefined,
): Promise<ReplayReport> {
  let entries = 0;
  let records = 0;
  let skipped = 0;
  const dialect: DialectName = isPostgres(db as Kysely<unknown>) ? 'postgres' : 'sqlite';
  const targets = replayTargets(providers);
  const known = new Set((await createOrgsRepository(db).list()).map((o) => o.id));
  for await (const entry of erasuresSince(file, since)) {
    const target = findTarget(entry.target, targets);
    // An org created after the backup has no rows in it to erase.
    if (target === undefined || !known.has(entry.org)) {
      skipped++;
      continue;
    }
    const policies = effectivePolicies(
      policyDefinitions(config),
      await createRetentionRepository(db).listPolicyRows({ orgId: entry.org }),
    );
    const ctx = {
      orgId: entry.org,
      dialect,
      asOf: new Date(entry.as_of),
      policies,
      providers,
      ledgerCarry: entry.carry,
    };
    for (const part of chunks(entry.ids)) {
      const result = await db.transaction().execute((trx) => target.apply(trx, ctx, part, 'replay'));
      records += result.applied;
    }
    entries++;
  }
  return { entries, records, keys: 0, skipped };
}

/** Re-destroys, in a (restored) key store, every subject key the ledger says was destroyed. */
export async function replayLedgerOnKeystore(
  keystore: Kysely<KeystoreDB>,
  providers: readonly PersonalDataProvider[],
  file: LineSource,
  since: string | undefined,
): Promise<ReplayReport> {
  let entries = 0;
  let keys = 0;
  const targets = replayTargets(providers);
  const shredding = new Set(targets.filter((t) => t.shredsKeys === true).map((t) => t.id));
  const orgShredding = new Set(targets.filter((t) => t.shredsOrgKey === true).map((t) => t.id));
  const created: { org: string; subject: string }[] = [];
  for await (const entry of erasuresSince(file, since)) {
    for (const subject of entry.created ?? []) created.push({ org: entry.org, subject });
    if (orgShredding.has(entry.target)) {
      keys += await destroyOrgKeys(keystore, entry.ids, entry.at);
      entries++;
      continue;
    }
    if (!shredding.has(entry.target)) continue;
    for (const part of chunks(entry.ids)) {
      await keystore.transaction().execute(async (trx) => {
        const gone = await trx
          .deleteFrom('subject_keys')
          .where('org_id', '=', entry.org)
          .where('subject_id', 'in', part)
          .executeTakeFirst();
        keys += Number(gone.numDeletedRows);
        await trx
          .insertInto('subject_key_tombstones')
          .values(
            part.map((subjectId) => ({ org_id: entry.org, subject_id: subjectId, destroyed_at: entry.at })),
          )
          .onConflict((oc) => oc.columns(['org_id', 'subject_id']).doNothing())
          .execute();
      });
    }
    entries++;
  }
  return { entries, records: 0, keys, skipped: 0, missingKeys: await missingKeys(keystore, created) };
}

/** Of `created`, those with neither a key nor a tombstone (a later erasure of theirs is fine). */
async function missingKeys(
  keystore: Kysely<KeystoreDB>,
  created: readonly { org: string; subject: string }[],
): Promise<number> {
  let missing = 0;
  for (const { org, subject } of created) {
    const key = await keystore
      .selectFrom('subject_keys')
      .select('subject_id')
      .where('org_id', '=', org)
      .where('subject_id', '=', subject)
      .executeTakeFirst();
    const tombstone = await keystore
      .selectFrom('subject_key_tombstones')
      .select('subject_id')
      .where('org_id', '=', org)
      .where('subject_id', '=', subject)
      .executeTakeFirst();
    if (key === undefined && tombstone === undefined) missing++;
  }
  return missing;
}

/** An offboarded tenant's org key and every subject key under it, destroyed again (tombstoned). */
async function destroyOrgKeys(keystore: Kysely<KeystoreDB>, orgIds: readonly string[], at: string) {
  let keys = 0;
  for (const orgId of orgIds) {
    await keystore.transaction().execute(async (trx) => {
      const subjects = await trx.deleteFrom('subject_keys').where('org_id', '=', orgId).executeTakeFirst();
      const org = await trx.deleteFrom('org_keys').where('org_id', '=', orgId).executeTakeFirst();
      keys += Number(subjects.numDeletedRows) + Number(org.numDeletedRows);
      await trx
        .insertInto('org_key_tombstones')
        .values({ org_id: orgId, destroyed_at: at })
        .onConflict((oc) => oc.column('org_id').doNothing())
        .execute();
    });
  }
  return keys;
}

/** The replay's starting point for a backup taken at `createdAt`. */
export function replaySince(createdAt: string): string {
  return new Date(Date.parse(createdAt) - REPLAY_MARGIN_MS).toISOString();
}

/**
 * The post-restore step: replay the ledger into the restored copy. (Access-log rows are not in
 * the ledger — they name no data subject — and the next nightly sweep removes the restored ones
 * that are past their period.)
 */
export const retentionRestoreStep: PostRestoreStep = {
  name: 'replay the erasure ledger',
  async run({ restored, manifest, config, clock }) {
    const file = ledgerPathOf(config);
    const since = replaySince(manifest.created_at);
    // No Kluis runs during a restore: the providers are the ones the module list installed.
    const providers = installedPersonalData().all();
    if (restored.kind === 'keystore') {
      const r = await replayLedgerOnKeystore(restored.db, providers, file, since);
      const missing =
        (r.missingKeys ?? 0) === 0
          ? ''
          : `; WARNING: ${r.missingKeys} keys of records kept for a legal duty after an erasure are not in this copy (it predates them): restore a key-store backup taken after ${since}, or those records stay unreadable`;
      return `${r.entries} erasures since ${since}: ${r.keys} subject keys destroyed again${missing}`;
    }
    const r = await replayLedgerOnDatabase(restored.db, config, providers, file, since);
    if (r.entries > 0) {
      await createAuditService({ clock }).append(restored.db, {
        actor: { kind: 'anonymous', orgId: null, ref: 'system:restore' },
        action: 'retention.ledger.replayed',
        meta: { since, entries: r.entries, records: r.records, skipped: r.skipped },
      });
    }
    return `${r.entries} erasures since ${since}: ${r.records} records erased again${r.skipped > 0 ? `, ${r.skipped} skipped (org or category not in this backup)` : ''}`;
  },
};
