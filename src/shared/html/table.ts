/** The head of a data table: one column header (`scope="col"`) per label, for screen readers. */
import { html, type SafeHtml } from './html.js';

export function tableHead(labels: readonly string[]): SafeHtml {
  return html`<thead><tr>
${labels.map(
  (label) => html`  <th scope="col">${label}</th>
`,
)}</tr></thead>`;
}
