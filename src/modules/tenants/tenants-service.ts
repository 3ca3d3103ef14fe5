/**
 * Tenants as the operator manages them (P7, P9): onboarding (the org, its profile, its processor
 * agreement on record and the invitation of its first owner), the list with metadata and counts,
 * suspension, and the host names and inbound addresses the operator assigns. Only the operator's
 * own owners and admins (`tenants.manage`), acting in the operator org and not under a grant, use
 * any of it; anyone else gets a 404. Nothing here reads a tenant's personal data: the owner's
 * address is written once (the invitation) and never shown back.
 *
 * A tenant is active only with a processor agreement on record: an uploaded signed PDF or the
 * accepted version of the operator's standard agreement, kept as a client agreement in the
 * operator's register. Creation is one transaction — org, profile (company details, languages,
 * TOTP policy), agreement and its document, activation, first owner, invitation token and the
 * queued invitation mail — so a failure anywhere leaves no row behind and the slug free to try
 * again. (A tenant made `pending` by other means is finished with `tenant activate`/`invite`.)
 * The tenant's org key is minted in the key store, a database of its own, on its first use inside
 * that transaction; when the transaction fails, the key is removed again once the org is known
 * not to exist. A crash between the two leaves an orphan key (harmless: it wraps nothing that
 * survived), which the daily sweep in tenants-orphan-keys.ts removes, audited. The other order —
 * a committed org whose key was lost — would make its sealed rows unreadable, so it is avoided.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Keyring } from '../../crypto/keyring.js';
import type { DB } from '../../db/schema.js';
import { inTransaction } from '../../db/transaction.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import type { Locale } from '../../shared/i18n/messages.js';
import { assertCan } from '../../shared/permissions.js';
import type { AuthService } from '../auth/index.js';
import type { Mailbox, Org, OrgStatus, OrgsService } from '../orgs/index.js';
import type { RegisterService } from '../register/index.js';
import { type UploadedDocument, validateDocument } from '../register/index.js';
import type { RetentionService } from '../retention/index.js';
import type { AuditService } from '../security/index.js';
import { createTenantsRepository, type TenantProfileRow } from './tenants-repository.js';
import { type AgreementKind, tenantLanguages } from './tenants-schema.js';
import { createTenantSettings } from './tenants-settings.js';

export { tenantLanguages } from './tenants-schema.js';

const oneLine = (max: number) =>
  z
    .string()
    .trim()
    .min(1, { message: 'field.required' })
    .max(max, { message: 'field.tooLong' })
    .regex(/^[^\r\n]*$/, { message: 'field.invalid' });

export const tenantInput = z.object({
  slug: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[a-z0-9][a-z0-9-]{1,62}$/, { message: 'tenants.slugInvalid' }),
  name: oneLine(200),
  ownerEmail: z.email({ message: 'field.invalidEmail' }).max(254),
  ownerName: oneLine(200).optional(),
  kvk: z
    .string()
    .trim()
    .regex(/^(\d{8})?$/, { message: 'tenants.kvkInvalid' })
    .optional()
    .transform((v) => (v === '' ? undefined : v)),
  country: z
    .string()
    .trim()
    .toUpperCase()
    .regex(/^[A-Z]{2}$/, { message: 'tenants.countryInvalid' })
    .default('NL'),
  languages: z.array(z.enum(tenantLanguages)).min(1).max(tenantLanguages.length).default(['nl']),
  /** The version of the agreement: the signed PDF's or the operator's standard agreement's. */
  agreementVersion: oneLine(50),
  /** When the uploaded agreement was signed (YYYY-MM-DD); today for the standard agreement. */
  signedOn: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, { message: 'field.invalid' })
    .optional(),
});
export type TenantInput = z.input<typeof tenantInput>;

/** The agreement a tenant is onboarded under. */
export type AgreementOnRecord =
  | { readonly kind: 'document'; readonly document: UploadedDocument }
  | { readonly kind: 'standard' };

/** What the operator sees of a tenant: metadata and counts, never its data. */
export interface TenantView {
  readonly id: string;
  readonly slug: string;
  readonly name: string;
  readonly status: OrgStatus;
  readonly kvk: string | null;
  readonly country: string | null;
  readonly languages: readonly string[];
  readonly agreement: { readonly kind: AgreementKind; readonly version: string } | undefined;
  readonly requireTotp: boolean;
  readonly hosts: readonly string[];
  readonly addresses: readonly { readonly address: string; readonly mailbox: Mailbox }[];
  readonly staffCount: number;
  readonly createdAt: string;
}

export interface TenantsDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly orgs: OrgsService;
  readonly auth: AuthService;
  readonly audit: AuditService;
  readonly register: RegisterService;
  readonly retention: RetentionService;
  /** The key store, apart from the main database: a rolled-back onboarding takes its key back out. */
  readonly keyring: Pick<Keyring, 'forgetUnbornOrg'>;
  /** The operator's own inbound addresses (they cannot be given to a tenant). */
  readonly operatorAddresses?: readonly string[];
}

/** The system actor of the tenant's own org during onboarding (makes its first owner). */
function onboardingActor(tenant: Pick<Org, 'id'>): Actor {
  return {
    kind: 'system',
    orgId: tenant.id,
    orgKind: 'tenant',
    reason: 'tenant-onboarding',
    roles: ['owner'],
  };
}

/** Only the operator's own owners and admins, not under a grant; anyone else learns nothing (404). */
function assertOperatorStaff(actor: Actor): void {
  const underGrant = actor.kind === 'user' && actor.grantId !== undefined;
  if (actor.orgKind !== 'operator' || underGrant) {
    throw new AppError('ERR_NOT_FOUND', { message: 'tenants are the operator’s' });
  }
  assertCan(actor, 'tenants.manage');
}

/** A tenant's own owners and admins (`users.manage`), in their own org and not under a grant. */
function assertTenantAdmin(actor: Actor): void {
  const underGrant = actor.kind === 'user' && actor.grantId !== undefined;
  if (actor.orgKind !== 'tenant' || underGrant) {
    throw new AppError('ERR_NOT_FOUND', { message: 'a tenant’s own settings' });
  }
  assertCan(actor, 'users.manage');
}

const languagesOf = (profile: TenantProfileRow | undefined): string[] =>
  profile === undefined ? [] : z.array(z.string()).catch([]).parse(JSON.parse(profile.languages));

/** What every part of the service shares: look-ups, the view, the audit helper, activation. */
function createTenantsCore(deps: TenantsDeps) {
  const { db, clock, orgs, auth, audit, register } = deps;
  const repo = createTenantsRepository(db);

  async function tenantBySlug(slug: string): Promise<Org> {
    const org = await orgs.findBySlug(slug.trim().toLowerCase());
    if (org === undefined || org.kind !== 'tenant') {
      throw new AppError('ERR_NOT_FOUND', { message: 'no tenant with this slug' });
    }
    return org;
  }

  async function tenantById(id: string): Promise<Org> {
    const org = await orgs.findById(id);
    if (org === undefined || org.kind !== 'tenant')
      throw new AppError('ERR_NOT_FOUND', { message: 'no tenant' });
    return org;
  }

  async function viewOf(org: Org, profile: TenantProfileRow | undefined): Promise<TenantView> {
    return {
      id: org.id,
      slug: org.slug,
      name: org.name,
      status: org.status,
      kvk: profile?.kvk ?? null,
      country: profile?.country ?? null,
      languages: languagesOf(profile),
      agreement:
        profile?.agreement_kind === null || profile?.agreement_kind === undefined
          ? undefined
          : { kind: profile.agreement_kind, version: profile.agreement_version ?? '' },
      requireTotp: org.require_totp === 1,
      hosts: (await orgs.listHosts(org.id)).map((h) => h.host),
      addresses: (await orgs.listAddresses(org.id)).map((a) => ({ address: a.address, mailbox: a.mailbox })),
      staffCount: await auth.countStaff(org.id),
      createdAt: org.created_at,
    };
  }

  async function record(actor: Actor, action: string, org: Org, meta: Record<string, string | number>) {
    await audit.append(db, { actor, action, target: { type: 'org', id: org.id }, meta });
  }

  /** Records the agreement in the operator's register and on the profile, within `trx`. */
  async function recordAgreement(
    trx: Kysely<DB>,
    actor: Actor,
    org: Org,
    v: z.output<typeof tenantInput>,
    agreement: AgreementOnRecord,
  ): Promise<void> {
    const today = clock.now().toISOString().slice(0, 10);
    const recorded = await register.createAgreementIn(trx, {
      actor,
      values: {
        counterparty: `client:${org.id}`,
        version: agreement.kind === 'standard' ? `standard ${v.agreementVersion}` : v.agreementVersion,
        signedOn: agreement.kind === 'standard' ? today : (v.signedOn ?? today),
        parties: v.name,
      },
      document: agreement.kind === 'document' ? agreement.document : undefined,
    });
    await createTenantsRepository(trx).updateProfile(org.id, {
      agreement_kind: agreement.kind,
      agreement_id: recorded.id,
      agreement_version: v.agreementVersion,
      updated_at: clock.now().toISOString(),
    });
  }

  /** Activates a tenant that has its agreement on record (otherwise ERR_VALIDATION), within `conn`. */
  async function activate(actor: Actor, org: Org, conn: Kysely<DB> = db): Promise<void> {
    const profile = await createTenantsRepository(conn).findProfile(org.id);
    if (profile !== undefined && profile.agreement_id === null) {
      throw new AppError('ERR_VALIDATION', {
        message: 'a tenant is active only with a processor agreement on record',
        fields: { agreement: 'tenants.agreementRequired' },
      });
    }
    await inTransaction(conn, async (trx) => {
      await orgs.setStatusIn(trx, org.id, 'active');
      await audit.append(trx, {
        actor,
        action: 'tenants.activated',
        target: { type: 'org', id: org.id },
        meta: { from: org.status },
      });
    });
  }

  return { repo, tenantBySlug, tenantById, viewOf, record, recordAgreement, activate };
}

type TenantsCore = ReturnType<typeof createTenantsCore>;

/** Onboarding: the tenant, its agreement, its first owner's invitation. */
function onboardingOf(deps: TenantsDeps, core: TenantsCore) {
  const { db, clock, orgs, auth, audit, keyring } = deps;
  const { tenantBySlug, tenantById, viewOf, record, recordAgreement, activate, repo } = core;

  /**
   * After a failed onboarding: removes the keys minted for the org, but only once the main
   * database says the org is not there (a failed COMMIT may still have committed). When that
   * cannot be told, the key stays for the orphan sweep; the onboarding's own error is what the
   * caller sees either way.
   */
  async function forgetKeysOfUnborn(orgId: string): Promise<void> {
    try {
      if ((await orgs.findById(orgId)) === undefined) await keyring.forgetUnbornOrg(orgId);
    } catch {
      // Left to the sweep (tenants-orphan-keys.ts): an orphan key is harmless, a lost one is not.
    }
  }

  return {
    /**
     * Onboards a tenant: its org (pending), profile, agreement on record, activation, and its
     * first owner (owner and admin roles) invited by mail. TOTP is required of its staff.
     */
    async create(input: {
      actor: Actor;
      values: TenantInput;
      agreement: AgreementOnRecord;
      locale: Locale;
    }): Promise<TenantView> {
      const { actor } = input;
      assertOperatorStaff(actor);
      const v = parseOrThrow(tenantInput, input.values);
      if (input.agreement.kind === 'document') validateDocument(input.agreement.document, 'agreement');
      const now = clock.now().toISOString();
      let unborn: string | undefined;
      // One transaction for every row of the tenant (see the file's comment). The invitation mail
      // is a job in the queue's table, so it is sent only if the tenant exists.
      const org = await db
        .transaction()
        .execute(async (trx) => {
          const inserted = await orgs.insert({
            kind: 'tenant',
            name: v.name,
            slug: v.slug,
            now,
            status: 'pending',
            requireTotp: true,
            db: trx,
          });
          unborn = inserted.id;
          await createTenantsRepository(trx).insertProfile({
            org_id: inserted.id,
            kvk: v.kvk ?? null,
            country: v.country,
            languages: JSON.stringify(v.languages),
            agreement_kind: null,
            agreement_id: null,
            agreement_version: null,
            created_at: now,
            updated_at: now,
          });
          await audit.append(trx, {
            actor,
            action: 'tenants.created',
            target: { type: 'org', id: inserted.id },
            meta: { slug: inserted.slug, agreement: input.agreement.kind },
          });
          await recordAgreement(trx, actor, inserted, v, input.agreement);
          await activate(actor, inserted, trx);
          const { user } = await auth.createUserIn(trx, {
            actor: onboardingActor(inserted),
            orgId: inserted.id,
            email: v.ownerEmail,
            displayName: v.ownerName ?? v.name,
            roles: ['owner', 'admin'],
          });
          await auth.sendInvitationIn(trx, {
            actor: onboardingActor(inserted),
            userId: user.id,
            orgName: v.name,
            locale: input.locale,
          });
          return inserted;
        })
        .catch(async (error: unknown) => {
          if (unborn !== undefined) await forgetKeysOfUnborn(unborn);
          throw error;
        });
      return viewOf(await tenantById(org.id), await repo.findProfile(org.id));
    },

    /** Invites one more owner of a tenant (e.g. the first invitation expired unused). */
    async inviteOwner(input: {
      actor: Actor;
      slug: string;
      email: string;
      name?: string | undefined;
      locale: Locale;
    }): Promise<void> {
      assertOperatorStaff(input.actor);
      const org = await tenantBySlug(input.slug);
      const existing = await auth.findUserByEmail({ actor: onboardingActor(org), email: input.email });
      const userId =
        existing?.id ??
        (
          await auth.createUser({
            actor: onboardingActor(org),
            orgId: org.id,
            email: input.email,
            displayName: input.name ?? org.name,
            roles: ['owner', 'admin'],
          })
        ).user.id;
      if (existing !== undefined && !existing.mustChangePassword) {
        throw new AppError('ERR_CONFLICT', {
          message: 'this account is set up already; its owner resets it',
        });
      }
      await auth.sendInvitation({
        actor: onboardingActor(org),
        userId,
        orgName: org.name,
        locale: input.locale,
      });
      await record(input.actor, 'tenants.owner_invited', org, {});
    },
  };
}

/** The list, one tenant, suspension and activation, and a tenant's own settings. */
function lifecycleOf(deps: TenantsDeps, core: TenantsCore) {
  const { orgs, auth } = deps;
  const { tenantBySlug, tenantById, viewOf, record, activate, repo } = core;
  return {
    /** Every tenant with metadata and counts, oldest first. */
    async list(actor: Actor): Promise<TenantView[]> {
      assertOperatorStaff(actor);
      const profiles = new Map((await repo.listProfiles()).map((p) => [p.org_id, p]));
      const tenants = (await orgs.list()).filter((o) => o.kind === 'tenant');
      return Promise.all(tenants.map((o) => viewOf(o, profiles.get(o.id))));
    },

    async show(actor: Actor, slug: string): Promise<TenantView> {
      assertOperatorStaff(actor);
      const org = await tenantBySlug(slug);
      return viewOf(org, await repo.findProfile(org.id));
    },

    async showById(actor: Actor, id: string): Promise<TenantView> {
      assertOperatorStaff(actor);
      const org = await tenantById(id);
      return viewOf(org, await repo.findProfile(org.id));
    },

    /** Suspends a tenant: its pages, mail and sign-ins stop; every session of its staff ends. */
    async suspend(actor: Actor, slug: string): Promise<TenantView> {
      assertOperatorStaff(actor);
      const org = await tenantBySlug(slug);
      if (org.status !== 'active') {
        throw new AppError('ERR_CONFLICT', { message: `tenant is ${org.status}, not active` });
      }
      await orgs.setStatus(org.id, 'suspended');
      const ended = await auth.endOrgSessions(org.id);
      await record(actor, 'tenants.suspended', org, { sessions_ended: ended });
      return viewOf(await tenantBySlug(slug), await repo.findProfile(org.id));
    },

    /** Makes a pending or suspended tenant active again (only with its agreement on record). */
    async activate(actor: Actor, slug: string): Promise<TenantView> {
      assertOperatorStaff(actor);
      const org = await tenantBySlug(slug);
      if (org.status !== 'pending' && org.status !== 'suspended') {
        throw new AppError('ERR_CONFLICT', { message: `tenant is ${org.status}` });
      }
      await activate(actor, org);
      return viewOf(await tenantBySlug(slug), await repo.findProfile(org.id));
    },

    /**
     * A tenant's own view of its organisation (self-service by its owners and admins): never the
     * operator's, never under a grant. The same view as the operator's list (metadata only).
     */
    async own(actor: Actor): Promise<TenantView> {
      assertTenantAdmin(actor);
      return viewOf(await tenantById(actor.orgId), await repo.findProfile(actor.orgId));
    },

    /** Whether all of the tenant's staff must use TOTP (its owners' and admins' setting). */
    async setRequireTotp(actor: Actor, required: boolean): Promise<void> {
      assertTenantAdmin(actor);
      const org = await tenantById(actor.orgId);
      await orgs.setRequireTotp(org.id, required);
      await record(actor, 'tenants.totp_policy', org, { required: required ? 1 : 0 });
    },

    // Offboarding is the offboarding module's (`kluis offboarding …`, /staff/offboarding): it sets
    // the status through `orgs.setStatus(id, 'offboarding' | 'offboarded')`, which this list shows.
  };
}

/** Host names and inbound addresses the operator assigns. */
function assignmentsOf(deps: TenantsDeps, core: TenantsCore) {
  const { clock, orgs } = deps;
  const { tenantBySlug, record } = core;
  return {
    /** Assigns a host name to a tenant's public pages. */
    async addHost(actor: Actor, slug: string, host: string): Promise<string> {
      assertOperatorStaff(actor);
      const org = await tenantBySlug(slug);
      const name = await orgs.addHost(org.id, host, clock.now().toISOString());
      await record(actor, 'tenants.host_added', org, { host: name });
      return name;
    },

    async removeHost(actor: Actor, slug: string, host: string): Promise<void> {
      assertOperatorStaff(actor);
      const org = await tenantBySlug(slug);
      if (!(await orgs.removeHost(org.id, host)))
        throw new AppError('ERR_NOT_FOUND', { message: 'no such host' });
      await record(actor, 'tenants.host_removed', org, { host });
    },

    /** Assigns an inbound address (on the tenant's domain or `contact+<slug>@` the operator's). */
    async addAddress(actor: Actor, slug: string, address: string, mailbox: Mailbox): Promise<string> {
      assertOperatorStaff(actor);
      const org = await tenantBySlug(slug);
      const lower = address.trim().toLowerCase();
      if ((deps.operatorAddresses ?? []).some((a) => a.toLowerCase() === lower)) {
        throw new AppError('ERR_CONFLICT', { message: 'this is one of the operator’s own addresses' });
      }
      const added = await orgs.addAddress(org.id, address, mailbox, clock.now().toISOString());
      await record(actor, 'tenants.address_added', org, { address: added, mailbox });
      return added;
    },

    async removeAddress(actor: Actor, slug: string, address: string): Promise<void> {
      assertOperatorStaff(actor);
      const org = await tenantBySlug(slug);
      if (!(await orgs.removeAddress(org.id, address)))
        throw new AppError('ERR_NOT_FOUND', { message: 'no such address' });
      await record(actor, 'tenants.address_removed', org, { address });
    },
  };
}

export function createTenantsService(deps: TenantsDeps) {
  const core = createTenantsCore(deps);
  return {
    ...onboardingOf(deps, core),
    ...lifecycleOf(deps, core),
    ...assignmentsOf(deps, core),
    ...createTenantSettings(deps),
  };
}

export type TenantsService = ReturnType<typeof createTenantsService>;

/** `contact+<slug>@domain` / `privacy+<slug>@domain` on the operator's own domain. */
export function plusAddress(operatorAddress: string, slug: string): string {
  const at = operatorAddress.lastIndexOf('@');
  if (at < 1) throw new AppError('ERR_VALIDATION', { message: 'operator address has no domain' });
  return `${operatorAddress.slice(0, at)}+${slug}${operatorAddress.slice(at)}`;
}
