/**
 * The processing register (P5, Art. 30), sub-processors (P14) and processor agreements (Art. 28),
 * per organisation. Keeps P5 by construction: activities are DERIVED from the field catalogue
 * (one per purpose); the privacy officer only completes what the code cannot know (descriptions,
 * recipients, transfers, measures). Keeps P14: sub-processors are on record with their
 * agreement, and every addition or change by the operator is mailed to every tenant's admins and
 * privacy officers through the job queue, in the same transaction as the change.
 *
 * Roles: the privacy officer edits; owners and admins may view. Another org's record is a 404.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Config } from '../../config/env.js';
import type { Keyring } from '../../crypto/keyring.js';
import type { DB } from '../../db/schema.js';
import { type Actor, type OrgKind, scopeOf } from '../../shared/actor.js';
import {
  type CatalogueField,
  fieldCatalogue,
  type Protection,
  type RetentionPolicyId,
} from '../../shared/catalogue.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import { createOrgsRepository } from '../orgs/orgs-repository.js';
import { appendAudit } from '../security/audit-chain.js';
import { assertCan, editorRoles, viewerRoles } from './register-access.js';
import { createAgreementsService } from './register-agreements.js';
import {
  type DerivedActivity,
  type DerivedCategory,
  deriveActivities,
  deriveCategories,
  usedProtections,
  usedRetentionPolicies,
} from './register-derive.js';
import { createRegisterRepository, type SettingsRow } from './register-repository.js';
import {
  createSubprocessorsService,
  type Subprocessor,
  type UserDirectory,
} from './register-subprocessors.js';

export const channels = ['web_form', 'email', 'phone', 'api', 'other'] as const;
export type Channel = (typeof channels)[number];

export function isChannel(value: string): value is Channel {
  return (channels as readonly string[]).includes(value);
}

/**
 * The general terms of the operator as the seed statement links them (P13). A default only:
 * every org sets its own link in the register settings.
 */
export const DEFAULT_OPERATOR_TERMS_URL = 'http://av.ambrix.nl/';

export interface OrgInfo {
  readonly id: string;
  readonly kind: OrgKind;
  readonly name: string;
  readonly slug: string;
}

export interface RegisterSettings {
  /** The name the statement uses: the display name, or the org's name. */
  readonly name: string;
  readonly displayName: string;
  readonly contactAddress: string;
  readonly contactEmail: string;
  readonly privacyEmail: string;
  readonly phone: string;
  readonly website: string;
  readonly termsUrl: string;
  readonly channels: readonly Channel[];
  readonly updatedAt: string | null;
}

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
}

const oneLine = (max: number) =>
  z
    .string()
    .trim()
    .max(max, { message: 'field.tooLong' })
    .regex(/^[^\r\n]*$/, { message: 'field.invalid' });

const webUrl = z
  .string()
  .trim()
  .max(500, { message: 'field.tooLong' })
  .refine((v) => v === '' || /^https?:\/\/[^\s<>"]+$/i.test(v), { message: 'register.settings.invalidUrl' });

const optionalEmail = z
  .string()
  .trim()
  .max(254, { message: 'field.tooLong' })
  .refine((v) => v === '' || z.email().safeParse(v).success, { message: 'field.invalidEmail' });

export const settingsInput = z.object({
  displayName: oneLine(200).default(''),
  contactAddress: z.string().trim().max(1000, { message: 'field.tooLong' }).default(''),
  contactEmail: optionalEmail.default(''),
  privacyEmail: optionalEmail.default(''),
  phone: oneLine(50).default(''),
  website: webUrl.default(''),
  termsUrl: webUrl.default(''),
  channels: z.array(z.enum(channels)).max(channels.length).default([]),
});
export type SettingsInput = z.input<typeof settingsInput>;

export const activityInput = z.object({
  description: z.string().trim().max(5000, { message: 'field.tooLong' }).default(''),
  recipients: z.string().trim().max(2000, { message: 'field.tooLong' }).default(''),
  transfers: z.string().trim().max(2000, { message: 'field.tooLong' }).default(''),
  securityMeasures: z.string().trim().max(2000, { message: 'field.tooLong' }).default(''),
});
export type ActivityInput = z.input<typeof activityInput>;

const channelList = z.array(z.string()).catch([]);

function settingsFrom(org: OrgInfo, row: SettingsRow | undefined): RegisterSettings {
  if (row === undefined) {
    return {
      name: org.name,
      displayName: '',
      contactAddress: '',
      contactEmail: '',
      privacyEmail: '',
      phone: '',
      website: '',
      termsUrl: org.kind === 'operator' ? DEFAULT_OPERATOR_TERMS_URL : '',
      channels: ['web_form', 'email', 'phone', 'other'],
      updatedAt: null,
    };
  }
  const stored = channelList.parse(JSON.parse(row.channels));
  return {
    name: row.display_name === null || row.display_name === '' ? org.name : row.display_name,
    displayName: row.display_name ?? '',
    contactAddress: row.contact_address,
    contactEmail: row.contact_email,
    privacyEmail: row.privacy_email,
    phone: row.phone,
    website: row.website,
    termsUrl: row.terms_url,
    channels: channels.filter((c) => stored.includes(c)),
    updatedAt: row.updated_at,
  };
}

export interface RegisterDeps {
  db: Kysely<DB>;
  clock: Clock;
  keyring: Pick<Keyring, 'encryptForOrg' | 'decryptForOrg' | 'encryptForSubject'>;
  config: Pick<Config, 'publicOrigin'>;
  /** Staff of tenant orgs, for sub-processor announcements (the auth service). */
  users: UserDirectory;
  /** The catalogue's fields; tests pass an extended list to see the register follow it. */
  fields?: readonly CatalogueField[];
}

export function createRegisterService(deps: RegisterDeps) {
  const { db, clock } = deps;
  const fields = deps.fields ?? fieldCatalogue().fields;

  async function orgInfo(orgId: string): Promise<OrgInfo> {
    const org = await createOrgsRepository(db).findById(orgId);
    if (org === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'org not found' });
    return { id: org.id, kind: org.kind, name: org.name, slug: org.slug };
  }

  async function settingsOf(org: OrgInfo): Promise<RegisterSettings> {
    return settingsFrom(org, await createRegisterRepository(db).findSettings({ orgId: org.id }));
  }

  const subprocessors = createSubprocessorsService({ ...deps, orgInfo, settingsOf });
  const agreements = createAgreementsService({ db, clock, keyring: deps.keyring });

  /** The register of `orgId` as data (no role check: callers check, or it is for a public page). */
  async function snapshotOf(orgId: string): Promise<RegisterSnapshot> {
    const org = await orgInfo(orgId);
    const repo = createRegisterRepository(db);
    const settings = await settingsOf(org);
    const stored = new Map((await repo.listActivities({ orgId })).map((a) => [a.purpose, a]));
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
    return {
      org,
      settings,
      activities,
      categories: deriveCategories(fields),
      subprocessors: allSubprocessors,
      retentionPolicies: usedRetentionPolicies(fields),
      protections: usedProtections(fields),
    };
  }

  return {
    catalogue: fields,
    snapshotOf,
    orgInfo,

    /** The actor's register (owners, admins and the privacy officer). */
    async getRegister(input: { actor: Actor }): Promise<RegisterSnapshot> {
      assertCan(input.actor, viewerRoles);
      return snapshotOf(input.actor.orgId);
    },

    async getSettings(input: { actor: Actor }): Promise<{ org: OrgInfo; settings: RegisterSettings }> {
      assertCan(input.actor, viewerRoles);
      const org = await orgInfo(input.actor.orgId);
      return { org, settings: await settingsOf(org) };
    },

    /** Who we are, as the statement says it (privacy officer). */
    async updateSettings(input: { actor: Actor; values: SettingsInput }): Promise<void> {
      assertCan(input.actor, editorRoles);
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
        await appendAudit(trx, clock, {
          actor: input.actor,
          action: 'register.settings.update',
          target: { type: 'org', id: input.actor.orgId },
        });
      });
    },

    /** Completes the activity of `purpose` (which must be one the catalogue derives). */
    async updateActivity(input: { actor: Actor; purpose: string; values: ActivityInput }): Promise<void> {
      assertCan(input.actor, editorRoles);
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
        await appendAudit(trx, clock, {
          actor: input.actor,
          action: 'register.activity.update',
          target: { type: 'processing_activity', id },
          meta: { purpose: derived.purpose },
        });
      });
    },

    ...subprocessors.useCases,
    ...agreements,
  };
}

export type RegisterService = ReturnType<typeof createRegisterService>;
