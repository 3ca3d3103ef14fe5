/**
 * Intake: one way in for every channel (P1) — the web form, the API, inbound email and phone
 * calls staff record — each opening (or continuing) a conversation that records its channel.
 * A request holds exactly name, email and/or phone and the message (P2). Contact details and
 * message content are sealed with the data subject's key and stay inside the conversation (P3):
 * no profile, no search index, no log line carries them. The subject is found or created by blind
 * index (subjects module), so the rights workflow can later find everything about one person.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Actor, OrgScope } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import type { SpentFormToken } from '../../shared/http/form-guard.js';
import type { Locale } from '../../shared/i18n/messages.js';
import { newId } from '../../shared/ids.js';
import { assertCan } from '../../shared/permissions.js';
import type { KluisCore, KluisServices } from '../module.js';
import { createSubjectsService } from '../subjects/index.js';
import { spendFormToken } from './intake-form-tokens.js';
import { type ConversationRow, createIntakeRepository, type EntryRow } from './intake-repository.js';
import type { Channel, EntryKind } from './intake-schema.js';
import type { ContactRequestInput } from './intake-schemas.js';

/** `details.reason` of the ERR_CONFLICT a second post of one contact form gets. */
export const FORM_TOKEN_SPENT = 'form_token_spent';

type AuditEvent = Parameters<KluisServices['audit']['append']>[1];

/** What intake's use cases need: the database, the keys, the clock and the audit trail. */
export type IntakeDeps = Pick<KluisCore, 'db' | 'keyring' | 'clock'> & Pick<KluisServices, 'audit'>;

/** What opening a conversation or adding an entry needs (the caller's transaction brings the database). */
export type EntryDeps = Pick<KluisCore, 'keyring' | 'clock'>;

/** Who hands a request in: a staff member or API key, the inbound mail listener, or a visitor. */
export type IntakeActor = Actor | { kind: 'anonymous'; orgId: string; ref: string };

/** Seals and opens the personal fields of one conversation with its subject's key. */
export function conversationSealer(keyring: KluisCore['keyring'], orgId: string, subjectId: string) {
  return {
    seal(table: string, column: string, rowId: string, value: string): Promise<Buffer> {
      return keyring.encryptForSubject(orgId, subjectId, { table, column, rowId }, value);
    },
    async sealOptional(table: string, column: string, rowId: string, value: string | undefined) {
      return value === undefined || value === ''
        ? null
        : keyring.encryptForSubject(orgId, subjectId, { table, column, rowId }, value);
    },
    open(table: string, column: string, rowId: string, value: Buffer): Promise<string> {
      return keyring.decryptForSubject(orgId, subjectId, { table, column, rowId }, value);
    },
    async openOptional(table: string, column: string, rowId: string, value: Buffer | null) {
      return value === null
        ? undefined
        : keyring.decryptForSubject(orgId, subjectId, { table, column, rowId }, value);
    },
  };
}

export interface NewEntry {
  /** A pre-generated id (an outbound mail's Message-ID carries it). */
  id?: string;
  kind: EntryKind;
  body: string;
  authorUserId?: string | null;
  messageId?: string | null;
  inReplyTo?: string | null;
  delivery?: EntryRow['delivery'];
  refusedAttachments?: string | null;
}

export interface OpenConversationInput {
  actor: IntakeActor;
  channel: Channel;
  contact: { name?: string | undefined; email?: string | undefined; phone?: string | undefined };
  locale: Locale;
  subjectLine?: string | undefined;
  possibleRightsRequest?: boolean;
  threadKey?: string | null;
  assignedUserId?: string | null;
  first: NewEntry;
}

function scopeOfIntake(actor: IntakeActor): OrgScope {
  return { orgId: actor.orgId };
}

function auditActor(actor: IntakeActor): AuditEvent['actor'] {
  return actor.kind === 'anonymous' ? { kind: 'anonymous', orgId: actor.orgId, ref: actor.ref } : actor;
}

/** Opens a conversation with its first entry, inside the caller's transaction. */
export async function openConversation(
  trx: Kysely<DB>,
  deps: EntryDeps,
  input: OpenConversationInput,
): Promise<{ conversation: ConversationRow; entry: EntryRow }> {
  const { keyring, clock } = deps;
  const scope = scopeOfIntake(input.actor);
  const subject = await createSubjectsService({ keyring, clock }).findOrCreate(trx, scope, {
    email: input.contact.email,
    phone: input.contact.phone,
  });
  const now = clock.now().toISOString();
  const id = newId();
  const sealer = conversationSealer(keyring, scope.orgId, subject.id);
  const conversation: ConversationRow = {
    id,
    org_id: scope.orgId,
    subject_id: subject.id,
    channel: input.channel,
    status: 'open',
    assigned_user_id: input.assignedUserId ?? null,
    subject_line: await sealer.sealOptional('conversations', 'subject_line', id, input.subjectLine),
    requester_name: await sealer.sealOptional('conversations', 'requester_name', id, input.contact.name),
    requester_email: await sealer.sealOptional('conversations', 'requester_email', id, input.contact.email),
    requester_phone: await sealer.sealOptional('conversations', 'requester_phone', id, input.contact.phone),
    locale: input.locale,
    possible_rights_request: input.possibleRightsRequest ? 1 : 0,
    thread_key: input.threadKey ?? null,
    created_at: now,
    updated_at: now,
    closed_at: null,
  };
  await createIntakeRepository(trx).insertConversation(conversation);
  // The conversation was created just now: its first entry is number 1 without asking.
  const entry = await insertEntry(trx, deps, conversation, input.first, 1);
  return { conversation, entry };
}

/** Adds an entry to a conversation (sealed with the conversation subject's key), in the caller's transaction. */
export async function addEntry(
  trx: Kysely<DB>,
  deps: EntryDeps,
  conversation: Pick<ConversationRow, 'id' | 'org_id' | 'subject_id'>,
  entry: NewEntry,
): Promise<EntryRow> {
  const seq = await createIntakeRepository(trx).nextSeq({ orgId: conversation.org_id }, conversation.id);
  return insertEntry(trx, deps, conversation, entry, seq);
}

async function insertEntry(
  trx: Kysely<DB>,
  deps: EntryDeps,
  conversation: Pick<ConversationRow, 'id' | 'org_id' | 'subject_id'>,
  entry: NewEntry,
  seq: number,
): Promise<EntryRow> {
  const id = entry.id ?? newId();
  const sealer = conversationSealer(deps.keyring, conversation.org_id, conversation.subject_id);
  const repo = createIntakeRepository(trx);
  const row: EntryRow = {
    id,
    org_id: conversation.org_id,
    conversation_id: conversation.id,
    seq,
    kind: entry.kind,
    body: await sealer.seal('conversation_entries', 'body', id, entry.body),
    author_user_id: entry.authorUserId ?? null,
    message_id: entry.messageId ?? null,
    in_reply_to: entry.inReplyTo ?? null,
    delivery: entry.delivery ?? null,
    sent_at: null,
    refused_attachments: entry.refusedAttachments ?? null,
    created_at: deps.clock.now().toISOString(),
  };
  await repo.insertEntry(row);
  return row;
}

export function createIntakeService(deps: IntakeDeps) {
  const { db, audit } = deps;

  return {
    /**
     * A contact request from the web form (a visitor) or the API (an API key): opens a
     * conversation for the requester's data subject. Audited without any personal value.
     */
    async submitContactRequest(input: {
      actor: IntakeActor;
      channel: 'web' | 'api';
      request: ContactRequestInput;
      locale: Locale;
      /**
       * The contact form's checked fill-time token, spent in this transaction: a form is taken
       * once on any node (ERR_CONFLICT with `reason: form_token_spent` when it was already).
       */
      formToken?: SpentFormToken;
    }): Promise<{ conversationId: string }> {
      const { request, formToken } = input;
      // A visitor's form is public; a request through the API needs a key (or staff) allowed to hand them in.
      if (input.actor.kind !== 'anonymous') assertCan(input.actor, 'intake.submit');
      return db.transaction().execute(async (trx) => {
        // First, so that a second post of the same form waits here (on PostgreSQL, for the other
        // transaction's commit) and stores nothing.
        if (formToken !== undefined && !(await spendFormToken(trx, formToken))) {
          throw new AppError('ERR_CONFLICT', {
            message: 'contact form token already spent',
            details: { reason: FORM_TOKEN_SPENT },
          });
        }
        const { conversation } = await openConversation(trx, deps, {
          actor: input.actor,
          channel: input.channel,
          contact: { name: request.name, email: request.email, phone: request.phone },
          locale: input.locale,
          first: { kind: 'inbound', body: request.message },
        });
        await audit.append(trx, {
          actor: auditActor(input.actor),
          action: 'intake.contact.received',
          target: { type: 'conversation', id: conversation.id },
          purpose: 'handle_requests',
          fields: [
            'requester_name',
            'body',
            ...(request.email === undefined ? [] : ['requester_email']),
            ...(request.phone === undefined ? [] : ['requester_phone']),
          ],
          meta: { channel: input.channel },
        });
        return { conversationId: conversation.id };
      });
    },

    /**
     * Staff record a phone call (who, number, summary): a new conversation on the phone channel,
     * or an entry on an existing one (which the inbox service checks the staff member may handle).
     */
    async recordPhoneCall(input: {
      actor: Actor;
      request: ContactRequestInput;
      locale: Locale;
    }): Promise<{ conversationId: string }> {
      const { actor, request } = input;
      if (actor.kind !== 'user') throw new AppError('ERR_FORBIDDEN', { message: 'phone notes are by staff' });
      return db.transaction().execute(async (trx) => {
        const { conversation } = await openConversation(trx, deps, {
          actor,
          channel: 'phone',
          contact: { name: request.name, email: request.email, phone: request.phone },
          locale: input.locale,
          assignedUserId: actor.userId,
          first: { kind: 'phone', body: request.message, authorUserId: actor.userId },
        });
        await audit.append(trx, {
          actor,
          action: 'intake.phone.recorded',
          target: { type: 'conversation', id: conversation.id },
          purpose: 'handle_requests',
          fields: ['requester_name', 'requester_phone', 'body'],
          meta: { channel: 'phone', new_conversation: true },
        });
        return { conversationId: conversation.id };
      });
    },
  };
}

export type IntakeService = ReturnType<typeof createIntakeService>;
