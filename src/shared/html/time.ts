import { formatTime } from '../i18n/dates.js';
import type { Locale } from '../i18n/messages.js';
import { type HtmlValue, html } from './html.js';

/** A moment for people (Amsterdam time, the page's language: `formatTime`) with the exact ISO value in `datetime`. */
export function timeTag(locale: Locale, iso: string | null | undefined, never: string): HtmlValue {
  if (iso === null || iso === undefined) return never;
  return html`<time datetime="${iso}">${formatTime(locale, iso)}</time>`;
}

/** The same moment as text (mails, hints, SVG titles), and a day; see `i18n/dates.ts`. */
export { formatDate, formatTime } from '../i18n/dates.js';
