/**
 * A tenant's own settings, kept by its owners and admins (`settings.manage`, P7 self-service): the
 * name its pages show, its languages, its terms link, its contact and privacy addresses, and its
 * retention periods within the legal bounds. Nothing new is stored here: the name, link and
 * addresses are the register's settings (what the statement says), the periods are the retention
 * module's policies (bounds enforced there), the languages are the tenant's profile. One save is
 * one transaction: a period out of bounds leaves every setting as it was.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { DB } from '../../db/schema.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError, isAppError } from '../../shared/errors.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import { assertCan } from '../../shared/permissions.js';
import type { OrgsService } from '../orgs/index.js';
import type { RegisterService } from '../register/index.js';
import type { RetentionService } from '../retention/index.js';
import { createTenantsRepository } from './tenants-repository.js';
import { tenantLanguages } from './tenants-schema.js';

export interface RetentionSetting {
  readonly id: string;
  readonly value: number;
  readonly unit: 'days' | 'months';
  readonly legalMin: number;
  readonly legalMax: number;
  /** Set by the installation's configuration: shown, not editable. */
  readonly configured: boolean;
}

export interface TenantSettingsView {
  readonly legalName: string;
  readonly displayName: string;
  readonly languages: readonly string[];
  readonly termsUrl: string;
  readonly contactEmail: string;
  readonly privacyEmail: string;
  readonly retention: readonly RetentionSetting[];
}

export const tenantSettingsInput = z.object({
  displayName: z.string().default(''),
  termsUrl: z.string().default(''),
  contactEmail: z.string().default(''),
  privacyEmail: z.string().default(''),
  languages: z
    .array(z.enum(tenantLanguages, { message: 'field.invalid' }))
    .min(1, { message: 'tenants.settings.languagesRequired' }),
  /** New periods by policy id (only those given are changed). */
  retention: z.record(z.string(), z.number()).default({}),
});
export type TenantSettingsInput = z.input<typeof tenantSettingsInput>;

export interface TenantSettingsDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly orgs: OrgsService;
  readonly register: RegisterService;
  readonly retention: RetentionService;
}

/** The tenant's own owners and admins, in their own org and not under a grant; anyone else: 404. */
function assertOwnSettings(actor: Actor): void {
  const underGrant = actor.kind === 'user' && actor.grantId !== undefined;
  if (actor.orgKind !== 'tenant' || underGrant) {
    throw new AppError('ERR_NOT_FOUND', { message: 'a tenant’s own settings' });
  }
  assertCan(actor, 'settings.manage');
}

/** The form field of a retention policy's period. */
export const retentionField = (policyId: string) => `retention_${policyId}`;

export function createTenantSettings(deps: TenantSettingsDeps) {
  const { db, clock, orgs, register, retention } = deps;

  async function view(actor: Actor): Promise<TenantSettingsView> {
    const { orgId } = actor;
    const org = await orgs.getById(orgId);
    const profile = await createTenantsRepository(db).findProfile(orgId);
    const { settings } = await register.getSettings({ actor });
    const policies = await retention.policiesOf(orgId);
    return {
      legalName: org.name,
      displayName: settings.displayName,
      languages:
        profile === undefined
          ? ['nl']
          : z.array(z.string()).catch(['nl']).parse(JSON.parse(profile.languages)),
      termsUrl: settings.termsUrl,
      contactEmail: settings.contactEmail,
      privacyEmail: settings.privacyEmail,
      retention: Object.values(policies).map((p) => ({
        id: p.id,
        value: p.value,
        unit: p.unit,
        legalMin: p.legalMin,
        legalMax: p.legalMax,
        configured: p.configured,
      })),
    };
  }

  return {
    /** The tenant's settings as its owners and admins edit them. */
    async ownSettings(actor: Actor): Promise<TenantSettingsView> {
      assertOwnSettings(actor);
      return view(actor);
    },

    /** Saves the tenant's settings in one transaction; any refusal leaves all of them unchanged. */
    async updateOwnSettings(actor: Actor, values: TenantSettingsInput): Promise<void> {
      assertOwnSettings(actor);
      const v = parseOrThrow(tenantSettingsInput, values);
      const current = await view(actor);
      const changed = current.retention.filter((p) => {
        const wanted = v.retention[p.id];
        return wanted !== undefined && wanted !== p.value;
      });
      const now = clock.now().toISOString();
      await db.transaction().execute(async (trx) => {
        await register.updateOrgSettingsIn(trx, {
          actor,
          values: {
            displayName: v.displayName,
            termsUrl: v.termsUrl,
            contactEmail: v.contactEmail,
            privacyEmail: v.privacyEmail,
          },
        });
        const profiles = createTenantsRepository(trx);
        const languages = JSON.stringify(tenantLanguages.filter((l) => v.languages.includes(l)));
        if ((await profiles.findProfile(actor.orgId)) === undefined) {
          // A tenant made before onboarding existed (or by other code) has no profile yet.
          await profiles.insertProfile({
            org_id: actor.orgId,
            kvk: null,
            country: 'NL',
            languages,
            agreement_kind: null,
            agreement_id: null,
            agreement_version: null,
            created_at: now,
            updated_at: now,
          });
        } else {
          await profiles.updateProfile(actor.orgId, { languages, updated_at: now });
        }
        for (const p of changed) {
          const value = v.retention[p.id] ?? p.value;
          try {
            await retention.updatePolicyIn(trx, actor, p.id, value);
          } catch (error) {
            // The retention module names its one field `value`; this form has one per policy.
            if (!isAppError(error) || error.fields === undefined) throw error;
            throw new AppError(error.code, {
              message: error.message,
              fields: { [retentionField(p.id)]: error.fields.value ?? 'field.invalid' },
              cause: error,
            });
          }
        }
      });
    },
  };
}

export type TenantSettings = ReturnType<typeof createTenantSettings>;
