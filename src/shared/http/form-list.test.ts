import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formListValues, withFormLists } from './form-list.js';

const form = withFormLists(
  ['ticked'],
  z.object({ ticked: z.array(z.enum(['a', 'b', 'c'])), name: z.string() }),
);

describe('checkbox lists in a form', () => {
  it('reads none, one or several ticked boxes as one list', () => {
    expect(form.parse({ name: 'x' }).ticked).toEqual([]);
    expect(form.parse({ name: 'x', ticked: '' }).ticked).toEqual([]);
    expect(form.parse({ name: 'x', ticked: 'b' }).ticked).toEqual(['b']);
    expect(form.parse({ name: 'x', ticked: ['a', 'c'] }).ticked).toEqual(['a', 'c']);
  });

  it('still refuses a value the list does not allow, and leaves other fields alone', () => {
    expect(form.safeParse({ name: 'x', ticked: 'evil' }).success).toBe(false);
    expect(form.safeParse({ name: ['x', 'y'], ticked: 'a' }).success).toBe(false);
  });

  it('gives back the ticked values as typed, to show a refused form again', () => {
    expect(formListValues({ ticked: 'b' }, 'ticked')).toEqual(['b']);
    expect(formListValues({ ticked: ['a', { file: true }] }, 'ticked')).toEqual(['a']);
    expect(formListValues(undefined, 'ticked')).toEqual([]);
  });
});
