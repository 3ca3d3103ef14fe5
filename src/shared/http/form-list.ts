/**
 * Checkboxes sharing one name: a browser sends nothing when none is ticked, a single string for
 * one and a list for several. A form schema reads them as one list, whatever the count.
 */
import { z } from 'zod';

function listOf(value: unknown): unknown[] {
  if (value === undefined || value === '') return [];
  return Array.isArray(value) ? value : [value];
}

/** `schema` over a form body whose fields `names` are checkbox lists. */
export function withFormLists<S extends z.ZodType>(names: readonly string[], schema: S) {
  return z.preprocess((body) => {
    if (typeof body !== 'object' || body === null) return body;
    const lists = Object.fromEntries(
      names.map((name) => [name, listOf((body as Record<string, unknown>)[name])]),
    );
    return { ...body, ...lists };
  }, schema);
}

/** The ticked values of `name` in a raw form body, to show a refused form again as it was. */
export function formListValues(body: unknown, name: string): string[] {
  if (typeof body !== 'object' || body === null) return [];
  return listOf((body as Record<string, unknown>)[name]).filter((v): v is string => typeof v === 'string');
}
