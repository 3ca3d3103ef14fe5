/**
 * The staff inbox (P3, P5): message content is visible only to the support role or to the staff
 * member a conversation is assigned to; admins and finance do not read messages by default.
 * Every opening of a conversation's content is audited with its purpose (handle_requests), ids
 * and field names only. Replies go out by real SMTP through the job queue, carrying a Message-ID
 * kept on the entry and In-Reply-To/References so the visitor's answer threads back. Deleting a
 * conversation deletes its entries and attachments. Nothing here builds a profile or an index of
 * people: there is no search across conversations.
 */
import type { Kysely } from 'kysely';
import type { Keyring } from '../../crypto/keyring.js';
import type { DB } from '../../db/schema.js';
import { type Actor, hasRole, scopeOf } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError, isAppError } from '../../shared/errors.js';
import type { Locale } from '../../shared/i18n/messages.js';
import { newId } from '../../shared/ids.js';
import { createUsersRepository } from '../auth/auth-users-repository.js';
import { enqueue } from '../jobs/jobs-queue.js';
import { appendAudit } from '../security/audit-chain.js';
import {
  type AttachmentMeta,
  type ConversationQuery,
  type ConversationRow,
  createIntakeRepository,
  type QuarantineMeta,
} from './intake-repository.js';
import type { Channel, ConversationStatus, EntryKind } from './intake-schema.js';
import { addEntry, conversationSealer } from './intake-service.js';
import { outboundMessageId } from './intake-threads.js';

export const INTAKE_REPLY_JOB = 'intake.reply';
export const CONVERSATION_PAGE_SIZE = 25;

const PURPOSE = 'handle_requests';

export interface InboxDeps {
  db: Kysely<DB>;
  keyring: Keyring;
  clock: Clock;
  /** For the host part of outbound Message-IDs. */
  publicOrigin: string;
}

export interface StaffName {
  readonly id: string;
  readonly name: string;
}

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

/** Support handles every conversation of the org; anyone else only those assigned to them. */
export function canHandle(actor: Actor, conversation: Pick<ConversationRow, 'assigned_user_id'>): boolean {
  if (actor.kind === 'system') return true;
  if (hasRole(actor, 'support')) return true;
  return actor.kind === 'user' && conversation.assigned_user_id === actor.userId;
}

function assertSupport(actor: Actor): void {
  if (actor.kind === 'system' || hasRole(actor, 'support')) return;
  throw new AppError('ERR_FORBIDDEN', { message: 'this needs the support role' });
}

function userIdOf(actor: Actor): string | null {
  return actor.kind === 'user' ? actor.userId : null;
}

/** Opens a sealed value, or null when the subject was erased (their key is gone). */
async function openOrErased(open: () => Promise<string | undefined>): Promise<string | undefined | null> {
  try {
    return await open();
  } catch (error) {
    if (isAppError(error) && error.code === 'ERR_CRYPTO_KEY_DESTROYED') return null;
    throw error;
  }
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

export function createInboxService(deps: InboxDeps) {
  const { db, keyring, clock } = deps;

  /** The conversation, if it is in the actor's org (else 404) and the actor may handle it (else 403). */
  async function getHandled(trx: Kysely<DB>, actor: Actor, id: string): Promise<ConversationRow> {
    const row = await createIntakeRepository(trx).findConversation(scopeOf(actor), id);
    if (row === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'conversation not found' });
    if (!canHandle(actor, row)) {
      throw new AppError('ERR_FORBIDDEN', { message: 'conversation is for support or its assignee' });
    }
    return row;
  }

  async function summaryOf(row: ConversationRow): Promise<ConversationSummary> {
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

  async function touch(trx: Kysely<DB>, actor: Actor, id: string, patch: Partial<ConversationRow> = {}) {
    await createIntakeRepository(trx).updateConversation(scopeOf(actor), id, {
      ...patch,
      updated_at: clock.now().toISOString(),
    });
  }

  return {
    /** A page of the conversations the actor may handle, filtered and sorted (audited: names and subjects are shown). */
    async listConversations(input: { actor: Actor; filters: InboxFilters }): Promise<ConversationListPage> {
      const { actor, filters } = input;
      const support = actor.kind === 'system' || hasRole(actor, 'support');
      const own = userIdOf(actor);
      // Without the support role only one's own assigned conversations are listed.
      const assignedTo = !support || filters.mine ? (own ?? '') : undefined;
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
      const items = await Promise.all(rows.map(summaryOf));
      if (items.length > 0) {
        await appendAudit(db, clock, {
          actor,
          action: 'intake.conversation.list',
          purpose: PURPOSE,
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
      const sealer = conversationSealer(keyring, row.org_id, row.subject_id);
      const entries = await repo.listEntries(scope, row.id);
      const attachments: AttachmentMeta[] = await repo.listAttachments(scope, row.id);
      await appendAudit(db, clock, {
        actor,
        action: 'intake.conversation.read',
        target: { type: 'conversation', id: row.id },
        purpose: PURPOSE,
        fields: ['requester_name', 'requester_email', 'requester_phone', 'subject_line', 'body', 'filename'],
        meta: { entries: entries.length, attachments: attachments.length },
      });
      return {
        ...(await summaryOf(row)),
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
            body:
              (await openOrErased(() => sealer.open('conversation_entries', 'body', e.id, e.body))) ?? null,
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
            filename:
              (await openOrErased(() =>
                sealer.open('conversation_attachments', 'filename', a.id, a.filename),
              )) ?? null,
            contentType: a.content_type,
            size: a.size_bytes,
          })),
        ),
      };
    },

    /** Staff of the org who can be assigned a conversation (active accounts). */
    async assignableStaff(input: { actor: Actor }): Promise<StaffName[]> {
      const users = await createUsersRepository(db).listUsersPage(scopeOf(input.actor), {
        sort: 'name',
        dir: 'asc',
        status: 'active',
        now: clock.now().toISOString(),
        limit: 500,
        offset: 0,
      });
      return users.map((u) => ({ id: u.id, name: u.display_name }));
    },

    /** Names of the org's staff by id (authors of entries, assignees), disabled accounts included. */
    async staffNames(input: { actor: Actor }): Promise<Map<string, string>> {
      const users = await createUsersRepository(db).listUsersPage(scopeOf(input.actor), {
        sort: 'name',
        dir: 'asc',
        now: clock.now().toISOString(),
        limit: 1000,
        offset: 0,
      });
      return new Map(users.map((u) => [u.id, u.display_name]));
    },

    /** Support assigns a conversation to a staff member of the org (who may then handle it), or unassigns it. */
    async assign(input: { actor: Actor; id: string; userId: string | null }): Promise<void> {
      const { actor } = input;
      assertSupport(actor);
      await db.transaction().execute(async (trx) => {
        await getHandled(trx, actor, input.id);
        if (input.userId !== null) {
          const user = await createUsersRepository(trx).findUser(scopeOf(actor), input.userId);
          if (user === undefined || user.disabled === 1) {
            throw new AppError('ERR_VALIDATION', {
              message: 'assignee not in this org or disabled',
              fields: { userId: 'intake.assign.unknownUser' },
            });
          }
        }
        await touch(trx, actor, input.id, { assigned_user_id: input.userId });
        await appendAudit(trx, clock, {
          actor,
          action: 'intake.conversation.assigned',
          target: { type: 'conversation', id: input.id },
          meta: { assigned_user_id: input.userId },
        });
      });
    },

    /**
     * Replies by email: the entry is stored (sealed) with its own Message-ID and threading
     * headers, and a job sends it over SMTP. The conversation then waits for the requester.
     */
    async reply(input: {
      actor: Actor;
      id: string;
      body: string;
    }): Promise<{ entryId: string; messageId: string }> {
      const { actor } = input;
      return db.transaction().execute(async (trx) => {
        const row = await getHandled(trx, actor, input.id);
        if (row.requester_email === null) {
          throw new AppError('ERR_VALIDATION', {
            message: 'conversation has no email address to reply to',
            fields: { body: 'intake.reply.noEmail' },
          });
        }
        const repo = createIntakeRepository(trx);
        const previous = await repo.listEntries(scopeOf(actor), row.id);
        const withId = previous.filter((e) => e.message_id !== null);
        const lastInbound = [...withId].reverse().find((e) => e.kind === 'inbound');
        const inReplyTo = (lastInbound ?? withId[withId.length - 1])?.message_id ?? null;
        const entryId = newId();
        const messageId = outboundMessageId(row.org_id, entryId, deps.publicOrigin);
        await addEntry(trx, deps, row, {
          id: entryId,
          kind: 'outbound',
          body: input.body,
          authorUserId: userIdOf(actor),
          messageId,
          inReplyTo,
          delivery: 'queued',
        });
        await touch(trx, actor, row.id, {
          status: 'waiting',
          closed_at: null,
          thread_key: row.thread_key ?? messageId,
        });
        await enqueue(trx, clock, {
          type: INTAKE_REPLY_JOB,
          orgId: row.org_id,
          payload: { entryId },
          maxAttempts: 8,
        });
        await appendAudit(trx, clock, {
          actor,
          action: 'intake.reply.queued',
          target: { type: 'conversation', id: row.id },
          purpose: PURPOSE,
          fields: ['body', 'requester_email'],
          meta: { entry_id: entryId },
        });
        return { entryId, messageId };
      });
    },

    /** An internal note on the conversation (never sent). */
    async addNote(input: { actor: Actor; id: string; body: string }): Promise<{ entryId: string }> {
      const { actor } = input;
      return db.transaction().execute(async (trx) => {
        const row = await getHandled(trx, actor, input.id);
        const entry = await addEntry(trx, deps, row, {
          kind: 'note',
          body: input.body,
          authorUserId: userIdOf(actor),
        });
        await touch(trx, actor, row.id);
        await appendAudit(trx, clock, {
          actor,
          action: 'intake.note.added',
          target: { type: 'conversation', id: row.id },
          purpose: PURPOSE,
          fields: ['body'],
          meta: { entry_id: entry.id },
        });
        return { entryId: entry.id };
      });
    },

    /** A phone call about an existing conversation: the summary as a phone entry. */
    async addPhoneNote(input: { actor: Actor; id: string; body: string }): Promise<{ entryId: string }> {
      const { actor } = input;
      return db.transaction().execute(async (trx) => {
        const row = await getHandled(trx, actor, input.id);
        const entry = await addEntry(trx, deps, row, {
          kind: 'phone',
          body: input.body,
          authorUserId: userIdOf(actor),
        });
        await touch(trx, actor, row.id, {
          status: row.status === 'closed' ? 'open' : row.status,
          closed_at: null,
        });
        await appendAudit(trx, clock, {
          actor,
          action: 'intake.phone.recorded',
          target: { type: 'conversation', id: row.id },
          purpose: PURPOSE,
          fields: ['body'],
          meta: { entry_id: entry.id, new_conversation: false },
        });
        return { entryId: entry.id };
      });
    },

    async setStatus(input: { actor: Actor; id: string; status: ConversationStatus }): Promise<void> {
      const { actor } = input;
      await db.transaction().execute(async (trx) => {
        const row = await getHandled(trx, actor, input.id);
        if (row.status === input.status) return;
        await touch(trx, actor, row.id, {
          status: input.status,
          closed_at: input.status === 'closed' ? clock.now().toISOString() : null,
        });
        await appendAudit(trx, clock, {
          actor,
          action: 'intake.conversation.status',
          target: { type: 'conversation', id: row.id },
          meta: { from: row.status, to: input.status },
        });
      });
    },

    /** Deletes a conversation with every entry and attachment (support only). */
    async deleteConversation(input: { actor: Actor; id: string }): Promise<void> {
      const { actor } = input;
      assertSupport(actor);
      await db.transaction().execute(async (trx) => {
        await getHandled(trx, actor, input.id);
        const gone = await createIntakeRepository(trx).deleteConversation(scopeOf(actor), input.id);
        await appendAudit(trx, clock, {
          actor,
          action: 'intake.conversation.deleted',
          target: { type: 'conversation', id: input.id },
          meta: gone,
        });
      });
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
      const filename = await sealer.open(
        'conversation_attachments',
        'filename',
        attachment.id,
        attachment.filename,
      );
      const content = await sealer.open(
        'conversation_attachments',
        'content',
        attachment.id,
        attachment.content,
      );
      await appendAudit(db, clock, {
        actor,
        action: 'intake.attachment.read',
        target: { type: 'conversation_attachment', id: attachment.id },
        purpose: PURPOSE,
        fields: ['filename', 'content'],
        meta: { conversation_id: row.id },
      });
      return { filename, contentType: attachment.content_type, content: Buffer.from(content, 'base64') };
    },

    /** Mail that could not be taken in (support only): reason, size and time, no content. */
    async listQuarantine(input: { actor: Actor }): Promise<QuarantineMeta[]> {
      assertSupport(input.actor);
      return createIntakeRepository(db).listQuarantine(scopeOf(input.actor), 200);
    },

    /** A quarantined message as received (an .eml download for support, audited). */
    async readQuarantined(input: { actor: Actor; id: string }): Promise<Buffer> {
      const { actor } = input;
      assertSupport(actor);
      const row = await createIntakeRepository(db).findQuarantine(scopeOf(actor), input.id);
      if (row === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'quarantined mail not found' });
      const raw = await keyring.decryptForOrg(
        row.org_id,
        { table: 'inbound_quarantine', column: 'raw', rowId: row.id },
        row.raw,
      );
      await appendAudit(db, clock, {
        actor,
        action: 'intake.quarantine.read',
        target: { type: 'inbound_quarantine', id: row.id },
        purpose: PURPOSE,
        fields: ['raw'],
      });
      return Buffer.from(raw, 'base64');
    },

    async deleteQuarantined(input: { actor: Actor; id: string }): Promise<void> {
      const { actor } = input;
      assertSupport(actor);
      await db.transaction().execute(async (trx) => {
        const removed = await createIntakeRepository(trx).deleteQuarantine(scopeOf(actor), input.id);
        if (removed === 0) throw new AppError('ERR_NOT_FOUND', { message: 'quarantined mail not found' });
        await appendAudit(trx, clock, {
          actor,
          action: 'intake.quarantine.deleted',
          target: { type: 'inbound_quarantine', id: input.id },
        });
      });
    },
  };
}

export type InboxService = ReturnType<typeof createInboxService>;
