/**
 * Submitting an HTML form declared with `form: true` on the route kit. The kit has parsed the body
 * against the form's schema; the use case may still refuse the input with field errors (an
 * `AppError` naming fields: a file that is not a PDF, nothing changed since the last version).
 * Either way nothing is stored and the form is shown again with the messages next to the fields
 * and the input kept (GOV.UK pattern). Any other failure goes to the error handler.
 */
import { isAppError } from '../errors.js';
import type { FieldErrors } from '../html/forms.js';
import type { FormResult } from './route-kit.js';

export interface FormRefusal {
  readonly errors: FieldErrors;
  /** The status to show the form again with (400 for input the schema or the use case refused). */
  readonly status: number;
}

/** Saves a submitted form, or shows it again with the refusal when the schema or the use case refuses it. */
export async function submitForm<T, R>(
  body: FormResult<T>,
  save: (data: T) => Promise<R>,
  showAgain: (refusal: FormRefusal) => R | Promise<R>,
): Promise<R> {
  if (!body.ok) return showAgain({ errors: body.errors, status: 400 });
  try {
    return await save(body.data);
  } catch (error) {
    if (isAppError(error) && error.fields !== undefined && error.status < 500) {
      return showAgain({ errors: error.fields, status: error.status });
    }
    throw error;
  }
}

/** The text of each of `names` as typed in a submitted form (`''` for a field that was not sent). */
export function typedText<K extends string>(
  values: Readonly<Record<string, string>>,
  names: readonly K[],
): Record<K, string> {
  return Object.fromEntries(names.map((name) => [name, values[name] ?? ''])) as Record<K, string>;
}
