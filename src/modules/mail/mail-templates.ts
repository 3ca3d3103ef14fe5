/**
 * Outgoing mail templates in Dutch and English. Each template turns its validated variables into
 * one content model (subject, greeting, paragraphs, optional link), which is rendered twice:
 * a plain-text part (always) and an HTML part through the escaping `html` tag. Texts live in
 * mail-messages.ts. Links must be http(s); subjects cannot carry line breaks.
 */
import { z } from 'zod';
import { rightKinds } from '../../shared/catalogue.js';
import { AppError } from '../../shared/errors.js';
import { html } from '../../shared/html/html.js';
import { fieldErrorsFromZod } from '../../shared/http/validation.js';
import { formatDate } from '../../shared/i18n/dates.js';
import { type Locale, type Translate, translator } from '../../shared/i18n/messages.js';

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

interface MailContent {
  subject: string;
  heading?: string | undefined;
  recipientName?: string | undefined;
  paragraphs: string[];
  action?: { url: string; label: string } | undefined;
  /** Paragraphs after the link. */
  closing?: string[];
  /** A reply to this mail reaches a person (it threads back into its conversation). */
  repliesWelcome?: boolean | undefined;
}

const oneLine = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\r\n]*$/, { message: 'field.invalid' });

const name = oneLine(200).optional();
// http(s) only (no javascript: or data: links); any host, so development links to localhost work.
const link = z.url({ protocol: /^https?$/ }).max(2000);

function paragraphsOf(body: string): string[] {
  return body
    .replace(/\r\n/g, '\n')
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

function defineTemplate<S extends z.ZodType>(
  name: string,
  vars: S,
  build: (t: Translate, v: z.output<S>, locale: Locale) => MailContent,
) {
  return {
    vars,
    render(locale: Locale, input: unknown): RenderedMail {
      const parsed = vars.safeParse(input);
      if (!parsed.success) {
        // Field names and issue codes only: the values may be personal.
        throw new AppError('ERR_VALIDATION', {
          message: `variables do not fit mail template ${name} (${parsed.error.issues
            .map((i) => `${i.path.join('.') || '(root)'}:${i.code}`)
            .join(', ')})`,
          fields: fieldErrorsFromZod(parsed.error),
        });
      }
      return renderContent(locale, build(translator(locale), parsed.data, locale));
    },
  };
}

export const mailTemplates = {
  /** A generic message to staff or a person: the caller supplies subject and body in the recipient's language. */
  notification: defineTemplate(
    'notification',
    z.object({
      subject: oneLine(200),
      heading: oneLine(200).optional(),
      body: z.string().trim().min(1).max(20_000),
      recipientName: name,
      actionUrl: link.optional(),
      actionLabel: oneLine(100).optional(),
      repliesWelcome: z.boolean().optional(),
    }),
    (t, v) => ({
      subject: v.subject,
      heading: v.heading,
      recipientName: v.recipientName,
      paragraphs: paragraphsOf(v.body),
      repliesWelcome: v.repliesWelcome,
      action:
        v.actionUrl === undefined
          ? undefined
          : { url: v.actionUrl, label: v.actionLabel ?? t('mail.notification.action') },
    }),
  ),

  /** The password-reset link (single use, expiring); used by the auth module. */
  password_reset: defineTemplate(
    'password_reset',
    z.object({
      recipientName: name,
      resetUrl: link,
      expiresInMinutes: z
        .number()
        .int()
        .positive()
        .max(7 * 24 * 60),
    }),
    (t, v) => ({
      subject: t('mail.passwordReset.subject'),
      recipientName: v.recipientName,
      paragraphs: [t('mail.passwordReset.intro')],
      action: { url: v.resetUrl, label: t('mail.passwordReset.action') },
      closing: [
        t('mail.passwordReset.expiry', { minutes: v.expiresInMinutes }),
        t('mail.passwordReset.ignore'),
      ],
    }),
  ),

  /** The invitation of a new tenant's first owner: a single-use, expiring link to set up the account. */
  staff_invitation: defineTemplate(
    'staff_invitation',
    z.object({
      recipientName: name,
      orgName: oneLine(200),
      inviteUrl: link,
      expiresInDays: z.number().int().positive().max(30),
    }),
    (t, v) => ({
      subject: t('mail.invitation.subject', { org: v.orgName }),
      recipientName: v.recipientName,
      paragraphs: [t('mail.invitation.intro', { org: v.orgName })],
      action: { url: v.inviteUrl, label: t('mail.invitation.action') },
      closing: [t('mail.invitation.expiry', { days: v.expiresInDays }), t('mail.invitation.ignore')],
    }),
  ),

  /** The link a requester uses to confirm a rights request (P16) and to follow it later. */
  rights_confirm: defineTemplate(
    'rights_confirm',
    z.object({
      orgName: oneLine(200),
      right: z.enum([...rightKinds, 'unspecified']),
      statusUrl: link,
      expiresInDays: z.number().int().positive().max(90),
    }),
    (t, v) => ({
      subject: t('rights.mail.confirm.subject', { org: v.orgName }),
      paragraphs: [t('rights.mail.confirm.intro', { right: t(`rights.right.${v.right}`) })],
      action: { url: v.statusUrl, label: t('rights.mail.confirm.action') },
      closing: [t('rights.mail.confirm.expiry', { days: v.expiresInDays }), t('rights.mail.confirm.ignore')],
    }),
  ),

  /**
   * Every answer to a rights request (P17): names the right and the outcome, gives the reasons,
   * and always ends with the route to the Autoriteit Persoonsgegevens — the template adds it, so
   * no reply can leave it out.
   */
  rights_reply: defineTemplate(
    'rights_reply',
    z.object({
      orgName: oneLine(200),
      right: z.enum([...rightKinds, 'unspecified']),
      kind: z.enum(['extended', 'paused', 'ready', 'fulfilled', 'partly_fulfilled', 'refused']),
      /** Reasons or the question to the requester, in the requester's language. */
      reasons: z.string().trim().max(20_000).optional(),
      statusUrl: link.optional(),
      months: z.number().int().min(1).max(2).optional(),
      /** The new due day (`YYYY-MM-DD`, Amsterdam). */
      due: oneLine(40).optional(),
      /** When the export goes (an ISO instant); written as the Amsterdam day. */
      expires: oneLine(40).optional(),
    }),
    (t, v, locale) => {
      const day = (value: string | undefined) =>
        value === undefined ? '' : formatDate(locale, value, 'long');
      const lead =
        v.kind === 'extended'
          ? t('rights.mail.reply.extended', { months: v.months ?? 1, due: day(v.due) })
          : v.kind === 'ready'
            ? t('rights.mail.reply.ready', { expires: day(v.expires) })
            : v.kind === 'paused'
              ? t('rights.mail.reply.paused')
              : t(`rights.mail.reply.${v.kind}`);
      const reasons = v.reasons === undefined || v.reasons === '' ? [] : paragraphsOf(v.reasons);
      const withHeading =
        reasons.length > 0 &&
        (v.kind === 'fulfilled' || v.kind === 'partly_fulfilled' || v.kind === 'refused')
          ? [t('rights.mail.reply.reasons'), ...reasons]
          : reasons;
      return {
        subject: t('rights.mail.reply.subject', { org: v.orgName, right: t(`rights.right.${v.right}`) }),
        paragraphs: [lead, ...withHeading],
        action:
          v.statusUrl === undefined ? undefined : { url: v.statusUrl, label: t('rights.mail.reply.action') },
        closing: [t('rights.mail.reply.complaint')],
      };
    },
  ),
};

export type MailTemplateName = keyof typeof mailTemplates;
export const mailTemplateNames = Object.keys(mailTemplates) as [MailTemplateName, ...MailTemplateName[]];

/** The variables a template takes (before validation). */
export type MailVars<N extends MailTemplateName> = z.input<(typeof mailTemplates)[N]['vars']>;

/** Renders `template` in `locale`; throws ERR_VALIDATION when the variables do not fit. */
export function renderMail<N extends MailTemplateName>(
  template: N,
  locale: Locale,
  vars: MailVars<N>,
): RenderedMail {
  return mailTemplates[template].render(locale, vars);
}

/** For variables that arrive as data (a job payload): validated by the template's schema. */
export function renderMailFromData(template: MailTemplateName, locale: Locale, vars: unknown): RenderedMail {
  return mailTemplates[template].render(locale, vars);
}

function renderContent(locale: Locale, c: MailContent): RenderedMail {
  const t = translator(locale);
  const greeting =
    c.recipientName === undefined
      ? t('mail.greetingAnonymous')
      : t('mail.greeting', { name: c.recipientName });
  const closing = c.closing ?? [];
  const footer = t(c.repliesWelcome === true ? 'mail.footerReply' : 'mail.footer');

  const text = [
    ...(c.heading === undefined ? [] : [c.heading]),
    greeting,
    ...c.paragraphs,
    ...(c.action === undefined ? [] : [`${c.action.label}:\n${c.action.url}`]),
    ...closing,
    `-- \n${footer}`,
  ].join('\n\n');

  const paragraph = (p: string) => {
    const lines = p.split('\n');
    return html`<p>${lines.map((line, i) => (i === 0 ? line : html`<br>${line}`))}</p>`;
  };
  const body = html`<!doctype html>
<html lang="${locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${c.subject}</title>
</head>
<body>
${c.heading === undefined ? '' : html`<h1>${c.heading}</h1>`}
<p>${greeting}</p>
${c.paragraphs.map(paragraph)}
${c.action === undefined ? '' : html`<p><a href="${c.action.url}">${c.action.label}</a></p>`}
${closing.map(paragraph)}
<hr>
<p><small>${footer}</small></p>
</body>
</html>`;

  return { subject: c.subject, text: `${text}\n`, html: body.value };
}
