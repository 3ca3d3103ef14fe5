/**
 * Each module owns its tables (issue 11): only the module that creates a table names it in a
 * query. Ownership comes from the manifests (`tables`); the test reads every non-test source file
 * of every module and finds the tables its queries name — Kysely's builders, `sql.table`/`sql.ref`
 * and table names inside raw `sql` templates — and the tables its personal-data provider declares.
 * Another module's table is reached through that module's services or provider, never directly.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modules, tableOwners } from '../../src/modules/index.js';
import type { AnyModule } from '../../src/modules/module.js';
import { personalDataOf, tablesNamedBy } from '../../src/modules/personal-data.js';
import { frameworkTables } from '../../src/shared/catalogue.js';
import { createTestKluis } from '../dialects.js';

const moduleRoot = join(import.meta.dirname, '..', '..', 'src', 'modules');

/** Query sites that name a table: builder calls, sql.table/sql.ref, and keywords in raw SQL. */
const patterns = [
  /\b(?:selectFrom|insertInto|updateTable|deleteFrom|replaceInto|mergeInto|innerJoin|leftJoin|rightJoin|fullJoin)\(\s*['"`]([a-z_][a-z0-9_]*)/g,
  /\bsql\.(?:table|ref|id)\(\s*['"`]([a-z_][a-z0-9_]*)/g,
  /\b(?:from|join|into|update|exists \(select 1 from)\s+([a-z_][a-z0-9_]*)\b/g,
];

function sourcesOf(folder: string): { file: string; text: string }[] {
  return readdirSync(join(moduleRoot, folder))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('-schema.ts'))
    .map((f) => ({ file: `${folder}/${f}`, text: readFileSync(join(moduleRoot, folder, f), 'utf8') }));
}

/** Every `table` a file's queries name, with how often. */
function tablesNamed(text: string, known: ReadonlySet<string>): Map<string, number> {
  const out = new Map<string, number>();
  for (const pattern of patterns) {
    for (const match of text.matchAll(pattern)) {
      const table = match[1] ?? '';
      if (known.has(table)) out.set(table, (out.get(table) ?? 0) + 1);
    }
  }
  return out;
}

/**
 * What still crosses a module's line, as `module → table (owner): count`: being moved into the
 * owners' services and personal-data providers. It may only shrink, and ends empty.
 */
const knownCrossings: Readonly<Record<string, number>> = {};

describe('table ownership', () => {
  const owners = tableOwners(modules);
  const known = new Set(owners.keys());

  it('gives every table of the migrated schema exactly one owning module', async () => {
    const kluis = await createTestKluis();
    try {
      const tables = (await kluis.db.introspection.getTables()).map((t) => t.name);
      const unowned = tables.filter((t) => !owners.has(t) && !frameworkTables.includes(t));
      expect(unowned).toEqual([]);
      expect([...owners.keys()].filter((t) => !tables.includes(t))).toEqual([]);
    } finally {
      await kluis.destroy();
    }
  });

  it('lets no module name another module’s table in a query', () => {
    const crossings: Record<string, number> = {};
    for (const m of modules) {
      for (const { text } of sourcesOf(m.name)) {
        for (const [table, n] of tablesNamed(text, known)) {
          const owner = owners.get(table);
          if (owner !== undefined && owner !== m.name) {
            const key = `${m.name} → ${table} (${owner})`;
            crossings[key] = (crossings[key] ?? 0) + n;
          }
        }
      }
    }
    expect(crossings).toEqual(knownCrossings);
  });

  it('lets every personal-data provider name only its own module’s tables', () => {
    for (const provider of personalDataOf(modules).all()) {
      const foreign = tablesNamedBy(provider).filter((t) => owners.get(t) !== provider.module);
      expect(foreign, provider.module).toEqual([]);
    }
  });

  it('refuses a provider that names another module’s table (the check itself works)', () => {
    const intruder: AnyModule = {
      name: 'intruder',
      tables: [],
      personalData: { module: 'intruder', notLinked: { relations: 'not ours, but claimed anyway' } },
    };
    expect(() => personalDataOf([...modules, intruder])).toThrow(/intruder names relations/);
  });

  it('finds the tables a query names (the check itself works)', () => {
    const text =
      "db.selectFrom('relations').innerJoin('data_subjects', 'a', 'b'); sql`select 1 from audit_log`";
    expect([...tablesNamed(text, known).keys()].sort()).toEqual(['audit_log', 'data_subjects', 'relations']);
  });
});
