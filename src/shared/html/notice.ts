/** The confirmation shown at the top of a page after a form was saved (announced to screen readers). */
import { type HtmlValue, html } from './html.js';

export function notice(text: string | undefined): HtmlValue {
  return text === undefined ? null : html`<div class="notice" role="status"><p>${text}</p></div>`;
}
