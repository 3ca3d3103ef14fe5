/**
 * Organisations as other modules reach them: the operator and its tenants (P8). The orgs table
 * is the tenancy boundary itself, so these look-ups are not org-scoped; they return what any
 * module may know of an organisation (kind, name, slug), never anything of its data.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { DB } from '../../db/schema.js';
import type { OrgKind } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { createOrgsRepository, normaliseHost, type Org } from './orgs-repository.js';
import type { Mailbox, OrgStatus } from './orgs-schema.js';

/** A DNS host name (at least two labels, no port); IP addresses are not host names of a tenant. */
const hostName = z
  .string()
  .max(253)
  .regex(/^(?=.*[a-z])([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/);

/** Parses and normalises a host name for assignment; ERR_VALIDATION otherwise. */
export function parseHostName(host: string): string {
  const parsed = hostName.safeParse(normaliseHost(host));
  if (!parsed.success) {
    throw new AppError('ERR_VALIDATION', { message: 'not a host name', fields: { host: 'field.invalid' } });
  }
  return parsed.data;
}

/** Parses an inbound address for assignment (lower case); ERR_VALIDATION otherwise. */
export function parseInboundAddress(address: string): string {
  const parsed = z.email().max(254).safeParse(address.trim().toLowerCase());
  if (!parsed.success) {
    throw new AppError('ERR_VALIDATION', {
      message: 'not an email address',
      fields: { address: 'field.invalidEmail' },
    });
  }
  return parsed.data;
}

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
    /**
     * Creates an organisation (ERR_CONFLICT when the slug is taken or an operator exists); in the
     * caller's transaction when given one.
     */
    insert: (input: Parameters<typeof repo.insert>[0] & { db?: Kysely<DB> }): Promise<Org> =>
      (input.db === undefined ? repo : createOrgsRepository(input.db)).insert(input),
    setStatus: repo.setStatus,
    /** Sets the status within `db` (a caller's transaction: a tenant's onboarding). */
    setStatusIn: (db: Kysely<DB>, id: string, status: OrgStatus) =>
      createOrgsRepository(db).setStatus(id, status),
    setRequireTotp: repo.setRequireTotp,
    /** The organisation whose public pages a host name serves (configured names only). */
    orgOfHost: repo.orgOfHost,
    listHosts: repo.listHosts,
    /** Assigns a host name to an organisation (ERR_VALIDATION, ERR_CONFLICT when taken). */
    async addHost(orgId: string, host: string, now: string): Promise<string> {
      const name = parseHostName(host);
      await repo.insertHost({ host: name, org_id: orgId, created_at: now });
      return name;
    },
    removeHost: repo.deleteHost,
    /** The organisation and mailbox an inbound recipient address belongs to, if configured. */
    findAddress: repo.findAddress,
    listAddresses: repo.listAddresses,
    /** Assigns an inbound address to an organisation's mailbox (ERR_VALIDATION, ERR_CONFLICT). */
    async addAddress(orgId: string, address: string, mailbox: Mailbox, now: string): Promise<string> {
      const parsed = parseInboundAddress(address);
      await repo.insertAddress({ address: parsed, org_id: orgId, mailbox, created_at: now });
      return parsed;
    },
    removeAddress: repo.deleteAddress,
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
