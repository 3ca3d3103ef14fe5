/**
 * Answers every module gives the same way: the error body of the one error handler
 * (error-handler.ts) as a response schema, documented per status in the OpenAPI document, and
 * files sent for download.
 */
import type { FastifyReply } from 'fastify';
import { z } from 'zod';

/** The JSON body of a refused or failed API call: a stable code, a message in the caller's language, the request id. */
const apiErrorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    requestId: z.string(),
    /** Field name → what is wrong with it, translated. */
    fields: z.record(z.string(), z.string()).optional(),
    details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  }),
});

/** What each error status means for an API client (the OpenAPI response description). */
const errorMeanings = {
  400: 'The request is not valid; `fields` says what is wrong with each field.',
  401: 'No valid API key (or session) was given.',
  403: 'The API key does not hold the permission this call needs.',
  404: 'No such record in the organisation of the API key.',
  409: 'The request conflicts with the current state of the record.',
  429: 'Too many requests; try again later.',
} as const;

export type ApiErrorStatus = keyof typeof errorMeanings;

/** Response schemas for the error statuses a route may answer with (merge with its own 2xx). */
export function apiErrors(...statuses: readonly ApiErrorStatus[]): Record<number, typeof apiErrorSchema> {
  return Object.fromEntries(statuses.map((s) => [s, apiErrorSchema.describe(errorMeanings[s])]));
}

/**
 * `Content-Disposition` for a download (ASVS 5.4.2): `filename*` (RFC 6266 / RFC 8187, UTF-8)
 * keeps any name, percent-encoding everything outside RFC 8187's attr-char (encodeURIComponent
 * leaves `'`, `(`, `)` and `*` as they are, and a `'` would end the charset part early); the plain
 * `filename` is an ASCII fallback without quotes, backslashes or control characters that could
 * break the header. Path separators and control characters become `_` in both: a download names
 * a file, never a place, and a line break in a name is no use to anyone.
 */
export function attachmentDisposition(filename: string): string {
  // A lone surrogate (a broken name from a mail client) would make encodeURIComponent throw.
  const name = filename
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/[/\\\p{Cc}]/gu, '_');
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/**
 * Sends `content` as a file to save (never shown inline), under `filename`; with `noStore`, no
 * cache (browser or proxy) may keep a copy — for files of personal data.
 */
export function sendDownload(
  reply: FastifyReply,
  file: {
    readonly contentType: string;
    readonly filename: string;
    readonly content: Buffer | string;
    readonly noStore?: boolean;
  },
): FastifyReply {
  if (file.noStore === true) reply.header('cache-control', 'no-store');
  return reply
    .type(file.contentType)
    .header('content-disposition', attachmentDisposition(file.filename))
    .send(file.content);
}

/**
 * The query of an API route that takes none: declared, so the OpenAPI document says so; unknown
 * parameters (such as `lang`) are ignored, not refused.
 */
export const noQuery = z.object({});
