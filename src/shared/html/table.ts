/** Parts of data tables: the head (one column header, `scope="col"`, per label) and the pager. */
import { type HtmlValue, html, type SafeHtml } from './html.js';

export function tableHead(labels: readonly string[]): SafeHtml {
  return html`<thead><tr>
${labels.map(
  (label) => html`  <th scope="col">${label}</th>
`,
)}</tr></thead>`;
}

export interface PagerLabels {
  /** The navigation's accessible name. */
  readonly nav: string;
  readonly previous: string;
  readonly next: string;
}

/**
 * Previous and next links under a paged list; `hrefOf` gives a page's address. Nothing when the
 * list fits on one page, unless `always` (a page whose layout keeps the navigation).
 */
export function pager(
  at: { readonly page: number; readonly pages: number },
  hrefOf: (page: number) => string,
  labels: PagerLabels,
  always = false,
): HtmlValue {
  if (at.pages <= 1 && !always) return null;
  return html`<nav aria-label="${labels.nav}"><ul class="pagination">
  ${at.page > 1 ? html`<li><a rel="prev" href="${hrefOf(at.page - 1)}">${labels.previous}</a></li>` : null}
  ${at.page < at.pages ? html`<li><a rel="next" href="${hrefOf(at.page + 1)}">${labels.next}</a></li>` : null}
</ul></nav>`;
}

/**
 * A list page's address: `path` with the parameters that are set (in the order given; a caller
 * leaves out those at their default) and the page after the first.
 */
export function listHref(
  path: string,
  params: Readonly<Record<string, string | undefined>>,
  page: number,
): string {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) q.set(name, value);
  if (page > 1) q.set('page', String(page));
  const text = q.toString();
  return text === '' ? path : `${path}?${text}`;
}

/** How a list is ordered: by a column, ascending or descending. */
export interface ListOrder<S extends string> {
  readonly sort: S;
  readonly dir: 'asc' | 'desc';
}

/** A list's order as query parameters for `listHref`, each left out at its default. */
export function orderParams<S extends string>(
  p: ListOrder<S>,
  defaults: ListOrder<S>,
): { sort: S | undefined; dir: 'asc' | 'desc' | undefined } {
  return {
    sort: p.sort === defaults.sort ? undefined : p.sort,
    dir: p.dir === defaults.dir ? undefined : p.dir,
  };
}

/** The words a sortable header gives screen readers for the direction its link sorts in. */
export interface SortLabels {
  readonly asc: string;
  readonly desc: string;
}

/**
 * A sortable column's header: a link that sorts the list by the column — in the `first`
 * direction, or the other way when the list is already sorted so — with `aria-sort` on the
 * current column and, for screen readers, the direction the link sorts in.
 */
export function sortHeader<S extends string>(o: {
  readonly order: ListOrder<S>;
  readonly column: S;
  readonly label: string;
  /** The list's address sorted by `order` (on its first page). */
  readonly hrefOf: (order: ListOrder<S>) => string;
  readonly labels: SortLabels;
  /** The direction a first click sorts in (default ascending; newest first suits dates). */
  readonly first?: 'asc' | 'desc';
}): SafeHtml {
  const current = o.order.sort === o.column;
  const first = o.first ?? 'asc';
  const nextDir = current && o.order.dir === first ? (first === 'asc' ? 'desc' : 'asc') : first;
  const href = o.hrefOf({ sort: o.column, dir: nextDir });
  const ariaSort = current ? (o.order.dir === 'asc' ? 'ascending' : 'descending') : undefined;
  return html`<th scope="col"${ariaSort ? html` aria-sort="${ariaSort}"` : ''}><a href="${href}">${o.label}<span class="visually-hidden"> (${
    nextDir === 'asc' ? o.labels.asc : o.labels.desc
  })</span></a></th>`;
}
