/**
 * Form parts after the GOV.UK / NL Design System patterns: label above the field, hint under the
 * label, the error next to the field, an error summary at the top linking to each field.
 */
import type { MessageKey, Translate } from '../i18n/messages.js';
import { type HtmlValue, html, type SafeHtml } from './html.js';

export type FieldErrors = Readonly<Record<string, MessageKey>>;

export interface FieldOptions {
  readonly t: Translate;
  readonly name: string;
  readonly label: string;
  readonly type?: 'text' | 'email' | 'tel' | 'password' | 'number' | 'url' | 'date';
  readonly value?: string | undefined;
  readonly hint?: string | undefined;
  readonly errors?: FieldErrors | undefined;
  readonly autocomplete?: string;
  readonly required?: boolean;
  readonly inputmode?: 'numeric' | 'text' | 'email' | 'tel';
  readonly multiline?: boolean;
}

export function textField(o: FieldOptions): SafeHtml {
  const id = `f-${o.name}`;
  const errorKey = o.errors?.[o.name];
  const describedBy = [o.hint ? `${id}-hint` : '', errorKey ? `${id}-error` : ''].filter(Boolean).join(' ');
  const common = html` id="${id}" name="${o.name}"${describedBy ? html` aria-describedby="${describedBy}"` : ''}${
    errorKey ? html` aria-invalid="true"` : ''
  }${o.required ? html` required` : ''}${o.autocomplete ? html` autocomplete="${o.autocomplete}"` : ''}`;
  const control = o.multiline
    ? html`<textarea${common} rows="6">${o.value ?? ''}</textarea>`
    : html`<input type="${o.type ?? 'text'}"${common}${o.inputmode ? html` inputmode="${o.inputmode}"` : ''} value="${
        o.type === 'password' ? '' : (o.value ?? '')
      }">`;
  return html`<div class="field${errorKey ? ' field--error' : ''}">
  <label for="${id}">${o.label}</label>
  ${o.hint ? html`<p class="hint" id="${id}-hint">${o.hint}</p>` : ''}
  ${errorKey ? html`<p class="field-error" id="${id}-error"><span class="visually-hidden">${o.t('error.summaryTitle')}:</span> ${o.t(errorKey)}</p>` : ''}
  ${control}
</div>`;
}

export interface SelectOptions {
  readonly t: Translate;
  readonly name: string;
  readonly label: string;
  readonly options: readonly { readonly value: string; readonly label: string }[];
  readonly value?: string | undefined;
  readonly hint?: string | undefined;
  readonly errors?: FieldErrors | undefined;
  /** A first option with the value '' (e.g. "all" in a filter, "choose…" in a form). */
  readonly placeholder?: string | undefined;
}

/** A select with label, hint and error, after the same pattern as textField. */
export function selectField(o: SelectOptions): SafeHtml {
  const id = `f-${o.name}`;
  const errorKey = o.errors?.[o.name];
  const describedBy = [o.hint ? `${id}-hint` : '', errorKey ? `${id}-error` : ''].filter(Boolean).join(' ');
  return html`<div class="field${errorKey ? ' field--error' : ''}">
  <label for="${id}">${o.label}</label>
  ${o.hint ? html`<p class="hint" id="${id}-hint">${o.hint}</p>` : ''}
  ${errorKey ? html`<p class="field-error" id="${id}-error"><span class="visually-hidden">${o.t('error.summaryTitle')}:</span> ${o.t(errorKey)}</p>` : ''}
  <select id="${id}" name="${o.name}"${describedBy ? html` aria-describedby="${describedBy}"` : ''}${errorKey ? html` aria-invalid="true"` : ''}>
    ${o.placeholder === undefined ? null : html`<option value="">${o.placeholder}</option>`}
    ${o.options.map((opt) => html`<option value="${opt.value}"${o.value === opt.value ? html` selected` : ''}>${opt.label}</option>`)}
  </select>
</div>`;
}

/** The error summary: first thing in the form, focusable, links to each field. */
export function errorSummary(
  t: Translate,
  errors: FieldErrors | undefined,
  labels: Readonly<Record<string, string>>,
): HtmlValue {
  if (errors === undefined || Object.keys(errors).length === 0) return null;
  return html`<div class="error-summary" role="alert" aria-labelledby="error-summary-title" tabindex="-1">
  <h2 id="error-summary-title">${t('error.summaryTitle')}</h2>
  <ul>${Object.entries(errors).map(
    ([field, key]) => html`<li><a href="#f-${field}">${labels[field] ?? field}: ${t(key)}</a></li>`,
  )}</ul>
</div>`;
}

export function csrfField(token: string | undefined): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${token ?? ''}">`;
}
