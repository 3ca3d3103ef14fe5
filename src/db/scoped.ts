/**
 * Looking up one row of an organisation's table by its id. Every such table carries `org_id`
 * (the tenancy boundary), and a lookup by id that forgot it would hand out another
 * organisation's row for a guessed or leaked id: written once here, repositories cannot forget.
 */
import { type Kysely, type Selectable, sql } from 'kysely';
import type { OrgScope } from '../shared/actor.js';
import type { DB } from './schema.js';

/** The tables with an `id` and an `org_id`: the rows that belong to one organisation. */
export type OrgTable = {
  [T in keyof DB]: DB[T] extends { readonly id: string; readonly org_id: string } ? T : never;
}[keyof DB];

/**
 * The row `id` of `table` if it belongs to the scope's organisation; another's is not found.
 * Written in SQL because Kysely's builder cannot type a `where` over a table left generic.
 */
export async function findInOrg<T extends OrgTable>(
  db: Kysely<DB>,
  table: T,
  scope: OrgScope,
  id: string,
): Promise<Selectable<DB[T]> | undefined> {
  const found = await sql<
    Selectable<DB[T]>
  >`select * from ${sql.table(table)} where org_id = ${scope.orgId} and id = ${id}`.execute(db);
  return found.rows[0];
}
