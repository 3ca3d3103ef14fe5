/**
 * The providers keep up with the catalogue: every personal field under a policy the engine runs
 * is removed by some provider's target, and every table that references data subjects keeps them
 * alive or says why not. A module that adds a field or a `subject_id` column without telling the
 * engine (through its personal-data provider) fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { fieldCatalogue } from '../../shared/catalogue.js';
import { isMessageKey } from '../../shared/i18n/messages.js';
import { installedPersonalData } from '../personal-data.js';
import { isManagedPolicy } from './retention-policies.js';
import { retentionCategories, subjectReferencesOf, sweepTargets } from './retention-registry.js';

const providers = () => installedPersonalData().all();

describe('the retention registry', () => {
  let kluis: TestKluis;
  let columns: { table: string; column: string }[];
  beforeAll(async () => {
    kluis = await createTestKluis();
    columns = (await kluis.db.introspection.getTables()).flatMap((t) =>
      t.columns.map((c) => ({ table: t.name, column: c.name })),
    );
  });
  afterAll(async () => {
    await kluis.destroy();
  });

  it('removes every catalogue field whose policy the engine runs (access log aside: its own sweep)', () => {
    const covered = new Set(sweepTargets(providers()).flatMap((t) => t.covers));
    const missing = fieldCatalogue()
      .fields.filter((f) => isManagedPolicy(f.retention) && f.retention !== 'access_log')
      .map((f) => `${f.table}.${f.column}`)
      .filter((name) => !covered.has(name));
    expect(missing).toEqual([]);
    // ... and claims nothing the catalogue does not know.
    const known = new Set(fieldCatalogue().fields.map((f) => `${f.table}.${f.column}`));
    expect([...covered].filter((c) => !known.has(c))).toEqual([]);
  });

  it('knows every table that references data subjects, so no subject is erased while data about it remains', () => {
    const known = new Set([
      ...subjectReferencesOf(providers()).map((r) => r.table),
      ...providers().flatMap((p) => Object.keys(p.notReferencing ?? {})),
    ]);
    const referencing = columns
      .filter((c) => c.column === 'subject_id' && !known.has(c.table))
      .map((c) => c.table);
    expect(referencing).toEqual([]);
  });

  it('has unique target ids, each with a label in both languages', () => {
    const categories = retentionCategories(providers());
    expect(new Set(categories).size).toBe(categories.length);
    for (const id of categories) expect(isMessageKey(`retention.category.${id}`), id).toBe(true);
  });

  it('runs records before the subjects they free, whatever the module order', () => {
    const phases = sweepTargets(providers()).map((t) => t.phase);
    expect(phases.indexOf('subjects')).toBeGreaterThan(phases.lastIndexOf('records'));
    expect(sweepTargets(providers()).at(-1)?.id).toBe('subjects.erase');
  });
});
