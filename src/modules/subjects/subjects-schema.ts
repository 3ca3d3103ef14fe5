import type { Migration } from 'kysely';

/**
 * Data subjects: the people an organisation knows (contacts, client contact persons, account
 * holders). A subject row holds no personal value in clear: only blind indexes of its email
 * address and phone number (for look-ups), and the subject's id is the key id under which all
 * its personal fields are encrypted. Erasure destroys that key (crypto-shredding).
 */
export interface DataSubjectsTable {
  id: string;
  org_id: string;
  /** HMAC blind index of the normalised email address, or null. */
  email_bidx: string | null;
  /** HMAC blind index of the normalised phone number, or null. */
  phone_bidx: string | null;
  created_at: string;
  /** Set when the subject was erased: the key is destroyed, the row stays as a tombstone. */
  erased_at: string | null;
}

export interface SubjectsTables {
  data_subjects: DataSubjectsTable;
}

export const subjectsMigrations: Record<string, Migration> = {
  '0600_subjects': {
    async up(db) {
      await db.schema
        .createTable('data_subjects')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('email_bidx', 'text')
        .addColumn('phone_bidx', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('erased_at', 'text')
        .execute();
      await db.schema
        .createIndex('data_subjects_email')
        .on('data_subjects')
        .columns(['org_id', 'email_bidx'])
        .execute();
      await db.schema
        .createIndex('data_subjects_phone')
        .on('data_subjects')
        .columns(['org_id', 'phone_bidx'])
        .execute();
    },
  },
};
