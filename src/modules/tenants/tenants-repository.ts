/** Tenant profiles (`tenant_profiles`): one row per onboarded tenant, keyed by its org id. */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { TenantProfilesTable } from './tenants-schema.js';

export type TenantProfileRow = TenantProfilesTable;

/** Profiles describe companies (tenants), read by the operator: keyed by org id, not org-scoped. */
export function createTenantsRepository(db: Kysely<DB>) {
  return {
    async insertProfile(row: TenantProfileRow): Promise<void> {
      await db.insertInto('tenant_profiles').values(row).execute();
    },
    findProfile(orgId: string): Promise<TenantProfileRow | undefined> {
      return db.selectFrom('tenant_profiles').selectAll().where('org_id', '=', orgId).executeTakeFirst();
    },
    listProfiles(): Promise<TenantProfileRow[]> {
      return db.selectFrom('tenant_profiles').selectAll().execute();
    },
    async updateProfile(
      orgId: string,
      patch: Partial<Omit<TenantProfileRow, 'org_id' | 'created_at'>>,
    ): Promise<void> {
      await db.updateTable('tenant_profiles').set(patch).where('org_id', '=', orgId).execute();
    },
  };
}
