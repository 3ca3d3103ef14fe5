/**
 * What a contact request may hold (P2): a name, an email address and/or a phone number, and the
 * message. The web form, the API and the phone-call form validate with one schema: the "email
 * and/or phone" rule and the phone number's normalisation to E.164 (default region NL) are part
 * of it, so the same number written two ways links to the same data subject whichever way it
 * came in. The API refuses any field beyond these (and the requester's language). Every problem
 * is reported at once, field by field in the form's order, each as a message key.
 */
import { z } from 'zod';
import { locales } from '../../shared/i18n/messages.js';
import { normalisePhone } from '../../shared/phone.js';
import { stripUnsafeControls } from '../../shared/text.js';
import { conversationSorts } from './intake-repository.js';
import { channels, conversationStatuses } from './intake-schema.js';

const NAME_MAX = 200;
const MESSAGE_MAX = 10_000;

/** The visible fields of a contact request, in the order the form shows them (P2: nothing else is asked). */
export const contactFormFields = ['name', 'email', 'phone', 'message'] as const;

/** Text as typed, without control and bidi-override characters (see shared/text.ts). */
const optionalText = (max: number) =>
  z
    .string()
    .overwrite(stripUnsafeControls)
    .trim()
    .max(max, { message: 'field.tooLong' })
    .optional()
    .transform((v) => (v === undefined || v === '' ? undefined : v));

const requiredText = (max: number, required: 'intake.form.messageRequired' | `intake.${string}`) =>
  z
    .string({ message: required as 'intake.form.messageRequired' })
    .overwrite(stripUnsafeControls)
    .trim()
    .min(1, { message: required as 'intake.form.messageRequired' })
    .max(max, { message: max === MESSAGE_MAX ? 'intake.form.messageTooLong' : 'field.tooLong' });

/** A phone number that exists, stored and indexed as E.164. */
const toE164 = (value: string, ctx: z.RefinementCtx): string => {
  const e164 = normalisePhone(value);
  if (e164 === undefined) {
    ctx.addIssue({ code: 'custom', message: 'intake.form.phoneInvalid', input: value });
    return z.NEVER;
  }
  return e164;
};

const name = requiredText(NAME_MAX, 'intake.form.nameRequired').regex(/^[^\r\n]*$/, {
  message: 'field.invalid',
});
const email = optionalText(320).pipe(z.email({ message: 'field.invalidEmail' }).optional());
const phone = optionalText(40).transform((v, ctx) => (v === undefined ? undefined : toE164(v, ctx)));

const hasIssueAt = (issues: readonly z.core.$ZodRawIssue[], field: string) =>
  issues.some((i) => i.path?.[0] === field);

/**
 * The rules across fields, run even when a field is already wrong (so the form lists every
 * problem at once): an email address or a phone number is needed to answer. The issues are then
 * put in the form's field order, which the error summary follows.
 */
function contactRules(
  value: { email?: string | undefined; phone?: string | undefined },
  ctx: z.RefinementCtx,
) {
  const issues = (ctx as unknown as { issues: z.core.$ZodRawIssue[] }).issues;
  const blank = (v: unknown) => v === undefined || (typeof v === 'string' && v.trim() === '');
  if (
    !hasIssueAt(issues, 'email') &&
    !hasIssueAt(issues, 'phone') &&
    blank(value.email) &&
    blank(value.phone)
  ) {
    ctx.addIssue({ code: 'custom', path: ['email'], message: 'intake.form.emailOrPhone' });
  }
  const rank = (i: z.core.$ZodRawIssue) => {
    const at = contactFormFields.indexOf(i.path?.[0] as (typeof contactFormFields)[number]);
    return at === -1 ? contactFormFields.length : at;
  };
  issues.sort((a, b) => rank(a) - rank(b));
}

/** Run the cross-field rules whenever the input is an object at all. */
const onObjects = {
  when: (payload: { value: unknown }) => typeof payload.value === 'object' && payload.value !== null,
};

/**
 * A contact request from the web form or the API: the four fields and, from the API, the
 * requester's language. Any other field is refused (P2).
 */
export const contactRequestSchema = z
  .strictObject({
    name,
    email,
    phone,
    message: requiredText(MESSAGE_MAX, 'intake.form.messageRequired'),
    locale: z.enum(locales).optional(),
  })
  .superRefine(contactRules, onObjects);

export type ContactRequestInput = z.output<typeof contactRequestSchema>;

/** The four visible fields of a posted form (the anti-spam fields and the CSRF token are the route's). */
function visibleFields(input: unknown): unknown {
  if (typeof input !== 'object' || input === null) return input;
  const body = input as Record<string, unknown>;
  return Object.fromEntries(contactFormFields.map((f) => [f, body[f] ?? '']));
}

/** The public contact form: its visible fields through the same schema as the API. */
export const contactFormSchema = z.preprocess(visibleFields, contactRequestSchema);

/** Staff record a call: who called (name and number, optionally an email address) and a summary. */
export const phoneCallSchema = z
  .object({
    name,
    email,
    phone: requiredText(40, 'intake.phone.numberRequired').transform(toE164),
    message: requiredText(MESSAGE_MAX, 'intake.phone.summaryRequired'),
  })
  .superRefine(contactRules, onObjects);

// --- the staff inbox ----------------------------------------------------------------------------

const emptyToUndefined = (v: unknown) => (v === '' ? undefined : v);

/** The inbox list's filters as the URL carries them; nonsense falls back to the defaults. */
export const conversationListQuery = z.object({
  status: z.preprocess(emptyToUndefined, z.enum(conversationStatuses).optional()).catch(undefined),
  channel: z.preprocess(emptyToUndefined, z.enum(channels).optional()).catch(undefined),
  mine: z.literal('1').optional().catch(undefined),
  rights: z.literal('1').optional().catch(undefined),
  sort: z.enum(conversationSorts).default('updated').catch('updated'),
  dir: z.enum(['asc', 'desc']).default('desc').catch('desc'),
  page: z.coerce.number().int().min(1).max(100_000).default(1).catch(1),
  done: z.string().max(40).optional().catch(undefined),
});

export const entryFormSchemas = {
  reply: z.object({ reply: requiredText(MESSAGE_MAX, 'intake.entry.bodyRequired') }),
  note: z.object({ note: requiredText(MESSAGE_MAX, 'intake.entry.bodyRequired') }),
  phone: z.object({ summary: requiredText(MESSAGE_MAX, 'intake.phone.summaryRequired') }),
};

export const statusFormSchema = z.object({ status: z.enum(conversationStatuses) });

/**
 * Staff correct the requester's contact details on a conversation (Art. 16): the same rules as
 * the form (email and/or phone, phone to E.164), except that a name may be left empty (a mail
 * need not carry one). An empty field clears it.
 */
export const contactCorrectionSchema = z
  .object({
    name: optionalText(NAME_MAX).refine((v) => v === undefined || !/[\r\n]/.test(v), {
      message: 'field.invalid',
    }),
    email,
    phone,
  })
  .superRefine(contactRules, onObjects);

export type ContactCorrection = z.output<typeof contactCorrectionSchema>;

/** An empty choice unassigns the conversation. */
export const assignFormSchema = z.object({
  userId: z
    .string()
    .trim()
    .max(100)
    .default('')
    .transform((v) => (v === '' ? null : v)),
});
