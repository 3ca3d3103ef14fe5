/**
 * The view kit: the parts pages are built from (form fields and the error summary, notices, table
 * heads, pagers and list addresses, times). A view imports it as one namespace —
 * `import * as ui from '../../shared/html/index.js'` — so that its imports name the kit once
 * instead of listing the same parts in every view, and a call reads as what it is (`ui.textField`).
 * The `html` tag and its types stay in html.ts: they are the language of every view, not a part.
 */
export * from './forms.js';
export * from './notice.js';
export * from './table.js';
export * from './time.js';
