/**
 * The organisations as the register and the statement see them: their id, kind, name and slug,
 * and the paths of their public pages. Read through the orgs module (its repository, until that
 * module offers a service): this file is the register's one door to the `orgs` table.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { OrgKind } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import type { Locale } from '../../shared/i18n/messages.js';
import { createOrgsRepository, type Org } from '../orgs/index.js';

export interface OrgInfo {
  readonly id: string;
  readonly kind: OrgKind;
  readonly name: string;
  readonly slug: string;
}

function toInfo(org: Org): OrgInfo {
  return { id: org.id, kind: org.kind, name: org.name, slug: org.slug };
}

export function createOrgDirectory(db: Kysely<DB>): OrgDirectory {
  const orgs = createOrgsRepository(db);
  return {
    /** The same directory read within `conn` (a caller's transaction: SQLite has one connection). */
    within: (conn: Kysely<DB>) => createOrgDirectory(conn),

    /** The org of `orgId`; a 404 when there is none. */
    async get(orgId: string): Promise<OrgInfo> {
      const org = await orgs.findById(orgId);
      if (org === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'org not found' });
      return toInfo(org);
    },

    /** The org whose public pages live at `slug` (the operator's when `slug` is undefined). */
    async findPublic(slug: string | undefined): Promise<OrgInfo | undefined> {
      const org = slug === undefined ? await orgs.findOperator() : await orgs.findBySlug(slug);
      return org === undefined ? undefined : toInfo(org);
    },

    /** Every organisation: the operator and all tenants. */
    async list(): Promise<OrgInfo[]> {
      return (await orgs.list()).map(toInfo);
    },
  };
}

export interface OrgDirectory {
  within(conn: Kysely<DB>): OrgDirectory;
  get(orgId: string): Promise<OrgInfo>;
  findPublic(slug: string | undefined): Promise<OrgInfo | undefined>;
  list(): Promise<OrgInfo[]>;
}

/** A public page of the org in `locale`: `/en` for English, `/o/<slug>` for a tenant. */
export function publicPath(org: Pick<OrgInfo, 'kind' | 'slug'>, locale: Locale, page: string): string {
  const site = org.kind === 'operator' ? '' : `/o/${encodeURIComponent(org.slug)}`;
  return `${locale === 'en' ? '/en' : ''}${site}${page}`;
}
