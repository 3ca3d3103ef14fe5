/**
 * Acting on a conversation (P3): replies by email, internal notes, phone notes, status,
 * assignment, correcting the requester's contact details (Art. 16) and deletion. Each use case checks the actor may handle the conversation and writes
 * its audit entry in the same transaction. Replies go out by real SMTP through the job queue,
 * carrying a Message-ID kept on the entry and In-Reply-To/References so the visitor's answer
 * threads back. Deleting a conversation deletes its entries and attachments.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { type Actor, scopeOf } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { assertCan } from '../../shared/permissions.js';
import { enqueue } from '../jobs/index.js';
import { getHandled, HANDLE_PURPOSE, type InboxDeps, userIdOf } from './intake-handling.js';
import { type ConversationRow, createIntakeRepository } from './intake-repository.js';
import type { ConversationStatus } from './intake-schema.js';
import type { ContactCorrection } from './intake-schemas.js';
import { addEntry, conversationSealer } from './intake-service.js';
import { outboundMessageId } from './intake-threads.js';

export const INTAKE_REPLY_JOB = 'intake.reply';

/** Marks a conversation as changed now, with `patch` (in the caller's transaction). */
async function touch(
  trx: Kysely<DB>,
  deps: Pick<InboxDeps, 'clock'>,
  actor: Actor,
  id: string,
  patch: Partial<ConversationRow> = {},
): Promise<void> {
  await createIntakeRepository(trx).updateConversation(scopeOf(actor), id, {
    ...patch,
    updated_at: deps.clock.now().toISOString(),
  });
}

/** A staff entry that is not sent: an internal note, or the summary of a call about this conversation. */
function addStaffEntry(
  deps: InboxDeps,
  input: { actor: Actor; id: string; body: string; kind: 'note' | 'phone' },
): Promise<{ entryId: string }> {
  const { actor } = input;
  return deps.db.transaction().execute(async (trx) => {
    const row = await getHandled(trx, actor, input.id);
    const entry = await addEntry(trx, deps, row, {
      kind: input.kind,
      body: input.body,
      authorUserId: userIdOf(actor),
    });
    // A call reopens a closed conversation; a note only marks it as touched.
    const reopen = { status: row.status === 'closed' ? 'open' : row.status, closed_at: null } as const;
    await touch(trx, deps, actor, row.id, input.kind === 'phone' ? reopen : {});
    await deps.audit.append(trx, {
      actor,
      action: input.kind === 'phone' ? 'intake.phone.recorded' : 'intake.note.added',
      target: { type: 'conversation', id: row.id },
      purpose: HANDLE_PURPOSE,
      fields: ['body'],
      meta: input.kind === 'phone' ? { entry_id: entry.id, new_conversation: false } : { entry_id: entry.id },
    });
    return { entryId: entry.id };
  });
}

/**
 * Corrects the requester's name, email address and phone number on a conversation (Art. 16): each
 * changed value is sealed again under the subject's key over the old one, and the audit entry
 * names the fields changed, never a value (support only).
 */
async function correctContact(
  deps: InboxDeps,
  input: { actor: Actor; id: string; values: ContactCorrection },
): Promise<{ changed: readonly string[] }> {
  const { actor } = input;
  assertCan(actor, 'intake.handle');
  return deps.db.transaction().execute(async (trx) => {
    const row = await getHandled(trx, actor, input.id);
    const sealer = conversationSealer(deps.keyring, row.org_id, row.subject_id);
    const next = {
      requester_name: input.values.name,
      requester_email: input.values.email,
      requester_phone: input.values.phone,
    };
    const patch: Partial<ConversationRow> = {};
    const changed: (keyof typeof next)[] = [];
    for (const column of Object.keys(next) as (keyof typeof next)[]) {
      // An erased subject's key is gone: nothing of theirs can be read or corrected.
      const current = await sealer.openOptional('conversations', column, row.id, row[column]);
      if (current === next[column]) continue;
      patch[column] = await sealer.sealOptional('conversations', column, row.id, next[column]);
      changed.push(column);
    }
    if (changed.length === 0) return { changed };
    await touch(trx, deps, actor, row.id, patch);
    await deps.audit.append(trx, {
      actor,
      action: 'intake.contact.corrected',
      target: { type: 'conversation', id: row.id },
      purpose: HANDLE_PURPOSE,
      fields: changed,
      meta: { changed: changed.length },
    });
    return { changed };
  });
}

export function createInboxActions(deps: InboxDeps) {
  const { db, clock, audit } = deps;

  return {
    /** Support assigns a conversation to an active staff member of the org (who may then handle it), or unassigns it. */
    async assign(input: { actor: Actor; id: string; userId: string | null }): Promise<void> {
      const { actor } = input;
      assertCan(actor, 'intake.handle');
      const staff = input.userId === null ? [] : await deps.auth.listStaffNames({ actor });
      await db.transaction().execute(async (trx) => {
        await getHandled(trx, actor, input.id);
        const assignee = staff.find((u) => u.id === input.userId);
        if (input.userId !== null && (assignee === undefined || assignee.disabled)) {
          throw new AppError('ERR_VALIDATION', {
            message: 'assignee not in this org or disabled',
            fields: { userId: 'intake.assign.unknownUser' },
          });
        }
        await touch(trx, deps, actor, input.id, { assigned_user_id: input.userId });
        await audit.append(trx, {
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
        const previous = await createIntakeRepository(trx).listEntries(scopeOf(actor), row.id);
        const withId = previous.filter((e) => e.message_id !== null);
        const lastInbound = [...withId].reverse().find((e) => e.kind === 'inbound');
        const inReplyTo = (lastInbound ?? withId[withId.length - 1])?.message_id ?? null;
        const entryId = newId();
        const messageId = outboundMessageId(entryId, deps.publicOrigin);
        await addEntry(trx, deps, row, {
          id: entryId,
          kind: 'outbound',
          body: input.body,
          authorUserId: userIdOf(actor),
          messageId,
          inReplyTo,
          delivery: 'queued',
        });
        await touch(trx, deps, actor, row.id, {
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
        await audit.append(trx, {
          actor,
          action: 'intake.reply.queued',
          target: { type: 'conversation', id: row.id },
          purpose: HANDLE_PURPOSE,
          fields: ['body', 'requester_email'],
          meta: { entry_id: entryId },
        });
        return { entryId, messageId };
      });
    },

    /** An internal note on the conversation (never sent). */
    addNote: (input: { actor: Actor; id: string; body: string }): Promise<{ entryId: string }> =>
      addStaffEntry(deps, { ...input, kind: 'note' }),

    /** A phone call about an existing conversation: the summary as a phone entry. */
    addPhoneNote: (input: { actor: Actor; id: string; body: string }): Promise<{ entryId: string }> =>
      addStaffEntry(deps, { ...input, kind: 'phone' }),

    async setStatus(input: { actor: Actor; id: string; status: ConversationStatus }): Promise<void> {
      const { actor } = input;
      await db.transaction().execute(async (trx) => {
        const row = await getHandled(trx, actor, input.id);
        if (row.status === input.status) return;
        await touch(trx, deps, actor, row.id, {
          status: input.status,
          closed_at: input.status === 'closed' ? clock.now().toISOString() : null,
        });
        await audit.append(trx, {
          actor,
          action: 'intake.conversation.status',
          target: { type: 'conversation', id: row.id },
          meta: { from: row.status, to: input.status },
        });
      });
    },

    /** Corrects the requester's contact details on a conversation (Art. 16; support only). */
    correctContact: (input: { actor: Actor; id: string; values: ContactCorrection }) =>
      correctContact(deps, input),

    /** Deletes a conversation with every entry and attachment (support only). */
    async deleteConversation(input: { actor: Actor; id: string }): Promise<void> {
      const { actor } = input;
      assertCan(actor, 'intake.handle');
      await db.transaction().execute(async (trx) => {
        await getHandled(trx, actor, input.id);
        const gone = await createIntakeRepository(trx).deleteConversation(scopeOf(actor), input.id);
        await audit.append(trx, {
          actor,
          action: 'intake.conversation.deleted',
          target: { type: 'conversation', id: input.id },
          meta: gone,
        });
      });
    },
  };
}
