/**
 * P15: the access export is driven by the subject links the modules' personal-data providers
 * declare, so a table that holds data about people cannot be forgotten. Every table is either
 * linked to data subjects or listed by its module as not linked with a reason; a new table that is
 * neither fails here (as a new column fails test/catalogue.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { fieldCatalogue, frameworkTables } from '../../shared/catalogue.js';
import { isMessageKey } from '../../shared/i18n/messages.js';
import { installedPersonalData } from '../personal-data.js';

const providers = installedPersonalData().all();
const subjectLinks = providers.flatMap((p) => p.subjectLinks ?? []);
const notLinkedTables: Readonly<Record<string, string>> = Object.assign(
  {},
  ...providers.map((p) => p.notLinked ?? {}),
);

describe('the subject links', () => {
  let kluis: TestKluis;
  let columns: Map<string, string[]>;
  beforeAll(async () => {
    kluis = await createTestKluis();
    const tables = await kluis.db.introspection.getTables();
    columns = new Map(
      tables
        .filter((t) => !frameworkTables.includes(t.name))
        .map((t) => [t.name, t.columns.map((c) => c.name)]),
    );
  });
  afterAll(async () => {
    await kluis.destroy();
  });

  const linked = () => subjectLinks.map((l) => l.table);

  it('links every table to data subjects or says why it is not linked, and nothing twice', () => {
    const undecided = [...columns.keys()].filter(
      (t) => !linked().includes(t) && notLinkedTables[t] === undefined,
    );
    expect(undecided).toEqual([]);
    expect(linked().filter((t) => notLinkedTables[t] !== undefined)).toEqual([]);
    expect(new Set(linked()).size).toBe(linked().length);
    for (const [table, reason] of Object.entries(notLinkedTables)) {
      expect(columns.has(table), `${table} exists`).toBe(true);
      expect(reason.length, table).toBeGreaterThan(10);
    }
  });

  it('covers every table of the field catalogue, and every table with a subject_id column is linked by it', () => {
    const catalogued = new Set([
      ...fieldCatalogue().fields.map((f) => f.table),
      ...Object.keys(fieldCatalogue().notPersonal),
    ]);
    for (const table of catalogued) {
      expect(linked().includes(table) || notLinkedTables[table] !== undefined, table).toBe(true);
    }
    const withSubject = [...columns].filter(([, cols]) => cols.includes('subject_id')).map(([t]) => t);
    const directly = subjectLinks.filter((l) => l.via === 'subject').map((l) => l.table);
    expect(withSubject.filter((t) => !directly.includes(t) && notLinkedTables[t] === undefined)).toEqual([]);
  });

  it('names only columns that exist, and links each child after its parent', () => {
    for (const [i, link] of subjectLinks.entries()) {
      const cols = columns.get(link.table) ?? [];
      const has = (c: string) => expect(cols, `${link.table}.${c}`).toContain(c);
      has('id');
      has('org_id');
      if (link.via === 'self') expect(link.table).toBe('data_subjects');
      if (link.via === 'subject') has('subject_id');
      if (link.via === 'parent') {
        has(link.column);
        expect(
          subjectLinks.findIndex((l) => l.table === link.parent),
          `${link.table} after ${link.parent}`,
        ).toBeGreaterThanOrEqual(0);
        expect(subjectLinks.findIndex((l) => l.table === link.parent)).toBeLessThan(i);
      }
      for (const c of link.orderBy) has(c);
      for (const c of Object.keys(link.omit ?? {})) has(c);
      for (const [content, name] of Object.entries(link.files ?? {})) {
        has(content);
        has(name);
      }
      for (const c of link.numbers ?? []) has(c);
      if (link.context !== undefined) {
        has(link.context.via);
        for (const c of link.context.columns) expect(columns.get(link.context.parent), c).toContain(c);
        // Context shows plain values only: never a column the catalogue seals.
        for (const c of link.context.columns) {
          expect(
            fieldCatalogue().fields.find((f) => f.table === link.context?.parent && f.column === c),
          ).toBeUndefined();
        }
      }
    }
  });

  it('gives every linked table and each of its exported columns a readable name in the summary', () => {
    for (const link of subjectLinks) {
      expect(isMessageKey(`rights.zip.table.${link.table}`), link.table).toBe(true);
      const omitted = new Set(['id', 'org_id', ...Object.keys(link.omit ?? {})]);
      for (const c of columns.get(link.table) ?? []) {
        if (!omitted.has(c)) expect(isMessageKey(`rights.zip.column.${c}`), `${link.table}.${c}`).toBe(true);
      }
    }
  });
});
