import { formatMoment } from '../i18n/dates.js';
import type { Locale } from '../i18n/messages.js';
import { type HtmlValue, html } from './html.js';

/** A moment for people (Amsterdam time, the page's language) with the exact ISO value in `datetime`. */
export function timeTag(locale: Locale, iso: string | null | undefined, never: string): HtmlValue {
  if (iso === null || iso === undefined) return never;
  return html`<time datetime="${iso}">${formatMoment(locale, iso, { date: 'medium', time: 'medium' })}</time>`;
}
