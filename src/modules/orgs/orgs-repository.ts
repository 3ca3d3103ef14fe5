import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { OrgKind } from '../../shared/actor.js';
import { AppError, notFound } from '../../shared/errors.js';
import type { Mailbox, OrgAddressesTable, OrgHostsTable, OrgStatus, OrgsTable } from './orgs-schema.js';

export type Org = OrgsTable;
export type OrgHost = OrgHostsTable;
export type OrgAddress = OrgAddressesTable;

/** A host name as stored and compared: lower case, no port, no trailing dot. */
export function normaliseHost(host: string): string {
  const trimmed = host.trim().toLowerCase();
  const withoutPort = trimmed.startsWith('[')
    ? trimmed.replace(/\]:\d+$/, ']')
    : trimmed.replace(/:\d+$/, '');
  return withoutPort.replace(/\.$/, '');
}

/** Organisations are the tenancy boundary itself, so this table is not org-scoped. */
export function createOrgsRepository(db: Kysely<DB>) {
  return {
    async insert(input: {
      kind: OrgKind;
      name: string;
      slug: string;
      now: string;
      status?: OrgStatus;
      requireTotp?: boolean;
    }): Promise<Org> {
      const row: Org = {
        id: randomUUID(),
        kind: input.kind,
        name: input.name,
        slug: input.slug,
        created_at: input.now,
        status: input.status ?? 'active',
        require_totp: input.requireTotp ? 1 : 0,
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
    /**
     * The operator, by the partial index `orgs_one_operator` (every public page of the operator
     * asks). A literal, not a bound value: SQLite can only use a partial index for `kind = ?` by
     * looking at the bound value, and then prepares the statement again every time it runs
     * (bench/contact: ~2× the cost of the look-up itself).
     */
    findOperator(): Promise<Org | undefined> {
      return db.selectFrom('orgs').selectAll().where('kind', '=', sql.lit('operator')).executeTakeFirst();
    },
    list(): Promise<Org[]> {
      return db.selectFrom('orgs').selectAll().orderBy('created_at').orderBy('id').execute();
    },
    async setStatus(id: string, status: OrgStatus): Promise<void> {
      await db.updateTable('orgs').set({ status }).where('id', '=', id).execute();
    },
    async setRequireTotp(id: string, required: boolean): Promise<void> {
      await db
        .updateTable('orgs')
        .set({ require_totp: required ? 1 : 0 })
        .where('id', '=', id)
        .execute();
    },

    /** The organisation a host name was assigned to (exact, normalised match only). */
    async orgOfHost(host: string): Promise<Org | undefined> {
      return db
        .selectFrom('org_hosts')
        .innerJoin('orgs', 'orgs.id', 'org_hosts.org_id')
        .selectAll('orgs')
        .where('org_hosts.host', '=', normaliseHost(host))
        .executeTakeFirst();
    },
    listHosts(orgId: string): Promise<OrgHost[]> {
      return db.selectFrom('org_hosts').selectAll().where('org_id', '=', orgId).orderBy('host').execute();
    },
    async insertHost(row: OrgHost): Promise<void> {
      try {
        await db.insertInto('org_hosts').values(row).execute();
      } catch (cause) {
        throw new AppError('ERR_CONFLICT', { message: 'host name already assigned', cause });
      }
    },
    async deleteHost(orgId: string, host: string): Promise<boolean> {
      const result = await db
        .deleteFrom('org_hosts')
        .where('org_id', '=', orgId)
        .where('host', '=', normaliseHost(host))
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    /** The organisation and mailbox of an inbound address (exact, lower-cased match only). */
    findAddress(address: string): Promise<OrgAddress | undefined> {
      return db
        .selectFrom('org_addresses')
        .selectAll()
        .where('address', '=', address.trim().toLowerCase())
        .executeTakeFirst();
    },
    listAddresses(orgId: string): Promise<OrgAddress[]> {
      return db
        .selectFrom('org_addresses')
        .selectAll()
        .where('org_id', '=', orgId)
        .orderBy('address')
        .execute();
    },
    async insertAddress(row: OrgAddress): Promise<void> {
      try {
        await db.insertInto('org_addresses').values(row).execute();
      } catch (cause) {
        throw new AppError('ERR_CONFLICT', { message: 'address already assigned', cause });
      }
    },
    async deleteAddress(orgId: string, address: string): Promise<boolean> {
      const result = await db
        .deleteFrom('org_addresses')
        .where('org_id', '=', orgId)
        .where('address', '=', address.trim().toLowerCase())
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}

export type { Mailbox, OrgStatus };
export type OrgsRepository = ReturnType<typeof createOrgsRepository>;
