/**
 * zod schemas for the relations forms and API bodies. Every issue carries a message key, so the
 * same schema gives clear field messages on pages (nl/en) and in API errors. IBAN, BIC,
 * postcode and the other domain checks run in the services (relations-sepa.ts,
 * relations-address.ts), after these shape checks.
 */
import { z } from 'zod';
import {
  contactRoles,
  formsOfAddress,
  mandateSchemes,
  mandateSequences,
  relationKinds,
  relationStatuses,
  signatureChannels,
} from './relations-schema.js';

/** Form text: one line, trimmed; '' when absent. */
const text = (max: number) =>
  z.preprocess(
    (v) =>
      typeof v === 'string' ? v.replace(/[\r\n\t]+/g, ' ').trim() : v === undefined || v === null ? '' : v,
    z.string().max(max, { message: 'field.tooLong' }),
  );

const required = (max: number, message: 'field.required' | `relations.${string}` = 'field.required') =>
  text(max).pipe(z.string().min(1, { message: message as 'field.required' }));

const optional = (max: number) => text(max).transform((v) => (v === '' ? null : v));

const optionalDate = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() === '' ? undefined : typeof v === 'string' ? v.trim() : v),
  z.iso.date({ message: 'relations.dateInvalid' }).optional(),
);

const requiredDate = z.preprocess(
  (v) => (typeof v === 'string' ? v.trim() : v === undefined ? '' : v),
  z
    .string()
    .min(1, { message: 'field.required' })
    .pipe(z.iso.date({ message: 'relations.dateInvalid' })),
);

const email = text(254).pipe(
  z.union([z.literal('').transform(() => null), z.email({ message: 'field.invalidEmail' })]),
);

const phone = text(30).pipe(
  z.union([
    z.literal('').transform(() => null),
    z.string().regex(/^\+?[0-9][0-9 ()./-]{5,24}$/, { message: 'relations.person.phoneInvalid' }),
  ]),
);

const choice = <T extends readonly [string, ...string[]]>(values: T, message: string) =>
  z.enum(values, { message: message as 'field.invalid' });

export const personSchema = z.object({
  formOfAddress: choice(formsOfAddress, 'relations.person.formOfAddressRequired'),
  givenName: optional(100),
  familyName: required(150, 'relations.person.familyNameRequired'),
  email,
  phone,
});

export const relationSchema = z
  .object({
    kind: choice(relationKinds, 'relations.relation.kindRequired'),
    organisationName: optional(200),
    formOfAddress: z.preprocess((v) => (v === '' ? undefined : v), z.enum(formsOfAddress).optional()),
    givenName: optional(100),
    familyName: optional(150),
    email,
    phone,
    status: choice(relationStatuses, 'relations.relation.statusRequired'),
    startedAt: optionalDate,
    endedAt: optionalDate,
  })
  .superRefine((v, ctx) => {
    if (v.kind === 'organisation' && v.organisationName === null) {
      ctx.addIssue({
        code: 'custom',
        path: ['organisationName'],
        message: 'relations.relation.organisationNameRequired',
      });
    }
    if (v.kind === 'person') {
      if (v.formOfAddress === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['formOfAddress'],
          message: 'relations.person.formOfAddressRequired',
        });
      }
      if (v.familyName === null) {
        ctx.addIssue({
          code: 'custom',
          path: ['familyName'],
          message: 'relations.person.familyNameRequired',
        });
      }
    }
    if (v.status === 'ended' && v.endedAt === undefined) {
      ctx.addIssue({ code: 'custom', path: ['endedAt'], message: 'relations.relation.endedAtRequired' });
    }
    if (v.startedAt !== undefined && v.endedAt !== undefined && v.endedAt < v.startedAt) {
      ctx.addIssue({ code: 'custom', path: ['endedAt'], message: 'relations.relation.endBeforeStart' });
    }
  });
export type RelationInput = z.output<typeof relationSchema>;

export const contactSchema = personSchema.extend({
  role: choice(contactRoles, 'relations.contact.roleRequired'),
});

export const addressSchema = z.object({
  country: text(2),
  city: text(200),
  postcode: text(20),
  street: text(250),
  houseNumber: text(20),
  houseNumberAddition: text(20),
});

export const agreementSchema = z
  .object({
    title: required(200, 'relations.agreement.titleRequired'),
    version: required(50, 'relations.agreement.versionRequired'),
    effectiveFrom: requiredDate,
    effectiveUntil: optionalDate,
    signedByName: optional(140),
    signedAt: optionalDate,
    signatureChannel: z.preprocess((v) => (v === '' ? undefined : v), z.enum(signatureChannels).optional()),
  })
  .superRefine((v, ctx) => {
    if (v.effectiveUntil !== undefined && v.effectiveUntil < v.effectiveFrom) {
      ctx.addIssue({
        code: 'custom',
        path: ['effectiveUntil'],
        message: 'relations.relation.endBeforeStart',
      });
    }
    if (v.signedByName !== null) {
      if (v.signedAt === undefined) {
        ctx.addIssue({ code: 'custom', path: ['signedAt'], message: 'relations.agreement.signedAtRequired' });
      }
      if (v.signatureChannel === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['signatureChannel'],
          message: 'relations.signature.channelRequired',
        });
      }
    }
  });
export type AgreementInput = z.output<typeof agreementSchema>;

export const mandateSchema = z.object({
  reference: text(35),
  scheme: choice(mandateSchemes, 'relations.mandate.schemeRequired'),
  sequence: choice(mandateSequences, 'relations.mandate.sequenceRequired'),
  accountHolder: required(70, 'relations.mandate.accountHolderRequired'),
  iban: text(50),
  bic: text(20),
  signedAt: requiredDate,
  signatureName: optional(140),
  signatureChannel: choice(signatureChannels, 'relations.signature.channelRequired'),
});
export type MandateInput = z.output<typeof mandateSchema>;

export const creditorSchema = z.object({
  name: required(70, 'relations.creditor.nameRequired'),
  creditorId: text(40),
  iban: text(50),
  bic: text(20),
});

const uuid = z.uuid();

/**
 * The collection form: a requested date and, per collectable mandate, `amount.<mandate id>` and
 * `remittance.<mandate id>`. Lines of ids that are not mandate ids are dropped; the amounts are
 * checked by the use case (every wrong one reported at once).
 */
export const collectionFormSchema = z.record(z.string(), z.unknown()).transform((body) => {
  const text = (key: string) => {
    const value = body[key];
    return typeof value === 'string' ? value : '';
  };
  const lines = Object.keys(body)
    .filter((k) => k.startsWith('amount.'))
    .map((k) => k.slice('amount.'.length))
    .filter((mandateId) => uuid.safeParse(mandateId).success)
    .map((mandateId) => ({
      mandateId,
      amount: text(`amount.${mandateId}`),
      remittance: text(`remittance.${mandateId}`),
    }));
  return { requestedDate: text('requestedDate').trim(), lines };
});
