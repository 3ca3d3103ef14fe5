/**
 * The `intake.reply` job: sends a staff reply over SMTP. The job payload holds the entry id only
 * — the address, the text and the subject stay sealed in the conversation (P3) and are opened
 * here, at the moment of sending. The mail carries the entry's Message-ID and In-Reply-To /
 * References, and Reply-To the contact address, so the requester's answer comes back to the
 * inbound listener and threads into the same conversation. A conversation deleted before the job
 * runs leaves nothing to send.
 */
import { z } from 'zod';
import type { Actor } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { translator } from '../../shared/i18n/messages.js';
import type { JobRegistry } from '../jobs/index.js';
import { renderMail, senderOf } from '../mail/index.js';
import type { KluisCore, KluisServices } from '../module.js';
import { createOrgsRepository } from '../orgs/index.js';
import { INTAKE_REPLY_JOB } from './intake-inbox-actions.js';
import { createIntakeRepository } from './intake-repository.js';
import { conversationSealer } from './intake-service.js';
import { referencesFor } from './intake-threads.js';

/** "Re: <subject>" for mail threads; for other channels a subject naming the organisation. */
function replySubject(o: { locale: 'nl' | 'en'; subjectLine: string | undefined; orgName: string }): string {
  const base = o.subjectLine?.replace(/[\r\n]+/g, ' ').trim();
  const subject =
    base === undefined || base === ''
      ? translator(o.locale)('intake.reply.mailSubject', { org: o.orgName })
      : /^re:/i.test(base)
        ? base
        : `Re: ${base}`;
  return subject.slice(0, 200);
}

export function registerIntakeJobs(
  registry: JobRegistry,
  kluis: Pick<KluisCore, 'db' | 'keyring' | 'config' | 'mailer' | 'clock'> & Pick<KluisServices, 'audit'>,
): void {
  registry.register(INTAKE_REPLY_JOB, z.object({ entryId: z.uuid() }), async (payload, ctx) => {
    const { job } = ctx;
    if (job.orgId === null) throw new AppError('ERR_VALIDATION', { message: 'intake.reply job without org' });
    const scope = { orgId: job.orgId };
    const repo = createIntakeRepository(kluis.db);
    const entry = await repo.findEntry(scope, payload.entryId);
    if (entry === undefined || entry.kind !== 'outbound' || entry.delivery === 'sent') {
      ctx.logger.info('reply already sent or its conversation deleted: nothing to send');
      return;
    }
    const conversation = await repo.findConversation(scope, entry.conversation_id);
    if (conversation === undefined) return;
    const org = await createOrgsRepository(kluis.db).getById(job.orgId);
    const sealer = conversationSealer(kluis.keyring, conversation.org_id, conversation.subject_id);
    const to = await sealer.openOptional(
      'conversations',
      'requester_email',
      conversation.id,
      conversation.requester_email,
    );
    if (to === undefined)
      throw new AppError('ERR_VALIDATION', { message: 'conversation has no email address' });
    const name = await sealer.openOptional(
      'conversations',
      'requester_name',
      conversation.id,
      conversation.requester_name,
    );
    const subjectLine = await sealer.openOptional(
      'conversations',
      'subject_line',
      conversation.id,
      conversation.subject_line,
    );
    const body = await sealer.open('conversation_entries', 'body', entry.id, entry.body);
    const earlier = (await repo.listEntries(scope, conversation.id))
      .filter((e) => e.seq < entry.seq && e.message_id !== null)
      .map((e) => e.message_id ?? '');
    const thread =
      conversation.thread_key !== null && conversation.thread_key !== entry.message_id
        ? [conversation.thread_key, ...earlier.filter((id) => id !== conversation.thread_key)]
        : earlier;
    const locale = conversation.locale === 'en' ? 'en' : 'nl';
    // Mail to the privacy address may be a rights request: every answer to it names the
    // complaint route (Art. 12(4), 77), as the rights workflow's replies do (issue 16).
    const complaint =
      conversation.possible_rights_request === 1 ? `\n\n${translator(locale)('intake.reply.complaint')}` : '';
    const rendered = renderMail('notification', locale, {
      subject: replySubject({ locale, subjectLine, orgName: org.name }),
      body: `${body}${complaint}`,
      // Replies thread back into the conversation (intake-mail.ts): the footer says so.
      repliesWelcome: true,
      ...(name === undefined ? {} : { recipientName: name.slice(0, 200) }),
    });
    // A tenant's reply names the tenant and asks for answers at the tenant's own address (never
    // the operator's); the operator's replies go back to its contact address.
    const sender = await senderOf(createOrgsRepository(kluis.db), org.id);
    const replyTo = org.kind === 'tenant' ? sender.replyTo : kluis.config.intake.contactAddress;
    await kluis.mailer.send({
      ...(sender.fromName === undefined ? {} : { fromName: sender.fromName }),
      ...(replyTo === undefined ? {} : { replyTo }),
      to,
      subject: rendered.subject,
      text: rendered.text,
      html: rendered.html,
      ...(entry.message_id === null ? {} : { messageId: entry.message_id }),
      ...(entry.in_reply_to === null ? {} : { inReplyTo: entry.in_reply_to }),
      ...(thread.length === 0 ? {} : { references: referencesFor(thread) }),
      headers: { 'Auto-Submitted': 'no' },
    });
    const actor: Actor = {
      kind: 'system',
      orgId: org.id,
      orgKind: org.kind,
      reason: 'intake-reply',
      roles: [],
    };
    await kluis.db.transaction().execute(async (trx) => {
      await createIntakeRepository(trx).updateEntry(scope, entry.id, {
        delivery: 'sent',
        sent_at: kluis.clock.now().toISOString(),
      });
      await kluis.audit.append(trx, {
        actor,
        action: 'intake.reply.sent',
        target: { type: 'conversation', id: conversation.id },
        purpose: 'handle_requests',
        fields: ['body', 'requester_email'],
        meta: { entry_id: entry.id },
      });
    });
    ctx.logger.info({ entryId: entry.id }, 'reply sent');
  });
}
