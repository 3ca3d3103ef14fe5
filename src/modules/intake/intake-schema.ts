import { type Migration, sql } from 'kysely';
import { binaryType } from '../../db/dialect.js';

/**
 * Intake tables (P1–P3). Every contact request, whatever its channel, is a conversation of one
 * data subject; its entries (messages in and out, notes, phone calls) and attachments are sealed
 * with that subject's key, so erasing the subject (destroying the key) makes them unreadable
 * everywhere. Look-ups never need a personal value in clear: the subject is found by blind index
 * (data_subjects), threads by Message-ID.
 */

export const channels = ['web', 'email', 'phone', 'api'] as const;
export type Channel = (typeof channels)[number];

export const conversationStatuses = ['open', 'waiting', 'closed'] as const;
export type ConversationStatus = (typeof conversationStatuses)[number];

export const entryKinds = ['inbound', 'outbound', 'note', 'phone'] as const;
export type EntryKind = (typeof entryKinds)[number];

export interface ConversationsTable {
  id: string;
  org_id: string;
  /** The data subject whose key seals everything in this conversation. */
  subject_id: string;
  channel: Channel;
  status: ConversationStatus;
  assigned_user_id: string | null;
  /** The email Subject (email channel) sealed with the subject key; null for the other channels. */
  subject_line: Buffer | null;
  /** Contact details as the requester gave them (P2), sealed with the subject key. */
  requester_name: Buffer | null;
  requester_email: Buffer | null;
  /** E.164, sealed. */
  requester_phone: Buffer | null;
  /** The requester's language (nl/en), for replies. */
  locale: string;
  /** 1 when the request reached the privacy address: a possible rights request (P16, later). */
  possible_rights_request: number;
  /** The Message-ID that roots the email thread (first inbound mail, or the first reply sent). */
  thread_key: string | null;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

export interface ConversationEntriesTable {
  id: string;
  org_id: string;
  conversation_id: string;
  /** Order within the conversation (1, 2, …): timestamps can tie. */
  seq: number;
  kind: EntryKind;
  /** The message, note or call summary, sealed with the conversation subject's key (P3). */
  body: Buffer;
  author_user_id: string | null;
  /** The RFC 5322 Message-ID of an inbound or outbound mail (for threading). */
  message_id: string | null;
  in_reply_to: string | null;
  /** Outbound mail only: queued until the worker has handed it to SMTP, then sent. */
  delivery: 'queued' | 'sent' | null;
  sent_at: string | null;
  /** Attachments refused at intake (type and size only, JSON), so staff can ask again. */
  refused_attachments: string | null;
  created_at: string;
}

export interface ConversationAttachmentsTable {
  id: string;
  org_id: string;
  conversation_id: string;
  entry_id: string;
  /** The file name, sealed with the subject key. */
  filename: Buffer;
  /** One of the allowed types (intake-mail.ts). */
  content_type: string;
  size_bytes: number;
  /** The file, sealed with the subject key. */
  content: Buffer;
  created_at: string;
}

export interface InboundQuarantineTable {
  id: string;
  org_id: string;
  /** Why the mail could not be taken in (a code, e.g. no_sender, unparseable, auto_submitted). */
  reason: string;
  /** Which of the organisation's addresses it was sent to (contact or privacy). */
  mailbox: string;
  /** The raw message exactly as received, sealed with the org key (its sender is not known). */
  raw: Buffer;
  size_bytes: number;
  created_at: string;
}

/**
 * Contact-form tokens already spent on an accepted submission (issue 15): in the database, so
 * that every node of a cluster refuses a token any node accepted. Kept until the token would be
 * refused as expired anyway, then removed by the intake sweep.
 */
export interface IntakeSpentTokensTable {
  /** SHA-256 of the organisation and the token (the token itself is not kept). */
  token_hash: string;
  org_id: string;
  expires_at: string;
}

export interface IntakeTables {
  conversations: ConversationsTable;
  conversation_entries: ConversationEntriesTable;
  conversation_attachments: ConversationAttachmentsTable;
  inbound_quarantine: InboundQuarantineTable;
  intake_spent_tokens: IntakeSpentTokensTable;
}

const list = (values: readonly string[]) => sql.join(values.map((v) => sql.lit(v)));

export const intakeMigrations: Record<string, Migration> = {
  '0700_intake_conversations': {
    async up(db) {
      await db.schema
        .createTable('conversations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('subject_id', 'text', (c) => c.notNull().references('data_subjects.id'))
        .addColumn('channel', 'text', (c) => c.notNull().check(sql`channel in (${list(channels)})`))
        .addColumn('status', 'text', (c) => c.notNull().check(sql`status in (${list(conversationStatuses)})`))
        .addColumn('assigned_user_id', 'text', (c) => c.references('users.id'))
        .addColumn('subject_line', binaryType(db))
        .addColumn('requester_name', binaryType(db))
        .addColumn('requester_email', binaryType(db))
        .addColumn('requester_phone', binaryType(db))
        .addColumn('locale', 'text', (c) => c.notNull())
        .addColumn('possible_rights_request', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('thread_key', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('closed_at', 'text')
        .execute();
      await db.schema
        .createIndex('conversations_org_updated')
        .on('conversations')
        .columns(['org_id', 'updated_at'])
        .execute();
      await db.schema
        .createIndex('conversations_org_thread')
        .on('conversations')
        .columns(['org_id', 'thread_key'])
        .execute();
      await db.schema
        .createIndex('conversations_subject')
        .on('conversations')
        .columns(['org_id', 'subject_id'])
        .execute();

      await db.schema
        .createTable('conversation_entries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id'))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in (${list(entryKinds)})`))
        .addColumn('body', binaryType(db), (c) => c.notNull())
        .addColumn('author_user_id', 'text', (c) => c.references('users.id'))
        .addColumn('message_id', 'text')
        .addColumn('in_reply_to', 'text')
        .addColumn('delivery', 'text')
        .addColumn('sent_at', 'text')
        .addColumn('refused_attachments', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('conversation_entries_conversation')
        .on('conversation_entries')
        .columns(['conversation_id', 'seq'])
        .execute();
      await db.schema
        .createIndex('conversation_entries_message_id')
        .on('conversation_entries')
        .columns(['org_id', 'message_id'])
        .execute();

      await db.schema
        .createTable('conversation_attachments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id'))
        .addColumn('entry_id', 'text', (c) => c.notNull().references('conversation_entries.id'))
        .addColumn('filename', binaryType(db), (c) => c.notNull())
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('size_bytes', 'integer', (c) => c.notNull())
        .addColumn('content', binaryType(db), (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('conversation_attachments_conversation')
        .on('conversation_attachments')
        .columns(['conversation_id'])
        .execute();

      await db.schema
        .createTable('inbound_quarantine')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('mailbox', 'text', (c) => c.notNull())
        .addColumn('raw', binaryType(db), (c) => c.notNull())
        .addColumn('size_bytes', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('inbound_quarantine_org')
        .on('inbound_quarantine')
        .columns(['org_id', 'created_at'])
        .execute();
    },
  },
  // Deleting a message (retention sweep, erasure) makes the database look for attachments that
  // still reference it (the foreign key): without an index on entry_id that is a scan of every
  // attachment per deleted message, on SQLite and PostgreSQL alike.
  '0701_intake_attachments_entry': {
    async up(db) {
      await db.schema
        .createIndex('conversation_attachments_entry')
        .on('conversation_attachments')
        .column('entry_id')
        .execute();
    },
  },
  // Spent contact-form tokens, shared by every node (issue 15). The primary key is what makes a
  // token single-use: of two posts of one form racing on two nodes, one insert wins.
  '0702_intake_spent_tokens': {
    async up(db) {
      await db.schema
        .createTable('intake_spent_tokens')
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('token_hash', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        // Led by org_id: an offboarding deletes an organisation's rows by it.
        .addPrimaryKeyConstraint('intake_spent_tokens_pk', ['org_id', 'token_hash'])
        .execute();
      await db.schema
        .createIndex('intake_spent_tokens_expiry')
        .on('intake_spent_tokens')
        .column('expires_at')
        .execute();
    },
  },
};
