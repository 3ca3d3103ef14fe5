/**
 * Inbound email (P1, P3, P16): a raw message received for one of the organisation's addresses
 * opens a conversation on the email channel, or continues one when its In-Reply-To/References
 * name a message of that conversation and the sender is the conversation's own data subject.
 * Mail to the privacy address is flagged as a possible rights request. Attachments of the
 * allowed types and sizes are sealed with the subject's key (a zip-based office document only if
 * it does not expand too far, ASVS 5.2.3); others are refused and noted (type and size only). A message that cannot be taken in is quarantined — the raw bytes sealed with
 * the org key, with a reason — never dropped.
 */
import type { Kysely } from 'kysely';
import { type ParsedMail, simpleParser } from 'mailparser';
import { z } from 'zod';
import type { DB } from '../../db/schema.js';
import type { Actor } from '../../shared/actor.js';
import { AppError, isAppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { stripUnsafeControls } from '../../shared/text.js';
import type { KluisCore, KluisServices } from '../module.js';
import { createOrgsRepository, type Org } from '../orgs/index.js';
import { requestRecords } from '../rights/index.js';
import { createSubjectsService } from '../subjects/index.js';
import { type ConversationRow, createIntakeRepository } from './intake-repository.js';
import { addEntry, conversationSealer, openConversation } from './intake-service.js';
import { messageIdsOf } from './intake-threads.js';
import { inspectZip } from './intake-zip.js';

export type Mailbox = 'contact' | 'privacy';

/** Exported for docs/security.md's upload table, which a test holds to these values. */
export const MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024;
export const MAX_ATTACHMENTS = 10;

const isZip = (b: Buffer) => b.length > 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;
const isText = (b: Buffer) => !b.includes(0);

/** Allowed attachment types, each with a check of the file's first bytes (the declared type is not trusted). */
const allowedAttachmentTypes: Readonly<Record<string, (content: Buffer) => boolean>> = {
  'application/pdf': (b) => b.subarray(0, 5).toString('latin1') === '%PDF-',
  'image/png': (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  'image/jpeg': (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  'image/gif': (b) => b.subarray(0, 4).toString('latin1') === 'GIF8',
  'image/webp': (b) =>
    b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP',
  'text/plain': isText,
  'text/csv': isText,
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': isZip,
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': isZip,
  'application/vnd.oasis.opendocument.text': isZip,
  'application/vnd.oasis.opendocument.spreadsheet': isZip,
};

/** The attachment types kept (the rest are refused and noted). */
export const attachmentTypes: readonly string[] = Object.keys(allowedAttachmentTypes);

export type QuarantineReason =
  | 'unparseable'
  | 'no_sender'
  | 'auto_submitted'
  | 'bounce'
  | 'empty'
  | 'processing_failed';

export type InboundOutcome =
  | { readonly kind: 'opened' | 'threaded'; readonly conversationId: string; readonly entryId: string }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'quarantined'; readonly id: string; readonly reason: QuarantineReason };

export type InboundMailDeps = Pick<KluisCore, 'db' | 'keyring' | 'clock' | 'logger'> &
  Pick<KluisServices, 'audit'>;

interface AcceptedAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
}

interface RefusedAttachment {
  contentType: string;
  size: number;
  /** `archive`: a zip-based document that expands too far or is malformed (intake-zip.ts). */
  reason: 'type' | 'size' | 'count' | 'archive';
}

/** Sorts a mail's attachments into those kept and those refused (type, size, count). */
function screenAttachments(attachments: ParsedMail['attachments']): {
  accepted: AcceptedAttachment[];
  refused: RefusedAttachment[];
} {
  const accepted: AcceptedAttachment[] = [];
  const refused: RefusedAttachment[] = [];
  for (const a of attachments) {
    const contentType =
      (a.contentType || 'application/octet-stream').toLowerCase().split(';')[0]?.trim() ?? '';
    const size = a.content.length;
    const check = allowedAttachmentTypes[contentType];
    if (check === undefined || !check(a.content))
      refused.push({ contentType: contentType.slice(0, 100), size, reason: 'type' });
    else if (size > MAX_ATTACHMENT_BYTES) refused.push({ contentType, size, reason: 'size' });
    else if (accepted.length >= MAX_ATTACHMENTS) refused.push({ contentType, size, reason: 'count' });
    else if (check === isZip && !inspectZip(a.content).ok)
      refused.push({ contentType, size, reason: 'archive' });
    else {
      const filename =
        (a.filename ?? '')
          .replace(/[\r\n\t\\/]/g, ' ')
          .trim()
          .slice(0, 200) || 'attachment';
      accepted.push({ filename, contentType, content: a.content });
    }
  }
  return { accepted, refused };
}

const senderSchema = z.email();

function systemActor(org: Pick<Org, 'id' | 'kind'>): Actor {
  return { kind: 'system', orgId: org.id, orgKind: org.kind, reason: 'inbound-mail', roles: [] };
}

/** What Kluis keeps of a readable message, or why it cannot be taken in. */
type ReadMail =
  | { readonly ok: false; readonly reason: QuarantineReason }
  | {
      readonly ok: true;
      readonly sender: string;
      readonly senderName: string | undefined;
      readonly text: string;
      readonly subjectLine: string | undefined;
      readonly locale: 'nl' | 'en';
      readonly messageId: string | null;
      readonly inReplyTo: string | null;
      /** Every Message-ID it answers: In-Reply-To, then References. */
      readonly references: readonly string[];
      readonly accepted: readonly AcceptedAttachment[];
      readonly refused: readonly RefusedAttachment[];
    };

/**
 * A delivery report without `Auto-Submitted` (issue 16: such a bounce opened a conversation): the
 * SMTP envelope's null sender (`MAIL FROM:<>`, RFC 5321 §4.5.5, when the listener knows it), a
 * `Return-Path: <>`, a `multipart/report` body (delivery and read reports, RFC 6522), an
 * `X-Failed-Recipients` header, or a From of mailer-daemon or postmaster.
 */
function isBounce(parsed: ParsedMail, sender: string, envelopeFrom: string | undefined): boolean {
  if (envelopeFrom !== undefined && envelopeFrom.trim() === '') return true;
  const returnPath = parsed.headers.get('return-path');
  const returnText =
    typeof returnPath === 'string'
      ? returnPath
      : returnPath !== undefined && typeof returnPath === 'object' && 'text' in returnPath
        ? String(returnPath.text)
        : undefined;
  if (returnText !== undefined && /^\s*<?\s*>?\s*$/.test(returnText)) return true;
  const type = parsed.headers.get('content-type');
  const mediaType = typeof type === 'object' && type !== null && 'value' in type ? String(type.value) : '';
  if (mediaType.toLowerCase() === 'multipart/report') return true;
  if (parsed.headers.has('x-failed-recipients')) return true;
  return /^(mailer-daemon|postmaster)@/.test(sender);
}

/** Reads a parsed message: sender, text, threading headers and screened attachments. */
function readMail(parsed: ParsedMail, envelopeFrom: string | undefined): ReadMail {
  const from = parsed.from?.value[0];
  const sender = senderSchema.safeParse(from?.address?.trim().toLowerCase() ?? '');
  if (!sender.success) return { ok: false, reason: 'no_sender' };
  const auto = parsed.headers.get('auto-submitted');
  if (typeof auto === 'string' && auto.trim().toLowerCase() !== 'no') {
    // Out-of-office answers and bounces must not open conversations (or loop with our replies).
    return { ok: false, reason: 'auto_submitted' };
  }
  if (isBounce(parsed, sender.data, envelopeFrom)) return { ok: false, reason: 'bounce' };
  const text = stripUnsafeControls(parsed.text ?? '').trim();
  const { accepted, refused } = screenAttachments(parsed.attachments);
  if (text === '' && accepted.length === 0) return { ok: false, reason: 'empty' };
  const contentLanguage = parsed.headers.get('content-language');
  return {
    ok: true,
    sender: sender.data,
    senderName: stripUnsafeControls(from?.name ?? '').trim() || undefined,
    text,
    subjectLine:
      stripUnsafeControls(parsed.subject ?? '')
        .replace(/[\r\n]+/g, ' ')
        .trim()
        .slice(0, 500) || undefined,
    locale:
      typeof contentLanguage === 'string' && contentLanguage.toLowerCase().startsWith('en') ? 'en' : 'nl',
    messageId: messageIdsOf(parsed.messageId)[0] ?? null,
    inReplyTo: messageIdsOf(parsed.inReplyTo)[0] ?? null,
    references: messageIdsOf(parsed.inReplyTo, parsed.references),
    accepted,
    refused,
  };
}

/** Whether `sender` is the address the conversation was opened with (none: never). */
async function fromConversationAddress(
  keyring: InboundMailDeps['keyring'],
  conversation: ConversationRow,
  sender: string,
): Promise<boolean> {
  const address = await conversationSealer(
    keyring,
    conversation.org_id,
    conversation.subject_id,
  ).openOptional('conversations', 'requester_email', conversation.id, conversation.requester_email);
  return address !== undefined && address.trim().toLowerCase() === sender;
}

/**
 * Stores a readable message in `org`, in one transaction: an entry on the conversation it
 * answers (when the sender is that conversation's own person) or a new conversation, its
 * attachments sealed, a rights request for mail to the privacy address, and the audit entry.
 */
async function storeMail(
  trx: Kysely<DB>,
  deps: InboundMailDeps,
  o: { org: Pick<Org, 'id' | 'kind'>; mailbox: Mailbox; mail: Extract<ReadMail, { ok: true }> },
): Promise<InboundOutcome> {
  const { keyring, clock } = deps;
  const { mail, mailbox } = o;
  const actor = systemActor(o.org);
  const scope = { orgId: o.org.id };
  const repo = createIntakeRepository(trx);
  if (mail.messageId !== null && (await repo.entryExistsWithMessageId(scope, mail.messageId))) {
    return { kind: 'duplicate' };
  }
  let conversation: ConversationRow | undefined = await repo.findConversationByMessageIds(
    scope,
    mail.references,
  );
  if (conversation !== undefined) {
    // Only the conversation's own person continues it; anyone else starts their own.
    const senders = await createSubjectsService({ keyring, clock }).findByContact(trx, scope, {
      email: mail.sender,
    });
    const subjectId = conversation.subject_id;
    if (!senders.some((s) => s.id === subjectId)) conversation = undefined;
    // ... and from the conversation's own address: a person reached by another address (a
    // shared phone number linked two addresses to one subject) or a forged From of another
    // address of that person starts a new conversation instead (issue 16).
    else if (!(await fromConversationAddress(keyring, conversation, mail.sender))) conversation = undefined;
  }
  const first = {
    kind: 'inbound' as const,
    body: mail.text,
    messageId: mail.messageId,
    inReplyTo: mail.inReplyTo,
    refusedAttachments: mail.refused.length === 0 ? null : JSON.stringify(mail.refused),
  };
  const threaded = conversation !== undefined;
  let entryId: string;
  if (conversation !== undefined) {
    entryId = (await addEntry(trx, deps, conversation, first)).id;
    await repo.updateConversation(scope, conversation.id, {
      status: 'open',
      closed_at: null,
      updated_at: clock.now().toISOString(),
      ...(mailbox === 'privacy' ? { possible_rights_request: 1 } : {}),
    });
  } else {
    const opened = await openConversation(trx, deps, {
      actor,
      channel: 'email',
      contact: { name: mail.senderName, email: mail.sender },
      locale: mail.locale,
      subjectLine: mail.subjectLine,
      possibleRightsRequest: mailbox === 'privacy',
      threadKey: mail.messageId,
      first,
    });
    conversation = opened.conversation;
    entryId = opened.entry.id;
  }
  const sealer = conversationSealer(keyring, conversation.org_id, conversation.subject_id);
  for (const a of mail.accepted) {
    const id = newId();
    await repo.insertAttachment({
      id,
      org_id: conversation.org_id,
      conversation_id: conversation.id,
      entry_id: entryId,
      filename: await sealer.seal('conversation_attachments', 'filename', id, a.filename),
      content_type: a.contentType,
      size_bytes: a.content.length,
      content: await sealer.seal('conversation_attachments', 'content', id, a.content.toString('base64')),
      created_at: clock.now().toISOString(),
    });
  }
  if (mailbox === 'privacy') {
    // P16: a mail to the privacy address is also a rights request, unverified until confirmed.
    await requestRecords({ keyring, clock }).receiveEmail(trx, {
      orgId: conversation.org_id,
      email: mail.sender,
      locale: mail.locale,
      conversationId: conversation.id,
    });
  }
  await deps.audit.append(trx, {
    actor,
    action: 'intake.email.received',
    target: { type: 'conversation', id: conversation.id },
    purpose: 'handle_requests',
    fields: threaded ? ['body'] : ['requester_name', 'requester_email', 'subject_line', 'body'],
    meta: {
      mailbox,
      threaded,
      entry_id: entryId,
      attachments: mail.accepted.length,
      refused_attachments: mail.refused.length,
    },
  });
  return { kind: threaded ? 'threaded' : 'opened', conversationId: conversation.id, entryId };
}

export function createInboundMail(deps: InboundMailDeps) {
  const { db, keyring, clock, audit } = deps;
  const orgs = createOrgsRepository(db);

  async function quarantine(input: {
    orgId: string;
    mailbox: Mailbox;
    raw: Buffer;
    reason: QuarantineReason;
  }): Promise<InboundOutcome> {
    const org = await orgs.getById(input.orgId);
    const id = newId();
    const sealed = await keyring.encryptForOrg(
      org.id,
      { table: 'inbound_quarantine', column: 'raw', rowId: id },
      input.raw.toString('base64'),
    );
    await db.transaction().execute(async (trx) => {
      await createIntakeRepository(trx).insertQuarantine({
        id,
        org_id: org.id,
        reason: input.reason,
        mailbox: input.mailbox,
        raw: sealed,
        size_bytes: input.raw.length,
        created_at: clock.now().toISOString(),
      });
      await audit.append(trx, {
        actor: systemActor(org),
        action: 'intake.email.quarantined',
        target: { type: 'inbound_quarantine', id },
        meta: { reason: input.reason, mailbox: input.mailbox, size: input.raw.length },
      });
    });
    return { kind: 'quarantined', id, reason: input.reason };
  }

  async function take(
    mailboxOrgId: string,
    mailbox: Mailbox,
    raw: Buffer,
    envelopeFrom: string | undefined,
  ): Promise<InboundOutcome> {
    let parsed: ParsedMail;
    try {
      parsed = await simpleParser(raw, { skipImageLinks: true, skipTextLinks: true });
    } catch {
      return quarantine({ orgId: mailboxOrgId, mailbox, raw, reason: 'unparseable' });
    }
    const mail = readMail(parsed, envelopeFrom);
    if (!mail.ok) return quarantine({ orgId: mailboxOrgId, mailbox, raw, reason: mail.reason });
    // The recipient address alone decides the org (never a header the sender wrote).
    const org = await orgs.getById(mailboxOrgId);
    return db.transaction().execute((trx) => storeMail(trx, deps, { org, mailbox, mail }));
  }

  return {
    /**
     * Takes in one raw message sent to `mailbox` of the org `orgId`. Never loses it: whatever
     * cannot be taken in is quarantined; only when even that fails does it throw (the SMTP
     * listener then answers 451 and the sender retries).
     */
    async receive(input: {
      orgId: string;
      mailbox: Mailbox;
      raw: Buffer;
      /** The SMTP envelope's sender (MAIL FROM) when known; `''` is the null sender of a bounce. */
      envelopeFrom?: string | undefined;
    }): Promise<InboundOutcome> {
      try {
        return await take(input.orgId, input.mailbox, input.raw, input.envelopeFrom);
      } catch (error) {
        // The code only: a driver's message may quote values.
        const code = isAppError(error) ? error.code : String((error as { code?: unknown }).code ?? 'unknown');
        deps.logger.warn({ code }, 'inbound mail could not be taken in: quarantining it');
        try {
          return await quarantine({
            orgId: input.orgId,
            mailbox: input.mailbox,
            raw: input.raw,
            reason: 'processing_failed',
          });
        } catch (cause) {
          throw new AppError('ERR_INTERNAL', {
            message: 'inbound mail neither taken in nor quarantined',
            cause,
          });
        }
      }
    },
    quarantine,
  };
}

export type InboundMail = ReturnType<typeof createInboundMail>;
