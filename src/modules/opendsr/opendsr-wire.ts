/**
 * The OpenDSR 2.0 objects on the wire (../shared/reference/opendsr-specification.md), as zod
 * schemas: they validate what controllers send and shape what Kluis answers, and the route kit
 * puts them in the OpenAPI document. The JSON Schemas in `schemas/` are written from the same
 * sections; the tests validate every answer against those with ajv. Also here: the tolerant body
 * parser and the error object (section 7.6).
 */
import { z } from 'zod';
import { AppError } from '../../shared/errors.js';
import { t } from '../../shared/i18n/messages.js';
import { opendsrRequestTypes, opendsrStatuses, regulations } from './opendsr-schema.js';

export const API_VERSION = '2.0';

/** The identity types and formats Kluis can act on (discovery publishes exactly these pairs). */
export const identityTypes = ['email', 'controller_customer_id'] as const;
export const identityFormats = ['raw', 'sha256'] as const;
export type IdentityType = (typeof identityTypes)[number];
export type IdentityFormat = (typeof identityFormats)[number];

const isoTime = z.iso.datetime({ offset: true });
const uuid = z.uuid().transform((v) => v.toLowerCase());

export const identitySchema = z
  .object({
    identity_type: z.enum(identityTypes),
    identity_value: z.string().trim().min(1).max(320),
    identity_format: z.enum(identityFormats),
  })
  .refine((i) => i.identity_format !== 'sha256' || /^[0-9a-fA-F]{64}$/.test(i.identity_value), {
    message: 'field.invalid',
    path: ['identity_value'],
  })
  .refine(
    (i) =>
      i.identity_type !== 'email' ||
      i.identity_format !== 'raw' ||
      z.email().safeParse(i.identity_value).success,
    { message: 'field.invalid', path: ['identity_value'] },
  );

/**
 * Section 7.1.1. `regulation` is required by the text but missing from the specification's own
 * example (7.2): optional, `gdpr` when absent. Identities given only in `extensions` are not
 * understood (Kluis defines no extension), so `subject_identities` is required here.
 */
export const requestBody = z
  .object({
    regulation: z.enum(regulations).optional(),
    subject_request_id: uuid,
    subject_request_type: z.enum(opendsrRequestTypes),
    subject_identities: z.array(identitySchema).min(1).max(20),
    submitted_time: isoTime,
    api_version: z.string().max(20).optional(),
    status_callback_urls: z.array(z.url().max(2000)).max(10).optional(),
    extensions: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  })
  .describe('An OpenDSR 2.0 request (section 7.1)');
export type RequestBody = z.output<typeof requestBody>;

export const requestIdParams = z.object({
  slug: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'error.notFound' }),
  id: z.uuid({ message: 'error.notFound' }).transform((v) => v.toLowerCase()),
});

export const slugParams = requestIdParams.pick({ slug: true });

const controllerId = z.string().min(1).describe('The controller (the organisation) in Kluis: its slug');

export const receiptSchema = z
  .object({
    controller_id: controllerId,
    expected_completion_time: isoTime,
    received_time: isoTime,
    encoded_request: z.string().describe('Base64 of the request body exactly as received'),
    subject_request_id: z.string(),
  })
  .describe('Section 7.3 (the signature is in the X-OpenDSR-Signature header)');

export const statusSchema = z
  .object({
    controller_id: controllerId,
    expected_completion_time: isoTime,
    subject_request_id: z.string(),
    request_status: z.enum(opendsrStatuses),
    api_version: z.string(),
    results_url: z
      .url()
      .optional()
      .describe(
        'A completed access or portability request: where its export (a zip) is fetched with this API key, once, within 14 days',
      ),
  })
  .describe('Section 8.3');

export const cancelSchema = z
  .object({
    controller_id: controllerId,
    subject_request_id: z.string(),
    received_time: isoTime,
    api_version: z.string(),
  })
  .describe('Section 9.2');

export const discoverySchema = z
  .object({
    api_version: z.string(),
    supported_identities: z.array(
      z.object({ identity_type: z.enum(identityTypes), identity_format: z.enum(identityFormats) }),
    ),
    supported_subject_request_types: z.array(z.enum(opendsrRequestTypes)),
    processor_certificate: z
      .string()
      .describe('Where the public key that signs callbacks and answers is (PEM)'),
    processor_public_key: z
      .string()
      .describe('The same public key, SPKI PEM (an addition to the specification)'),
    signature_algorithm: z
      .literal('ed25519')
      .describe('X-OpenDSR-Signature: base64 Ed25519 over the exact body'),
  })
  .describe('Section 6.3');

export const errorSchema = z
  .object({
    error: z.object({
      code: z.number().int(),
      message: z.string().optional(),
      errors: z.array(z.object({ domain: z.string(), reason: z.string(), message: z.string() })).optional(),
    }),
  })
  .describe('Section 7.6: the error object');
export type ErrorObject = z.output<typeof errorSchema>;

/** Response schemas of the error statuses a route may answer with. */
export function errorResponses(...statuses: readonly number[]): Record<number, typeof errorSchema> {
  return Object.fromEntries(statuses.map((s) => [s, errorSchema]));
}

/** What a client is told per error code (English: the specification's examples are; no identity data). */
const messages: Partial<Record<AppError['code'], { domain: string; message: string }>> = {
  ERR_VALIDATION: { domain: 'Validation', message: 'the request is not valid' },
  ERR_UNAUTHENTICATED: { domain: 'Authentication', message: 'an API key with scope opendsr is required' },
  ERR_AUTH_API_KEY_INVALID: { domain: 'Authentication', message: 'the API key is not valid' },
  ERR_FORBIDDEN: { domain: 'Authorization', message: 'this API key may not do this for this controller' },
  ERR_NOT_FOUND: { domain: 'Request', message: 'not found' },
  ERR_CONFLICT: { domain: 'Request', message: 'a request with this subject_request_id was submitted before' },
  ERR_RIGHTS_NOT_ALLOWED: { domain: 'Request', message: 'the request can no longer be cancelled' },
  ERR_EGRESS_REFUSED: {
    domain: 'Validation',
    message: 'a status_callback_url is not registered for this controller',
  },
  ERR_PAYLOAD_TOO_LARGE: { domain: 'Request', message: 'the body is too large' },
  ERR_RATE_LIMITED: { domain: 'Request', message: 'too many requests; try again later' },
  ERR_RIGHTS_EXPORT_GONE: {
    domain: 'Request',
    message: 'the results were fetched before or are past their 14 days',
  },
};

/**
 * The HTTP status of an error as OpenDSR answers it: section 7.5 says 400 for errors; refusals of
 * credentials, unknown requests and limits keep their own status so clients can tell them apart.
 * A request that cannot be cancelled any more and an unregistered callback URL are 400s.
 */
export function opendsrStatusOf(error: AppError): number {
  if (error.code === 'ERR_RIGHTS_NOT_ALLOWED' || error.code === 'ERR_EGRESS_REFUSED') return 400;
  return error.status;
}

/** The error object for `error` (section 7.6): the status, a message, one detail per bad field. */
export function errorObject(error: AppError): ErrorObject {
  const status = opendsrStatusOf(error);
  if (status >= 500) return { error: { code: status, message: 'internal error' } };
  const known = messages[error.code] ?? { domain: 'Request', message: 'the request was refused' };
  const fields = Object.entries(error.fields ?? {});
  return {
    error: {
      code: status,
      message: fields.length === 0 ? known.message : `${known.message}: ${fields.map(([f]) => f).join(', ')}`,
      errors:
        fields.length === 0
          ? [{ domain: known.domain, reason: error.code, message: known.message }]
          : fields.map(([field, key]) => ({
              domain: known.domain,
              reason: 'IllegalArgumentException',
              message: `${field}: ${t('en', key)}`,
            })),
    },
  };
}

/**
 * The body as JSON, tolerating what the specification's own example does (7.2 ends an object with
 * `"property_id": "123456",}`): a comma before a closing brace or bracket, outside strings, is
 * dropped. Nothing else is forgiven; keys named `__proto__` are left out.
 */
export function parseTolerantJson(text: string): unknown {
  let out = '';
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    if (inString) {
      out += ch;
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    if (ch === ',') {
      let j = i + 1;
      while (j < text.length && /\s/.test(text.charAt(j))) j++;
      const next = text.charAt(j);
      if (next === '}' || next === ']') continue;
    }
    out += ch;
  }
  try {
    return JSON.parse(out, (key, value: unknown) => (key === '__proto__' ? undefined : value));
  } catch (cause) {
    throw new AppError('ERR_VALIDATION', {
      message: 'body is not JSON',
      fields: { body: 'field.invalid' },
      cause,
    });
  }
}
