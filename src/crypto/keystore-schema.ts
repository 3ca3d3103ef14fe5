/**
 * The key store: org keys (wrapped by the master key) and data-subject keys (wrapped by their
 * org key). It lives apart from the main database (its own SQLite file with secure_delete, or
 * its own PostgreSQL schema) and is backed up on its own schedule, so that destroying a subject
 * key makes that subject's data in every copy of the main database unreadable.
 */
import type { Migration } from 'kysely';
import { binaryType } from '../db/dialect.js';

export interface OrgKeysTable {
  org_id: string;
  /** First bytes of the master key's id, so rotation knows which master key wrapped it. */
  master_key_id: string;
  wrapped_key: Buffer;
  created_at: string;
  rotated_at: string | null;
}

export interface SubjectKeysTable {
  org_id: string;
  subject_id: string;
  wrapped_key: Buffer;
  created_at: string;
}

/** An erased subject keeps a tombstone so that no code path can mint a fresh key for it. */
export interface SubjectKeyTombstonesTable {
  org_id: string;
  subject_id: string;
  destroyed_at: string;
}

/** A destroyed org key (a tenant offboarded): no code path may mint a fresh one for that org. */
export interface OrgKeyTombstonesTable {
  org_id: string;
  destroyed_at: string;
}

export interface KeystoreDB {
  org_keys: OrgKeysTable;
  org_key_tombstones: OrgKeyTombstonesTable;
  subject_keys: SubjectKeysTable;
  subject_key_tombstones: SubjectKeyTombstonesTable;
}

export const keystoreMigrations: Record<string, Migration> = {
  '0200_keystore': {
    async up(db) {
      const bin = binaryType(db);
      await db.schema
        .createTable('org_keys')
        .addColumn('org_id', 'text', (c) => c.primaryKey())
        .addColumn('master_key_id', 'text', (c) => c.notNull())
        .addColumn('wrapped_key', bin, (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('rotated_at', 'text')
        .execute();
      await db.schema
        .createTable('subject_keys')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('subject_id', 'text', (c) => c.notNull())
        .addColumn('wrapped_key', bin, (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('subject_keys_pk', ['org_id', 'subject_id'])
        .execute();
      await db.schema
        .createTable('subject_key_tombstones')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('subject_id', 'text', (c) => c.notNull())
        .addColumn('destroyed_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('subject_key_tombstones_pk', ['org_id', 'subject_id'])
        .execute();
    },
  },
  '0201_keystore_org_key_tombstones': {
    async up(db) {
      await db.schema
        .createTable('org_key_tombstones')
        .addColumn('org_id', 'text', (c) => c.primaryKey())
        .addColumn('destroyed_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
};
