/**
 * P5: every column of every table is either declared in the field catalogue (category, purpose,
 * legal basis, retention, readers, protection) or listed as not personal with a reason. A new
 * column that is neither fails this test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dataCategories,
  fieldCatalogue,
  frameworkTables,
  isStructuralColumn,
  legalBases,
  purposes,
  retentionPolicies,
} from '../src/shared/catalogue.js';
import { createTestKluis, type TestKluis } from './dialects.js';

describe('the field catalogue', () => {
  let kluis: TestKluis;
  let columns: { table: string; column: string }[];
  beforeAll(async () => {
    kluis = await createTestKluis();
    const tables = await kluis.db.introspection.getTables();
    columns = tables
      .filter((t) => !frameworkTables.includes(t.name))
      .flatMap((t) => t.columns.map((c) => ({ table: t.name, column: c.name })));
  });
  afterAll(async () => {
    await kluis.destroy();
  });

  it('declares every column that is not structural, as personal data or as not personal with a reason', () => {
    const undeclared = columns.filter(
      ({ table, column }) =>
        !isStructuralColumn(column) &&
        !fieldCatalogue().fields.some((f) => f.table === table && f.column === column) &&
        fieldCatalogue().notPersonal[table]?.[column] === undefined,
    );
    expect(undeclared).toEqual([]);
  });

  it('declares nothing that does not exist, and nothing twice', () => {
    const existing = new Set(columns.map((c) => `${c.table}.${c.column}`));
    const declared = fieldCatalogue().fields.map((f) => `${f.table}.${f.column}`);
    expect(declared.filter((d) => !existing.has(d))).toEqual([]);
    expect(new Set(declared).size).toBe(declared.length);
    const notPersonalColumns = Object.entries(fieldCatalogue().notPersonal).flatMap(([t, cols]) =>
      Object.keys(cols).map((c) => `${t}.${c}`),
    );
    expect(notPersonalColumns.filter((d) => !existing.has(d))).toEqual([]);
    expect(notPersonalColumns.filter((d) => declared.includes(d))).toEqual([]);
  });

  it('gives every personal field a known category, at least one purpose, a legal basis and a retention policy', () => {
    for (const f of fieldCatalogue().fields) {
      const label = `${f.table}.${f.column}`;
      expect(dataCategories, label).toContain(f.category);
      expect(f.purposes.length, label).toBeGreaterThan(0);
      for (const p of f.purposes) expect(purposes, label).toContain(p);
      expect(legalBases, label).toContain(f.legalBasis);
      expect(retentionPolicies, label).toContain(f.retention);
    }
  });
});
