/**
 * The staff inbox (P3, P5): message content is visible only to the support role or to the staff
 * member a conversation is assigned to; admins and finance do not read messages by default.
 * Every opening of a conversation's content is audited with its purpose (handle_requests), ids
 * and field names only. Nothing here builds a profile or an index of people: there is no search
 * across conversations. Replies, notes and assignment are in intake-inbox-actions.ts, the
 * quarantine of mail that could not be taken in is in intake-quarantine.ts.
 */
import { type Actor, scopeOf } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import type { Locale } from '../../shared/i18n/messages.js';
import type { KluisCore } from '../module.js';
import {
  getHandled,
  HANDLE_PURPOSE,
  handlesAll,
  type InboxDeps,
  openOrErased,
  userIdOf,
} from './intake-handling.js';
import { createInboxActions } from './intake-inbox-actions.js';
import { createQuarantineService } from './intake-quarantine.js';
import {
  type AttachmentMeta,
  type ConversationQuery,
  type ConversationRow,
  createIntakeRepository,
  type EntryRow,
} from './intake-repository.js';
import type { Channel, ConversationStatus, EntryKind } from './intake-schema.js';
import { conversationSealer } from './intake-service.js';

const CONVERSATION_PAGE_SIZE = 25;

export interface ConversationSummary {
  readonly id: string;
  readonly channel: Channel;
  readonly status: ConversationStatus;
  readonly assignedUserId: string | null;
  /** Undefined when not given; null when the subject was erased (key destroyed). */
  readonly name: string | undefined | null;
  readonly subjectLine: string | undefined | null;
  readonly possibleRightsRequest: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface EntryView {
  readonly id: string;
  readonly kind: EntryKind;
  readonly body: string | null;
  readonly authorUserId: string | null;
  readonly messageId: string | null;
  readonly delivery: 'queued' | 'sent' | null;
  readonly sentAt: string | null;
  readonly refused: readonly { contentType: string; size: number }[];
  readonly createdAt: string;
}

export interface AttachmentView {
  readonly id: string;
  readonly entryId: string;
  readonly filename: string | null;
  readonly contentType: string;
  readonly size: number;
}

export interface ConversationDetail extends ConversationSummary {
  readonly email: string | undefined | null;
  readonly phone: string | undefined | null;
  readonly locale: Locale;
  readonly closedAt: string | null;
  readonly entries: readonly EntryView[];
  readonly attachments: readonly AttachmentView[];
}

export interface ConversationListPage {
  readonly items: readonly ConversationSummary[];
  readonly total: number;
  readonly page: number;
  readonly pages: number;
}

export type InboxFilters = Omit<ConversationQuery, 'limit' | 'offset' | 'assignedTo'> & {
  /** Only conversations assigned to the acting user. */
  readonly mine?: boolean | undefined;
  readonly page: number;
};

/** The org's staff for the inbox pages: names by id (authors, assignees) and who can be assigned. */
export interface InboxStaff {
  readonly names: ReadonlyMap<string, string>;
  /** Active accounts (not disabled, not locked), by name. */
  readonly assignable: readonly { readonly id: string; readonly name: string }[];
}

function parseRefused(json: string | null): { contentType: string; size: number }[] {
  if (json === null) return [];
  try {
    const parsed = JSON.parse(json) as unknown;
    if (!Array.isArray(parsed)) return [];
    return parsed.flatMap((r: unknown) => {
      const o = r as { contentType?: unknown; size?: unknown };
      return typeof o.contentType === 'string' && typeof o.size === 'number'
        ? [{ contentType: o.contentType, size: o.size }]
        : [];
    });
  } catch {
    return [];
  }
}

async function summaryOf(keyring: KluisCore['keyring'], row: ConversationRow): Promise<ConversationSummary> {
  const sealer = conversationSealer(keyring, row.org_id, row.subject_id);
  return {
    id: row.id,
    channel: row.channel,
    status: row.status,
    assignedUserId: row.assigned_user_id,
    name: await openOrErased(() =>
      sealer.openOptional('conversations', 'requester_name', row.id, row.requester_name),
    ),
    subjectLine: await openOrErased(() =>
      sealer.openOptional('conversations', 'subject_line', row.id, row.subject_line),
    ),
    possibleRightsRequest: row.possible_rights_request === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** A conversation with its entries and attachment names opened (the caller audits the read). */
async function detailOf(
  keyring: KluisCore['keyring'],
  row: ConversationRow,
  entries: readonly EntryRow[],
  attachments: readonly AttachmentMeta[],
): Promise<ConversationDetail> {
  const sealer = conversationSealer(keyring, row.org_id, row.subject_id);
  return {
    ...(await summaryOf(keyring, row)),
    email: await openOrErased(() =>
      sealer.openOptional('conversations', 'requester_email', row.id, row.requester_email),
    ),
    phone: await openOrErased(() =>
      sealer.openOptional('conversations', 'requester_phone', row.id, row.requester_phone),
    ),
    locale: row.locale === 'en' ? 'en' : 'nl',
    closedAt: row.closed_at,
    entries: await Promise.all(
      entries.map(async (e) => ({
        id: e.id,
        kind: e.kind,
        body: await openOrErased(() => sealer.open('conversation_entries', 'body', e.id, e.body)),
        authorUserId: e.author_user_id,
        messageId: e.message_id,
        delivery: e.delivery,
        sentAt: e.sent_at,
        refused: parseRefused(e.refused_attachments),
        createdAt: e.created_at,
      })),
    ),
    attachments: await Promise.all(
      attachments.map(async (a) => ({
        id: a.id,
        entryId: a.entry_id,
        filename: await openOrErased(() =>
          sealer.open('conversation_attachments', 'filename', a.id, a.filename),
        ),
        contentType: a.content_type,
        size: a.size_bytes,
      })),
    ),
  };
}

/** Reading the inbox: the list, one conversation, an attachment, and the colleagues' names. */
function createInboxReads(deps: InboxDeps) {
  const { db, keyring, audit } = deps;
  return {
    /** A page of the conversations the actor may handle, filtered and sorted (audited: names and subjects are shown). */
    async listConversations(input: { actor: Actor; filters: InboxFilters }): Promise<ConversationListPage> {
      const { actor, filters } = input;
      // Without `intake.read` only one's own assigned conversations are listed.
      const assignedTo = !handlesAll(actor) || filters.mine ? (userIdOf(actor) ?? '') : undefined;
      const query = {
        status: filters.status,
        channel: filters.channel,
        rightsOnly: filters.rightsOnly,
        assignedTo,
      };
      const repo = createIntakeRepository(db);
      const scope = scopeOf(actor);
      const total = await repo.countConversations(scope, query);
      const pages = Math.max(1, Math.ceil(total / CONVERSATION_PAGE_SIZE));
      const page = Math.min(Math.max(1, filters.page), pages);
      const rows = await repo.listConversations(scope, {
        ...query,
        sort: filters.sort,
        dir: filters.dir,
        limit: CONVERSATION_PAGE_SIZE,
        offset: (page - 1) * CONVERSATION_PAGE_SIZE,
      });
      const items = await Promise.all(rows.map((row) => summaryOf(keyring, row)));
      if (items.length > 0) {
        await audit.append(db, {
          actor,
          action: 'intake.conversation.list',
          purpose: HANDLE_PURPOSE,
          fields: ['requester_name', 'subject_line'],
          meta: { count: items.length, page },
        });
      }
      return { items, total, page, pages };
    },

    /** One conversation with its entries, opened for the actor (audited read of the message content). */
    async getConversation(input: { actor: Actor; id: string }): Promise<ConversationDetail> {
      const { actor } = input;
      const row = await getHandled(db, actor, input.id);
      const repo = createIntakeRepository(db);
      const scope = scopeOf(actor);
      const entries = await repo.listEntries(scope, row.id);
      const attachments = await repo.listAttachments(scope, row.id);
      await audit.append(db, {
        actor,
        action: 'intake.conversation.read',
        target: { type: 'conversation', id: row.id },
        purpose: HANDLE_PURPOSE,
        fields: ['requester_name', 'requester_email', 'requester_phone', 'subject_line', 'body', 'filename'],
        meta: { entries: entries.length, attachments: attachments.length },
      });
      return detailOf(keyring, row, entries, attachments);
    },

    /** The org's staff: names of everyone (disabled accounts included) and who can be assigned. */
    async staff(input: { actor: Actor }): Promise<InboxStaff> {
      const all = await deps.auth.listStaffNames({ actor: input.actor });
      return {
        names: new Map(all.map((u) => [u.id, u.name])),
        assignable: all.filter((u) => !u.disabled && !u.locked).map((u) => ({ id: u.id, name: u.name })),
      };
    },

    /** An attachment's file, opened for download (audited). */
    async readAttachment(input: {
      actor: Actor;
      conversationId: string;
      attachmentId: string;
    }): Promise<{ filename: string; contentType: string; content: Buffer }> {
      const { actor } = input;
      const row = await getHandled(db, actor, input.conversationId);
      const attachment = await createIntakeRepository(db).findAttachment(
        scopeOf(actor),
        row.id,
        input.attachmentId,
      );
      if (attachment === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'attachment not found' });
      const sealer = conversationSealer(keyring, row.org_id, row.subject_id);
      const open = (column: 'filename' | 'content', value: Buffer) =>
        sealer.open('conversation_attachments', column, attachment.id, value);
      const filename = await open('filename', attachment.filename);
      const content = await open('content', attachment.content);
      await audit.append(db, {
        actor,
        action: 'intake.attachment.read',
        target: { type: 'conversation_attachment', id: attachment.id },
        purpose: HANDLE_PURPOSE,
        fields: ['filename', 'content'],
        meta: { conversation_id: row.id },
      });
      return { filename, contentType: attachment.content_type, content: Buffer.from(content, 'base64') };
    },
  };
}

/** The staff inbox: reading conversations, acting on them, and the quarantine. */
export function createInboxService(deps: InboxDeps) {
  return {
    ...createInboxReads(deps),
    ...createInboxActions(deps),
    ...createQuarantineService(deps),
  };
}

export type InboxService = ReturnType<typeof createInboxService>;
