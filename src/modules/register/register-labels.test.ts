/**
 * The statement and the register name every catalogue id in both languages. When another module
 * adds a category, purpose, legal basis, subject category or retention policy, this test fails
 * until register-messages.ts gives it a label (the page meanwhile shows the bare id).
 */
import { describe, expect, it } from 'vitest';
import {
  dataCategories,
  dataSubjectCategories,
  fieldCatalogue,
  legalBases,
  purposes,
  retentionPolicies,
} from '../../shared/catalogue.js';
import { isMessageKey } from '../../shared/i18n/messages.js';
import { joinList, labelKey } from './register-labels.js';
import { channels } from './register-settings.js';

describe('labels of catalogue ids', () => {
  const lists: [Parameters<typeof labelKey>[0], readonly string[]][] = [
    ['category', dataCategories],
    ['categoryHint', dataCategories],
    ['purpose', purposes],
    ['purposeHint', purposes],
    ['basis', legalBases],
    ['subjects', dataSubjectCategories],
    ['retention', retentionPolicies],
    ['protection', fieldCatalogue().fields.map((f) => f.protection)],
    ['channel', channels],
  ];

  it('has a Dutch and English label for every id the catalogue can hold', () => {
    const missing = lists.flatMap(([kind, ids]) =>
      ids.map((id) => labelKey(kind, id)).filter((k) => !isMessageKey(k)),
    );
    expect(missing).toEqual([]);
  });

  it('has a label for every value a declared field actually uses', () => {
    for (const f of fieldCatalogue().fields) {
      const keys = [
        labelKey('category', f.category),
        labelKey('subjects', f.subjects),
        labelKey('basis', f.legalBasis),
        labelKey('retention', f.retention),
        labelKey('protection', f.protection),
        ...f.purposes.map((p) => labelKey('purpose', p)),
      ];
      for (const k of keys) expect(isMessageKey(k), `${f.table}.${f.column}: ${k}`).toBe(true);
    }
  });

  it('joins lists the way each language does', () => {
    expect(joinList('nl', ['a', 'b', 'c'])).toBe('a, b en c');
    expect(joinList('en', ['a', 'b', 'c'])).toBe('a, b and c');
  });
});
