import { type Migration, sql } from 'kysely';
import type { OrgKind } from '../../shared/actor.js';

/** A tenant's standing: only an active organisation serves pages, mail and sign-ins. */
export const orgStatuses = ['pending', 'active', 'suspended', 'offboarding', 'offboarded'] as const;
export type OrgStatus = (typeof orgStatuses)[number];

export interface OrgsTable {
  id: string;
  kind: OrgKind;
  name: string;
  slug: string;
  created_at: string;
  status: OrgStatus;
  /** 1: every staff user of the org must use TOTP (tenants onboarded through `kluis tenant create`). */
  require_totp: number;
}

/** Host names the operator assigned to an organisation's public pages (Host header → org). */
export interface OrgHostsTable {
  host: string;
  org_id: string;
  created_at: string;
}

export const mailboxes = ['contact', 'privacy'] as const;
export type Mailbox = (typeof mailboxes)[number];

/** Inbound addresses the operator configured for an organisation: recipient → org and mailbox. */
export interface OrgAddressesTable {
  address: string;
  org_id: string;
  mailbox: Mailbox;
  created_at: string;
}

export interface OrgsTables {
  orgs: OrgsTable;
  org_hosts: OrgHostsTable;
  org_addresses: OrgAddressesTable;
}

const list = (values: readonly string[]) => sql.join(values.map((v) => sql.lit(v)));

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
  '0002_orgs_tenancy': {
    async up(db) {
      await db.schema
        .alterTable('orgs')
        .addColumn('status', 'text', (c) =>
          c
            .notNull()
            .defaultTo('active')
            .check(sql`status in (${list(orgStatuses)})`),
        )
        .execute();
      await db.schema
        .alterTable('orgs')
        .addColumn('require_totp', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable('org_hosts')
        .addColumn('host', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('org_hosts_org').on('org_hosts').column('org_id').execute();
      await db.schema
        .createTable('org_addresses')
        .addColumn('address', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('mailbox', 'text', (c) => c.notNull().check(sql`mailbox in (${list(mailboxes)})`))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('org_addresses_org').on('org_addresses').column('org_id').execute();
    },
  },
};
