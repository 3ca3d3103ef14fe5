/**
 * Organisations as other modules reach them: the operator and its tenants (P8). The orgs table
 * is the tenancy boundary itself, so these look-ups are not org-scoped; they return what any
 * module may know of an organisation (kind, name, slug), never anything of its data.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { OrgKind } from '../../shared/actor.js';
import { createOrgsRepository, type Org } from './orgs-repository.js';

export function createOrgsService(deps: { readonly db: Kysely<DB> }) {
  const repo = createOrgsRepository(deps.db);
  /**
   * Kinds by org id, kept for the life of the process: an organisation's kind is fixed when it is
   * created (nothing updates it, and ids are never reused), so an entry can never go stale. The
   * session look-up of every request needs the kind; this spares it a join with `orgs`.
   */
  const kinds = new Map<string, OrgKind>();

  return {
    findById: repo.findById,
    /** The organisation, or ERR_NOT_FOUND. */
    getById: repo.getById,
    findBySlug: repo.findBySlug,
    findOperator: repo.findOperator,
    /** The operator, read within `db` (a caller's transaction: SQLite has one connection). */
    findOperatorIn: (db: Kysely<DB>) => createOrgsRepository(db).findOperator(),
    /** Every organisation, oldest first. */
    list: repo.list,
    /** Creates an organisation (ERR_CONFLICT when the slug is taken or an operator exists). */
    insert: repo.insert,
    /** The kind of an existing organisation (ERR_NOT_FOUND for an unknown id). */
    async kindOf(orgId: string): Promise<OrgKind> {
      const known = kinds.get(orgId);
      if (known !== undefined) return known;
      const { kind } = await repo.getById(orgId);
      kinds.set(orgId, kind);
      return kind;
    },
  };
}

export type OrgsService = ReturnType<typeof createOrgsService>;
export type { Org };
