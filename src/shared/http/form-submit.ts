/**
 * Submitting an HTML form declared with `form: true` on the route kit. The kit has parsed the body
 * against the form's schema; the use case may still refuse the input with field errors (an
 * `AppError` naming fields: a file that is not a PDF, nothing changed since the last version).
 * Either way nothing is stored and the form is shown again with the messages next to the fields
 * and the input kept (GOV.UK pattern). Any other failure goes to the error handler. A saved form
 * is answered with a redirect (303), so reloading the next page does not post it again.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isAppError } from '../errors.js';
import type { FieldErrors } from '../html/forms.js';
import type { HtmlValue } from '../html/html.js';
import type { Locale, Translate } from '../i18n/messages.js';
import { renderPage } from './render.js';
import type { FormResult, UserActor } from './route-kit.js';

/** What a staff page with a form needs to be shown (again): a part of the route's context. */
export interface FormPageContext {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly actor: UserActor;
  readonly t: Translate;
  readonly locale: Locale;
}

/**
 * Sends a page with a form: a fresh CSRF token for it, and the refusal's status when shown again.
 * Public pages use it too (it needs only the request and the reply).
 */
export function renderFormPage(
  ctx: Pick<FormPageContext, 'request' | 'reply'>,
  o: { title: string; status?: number | undefined; body: (csrf: string) => HtmlValue },
): FastifyReply {
  const csrf = ctx.reply.generateCsrf();
  return renderPage(ctx.request, ctx.reply, {
    title: o.title,
    status: o.status ?? 200,
    csrfToken: csrf,
    body: o.body(csrf),
  });
}

export interface FormRefusal {
  readonly errors: FieldErrors;
  /** The status to show the form again with (400 for input the schema or the use case refused). */
  readonly status: number;
}

/** A form shown again: why it was refused, and its input as typed. */
export type RefusedForm<V> = FormRefusal & { readonly values: V };

/**
 * Saves a submitted form and redirects to the path `save` returns, or shows the form again when
 * the schema or the use case refuses the input.
 */
export async function submitForm<T>(
  ctx: { readonly body: FormResult<T>; readonly reply: FastifyReply },
  save: (data: T) => Promise<string>,
  showAgain: (refusal: FormRefusal) => unknown,
): Promise<unknown> {
  if (!ctx.body.ok) return showAgain({ errors: ctx.body.errors, status: 400 });
  let next: string;
  try {
    next = await save(ctx.body.data);
  } catch (error) {
    if (isAppError(error) && error.fields !== undefined && error.status < 500) {
      return showAgain({ errors: error.fields, status: error.status });
    }
    throw error;
  }
  return ctx.reply.redirect(next, 303);
}

/** The text of each of `names` as typed in a submitted form (`''` for a field that was not sent). */
export function typedText<K extends string>(
  values: Readonly<Record<string, string>>,
  names: readonly K[],
): Record<K, string> {
  return Object.fromEntries(names.map((name) => [name, values[name] ?? ''])) as Record<K, string>;
}
