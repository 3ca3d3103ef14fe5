/**
 * Finding and creating data subjects by blind index (P3, P15): every channel links what it
 * stores to one subject, so the rights workflow can find everything about one person without
 * a searchable copy of their email address or phone number. Keeps P11 (no clear-text look-up
 * values) and prepares P15 (access, erasure).
 */
import { type Kysely, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { Keyring } from '../../crypto/keyring.js';
import type { DB } from '../../db/schema.js';
import { findInOrg } from '../../db/scoped.js';
import type { OrgScope } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { newId } from '../../shared/ids.js';
import type { DataSubjectsTable } from './subjects-schema.js';

export type DataSubject = DataSubjectsTable;

export interface ContactKeys {
  email?: string | undefined;
  phone?: string | undefined;
}

/**
 * A where-condition: the subject `subjectIdRef` (e.g. `'c.subject_id'`) is one of `orgId`'s and not
 * erased. For other modules' lists of their own rows about subjects (the consent registry).
 */
export function isLiveSubject(orgId: string, subjectIdRef: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`exists (select 1 from data_subjects ds where ds.id = ${sql.ref(subjectIdRef)} and ds.org_id = ${orgId} and ds.erased_at is null)`;
}

/**
 * A subject without blind indexes: nobody finds it by address. Erasure hands it the records a legal
 * duty keeps, re-sealed under its own key, so they outlive the erased person's key (decision 0010).
 */
export async function insertRemnantSubject(
  db: Kysely<DB>,
  scope: OrgScope,
  at: string,
  /** A ledger replay rebuilds the remnant the erasure created, under its id (already there: kept). */
  id: string = newId(),
): Promise<string> {
  await db
    .insertInto('data_subjects')
    .values({ id, org_id: scope.orgId, email_bidx: null, phone_bidx: null, created_at: at, erased_at: null })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  return id;
}

/**
 * Marks the subject erased and clears its blind indexes (the tombstone stays: released holds and
 * the ledger name its id). Idempotent; the first erasure's time is kept. Returns the rows changed.
 */
export async function tombstoneSubject(
  db: Kysely<DB>,
  scope: OrgScope,
  subjectId: string,
  at: string,
): Promise<number> {
  const result = await db
    .updateTable('data_subjects')
    .set({ erased_at: sql<string>`coalesce(erased_at, ${at})`, email_bidx: null, phone_bidx: null })
    .where('org_id', '=', scope.orgId)
    .where('id', '=', subjectId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export interface SubjectsDeps {
  keyring: Keyring;
  clock: Clock;
}

export function createSubjectsService(deps: SubjectsDeps) {
  const { keyring, clock } = deps;

  async function indexes(scope: OrgScope, keys: ContactKeys) {
    return {
      email: keys.email ? await keyring.blindIndex(scope.orgId, 'email', keys.email) : null,
      phone: keys.phone ? await keyring.blindIndex(scope.orgId, 'phone', keys.phone) : null,
    };
  }

  async function findByIndexes(
    db: Kysely<DB>,
    scope: OrgScope,
    idx: { email: string | null; phone: string | null },
  ): Promise<DataSubject[]> {
    const byIndex = (column: 'email_bidx' | 'phone_bidx', value: string) =>
      db
        .selectFrom('data_subjects')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .where(column, '=', value)
        .where('erased_at', 'is', null);
    const email = idx.email === null ? undefined : byIndex('email_bidx', idx.email);
    const phone = idx.phone === null ? undefined : byIndex('phone_bidx', idx.phone);
    const query = email !== undefined && phone !== undefined ? email.unionAll(phone) : (email ?? phone);
    const found = query === undefined ? [] : await query.execute();
    const unique = [...new Map(found.map((s) => [s.id, s])).values()];
    return unique.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  }

  return {
    /** Every data subject id of the org, erased ones too (a tenant's offboarding exports and shreds them all). */
    async listIds(db: Kysely<DB>, scope: OrgScope): Promise<string[]> {
      const rows = await db
        .selectFrom('data_subjects')
        .select('id')
        .where('org_id', '=', scope.orgId)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map((r) => r.id);
    },

    /**
     * The live (not erased) subjects of this org matching the email or the phone number. One
     * look-up per index, in one statement (UNION ALL; a subject found twice is kept once): an
     * `or` over both makes SQLite scan the organisation's subjects.
     */
    async findByContact(db: Kysely<DB>, scope: OrgScope, keys: ContactKeys): Promise<DataSubject[]> {
      return findByIndexes(db, scope, await indexes(scope, keys));
    },

    /**
     * The subject for this email/phone, created when none exists. Prefers a match on email; fills
     * in a missing index on the found subject. Call inside the caller's transaction.
     */
    async findOrCreate(db: Kysely<DB>, scope: OrgScope, keys: ContactKeys): Promise<DataSubject> {
      const idx = await indexes(scope, keys);
      const found = await findByIndexes(db, scope, idx);
      const best = found.find((s) => idx.email !== null && s.email_bidx === idx.email) ?? found[0];
      if (best !== undefined) {
        const patch: Partial<DataSubject> = {};
        if (best.email_bidx === null && idx.email !== null) patch.email_bidx = idx.email;
        if (best.phone_bidx === null && idx.phone !== null) patch.phone_bidx = idx.phone;
        if (Object.keys(patch).length > 0) {
          await db
            .updateTable('data_subjects')
            .set(patch)
            .where('id', '=', best.id)
            .where('org_id', '=', scope.orgId)
            .execute();
        }
        return { ...best, ...patch };
      }
      const row: DataSubject = {
        id: newId(),
        org_id: scope.orgId,
        email_bidx: idx.email,
        phone_bidx: idx.phone,
        created_at: clock.now().toISOString(),
        erased_at: null,
      };
      await db.insertInto('data_subjects').values(row).execute();
      return row;
    },

    /**
     * The claim of an erasure: the subject is marked erased (blind indexes cleared) unless it
     * already was. A concurrent erasure of the same subject waits on the row and then finds it
     * erased; it gets the first erasure's time.
     */
    async claimErasure(
      db: Kysely<DB>,
      scope: OrgScope,
      id: string,
      at: string,
    ): Promise<{ claimed: true } | { claimed: false; erasedAt: string }> {
      const claimed = await db
        .updateTable('data_subjects')
        .set({ erased_at: at, email_bidx: null, phone_bidx: null })
        .where('org_id', '=', scope.orgId)
        .where('id', '=', id)
        .where('erased_at', 'is', null)
        .returning('erased_at')
        .execute();
      if (claimed.length > 0) return { claimed: true };
      const again = await this.findById(db, scope, id);
      return { claimed: false, erasedAt: again?.erased_at ?? at };
    },

    findById(db: Kysely<DB>, scope: OrgScope, id: string): Promise<DataSubject | undefined> {
      return findInOrg(db, 'data_subjects', scope, id);
    },
  };
}

export type SubjectsService = ReturnType<typeof createSubjectsService>;
