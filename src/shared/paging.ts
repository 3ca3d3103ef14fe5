/**
 * Paged staff lists: the one rule for where a requested page lands. Out-of-range requests (0, -3,
 * 2.5, page 9 of 4, a list that emptied meanwhile) land on the nearest real page instead of an
 * empty one, and an empty list still has one page, so the views can always say "page 1 of 1".
 */

/** Where a page stands in its list: what the views need to paginate. */
export interface PageInfo {
  readonly total: number;
  readonly page: number;
  readonly pageSize: number;
  readonly pages: number;
}

/** The page `requested` of a list of `total` items, clamped, with the offset of its first item. */
export function pageOf(
  total: number,
  requested: number,
  pageSize: number,
): PageInfo & { readonly offset: number } {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const page = Math.min(Math.max(1, Math.floor(requested)), pages);
  return { total, page, pageSize, pages, offset: (page - 1) * pageSize };
}
