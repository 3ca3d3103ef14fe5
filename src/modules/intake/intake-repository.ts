/**
 * The intake module's tables, every query filtered by the caller's organisation. Rows come back
 * as stored (sealed columns stay sealed); the services decide who may have them opened.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { findInOrg } from '../../db/scoped.js';
import type { OrgScope } from '../../shared/actor.js';
import type {
  Channel,
  ConversationAttachmentsTable,
  ConversationEntriesTable,
  ConversationStatus,
  ConversationsTable,
  InboundQuarantineTable,
} from './intake-schema.js';

export type ConversationRow = ConversationsTable;
export type EntryRow = ConversationEntriesTable;
export type AttachmentRow = ConversationAttachmentsTable;
export type AttachmentMeta = Omit<AttachmentRow, 'content'>;
export type QuarantineRow = InboundQuarantineTable;
export type QuarantineMeta = Omit<QuarantineRow, 'raw'>;

export const conversationSorts = ['updated', 'created', 'status', 'channel'] as const;
export type ConversationSort = (typeof conversationSorts)[number];

export interface ConversationQuery {
  readonly status?: ConversationStatus | undefined;
  readonly channel?: Channel | undefined;
  /** Only conversations assigned to this user. */
  readonly assignedTo?: string | undefined;
  readonly rightsOnly?: boolean | undefined;
  readonly sort: ConversationSort;
  readonly dir: 'asc' | 'desc';
  readonly limit: number;
  readonly offset: number;
}

const sortColumn: Record<ConversationSort, 'updated_at' | 'created_at' | 'status' | 'channel'> = {
  updated: 'updated_at',
  created: 'created_at',
  status: 'status',
  channel: 'channel',
};

const attachmentMetaColumns = [
  'id',
  'org_id',
  'conversation_id',
  'entry_id',
  'filename',
  'content_type',
  'size_bytes',
  'created_at',
] as const;

/** Conversations: listing, filtering, threading look-ups, and deletion with everything in them. */
function conversationQueries(db: Kysely<DB>) {
  function filtered(scope: OrgScope, q: Omit<ConversationQuery, 'sort' | 'dir' | 'limit' | 'offset'>) {
    let query = db.selectFrom('conversations').where('org_id', '=', scope.orgId);
    if (q.status !== undefined) query = query.where('status', '=', q.status);
    if (q.channel !== undefined) query = query.where('channel', '=', q.channel);
    if (q.assignedTo !== undefined) query = query.where('assigned_user_id', '=', q.assignedTo);
    if (q.rightsOnly) query = query.where('possible_rights_request', '=', 1);
    return query;
  }

  return {
    async insertConversation(row: ConversationRow): Promise<void> {
      await db.insertInto('conversations').values(row).execute();
    },

    findConversation(scope: OrgScope, id: string): Promise<ConversationRow | undefined> {
      return findInOrg(db, 'conversations', scope, id);
    },

    async updateConversation(
      scope: OrgScope,
      id: string,
      patch: Partial<Omit<ConversationRow, 'id' | 'org_id' | 'subject_id'>>,
    ): Promise<void> {
      await db
        .updateTable('conversations')
        .set(patch)
        .where('org_id', '=', scope.orgId)
        .where('id', '=', id)
        .execute();
    },

    listConversations(scope: OrgScope, q: ConversationQuery): Promise<ConversationRow[]> {
      return filtered(scope, q)
        .selectAll()
        .orderBy(sortColumn[q.sort], q.dir)
        .orderBy('updated_at', 'desc')
        .orderBy('id')
        .limit(q.limit)
        .offset(q.offset)
        .execute();
    },

    async countConversations(
      scope: OrgScope,
      q: Omit<ConversationQuery, 'sort' | 'dir' | 'limit' | 'offset'>,
    ): Promise<number> {
      const row = await filtered(scope, q)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },

    /** The conversation a mail belongs to: one of `messageIds` is an entry's or its thread root. */
    async findConversationByMessageIds(
      scope: OrgScope,
      messageIds: readonly string[],
    ): Promise<ConversationRow | undefined> {
      if (messageIds.length === 0) return undefined;
      const viaEntry = await db
        .selectFrom('conversation_entries')
        .innerJoin('conversations', 'conversations.id', 'conversation_entries.conversation_id')
        .selectAll('conversations')
        .where('conversation_entries.org_id', '=', scope.orgId)
        .where('conversations.org_id', '=', scope.orgId)
        .where('conversation_entries.message_id', 'in', [...messageIds])
        .orderBy('conversation_entries.created_at', 'desc')
        .orderBy('conversation_entries.seq', 'desc')
        .executeTakeFirst();
      if (viaEntry !== undefined) return viaEntry;
      return db
        .selectFrom('conversations')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .where('thread_key', 'in', [...messageIds])
        .orderBy('created_at', 'desc')
        .executeTakeFirst();
    },

    /** Deletes a conversation with its entries and attachments; returns what went. */
    async deleteConversation(
      scope: OrgScope,
      id: string,
    ): Promise<{ entries: number; attachments: number; conversations: number }> {
      const attachments = await db
        .deleteFrom('conversation_attachments')
        .where('org_id', '=', scope.orgId)
        .where('conversation_id', '=', id)
        .executeTakeFirst();
      const entries = await db
        .deleteFrom('conversation_entries')
        .where('org_id', '=', scope.orgId)
        .where('conversation_id', '=', id)
        .executeTakeFirst();
      const conversations = await db
        .deleteFrom('conversations')
        .where('org_id', '=', scope.orgId)
        .where('id', '=', id)
        .executeTakeFirst();
      return {
        attachments: Number(attachments.numDeletedRows),
        entries: Number(entries.numDeletedRows),
        conversations: Number(conversations.numDeletedRows),
      };
    },
  };
}

/** Entries and attachments of conversations. */
function entryQueries(db: Kysely<DB>) {
  return {
    async insertEntry(row: EntryRow): Promise<void> {
      await db.insertInto('conversation_entries').values(row).execute();
    },

    findEntry(scope: OrgScope, id: string): Promise<EntryRow | undefined> {
      return findInOrg(db, 'conversation_entries', scope, id);
    },

    async entryExistsWithMessageId(scope: OrgScope, messageId: string): Promise<boolean> {
      const row = await db
        .selectFrom('conversation_entries')
        .select('id')
        .where('org_id', '=', scope.orgId)
        .where('message_id', '=', messageId)
        .executeTakeFirst();
      return row !== undefined;
    },

    listEntries(scope: OrgScope, conversationId: string): Promise<EntryRow[]> {
      return db
        .selectFrom('conversation_entries')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .where('conversation_id', '=', conversationId)
        .orderBy('seq')
        .orderBy('created_at')
        .orderBy('id')
        .execute();
    },

    /** The next position in a conversation (call inside the transaction that inserts the entry). */
    async nextSeq(scope: OrgScope, conversationId: string): Promise<number> {
      const row = await db
        .selectFrom('conversation_entries')
        .select((eb) => eb.fn.max<number | null>('seq').as('max'))
        .where('org_id', '=', scope.orgId)
        .where('conversation_id', '=', conversationId)
        .executeTakeFirst();
      return Number(row?.max ?? 0) + 1;
    },

    async updateEntry(
      scope: OrgScope,
      id: string,
      patch: Partial<Pick<EntryRow, 'delivery' | 'sent_at'>>,
    ): Promise<void> {
      await db
        .updateTable('conversation_entries')
        .set(patch)
        .where('org_id', '=', scope.orgId)
        .where('id', '=', id)
        .execute();
    },

    async insertAttachment(row: AttachmentRow): Promise<void> {
      await db.insertInto('conversation_attachments').values(row).execute();
    },

    listAttachments(scope: OrgScope, conversationId: string): Promise<AttachmentMeta[]> {
      return db
        .selectFrom('conversation_attachments')
        .select(attachmentMetaColumns)
        .where('org_id', '=', scope.orgId)
        .where('conversation_id', '=', conversationId)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
    },

    findAttachment(scope: OrgScope, conversationId: string, id: string): Promise<AttachmentRow | undefined> {
      return db
        .selectFrom('conversation_attachments')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .where('conversation_id', '=', conversationId)
        .where('id', '=', id)
        .executeTakeFirst();
    },
  };
}

/** Mail that could not be taken in. */
function quarantineQueries(db: Kysely<DB>) {
  return {
    async insertQuarantine(row: QuarantineRow): Promise<void> {
      await db.insertInto('inbound_quarantine').values(row).execute();
    },

    listQuarantine(scope: OrgScope, limit: number): Promise<QuarantineMeta[]> {
      return db
        .selectFrom('inbound_quarantine')
        .select(['id', 'org_id', 'reason', 'mailbox', 'size_bytes', 'created_at'])
        .where('org_id', '=', scope.orgId)
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(limit)
        .execute();
    },

    findQuarantine(scope: OrgScope, id: string): Promise<QuarantineRow | undefined> {
      return findInOrg(db, 'inbound_quarantine', scope, id);
    },

    async deleteQuarantine(scope: OrgScope, id: string): Promise<number> {
      const result = await db
        .deleteFrom('inbound_quarantine')
        .where('org_id', '=', scope.orgId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

export function createIntakeRepository(db: Kysely<DB>) {
  return { ...conversationQueries(db), ...entryQueries(db), ...quarantineQueries(db) };
}
