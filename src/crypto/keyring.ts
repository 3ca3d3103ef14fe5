/**
 * The keyring (P11, and the ground for erasure in P15/P6): master key -> org keys -> subject keys.
 *
 * - Org keys are random, wrapped by the master key. Several master keys may be configured
 *   (current first, previous after) so a master key can be rotated without downtime:
 *   `rotateMasterKey` re-wraps every org key under the current one.
 * - Subject keys are random, wrapped by their org key; personal fields are sealed with them.
 *   `destroySubjectKey` deletes the key and leaves a tombstone: the subject's ciphertext is
 *   unreadable everywhere, and no later call can mint a new key for that subject.
 * - Blind indexes are HMAC-SHA256 of a normalised value under a per-org key derived from the org
 *   key, so look-ups by email/phone/IBAN never need the value in clear.
 */
import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../shared/clock.js';
import { AppError } from '../shared/errors.js';
import { open, seal } from './aead.js';
import type { KeystoreDB } from './keystore-schema.js';

export interface FieldLocation {
  readonly table: string;
  readonly column: string;
  readonly rowId: string;
}

export type BlindIndexKind = 'email' | 'phone' | 'iban' | 'name' | 'text';

export function masterKeyId(masterKey: Buffer): string {
  return createHash('sha256').update('kluis/master-key-id').update(masterKey).digest('hex').slice(0, 16);
}

/** Normalises a value before blind indexing, so equal values give equal indexes. */
export function normaliseForIndex(kind: BlindIndexKind, value: string): string {
  const trimmed = value.normalize('NFKC').trim();
  switch (kind) {
    case 'email':
      return trimmed.toLowerCase();
    case 'phone':
      return trimmed.replace(/[^\d+]/g, '').replace(/^00/, '+');
    case 'iban':
      return trimmed.replace(/\s+/g, '').toUpperCase();
    case 'name':
      return trimmed.replace(/\s+/g, ' ').toLowerCase();
    case 'text':
      return trimmed;
  }
}

interface CachedKey {
  key: Buffer;
  expires: number;
}

export interface KeyringOptions {
  keystore: Kysely<KeystoreDB>;
  /** Current master key first; previous keys (during rotation) after it. */
  masterKeys: readonly Buffer[];
  clock: Clock;
  /** How long unwrapped keys stay in memory (ms). */
  cacheTtlMs?: number;
  cacheMaxEntries?: number;
}

/** Unwrapped keys held in memory for `ttlMs`, at most `maxEntries` (the oldest goes first). */
function createKeyCache(ttlMs: number, maxEntries: number) {
  const cache = new Map<string, CachedKey>();
  return {
    get(id: string): Buffer | undefined {
      const hit = cache.get(id);
      if (hit === undefined) return undefined;
      if (hit.expires < Date.now()) {
        cache.delete(id);
        return undefined;
      }
      return hit.key;
    },
    set(id: string, key: Buffer): void {
      if (cache.size >= maxEntries) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      cache.set(id, { key, expires: Date.now() + ttlMs });
    },
    delete(id: string): void {
      cache.delete(id);
    },
    clear(): void {
      cache.clear();
    },
    /** The ids held (offboarding drops an org's keys by prefix). */
    keys(): IterableIterator<string> {
      return cache.keys();
    },
  };
}

const orgAad = (orgId: string) => `kluis/org-key/v1|${orgId}`;
const subjectAad = (orgId: string, subjectId: string) => `kluis/subject-key/v1|${orgId}|${subjectId}`;
const fieldAad = (owner: string, loc: FieldLocation) =>
  `kluis/field/v1|${owner}|${loc.table}|${loc.column}|${loc.rowId}`;

/**
 * The key hierarchy's lower half: org keys (minted on first use, wrapped by a configured master
 * key) and subject keys (wrapped by their org key, never re-minted after destruction), cached.
 */
function createKeyStore(options: KeyringOptions) {
  const { keystore, clock } = options;
  const [first, ...previous] = options.masterKeys;
  if (first === undefined) throw new Error('the keyring needs a master key');
  const current: Buffer = first;
  const masters = new Map<string, Buffer>([current, ...previous].map((k) => [masterKeyId(k), k]));
  const currentId = masterKeyId(current);
  const cache = createKeyCache(options.cacheTtlMs ?? 5 * 60_000, options.cacheMaxEntries ?? 10_000);

  /** The configured master key that wrapped an org key; `advice` ends the error when it is not. */
  function masterOf(id: string, advice = ''): Buffer {
    const master = masters.get(id);
    if (master === undefined) {
      throw new AppError('ERR_CRYPTO_DECRYPT_FAILED', {
        message: `org key wrapped by master key ${id}, which is not configured${advice}`,
      });
    }
    return master;
  }

  async function orgKey(orgId: string): Promise<Buffer> {
    const cacheId = `org:${orgId}`;
    const cached = cache.get(cacheId);
    if (cached !== undefined) return cached;
    let row = await keystore
      .selectFrom('org_keys')
      .selectAll()
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    if (row === undefined) {
      // A destroyed org key stays destroyed: the offboarded tenant's data stays unreadable.
      const tombstone = await keystore
        .selectFrom('org_key_tombstones')
        .select('org_id')
        .where('org_id', '=', orgId)
        .executeTakeFirst();
      if (tombstone !== undefined) {
        throw new AppError('ERR_CRYPTO_KEY_DESTROYED', { message: 'org key destroyed' });
      }
      const fresh = randomBytes(32);
      await keystore
        .insertInto('org_keys')
        .values({
          org_id: orgId,
          master_key_id: currentId,
          wrapped_key: seal(current, fresh, orgAad(orgId)),
          created_at: clock.now().toISOString(),
          rotated_at: null,
        })
        .onConflict((oc) => oc.column('org_id').doNothing())
        .execute();
      row = await keystore
        .selectFrom('org_keys')
        .selectAll()
        .where('org_id', '=', orgId)
        .executeTakeFirstOrThrow();
    }
    const key = open(masterOf(row.master_key_id), row.wrapped_key, orgAad(orgId));
    cache.set(cacheId, key);
    return key;
  }

  async function isDestroyed(orgId: string, subjectId: string): Promise<boolean> {
    const row = await keystore
      .selectFrom('subject_key_tombstones')
      .select('subject_id')
      .where('org_id', '=', orgId)
      .where('subject_id', '=', subjectId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async function subjectKey(orgId: string, subjectId: string, create: boolean): Promise<Buffer> {
    const cacheId = `subject:${orgId}:${subjectId}`;
    const cached = cache.get(cacheId);
    if (cached !== undefined) return cached;
    const wrapping = await orgKey(orgId);
    let row = await keystore
      .selectFrom('subject_keys')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('subject_id', '=', subjectId)
      .executeTakeFirst();
    if (row === undefined) {
      // A destroyed key stays destroyed: never re-mint one for an erased subject.
      if (!create || (await isDestroyed(orgId, subjectId))) {
        throw new AppError('ERR_CRYPTO_KEY_DESTROYED', { message: 'subject key destroyed or never created' });
      }
      // The row as inserted, or — when another connection minted this subject's key first — theirs.
      row =
        (await keystore
          .insertInto('subject_keys')
          .values({
            org_id: orgId,
            subject_id: subjectId,
            wrapped_key: seal(wrapping, randomBytes(32), subjectAad(orgId, subjectId)),
            created_at: clock.now().toISOString(),
          })
          .onConflict((oc) => oc.columns(['org_id', 'subject_id']).doNothing())
          .returningAll()
          .executeTakeFirst()) ??
        (await keystore
          .selectFrom('subject_keys')
          .selectAll()
          .where('org_id', '=', orgId)
          .where('subject_id', '=', subjectId)
          .executeTakeFirstOrThrow());
    }
    const key = open(wrapping, row.wrapped_key, subjectAad(orgId, subjectId));
    cache.set(cacheId, key);
    return key;
  }

  return { current, currentId, masterOf, cache, orgKey, subjectKey, isDestroyed };
}

/**
 * Housekeeping of org keys whose org never came to be (see `forgetUnbornOrg`): apart from the
 * keyring's use cases so that each stays short.
 */
function createUnbornOrgKeys(keystore: Kysely<KeystoreDB>, cache: ReturnType<typeof createKeyCache>) {
  return {
    /**
     * Removes the keys of an org that never came to be: the transaction that would have created
     * it rolled back after a key was minted on first use, or the process died between the two
     * commits. No tombstone: org ids are random and never handed out again. The caller makes
     * sure the org does not exist in the main database; an existing org's keys go only through
     * `destroyOrgKey`.
     */
    async forgetUnbornOrg(orgId: string): Promise<{ orgKeyExisted: boolean; subjectKeys: number }> {
      const result = await keystore.transaction().execute(async (trx) => {
        const subjects = await trx.deleteFrom('subject_keys').where('org_id', '=', orgId).executeTakeFirst();
        const gone = await trx.deleteFrom('org_keys').where('org_id', '=', orgId).executeTakeFirst();
        return {
          orgKeyExisted: Number(gone.numDeletedRows) > 0,
          subjectKeys: Number(subjects.numDeletedRows),
        };
      });
      for (const id of [...cache.keys()]) {
        if (id === `org:${orgId}` || id.startsWith(`subject:${orgId}:`)) cache.delete(id);
      }
      return result;
    },

    /** Every org key in the store: its org, when it was minted, how many subject keys it wraps. */
    async listOrgKeys(): Promise<{ orgId: string; createdAt: string; subjectKeys: number }[]> {
      const rows = await keystore
        .selectFrom('org_keys')
        .leftJoin('subject_keys', 'subject_keys.org_id', 'org_keys.org_id')
        .select((eb) => [
          'org_keys.org_id as orgId',
          'org_keys.created_at as createdAt',
          eb.fn.count<number | string>('subject_keys.subject_id').as('subjectKeys'),
        ])
        .groupBy(['org_keys.org_id', 'org_keys.created_at'])
        .orderBy('org_keys.created_at')
        .execute();
      return rows.map((r) => ({
        orgId: r.orgId,
        createdAt: r.createdAt,
        subjectKeys: Number(r.subjectKeys),
      }));
    },
  };
}

export function createKeyring(options: KeyringOptions) {
  const { keystore, clock } = options;
  const { current, currentId, masterOf, cache, orgKey, subjectKey, isDestroyed } = createKeyStore(options);
  /** Blind-index keys per org key object (see `blindIndex`). */
  const indexKeys = new WeakMap<Buffer, Buffer>();

  return {
    ...createUnbornOrgKeys(keystore, cache),
    /** Seals a personal field with the data subject's key (created on first use). */
    async encryptForSubject(
      orgId: string,
      subjectId: string,
      loc: FieldLocation,
      plaintext: string,
    ): Promise<Buffer> {
      const key = await subjectKey(orgId, subjectId, true);
      return seal(key, Buffer.from(plaintext, 'utf8'), fieldAad(`subject:${orgId}:${subjectId}`, loc));
    },

    /** Opens a personal field; throws ERR_CRYPTO_KEY_DESTROYED after erasure. */
    async decryptForSubject(
      orgId: string,
      subjectId: string,
      loc: FieldLocation,
      envelope: Buffer,
    ): Promise<string> {
      const key = await subjectKey(orgId, subjectId, false);
      return open(key, envelope, fieldAad(`subject:${orgId}:${subjectId}`, loc)).toString('utf8');
    },

    /** Seals an org-owned secret that belongs to no data subject (e.g. a TOTP seed, an SMTP password). */
    async encryptForOrg(orgId: string, loc: FieldLocation, plaintext: string): Promise<Buffer> {
      return seal(await orgKey(orgId), Buffer.from(plaintext, 'utf8'), fieldAad(`org:${orgId}`, loc));
    },

    async decryptForOrg(orgId: string, loc: FieldLocation, envelope: Buffer): Promise<string> {
      return open(await orgKey(orgId), envelope, fieldAad(`org:${orgId}`, loc)).toString('utf8');
    },

    /** HMAC-SHA256 blind index of a normalised value, under the org's index key. */
    async blindIndex(orgId: string, kind: BlindIndexKind, value: string): Promise<string> {
      const key = await orgKey(orgId);
      // Derived once per org key held (HKDF showed up per contact post, issue 15); keyed by the
      // key object itself, so a rotated or reloaded org key derives its own.
      let indexKey = indexKeys.get(key);
      if (indexKey === undefined) {
        indexKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'kluis/blind-index/v1', 32));
        indexKeys.set(key, indexKey);
      }
      return createHmac('sha256', indexKey)
        .update(`${kind}:${normaliseForIndex(kind, value)}`)
        .digest('hex');
    },

    /** Crypto-shredding: deletes the subject key and leaves a tombstone. Idempotent. */
    async destroySubjectKey(orgId: string, subjectId: string): Promise<void> {
      await keystore.transaction().execute(async (trx) => {
        await trx
          .deleteFrom('subject_keys')
          .where('org_id', '=', orgId)
          .where('subject_id', '=', subjectId)
          .execute();
        await trx
          .insertInto('subject_key_tombstones')
          .values({ org_id: orgId, subject_id: subjectId, destroyed_at: clock.now().toISOString() })
          .onConflict((oc) => oc.columns(['org_id', 'subject_id']).doNothing())
          .execute();
      });
      cache.delete(`subject:${orgId}:${subjectId}`);
    },

    isSubjectKeyDestroyed: isDestroyed,

    /**
     * Crypto-shredding of a whole organisation (tenant offboarding): deletes its org key and every
     * subject key under it, leaving tombstones for each. Returns the subject ids whose keys went.
     * Idempotent.
     */
    async destroyOrgKey(orgId: string): Promise<{ subjectIds: string[]; orgKeyExisted: boolean }> {
      const now = clock.now().toISOString();
      const result = await keystore.transaction().execute(async (trx) => {
        const subjects = await trx
          .selectFrom('subject_keys')
          .select('subject_id')
          .where('org_id', '=', orgId)
          .execute();
        const subjectIds = subjects.map((r) => r.subject_id);
        for (let i = 0; i < subjectIds.length; i += 500) {
          await trx
            .insertInto('subject_key_tombstones')
            .values(
              subjectIds
                .slice(i, i + 500)
                .map((id) => ({ org_id: orgId, subject_id: id, destroyed_at: now })),
            )
            .onConflict((oc) => oc.columns(['org_id', 'subject_id']).doNothing())
            .execute();
        }
        await trx.deleteFrom('subject_keys').where('org_id', '=', orgId).execute();
        const gone = await trx.deleteFrom('org_keys').where('org_id', '=', orgId).executeTakeFirst();
        await trx
          .insertInto('org_key_tombstones')
          .values({ org_id: orgId, destroyed_at: now })
          .onConflict((oc) => oc.column('org_id').doNothing())
          .execute();
        return { subjectIds, orgKeyExisted: Number(gone.numDeletedRows) > 0 };
      });
      // Rare (a tenant leaves): forget every unwrapped key rather than hunt for this org's.
      cache.clear();
      return result;
    },

    /**
     * Re-wraps every org key not yet under the current master key. Safe to run while Kluis
     * serves: each row is re-wrapped in its own statement and both keys unwrap during the change.
     */
    async rotateMasterKey(
      onProgress?: (done: number, total: number) => void,
    ): Promise<{ rewrapped: number }> {
      const rows = await keystore
        .selectFrom('org_keys')
        .selectAll()
        .where('master_key_id', '!=', currentId)
        .execute();
      let done = 0;
      for (const row of rows) {
        const master = masterOf(row.master_key_id, ': add it as KLUIS_MASTER_KEY_PREVIOUS');
        const key = open(master, row.wrapped_key, orgAad(row.org_id));
        await keystore
          .updateTable('org_keys')
          .set({
            master_key_id: currentId,
            wrapped_key: seal(current, key, orgAad(row.org_id)),
            rotated_at: clock.now().toISOString(),
          })
          .where('org_id', '=', row.org_id)
          .where('master_key_id', '=', row.master_key_id)
          .execute();
        done++;
        onProgress?.(done, rows.length);
      }
      return { rewrapped: done };
    },

    /** Forgets unwrapped keys held in memory. */
    clearCache(): void {
      cache.clear();
    },
  };
}

export type Keyring = ReturnType<typeof createKeyring>;
