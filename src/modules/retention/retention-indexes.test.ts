/**
 * Sweeps delete rows from other modules' tables in bulk (P6). For every deleted row the database
 * checks each foreign key that references the row's table, looking child rows up by the
 * referencing column alone; without an index led by that column each check scans the whole child
 * table, and a sweep turns quadratic. This test reads the real schema (after every migration) on
 * each dialect and names any such foreign key without an index.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis, testDialect } from '../../../test/dialects.js';

/** Tables retention targets delete rows from (directly or as a record's children). */
const sweptTables = [
  'conversations',
  'conversation_entries',
  'conversation_attachments',
  'inbound_quarantine',
  'relations',
  'relation_contacts',
  'relation_addresses',
  'relation_agreements',
  'relation_agreement_documents',
  'relation_mandates',
  'relation_collections',
  'retention_restrictions',
];

interface ForeignKey {
  readonly child: string;
  readonly column: string;
  readonly parent: string;
  readonly indexed: boolean;
}

async function foreignKeys(kluis: TestKluis): Promise<ForeignKey[]> {
  if (testDialect === 'postgres') {
    const result = await sql<ForeignKey>`
      select child.relname as child, a.attname as column, parent.relname as parent,
        exists (select 1 from pg_index i where i.indrelid = c.conrelid and i.indkey[0] = c.conkey[1]) as indexed
      from pg_constraint c
      join pg_class child on child.oid = c.conrelid
      join pg_class parent on parent.oid = c.confrelid
      join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
      where c.contype = 'f' and c.connamespace = current_schema()::regnamespace`.execute(kluis.db);
    return result.rows;
  }
  const tables = await sql<{ name: string }>`
    select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(kluis.db);
  const out: ForeignKey[] = [];
  for (const { name } of tables.rows) {
    const fks = await sql<{ table: string; from: string }>`
      select "table", "from" from pragma_foreign_key_list(${name})`.execute(kluis.db);
    const leading = await sql<{ column: string }>`
      select ii.name as "column" from pragma_index_list(${name}) il
      join pragma_index_info(il.name) ii on ii.seqno = 0`.execute(kluis.db);
    const indexed = new Set(leading.rows.map((r) => r.column));
    for (const fk of fks.rows) {
      out.push({ child: name, column: fk.from, parent: fk.table, indexed: indexed.has(fk.from) });
    }
  }
  return out;
}

describe('indexes the sweeps rely on', () => {
  let kluis: TestKluis;
  beforeAll(async () => {
    kluis = await createTestKluis();
  });
  afterAll(async () => {
    await kluis.destroy();
  });

  it('has an index led by the referencing column for every foreign key into a table sweeps delete from', async () => {
    const fks = await foreignKeys(kluis);
    const intoSwept = fks.filter((fk) => sweptTables.includes(fk.parent));
    // The schema has such keys (a positive control: the query reads the catalogue it should).
    expect(intoSwept.map((fk) => `${fk.child}.${fk.column}`)).toEqual(
      expect.arrayContaining([
        'conversation_attachments.entry_id',
        'relation_collections.mandate_id',
        'relation_mandates.relation_id',
      ]),
    );
    const missing = intoSwept.filter((fk) => !fk.indexed).map((fk) => `${fk.child}.${fk.column}`);
    expect(missing).toEqual([]);
  });
});
