/**
 * Parts of the register's pages: dates, lists of facts, and the form parts its forms need beyond
 * the shared text field — checkboxes in a fieldset, a select and a PDF file input, after the same
 * GOV.UK pattern (label above, hint under it, the error next to the field, `aria-describedby`
 * tying them together).
 */
import { csrfField, errorSummary, type FieldErrors } from '../../shared/html/forms.js';
import { type HtmlValue, html, type SafeHtml } from '../../shared/html/html.js';
import type { MessageKey, Translate } from '../../shared/i18n/messages.js';

/** A list of facts (`<dl>`); a fact without a value is left out. */
export function facts(entries: readonly (readonly [string, HtmlValue])[]): SafeHtml {
  return html`<dl class="facts">
${entries
  .filter(([, value]) => value !== '' && value !== null)
  .map(
    ([term, value]) => html`  <dt>${term}</dt><dd>${value}</dd>
`,
  )}</dl>`;
}

/** A form's labels by field name (the fields' own labels and the error summary's link texts). */
export function fieldLabels<K extends string>(
  t: Translate,
  keys: Readonly<Record<K, MessageKey>>,
): Record<K, string> {
  return Object.fromEntries(Object.entries<MessageKey>(keys).map(([name, key]) => [name, t(key)])) as Record<
    K,
    string
  >;
}

/** What every register form page is given: the values to show and the errors to show them with. */
export interface FormPageOptions<V> {
  readonly t: Translate;
  readonly csrf: string;
  readonly values: V;
  readonly errors?: FieldErrors | undefined;
}

/**
 * A register form: the error summary first, the CSRF token, the fields, then save and cancel.
 * Forms with an agreement document are multipart.
 */
export function registerForm(
  o: FormPageOptions<unknown>,
  frame: {
    action: string;
    /** The fields' labels, for the error summary's links. */
    labels: Readonly<Record<string, string>>;
    cancelHref: string;
    multipart?: boolean;
    fields: HtmlValue;
  },
): SafeHtml {
  const { t } = o;
  return html`<form method="post" action="${frame.action}"${frame.multipart ? html` enctype="multipart/form-data"` : ''} novalidate>
${errorSummary(t, o.errors, frame.labels)}
${csrfField(o.csrf)}
${frame.fields}
<button type="submit">${t('register.save')}</button> <a href="${frame.cancelHref}">${t('register.cancel')}</a>
</form>`;
}

export interface Choice {
  readonly value: string;
  readonly label: string;
}

interface FieldParts {
  readonly t: Translate;
  readonly name: string;
  readonly hint?: string | undefined;
  readonly errors?: FieldErrors | undefined;
}

/** The error next to a field, with a hidden prefix so a screen reader says it is one. */
function fieldError(t: Translate, errorKey: MessageKey | undefined, id?: string): HtmlValue {
  if (errorKey === undefined) return null;
  return html`<p class="field-error"${id === undefined ? '' : html` id="${id}"`}><span class="visually-hidden">${t('error.summaryTitle')}:</span> ${t(errorKey)}</p>`;
}

/** The id, error, hint and `aria-describedby` of a labelled field. */
function described(o: FieldParts) {
  const id = `f-${o.name}`;
  const errorKey = o.errors?.[o.name];
  const ids = [o.hint ? `${id}-hint` : '', errorKey ? `${id}-error` : ''].filter(Boolean).join(' ');
  return {
    id,
    errorKey,
    wrapperClass: `field${errorKey ? ' field--error' : ''}`,
    hint: o.hint ? html`<p class="hint" id="${id}-hint">${o.hint}</p>` : '',
    error: fieldError(o.t, errorKey, `${id}-error`),
    describedBy: ids ? html` aria-describedby="${ids}"` : '',
  };
}

/** Checkboxes in a fieldset; the first box carries the id the error summary links to. */
export function checkboxGroup(
  o: FieldParts & { legend: string; choices: readonly Choice[]; checked: readonly string[] },
): SafeHtml {
  const errorKey = o.errors?.[o.name];
  const hintId = `f-${o.name}-hint`;
  return html`<div class="checkboxes${errorKey ? ' field--error' : ''}">
<fieldset${o.hint ? html` aria-describedby="${hintId}"` : ''}>
  <legend>${o.legend}</legend>
  ${o.hint ? html`<p class="hint" id="${hintId}">${o.hint}</p>` : ''}
  ${fieldError(o.t, errorKey)}
  ${o.choices.map((c, i) => {
    const id = i === 0 ? `f-${o.name}` : `f-${o.name}-${c.value}`;
    return html`<div class="checkbox"><input type="checkbox" id="${id}" name="${o.name}" value="${c.value}"${
      o.checked.includes(c.value) ? html` checked` : ''
    }> <label for="${id}">${c.label}</label></div>`;
  })}
</fieldset>
</div>`;
}

/** A PDF upload (the agreement document). */
export function fileField(o: FieldParts & { label: string; hint: string }): SafeHtml {
  const d = described(o);
  return html`<div class="${d.wrapperClass}">
  <label for="${d.id}">${o.label}</label>
  ${d.hint}
  ${d.error}
  <input type="file" id="${d.id}" name="${o.name}" accept="application/pdf,.pdf"${d.describedBy}>
</div>`;
}
