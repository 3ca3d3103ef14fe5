/**
 * What every API route answers besides its own result: the error body of the one error handler
 * (error-handler.ts), documented per status in the OpenAPI document, and the header that turns a
 * download into a file. Shared by every module's API and download routes.
 */
import { z } from 'zod';

/** The JSON body of a refused or failed API call: a stable code, a message in the caller's language, the request id. */
export const apiErrorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    requestId: z.string(),
    /** Field name → what is wrong with it, translated. */
    fields: z.record(z.string(), z.string()).optional(),
    details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  }),
});

export type ApiErrorStatus = 400 | 401 | 403 | 404 | 409 | 429;

/** Response schemas for the error statuses a route may answer with (merge with its own 2xx). */
export function apiErrors(...statuses: readonly ApiErrorStatus[]): Record<number, typeof apiErrorSchema> {
  return Object.fromEntries(statuses.map((s) => [s, apiErrorSchema]));
}

/**
 * `Content-Disposition` for a download: `filename*` (RFC 6266, UTF-8) keeps any name, and the
 * plain `filename` is an ASCII fallback without quotes or backslashes that could break the header.
 */
export function attachmentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}
