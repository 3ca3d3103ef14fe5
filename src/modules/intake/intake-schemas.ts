/**
 * What a contact request may hold (P2): a name, an email address and/or a phone number, and the
 * message. The web form and the API validate with the same schema; the API refuses any other
 * field. Phone numbers are normalised to E.164 (default region NL) before anything is stored or
 * indexed, so the same number written two ways links to the same data subject.
 */

import { z } from 'zod';
import { fieldErrorsFromZod } from '../../shared/http/validation.js';
import { isLocale, type Locale, locales, type MessageKey } from '../../shared/i18n/messages.js';
import { normalisePhone } from '../../shared/phone.js';
import { conversationStatuses } from './intake-schema.js';

export const NAME_MAX = 200;
export const MESSAGE_MAX = 10_000;

const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max, { message: 'field.tooLong' })
    .optional()
    .transform((v) => (v === undefined || v === '' ? undefined : v));

/** The four fields; the "email and/or phone" rule is in parseContactRequest. */
export const contactRequestFields = {
  name: z
    .string({ message: 'intake.form.nameRequired' })
    .trim()
    .min(1, { message: 'intake.form.nameRequired' })
    .max(NAME_MAX, { message: 'field.tooLong' })
    .regex(/^[^\r\n]*$/, { message: 'field.invalid' }),
  email: optionalText(320).pipe(z.email({ message: 'field.invalidEmail' }).optional()),
  phone: optionalText(40),
  message: z
    .string({ message: 'intake.form.messageRequired' })
    .trim()
    .min(1, { message: 'intake.form.messageRequired' })
    .max(MESSAGE_MAX, { message: 'intake.form.messageTooLong' }),
};

const contactObject = z.object(contactRequestFields);

/** The API: the same four fields plus the requester's language; anything else is refused. */
const contactApiObject = z.object({ ...contactRequestFields, locale: z.enum(locales).optional() }).strict();

/** Staff record a call: who called (name and number, optionally an email address) and a summary. */
const phoneCallObject = z.object({
  name: contactRequestFields.name,
  email: contactRequestFields.email,
  phone: z
    .string({ message: 'intake.phone.numberRequired' })
    .trim()
    .min(1, { message: 'intake.phone.numberRequired' })
    .max(40, { message: 'field.tooLong' }),
  message: z
    .string({ message: 'intake.phone.summaryRequired' })
    .trim()
    .min(1, { message: 'intake.phone.summaryRequired' })
    .max(MESSAGE_MAX, { message: 'intake.form.messageTooLong' }),
});

const schemas = { form: contactObject, api: contactApiObject, phone: phoneCallObject } as const;

export interface ContactRequestInput {
  readonly name: string;
  readonly email: string | undefined;
  /** E.164. */
  readonly phone: string | undefined;
  readonly message: string;
  readonly locale?: Locale | undefined;
}

export type ParsedContact =
  | { readonly ok: true; readonly data: ContactRequestInput }
  | { readonly ok: false; readonly errors: Record<string, MessageKey> };

const fieldOrder = ['name', 'email', 'phone', 'message'];

function rawText(input: unknown, key: string): string {
  const value =
    typeof input === 'object' && input !== null ? (input as Record<string, unknown>)[key] : undefined;
  return typeof value === 'string' ? value.trim() : '';
}

/**
 * Validates a contact request (web form, API or a phone call staff record) and reports every
 * problem at once, field by field in form order: the field rules, "an email address or a phone
 * number" and a phone number that does not exist.
 */
export function parseContactRequest(kind: keyof typeof schemas, input: unknown): ParsedContact {
  const result = schemas[kind].safeParse(input);
  const errors: Record<string, MessageKey> = result.success ? {} : fieldErrorsFromZod(result.error);
  const email = rawText(input, 'email');
  const phone = rawText(input, 'phone');
  if (email === '' && phone === '' && errors.email === undefined && errors.phone === undefined) {
    errors.email = 'intake.form.emailOrPhone';
  }
  if (phone !== '' && errors.phone === undefined && normalisePhone(phone) === undefined) {
    errors.phone = 'intake.form.phoneInvalid';
  }
  if (!result.success || Object.keys(errors).length > 0) {
    const ordered: Record<string, MessageKey> = {};
    for (const key of [...fieldOrder, ...Object.keys(errors)]) {
      const value = errors[key];
      if (value !== undefined && ordered[key] === undefined) ordered[key] = value;
    }
    return { ok: false, errors: ordered };
  }
  const data = result.data;
  // Validated by the API schema above; the other kinds have no locale field.
  const requested = rawText(input, 'locale');
  const locale = kind === 'api' && isLocale(requested) ? requested : undefined;
  return {
    ok: true,
    data: {
      name: data.name,
      email: data.email,
      phone: data.phone === undefined ? undefined : normalisePhone(data.phone),
      message: data.message,
      ...(locale === undefined ? {} : { locale }),
    },
  };
}

export const entryTextSchema = z.object({
  body: z
    .string()
    .trim()
    .min(1, { message: 'intake.entry.bodyRequired' })
    .max(MESSAGE_MAX, { message: 'intake.form.messageTooLong' }),
});

export const statusChangeSchema = z.object({ status: z.enum(conversationStatuses) });

export const assignSchema = z.object({
  userId: z
    .string()
    .trim()
    .max(100)
    .transform((v) => (v === '' ? null : v)),
});
