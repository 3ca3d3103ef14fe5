import { describe, expect, it } from 'vitest';
import { pageOf } from './paging.js';

describe('pageOf', () => {
  it('counts pages and the offset of a page in range', () => {
    expect(pageOf(51, 2, 25)).toEqual({ total: 51, page: 2, pageSize: 25, pages: 3, offset: 25 });
    expect(pageOf(50, 2, 25)).toMatchObject({ pages: 2, page: 2, offset: 25 });
  });

  it('lands out-of-range requests on the nearest real page', () => {
    expect(pageOf(51, 9, 25)).toMatchObject({ page: 3, offset: 50 });
    expect(pageOf(51, 0, 25)).toMatchObject({ page: 1, offset: 0 });
    expect(pageOf(51, -3, 25)).toMatchObject({ page: 1, offset: 0 });
    expect(pageOf(51, 2.7, 25)).toMatchObject({ page: 2, offset: 25 });
  });

  it('gives an empty list one page', () => {
    expect(pageOf(0, 4, 25)).toEqual({ total: 0, page: 1, pageSize: 25, pages: 1, offset: 0 });
  });
});
