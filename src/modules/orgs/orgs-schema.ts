import { type Migration, sql } from 'kysely';
import type { OrgKind } from '../../shared/actor.js';

export interface OrgsTable {
  id: string;
  kind: OrgKind;
  name: string;
  slug: string;
  created_at: string;
}

export interface OrgsTables {
  orgs: OrgsTable;
}

export const orgsMigrations: Record<string, Migration> = {
  '0001_orgs': {
    async up(db) {
      await db.schema
        .createTable('orgs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('operator', 'tenant')`))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('slug', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      // Exactly one operator organisation.
      await db.schema
        .createIndex('orgs_one_operator')
        .on('orgs')
        .column('kind')
        .unique()
        .where('kind', '=', 'operator')
        .execute();
    },
  },
};
