/**
 * Sending mail through the job queue (P11: no address or personal value in the jobs table).
 *
 * `enqueueMail` seals the envelope — recipient address and template variables — with the
 * keyring before it touches the queue: under the data subject's key when the mail concerns one
 * (so erasure makes a pending mail undeliverable), otherwise under the org key. The associated
 * data binds the envelope to its job id. The payload keeps only the template name, the locale,
 * the subject id (if any) and the sealed bytes (base64); the worker opens it, renders the
 * template and sends over SMTP. Once sent, the payload is scrubbed to `{}`.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { FieldLocation, Keyring } from '../../crypto/keyring.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { type Locale, locales } from '../../shared/i18n/messages.js';
import { type EnqueuedJob, enqueue, type JobRegistry } from '../jobs/index.js';
import type { KluisCore } from '../module.js';
import type { OrgsService } from '../orgs/index.js';
import {
  type MailTemplateName,
  type MailVars,
  mailTemplateNames,
  mailTemplates,
  renderMailFromData,
} from './mail-templates.js';
import { relayTlsFailure } from './mailer.js';

export const MAIL_SEND_JOB = 'mail.send';
/** SMTP outages are common and short: 8 attempts, 30 s doubling, span about an hour. */
export const MAIL_MAX_ATTEMPTS = 8;

const envelopeLocation = (jobId: string): FieldLocation => ({
  table: 'jobs',
  column: 'payload.envelope',
  rowId: jobId,
});

const envelopeSchema = z.object({ to: z.email(), vars: z.unknown() });

export const mailSendPayload = z.object({
  template: z.enum(mailTemplateNames),
  locale: z.enum(locales),
  subjectId: z.string().min(1).max(100).optional(),
  sealed: z.base64().max(60_000),
});

export interface EnqueueMailInput<N extends MailTemplateName> {
  /** The organisation sending (whose key seals the envelope). */
  orgId: string;
  /** The data subject the mail concerns, if any: its key seals the envelope. */
  subjectId?: string;
  to: string;
  template: N;
  locale: Locale;
  vars: MailVars<N>;
  runAt?: Date;
  dedupeKey?: string;
  maxAttempts?: number;
}

/** Queues a templated mail inside the caller's transaction; the address never lands in clear. */
export async function enqueueMail<N extends MailTemplateName>(
  db: Kysely<DB>,
  clock: Clock,
  keyring: Pick<Keyring, 'encryptForOrg' | 'encryptForSubject'>,
  input: EnqueueMailInput<N>,
): Promise<EnqueuedJob> {
  const to = z.email().safeParse(input.to);
  if (!to.success) {
    throw new AppError('ERR_VALIDATION', {
      message: 'mail recipient is not an email address',
      fields: { to: 'field.invalidEmail' },
    });
  }
  // Fail now, not in the worker: the variables must fit the template (rendering validates them).
  mailTemplates[input.template].render(input.locale, input.vars);

  const id = randomUUID();
  const plaintext = JSON.stringify({ to: to.data, vars: input.vars });
  const sealed =
    input.subjectId === undefined
      ? await keyring.encryptForOrg(input.orgId, envelopeLocation(id), plaintext)
      : await keyring.encryptForSubject(input.orgId, input.subjectId, envelopeLocation(id), plaintext);
  return enqueue(db, clock, {
    id,
    type: MAIL_SEND_JOB,
    orgId: input.orgId,
    payload: {
      template: input.template,
      locale: input.locale,
      ...(input.subjectId === undefined ? {} : { subjectId: input.subjectId }),
      sealed: sealed.toString('base64'),
    },
    maxAttempts: input.maxAttempts ?? MAIL_MAX_ATTEMPTS,
    ...(input.runAt === undefined ? {} : { runAt: input.runAt }),
    ...(input.dedupeKey === undefined ? {} : { dedupeKey: input.dedupeKey }),
  });
}

/** Mail as other modules send it: queued inside the caller's transaction, the envelope sealed. */
export function createMailService(deps: Pick<KluisCore, 'clock' | 'keyring'>) {
  return {
    enqueue: <N extends MailTemplateName>(db: Kysely<DB>, input: EnqueueMailInput<N>): Promise<EnqueuedJob> =>
      enqueueMail(db, deps.clock, deps.keyring, input),
  };
}

export type MailService = ReturnType<typeof createMailService>;

/** The Message-ID of a job's mail: the same on every retry, so a duplicate is recognisable. */
export function messageIdFor(jobId: string, publicOrigin: string): string {
  const host = new URL(publicOrigin).hostname || 'kluis.invalid';
  return `<job-${jobId}@${host}>`;
}

/** What the worker asks of an organisation sending mail: its name and its own contact address. */
export type MailOrgs = Pick<OrgsService, 'findById' | 'listAddresses'>;

/**
 * The sender of an org's mail: a tenant is named as the sender (its name with the installation's
 * From address) and answers go to its own contact address when the operator assigned one.
 */
export async function senderOf(
  orgs: MailOrgs | undefined,
  orgId: string,
): Promise<{ fromName?: string; replyTo?: string }> {
  const org = orgs === undefined ? undefined : await orgs.findById(orgId);
  if (orgs === undefined || org === undefined || org.kind !== 'tenant') return {};
  const contact = (await orgs.listAddresses(org.id)).find((a) => a.mailbox === 'contact');
  return { fromName: org.name, ...(contact === undefined ? {} : { replyTo: contact.address }) };
}

/** Registers `mail.send`: open the envelope, render, send over SMTP. */
export function registerMailJobs(
  registry: JobRegistry,
  kluis: Pick<KluisCore, 'keyring' | 'mailer' | 'config'> & { readonly orgs?: MailOrgs },
): void {
  registry.register(
    MAIL_SEND_JOB,
    mailSendPayload,
    async (payload, ctx) => {
      const { job } = ctx;
      if (job.orgId === null) throw new AppError('ERR_VALIDATION', { message: 'mail.send job without org' });
      const sealed = Buffer.from(payload.sealed, 'base64');
      const json =
        payload.subjectId === undefined
          ? await kluis.keyring.decryptForOrg(job.orgId, envelopeLocation(job.id), sealed)
          : await kluis.keyring.decryptForSubject(
              job.orgId,
              payload.subjectId,
              envelopeLocation(job.id),
              sealed,
            );
      const envelope = envelopeSchema.safeParse(JSON.parse(json));
      if (!envelope.success) throw new AppError('ERR_VALIDATION', { message: 'mail envelope malformed' });
      const rendered = renderMailFromData(payload.template, payload.locale, envelope.data.vars);
      try {
        await kluis.mailer.send({
          to: envelope.data.to,
          subject: rendered.subject,
          text: rendered.text,
          html: rendered.html,
          messageId: messageIdFor(job.id, kluis.config.publicOrigin),
          ...(await senderOf(kluis.orgs, job.orgId)),
          headers: { 'X-Kluis-Template': payload.template, 'X-Kluis-Job': job.id },
        });
      } catch (error) {
        // A refused certificate is a security control at work (or an attack on the relay's
        // path), not an outage: logged as an error of its own, not only as a retry (ASVS 16.3.4).
        const tls = relayTlsFailure(error);
        if (tls !== undefined) {
          ctx.logger.error({ code: 'ERR_MAIL_RELAY_TLS', tls }, 'mail relay TLS failure');
        }
        throw error;
      }
      ctx.logger.info({ template: payload.template }, 'mail sent');
    },
    { scrubPayloadWhenDone: true },
  );
}
