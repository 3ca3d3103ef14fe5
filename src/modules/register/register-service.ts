/**
 * The processing register (P5, Art. 30), sub-processors (P14) and processor agreements (Art. 28),
 * per organisation. Keeps P5 by construction: activities are DERIVED from the field catalogue
 * (one per purpose); the privacy officer only completes what the code cannot know (descriptions,
 * recipients, transfers, measures). Keeps P14: sub-processors are on record with their
 * agreement, and every addition or change by the operator is mailed to everyone in each tenant
 * who may read its register, through the job queue, in the same transaction as the change.
 *
 * Permissions: `register.edit` changes, `register.read` views. Another org's record is a 404.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Config } from '../../config/env.js';
import type { Keyring } from '../../crypto/keyring.js';
import type { DB } from '../../db/schema.js';
import { inTransaction } from '../../db/transaction.js';
import { type Actor, scopeOf } from '../../shared/actor.js';
import {
  type CatalogueField,
  fieldCatalogue,
  type Protection,
  type RetentionPolicyId,
} from '../../shared/catalogue.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import { assertCan } from '../../shared/permissions.js';
import type { KluisServices } from '../module.js';
import { createAgreementsService } from './register-agreements.js';
import type { UserDirectory } from './register-announce.js';
import {
  type DerivedActivity,
  type DerivedCategory,
  deriveActivities,
  deriveCategories,
  usedProtections,
  usedRetentionPolicies,
} from './register-derive.js';
import { createEgressService, type EgressDecision } from './register-egress.js';
import { createFactsCache, type RegisterFacts } from './register-facts.js';
import { createNoticeService } from './register-notice.js';
import { createOrgDirectory, type OrgDirectory, type OrgInfo } from './register-orgs.js';
import { createRegisterRepository } from './register-repository.js';
import {
  channels,
  type OrgSettingsInput,
  orgSettingsInput,
  type RegisterSettings,
  type SettingsInput,
  settingsFrom,
  settingsInput,
} from './register-settings.js';
import { createSubprocessorsService, type Subprocessor } from './register-subprocessors.js';

export interface ProcessingActivity extends DerivedActivity {
  readonly description: string;
  /** Free-text recipients besides the sub-processors. */
  readonly recipients: string;
  /** Free-text transfers besides the sub-processors outside the EEA. */
  readonly transfers: string;
  readonly securityMeasures: string;
  /** Active sub-processors that handle at least one of this activity's categories. */
  readonly subprocessors: readonly Subprocessor[];
  readonly updatedAt: string | null;
}

/** Everything the register page, the exports and the statement are made from. */
export interface RegisterSnapshot {
  readonly org: OrgInfo;
  readonly settings: RegisterSettings;
  readonly activities: readonly ProcessingActivity[];
  readonly categories: readonly DerivedCategory[];
  readonly subprocessors: readonly Subprocessor[];
  readonly retentionPolicies: readonly RetentionPolicyId[];
  readonly protections: readonly Protection[];
  /** Where data may leave to (P14): the statement's recipients section is made from it. */
  readonly egress: readonly EgressDecision[];
}

/** An org's public pages: which org, and the name its register publishes. */
export interface PublicOrg {
  readonly org: OrgInfo;
  readonly name: string;
}

export const activityInput = z.object({
  description: z.string().trim().max(5000, { message: 'field.tooLong' }).default(''),
  recipients: z.string().trim().max(2000, { message: 'field.tooLong' }).default(''),
  transfers: z.string().trim().max(2000, { message: 'field.tooLong' }).default(''),
  securityMeasures: z.string().trim().max(2000, { message: 'field.tooLong' }).default(''),
});
export type ActivityInput = z.input<typeof activityInput>;

export interface RegisterDeps {
  db: Kysely<DB>;
  clock: Clock;
  keyring: Pick<Keyring, 'encryptForOrg' | 'decryptForOrg' | 'encryptForSubject'>;
  config: Pick<Config, 'publicOrigin' | 'subprocessorNoticeDays' | 'env'>;
  /** Staff of tenant orgs, for sub-processor announcements (the auth service). */
  users: UserDirectory;
  audit: Pick<KluisServices['audit'], 'append'>;
  /** The outgoing SMTP relay's URL (the egress list and the statement's recipients name it). */
  relay?: string;
  /** The catalogue's fields; tests pass an extended list to see the register follow it. */
  fields?: readonly CatalogueField[];
}

/**
 * The part of the settings an organisation's owners and admins keep themselves
 * (`settings.manage`): the name its pages show, the terms link, the contact and privacy addresses.
 * The rest (postal address, phone, website, channels) is kept as it was.
 */
async function updateOrgSettingsIn(
  deps: { clock: Clock; audit: RegisterDeps['audit']; orgs: OrgDirectory },
  conn: Kysely<DB>,
  input: { actor: Actor; values: OrgSettingsInput },
): Promise<void> {
  const { clock, audit, orgs } = deps;
  assertCan(input.actor, 'settings.manage');
  const v = parseOrThrow(orgSettingsInput, input.values);
  const repo = createRegisterRepository(conn);
  const current = settingsFrom(
    await orgs.within(conn).get(input.actor.orgId),
    await repo.findSettings(scopeOf(input.actor)),
  );
  await inTransaction(conn, async (trx) => {
    await createRegisterRepository(trx).upsertSettings(scopeOf(input.actor), {
      display_name: v.displayName === '' ? null : v.displayName,
      contact_address: current.contactAddress,
      contact_email: v.contactEmail,
      privacy_email: v.privacyEmail,
      phone: current.phone,
      website: current.website,
      terms_url: v.termsUrl,
      channels: JSON.stringify(current.channels),
      updated_at: clock.now().toISOString(),
    });
    await audit.append(trx, {
      actor: input.actor,
      action: 'register.settings.update',
      target: { type: 'org', id: input.actor.orgId },
      meta: { part: 'organisation' },
    });
  });
}

export function createRegisterService(deps: RegisterDeps) {
  const { db, clock, audit } = deps;
  const fields = deps.fields ?? fieldCatalogue().fields;
  const orgs = createOrgDirectory(db);

  async function settingsOf(org: OrgInfo): Promise<RegisterSettings> {
    return settingsFrom(org, await createRegisterRepository(db).findSettings({ orgId: org.id }));
  }

  const subprocessors = createSubprocessorsService({ ...deps, orgs, settingsOf });
  const agreements = createAgreementsService({ ...deps, orgs });
  const egress = createEgressService({ ...deps, orgs, listOf: subprocessors.listOf });
  const notices = createNoticeService(
    { ...deps, orgs, settingsOf, noticeDays: deps.config.subprocessorNoticeDays },
    subprocessors.listOf,
  );

  /** The organisation, its settings, activities and sub-processors, read from the database. */
  async function readFacts(orgId: string): Promise<RegisterFacts> {
    const org = await orgs.get(orgId);
    const settings = await settingsOf(org);
    const stored = new Map(
      (await createRegisterRepository(db).listActivities({ orgId })).map((a) => [a.purpose, a]),
    );
    const allSubprocessors = await subprocessors.listOf(orgId);
    const active = allSubprocessors.filter((s) => s.status === 'active');
    const activities = deriveActivities(fields).map((derived): ProcessingActivity => {
      const row = stored.get(derived.purpose);
      return {
        ...derived,
        description: row?.description ?? '',
        recipients: row?.recipients ?? '',
        transfers: row?.transfers ?? '',
        securityMeasures: row?.security_measures ?? '',
        subprocessors: active.filter((s) => s.dataCategories.some((c) => derived.categories.includes(c))),
        updatedAt: row?.updated_at ?? null,
      };
    });
    return { org, settings, activities, subprocessors: allSubprocessors };
  }

  const facts = createFactsCache(db, readFacts);

  /** The register of `orgId` as data (no permission check: callers check, or it is for a public page). */
  async function snapshotOf(orgId: string): Promise<RegisterSnapshot> {
    return {
      ...(await readFacts(orgId)),
      categories: deriveCategories(fields),
      retentionPolicies: usedRetentionPolicies(fields),
      protections: usedProtections(fields),
      egress: await egress.egressList(orgId, deps.relay),
    };
  }

  return {
    catalogue: fields,
    snapshotOf,
    /** What a subject's access export needs of the register, kept until it changes (register-facts.ts). */
    factsOf: facts.factsOf,
    /** How often `factsOf` read the database (tests of its cache). */
    factsFills: facts.fills,
    /** The egress registry (P14): who may receive data, checked before every send. */
    egress,

    /** The org whose public pages live at `slug` (the operator's without one), with its published name. */
    async findPublicOrg(slug: string | undefined): Promise<PublicOrg | undefined> {
      const org = await orgs.findPublic(slug);
      return org === undefined ? undefined : { org, name: (await settingsOf(org)).name };
    },

    /** The actor's register. */
    async getRegister(input: { actor: Actor }): Promise<RegisterSnapshot> {
      assertCan(input.actor, 'register.read');
      return snapshotOf(input.actor.orgId);
    },

    async getSettings(input: { actor: Actor }): Promise<{ org: OrgInfo; settings: RegisterSettings }> {
      assertCan(input.actor, 'register.read');
      const org = await orgs.get(input.actor.orgId);
      return { org, settings: await settingsOf(org) };
    },

    /**
     * The part of the settings an organisation's owners and admins keep themselves
     * (`settings.manage`), within `conn` (a caller's transaction, or `db` for a new one).
     */
    updateOrgSettingsIn: (conn: Kysely<DB>, input: { actor: Actor; values: OrgSettingsInput }) =>
      updateOrgSettingsIn({ clock, audit, orgs }, conn, input),

    /** Who we are, as the statement says it. */
    async updateSettings(input: { actor: Actor; values: SettingsInput }): Promise<void> {
      assertCan(input.actor, 'register.edit');
      const v = parseOrThrow(settingsInput, input.values);
      await db.transaction().execute(async (trx) => {
        await createRegisterRepository(trx).upsertSettings(scopeOf(input.actor), {
          display_name: v.displayName === '' ? null : v.displayName,
          contact_address: v.contactAddress,
          contact_email: v.contactEmail,
          privacy_email: v.privacyEmail,
          phone: v.phone,
          website: v.website,
          terms_url: v.termsUrl,
          channels: JSON.stringify(channels.filter((c) => v.channels.includes(c))),
          updated_at: clock.now().toISOString(),
        });
        await audit.append(trx, {
          actor: input.actor,
          action: 'register.settings.update',
          target: { type: 'org', id: input.actor.orgId },
        });
      });
    },

    /** Completes the activity of `purpose` (which must be one the catalogue derives). */
    async updateActivity(input: { actor: Actor; purpose: string; values: ActivityInput }): Promise<void> {
      assertCan(input.actor, 'register.edit');
      const derived = deriveActivities(fields).find((a) => a.purpose === input.purpose);
      if (derived === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'no such activity' });
      const v = parseOrThrow(activityInput, input.values);
      await db.transaction().execute(async (trx) => {
        const repo = createRegisterRepository(trx);
        const existing = (await repo.listActivities(scopeOf(input.actor))).find(
          (a) => a.purpose === derived.purpose,
        );
        const id = existing?.id ?? crypto.randomUUID();
        await repo.upsertActivity(scopeOf(input.actor), {
          id,
          purpose: derived.purpose,
          description: v.description,
          recipients: v.recipients,
          transfers: v.transfers,
          security_measures: v.securityMeasures,
          updated_at: clock.now().toISOString(),
        });
        await audit.append(trx, {
          actor: input.actor,
          action: 'register.activity.update',
          target: { type: 'processing_activity', id },
          meta: { purpose: derived.purpose },
        });
      });
    },

    ...subprocessors.useCases,
    ...notices,
    ...agreements,
  };
}

export type RegisterService = ReturnType<typeof createRegisterService>;
