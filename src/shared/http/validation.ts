/**
 * Validation at the edge with zod. Field problems are reported as message keys (translated by
 * the error handler or the form view), so the same schema serves HTML forms and the API.
 */
import type { z } from 'zod';
import { ZodError } from 'zod';
import { AppError } from '../errors.js';
import { isMessageKey, type MessageKey } from '../i18n/messages.js';

/**
 * For `z.preprocess`: a blank form or query field (empty, or only spaces) counts as not given, so
 * an optional field left empty is undefined rather than an invalid value.
 */
export function emptyToUndefined(value: unknown): unknown {
  return typeof value === 'string' && value.trim() === '' ? undefined : value;
}

export function fieldErrorsFromZod(error: ZodError): Record<string, MessageKey> {
  const fields: Record<string, MessageKey> = {};
  for (const issue of error.issues) {
    const name = issue.path.map(String).join('.') || '_form';
    if (fields[name] !== undefined) continue;
    // Schemas put a message key in `message`; anything else falls back to a generic one.
    if (isMessageKey(issue.message)) fields[name] = issue.message;
    else if (issue.code === 'too_big') fields[name] = 'field.tooLong';
    else if (issue.code === 'invalid_type' && issue.input === undefined) fields[name] = 'field.required';
    else fields[name] = 'field.invalid';
  }
  return fields;
}

/** Parses `input` or throws ERR_VALIDATION with per-field message keys. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new AppError('ERR_VALIDATION', {
      fields: fieldErrorsFromZod(result.error),
      cause: new ZodError(result.error.issues),
    });
  }
  return result.data;
}

/** Like parseOrThrow, but returns field errors for re-rendering a form with the input kept. */
export function parseForm<S extends z.ZodType>(
  schema: S,
  input: unknown,
): { ok: true; data: z.infer<S> } | { ok: false; errors: Record<string, MessageKey> } {
  const result = schema.safeParse(input);
  return result.success
    ? { ok: true, data: result.data }
    : { ok: false, errors: fieldErrorsFromZod(result.error) };
}
