import { type Migration, sql } from 'kysely';

/** The languages a tenant's pages and mail can use. */
export const tenantLanguages = ['nl', 'en'] as const;

export const agreementKinds = ['document', 'standard'] as const;
export type AgreementKind = (typeof agreementKinds)[number];

/**
 * What the operator records of a tenant at onboarding beyond the `orgs` row (slug, legal name,
 * status): company details and which processor agreement (Art. 28) it is active under. The
 * agreement itself is a client agreement in the operator's register (`processor_agreements`).
 */
export interface TenantProfilesTable {
  org_id: string;
  /** Chamber of Commerce (KvK) number, 8 digits, when given. */
  kvk: string | null;
  /** ISO 3166-1 alpha-2. */
  country: string;
  /** JSON list of the tenant's languages (`nl`, `en`). */
  languages: string;
  agreement_kind: AgreementKind | null;
  /** The client agreement in the operator's register. */
  agreement_id: string | null;
  agreement_version: string | null;
  created_at: string;
  updated_at: string;
}

export interface TenantsTables {
  tenant_profiles: TenantProfilesTable;
}

const list = (values: readonly string[]) => sql.join(values.map((v) => sql.lit(v)));

export const tenantsMigrations: Record<string, Migration> = {
  '0050_tenants_profiles': {
    async up(db) {
      await db.schema
        .createTable('tenant_profiles')
        .addColumn('org_id', 'text', (c) => c.primaryKey().references('orgs.id'))
        .addColumn('kvk', 'text')
        .addColumn('country', 'text', (c) => c.notNull())
        .addColumn('languages', 'text', (c) => c.notNull())
        .addColumn('agreement_kind', 'text', (c) => c.check(sql`agreement_kind in (${list(agreementKinds)})`))
        .addColumn('agreement_id', 'text')
        .addColumn('agreement_version', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
};
