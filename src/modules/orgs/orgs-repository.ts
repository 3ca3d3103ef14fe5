import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { OrgKind } from '../../shared/actor.js';
import { AppError, notFound } from '../../shared/errors.js';
import type { OrgsTable } from './orgs-schema.js';

export type Org = OrgsTable;

/** Organisations are the tenancy boundary itself, so this table is not org-scoped. */
export function createOrgsRepository(db: Kysely<DB>) {
  return {
    async insert(input: { kind: OrgKind; name: string; slug: string; now: string }): Promise<Org> {
      const row: Org = {
        id: randomUUID(),
        kind: input.kind,
        name: input.name,
        slug: input.slug,
        created_at: input.now,
      };
      try {
        await db.insertInto('orgs').values(row).execute();
      } catch (cause) {
        throw new AppError('ERR_CONFLICT', {
          message: 'organisation slug or operator already exists',
          cause,
        });
      }
      return row;
    },
    findById(id: string): Promise<Org | undefined> {
      return db.selectFrom('orgs').selectAll().where('id', '=', id).executeTakeFirst();
    },
    getById(id: string): Promise<Org> {
      return db.selectFrom('orgs').selectAll().where('id', '=', id).executeTakeFirstOrThrow(notFound('org'));
    },
    findBySlug(slug: string): Promise<Org | undefined> {
      return db.selectFrom('orgs').selectAll().where('slug', '=', slug).executeTakeFirst();
    },
    findOperator(): Promise<Org | undefined> {
      return db.selectFrom('orgs').selectAll().where('kind', '=', 'operator').executeTakeFirst();
    },
    list(): Promise<Org[]> {
      return db.selectFrom('orgs').selectAll().orderBy('created_at').orderBy('id').execute();
    },
  };
}

export type OrgsRepository = ReturnType<typeof createOrgsRepository>;
