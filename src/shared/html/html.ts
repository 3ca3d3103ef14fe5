/**
 * HTML that escapes by default. Views are plain functions returning `SafeHtml`; every
 * interpolated value is escaped unless it is already `SafeHtml` (produced by this module).
 * Arrays are joined; null, undefined and false render as nothing.
 */
const brand: unique symbol = Symbol('SafeHtml');

export interface SafeHtml {
  readonly [brand]: true;
  readonly value: string;
  toString(): string;
}

function safe(value: string): SafeHtml {
  return { [brand]: true, value, toString: () => value };
}

const escapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (ch) => escapes[ch] ?? ch);
}

export function isSafeHtml(value: unknown): value is SafeHtml {
  return typeof value === 'object' && value !== null && brand in value;
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map((v: HtmlValue) => render(v)).join('');
  if (isSafeHtml(value)) return value.value;
  return escapeHtml(String(value));
}

/** Tagged template: html`<p>${userText}</p>` escapes `userText`. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) {
    out += render(values[i]) + (strings[i + 1] ?? '');
  }
  return safe(out);
}

/**
 * Marks trusted markup as safe. Only for output of a sanitising renderer or constant markup;
 * never for user input.
 */
export function trustedHtml(markup: string): SafeHtml {
  return safe(markup);
}
