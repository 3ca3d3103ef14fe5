/**
 * Sub-processors (P14): who, which service, where (EEA or not), which data categories, the
 * processor agreement on file, active or ended. When the OPERATOR adds one or changes what the
 * public sees, every tenant's owners, admins and privacy officers get an email, queued in the
 * same transaction as the change (no change without its announcement, no announcement of a
 * change that did not happen).
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Config } from '../../config/env.js';
import type { Keyring } from '../../crypto/keyring.js';
import type { DB } from '../../db/schema.js';
import { type Actor, type Role, scopeOf } from '../../shared/actor.js';
import { type DataCategory, dataCategories } from '../../shared/catalogue.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import { t } from '../../shared/i18n/messages.js';
import type { UsersService } from '../auth/auth-users.js';
import { enqueueMail } from '../mail/mail-service.js';
import { createOrgsRepository } from '../orgs/orgs-repository.js';
import { appendAudit } from '../security/audit-chain.js';
import { assertCan, editorRoles as editors, viewerRoles as viewers } from './register-access.js';
import { countryCodes, countryName, isInEea } from './register-derive.js';
import { storeDocument, type UploadedDocument, validateDocument } from './register-documents.js';
import { joinList, label } from './register-labels.js';
import { type AgreementRow, createRegisterRepository, type SubprocessorRow } from './register-repository.js';
import type { SubprocessorStatus } from './register-schema.js';
import type { OrgInfo, RegisterSettings } from './register-service.js';

/** Staff of an org, as the auth service lists them. */
export type UserDirectory = Pick<UsersService, 'listUsers'>;

/** Roles that receive sub-processor announcements in each tenant org. */
export const announcedToRoles: readonly Role[] = ['owner', 'admin', 'privacy_officer'];

export interface AgreementSummary {
  readonly id: string;
  readonly version: string;
  readonly signedOn: string;
  readonly documentId: string | null;
}

export interface Subprocessor {
  readonly id: string;
  readonly orgId: string;
  readonly name: string;
  readonly service: string;
  readonly location: string;
  readonly country: string;
  readonly inEea: boolean;
  readonly dataCategories: readonly DataCategory[];
  readonly status: SubprocessorStatus;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The newest agreement on file (by signing date), if any. */
  readonly agreement: AgreementSummary | undefined;
}

const isoDate = z.iso.date({ message: 'register.field.invalidDate' });

export const subprocessorInput = z
  .object({
    name: z.string().trim().min(1, { message: 'field.required' }).max(200, { message: 'field.tooLong' }),
    service: z.string().trim().min(1, { message: 'field.required' }).max(500, { message: 'field.tooLong' }),
    location: z.string().trim().max(200, { message: 'field.tooLong' }).default(''),
    country: z
      .string()
      .trim()
      .toUpperCase()
      .refine((c) => countryCodes.includes(c), { message: 'register.field.invalidCountry' }),
    dataCategories: z.array(z.enum(dataCategories)).max(dataCategories.length).default([]),
    status: z.enum(['active', 'ended']).default('active'),
    agreementVersion: z.string().trim().max(50, { message: 'field.tooLong' }).default(''),
    agreementSignedOn: z.union([z.literal(''), isoDate]).default(''),
  })
  .superRefine((v, ctx) => {
    if (v.agreementVersion !== '' && v.agreementSignedOn === '') {
      ctx.addIssue({ code: 'custom', path: ['agreementSignedOn'], message: 'field.required' });
    }
    if (v.agreementVersion === '' && v.agreementSignedOn !== '') {
      ctx.addIssue({ code: 'custom', path: ['agreementVersion'], message: 'field.required' });
    }
  });
/** Form input: strings as they arrive (validated by `subprocessorInput`). */
export type SubprocessorInput = Omit<z.input<typeof subprocessorInput>, 'dataCategories' | 'status'> & {
  dataCategories?: readonly string[];
  status?: string;
};

const categoryList = z.array(z.string()).catch([]);

export function toSubprocessor(row: SubprocessorRow, agreements: readonly AgreementRow[]): Subprocessor {
  const stored = categoryList.parse(JSON.parse(row.data_categories));
  const latest = agreements
    .filter((a) => a.subprocessor_id === row.id)
    .sort((a, b) => b.signed_on.localeCompare(a.signed_on) || b.created_at.localeCompare(a.created_at))[0];
  return {
    id: row.id,
    orgId: row.org_id,
    name: row.name,
    service: row.service,
    location: row.location,
    country: row.country,
    inEea: isInEea(row.country),
    dataCategories: dataCategories.filter((c) => stored.includes(c)),
    status: row.status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    agreement:
      latest === undefined
        ? undefined
        : {
            id: latest.id,
            version: latest.version,
            signedOn: latest.signed_on,
            documentId: latest.document_id,
          },
  };
}

/** What the public (and the tenants' email) sees of a sub-processor. */
function publicShape(
  s: Pick<Subprocessor, 'name' | 'service' | 'location' | 'country' | 'status'> & {
    dataCategories: readonly string[];
  },
): string {
  return JSON.stringify([s.name, s.service, s.location, s.country, s.status, [...s.dataCategories].sort()]);
}

interface Recipient {
  readonly orgId: string;
  readonly email: string;
  readonly name: string;
}

export interface SubprocessorsDeps {
  db: Kysely<DB>;
  clock: Clock;
  keyring: Pick<Keyring, 'encryptForOrg' | 'encryptForSubject'>;
  config: Pick<Config, 'publicOrigin'>;
  users: UserDirectory;
  orgInfo(orgId: string): Promise<OrgInfo>;
  settingsOf(org: OrgInfo): Promise<RegisterSettings>;
}

export function createSubprocessorsService(deps: SubprocessorsDeps) {
  const { db, clock, keyring, config, users } = deps;

  async function listOf(orgId: string): Promise<Subprocessor[]> {
    const repo = createRegisterRepository(db);
    const rows = await repo.listSubprocessors({ orgId });
    const agreements = (await repo.listAgreements({ orgId })).filter(
      (a) => a.counterparty_kind === 'subprocessor',
    );
    return rows.map((r) => toSubprocessor(r, agreements));
  }

  /** Owners, admins and privacy officers of every tenant org (read before the write transaction). */
  async function tenantRecipients(): Promise<Recipient[]> {
    const tenants = (await createOrgsRepository(db).list()).filter((o) => o.kind === 'tenant');
    const out: Recipient[] = [];
    for (const tenant of tenants) {
      const actor: Actor = {
        kind: 'system',
        orgId: tenant.id,
        orgKind: 'tenant',
        reason: 'register.subprocessor.announce',
        roles: ['admin'],
      };
      for (let offset = 0; ; offset += 500) {
        const page = await users.listUsers({ actor, limit: 500, offset });
        for (const u of page) {
          if (!u.disabled && u.roles.some((r) => announcedToRoles.includes(r))) {
            out.push({ orgId: tenant.id, email: u.email, name: u.displayName });
          }
        }
        if (page.length < 500) break;
      }
    }
    return out;
  }

  async function announce(
    trx: Kysely<DB>,
    operator: OrgInfo,
    orgName: string,
    recipients: readonly Recipient[],
    s: Subprocessor,
    isNew: boolean,
  ): Promise<number> {
    // Announcements go out in Dutch with the English text below it: the recipient's language is
    // not known to this module (see the report of issue 4).
    const paragraphs = (['nl', 'en'] as const).flatMap((locale) => {
      const tr = (key: Parameters<typeof t>[1], values?: Parameters<typeof t>[2]) => t(locale, key, values);
      const values = {
        org: orgName,
        name: s.name,
        service: s.service,
        location:
          s.location === ''
            ? countryName(s.country, locale)
            : `${s.location}, ${countryName(s.country, locale)}`,
        eea: tr(s.inEea ? 'register.sp.inEea' : 'register.sp.outsideEea'),
        status: tr(s.status === 'active' ? 'register.sp.status.active' : 'register.sp.status.ended'),
        categories:
          s.dataCategories.length === 0
            ? tr('register.activity.none')
            : joinList(
                locale,
                s.dataCategories.map((c) => label((k, v) => t(locale, k, v), 'category', c)),
              ),
      };
      return [
        tr(isNew ? 'register.sp.notify.bodyNew' : 'register.sp.notify.bodyChanged', values),
        tr('register.sp.notify.why', { org: orgName }),
      ];
    });
    const subjectName = s.name.length > 80 ? `${s.name.slice(0, 79)}…` : s.name;
    const subjectOrg = orgName.length > 60 ? `${orgName.slice(0, 59)}…` : orgName;
    for (const r of recipients) {
      await enqueueMail(trx, clock, keyring, {
        orgId: operator.id,
        to: r.email,
        template: 'notification',
        locale: 'nl',
        vars: {
          subject: t('nl', isNew ? 'register.sp.notify.subjectNew' : 'register.sp.notify.subjectChanged', {
            org: subjectOrg,
            name: subjectName,
          }),
          recipientName: r.name.slice(0, 200),
          body: paragraphs.join('\n\n'),
          actionUrl: `${config.publicOrigin}/subprocessors`,
          actionLabel: t('nl', 'register.sp.notify.action'),
        },
      });
    }
    return recipients.length;
  }

  /** Creates or updates the agreement on file for a sub-processor from the form's fields. */
  async function recordAgreement(
    trx: Kysely<DB>,
    org: OrgInfo,
    orgName: string,
    sp: { id: string; name: string },
    version: string,
    signedOn: string,
    document: UploadedDocument | undefined,
  ): Promise<void> {
    const repo = createRegisterRepository(trx);
    const scope = { orgId: org.id };
    const latest = toSubprocessor(
      (await repo.findSubprocessor(scope, sp.id)) ?? missing(),
      (await repo.listAgreements(scope)).filter((a) => a.subprocessor_id === sp.id),
    ).agreement;
    const documentId =
      document === undefined ? undefined : await storeDocument(trx, clock, keyring, org.id, document);
    const now = clock.now().toISOString();
    if (latest !== undefined && latest.version === version) {
      await repo.updateAgreement(scope, latest.id, {
        signed_on: signedOn,
        updated_at: now,
        ...(documentId === undefined ? {} : { document_id: documentId }),
      });
      return;
    }
    await repo.insertAgreement({
      id: randomUUID(),
      org_id: org.id,
      counterparty_kind: 'subprocessor',
      client_org_id: null,
      subprocessor_id: sp.id,
      version,
      signed_on: signedOn,
      parties: `${orgName}; ${sp.name}`,
      document_id: documentId ?? null,
      created_at: now,
      updated_at: now,
    });
  }

  async function save(input: {
    actor: Actor;
    id?: string;
    values: SubprocessorInput;
    document?: UploadedDocument | undefined;
  }): Promise<{ subprocessor: Subprocessor; announced: number }> {
    assertCan(input.actor, editors);
    const v = parseOrThrow(subprocessorInput, input.values);
    if (input.document !== undefined) {
      validateDocument(input.document, 'document');
      if (v.agreementVersion === '') {
        throw new AppError('ERR_VALIDATION', {
          message: 'a document needs an agreement version',
          fields: { agreementVersion: 'field.required' },
        });
      }
    }
    const scope = scopeOf(input.actor);
    const org = await deps.orgInfo(input.actor.orgId);
    const before =
      input.id === undefined
        ? undefined
        : await createRegisterRepository(db).findSubprocessor(scope, input.id);
    if (input.id !== undefined && before === undefined) {
      throw new AppError('ERR_NOT_FOUND', { message: 'sub-processor not found' });
    }
    const publicChange =
      before === undefined ||
      publicShape({ ...before, dataCategories: categoryList.parse(JSON.parse(before.data_categories)) }) !==
        publicShape(v);
    // Read everything else before the write transaction (SQLite has one connection, which the
    // transaction holds: a read through `db` inside it would wait forever).
    const orgName = (await deps.settingsOf(org)).name;
    const recipients = org.kind === 'operator' && publicChange ? await tenantRecipients() : [];
    const id = before?.id ?? randomUUID();
    const announced = await db.transaction().execute(async (trx) => {
      const repo = createRegisterRepository(trx);
      const now = clock.now().toISOString();
      const row = {
        name: v.name,
        service: v.service,
        location: v.location,
        country: v.country,
        data_categories: JSON.stringify(dataCategories.filter((c) => v.dataCategories.includes(c))),
        status: v.status,
        updated_at: now,
      };
      if (before === undefined)
        await repo.insertSubprocessor({ ...row, id, org_id: org.id, created_at: now });
      else await repo.updateSubprocessor(scope, id, row);
      if (v.agreementVersion !== '') {
        await recordAgreement(
          trx,
          org,
          orgName,
          { id, name: v.name },
          v.agreementVersion,
          v.agreementSignedOn,
          input.document,
        );
      }
      const saved = await repo.findSubprocessor(scope, id);
      const agreements = await repo.listAgreements(scope);
      const sp = toSubprocessor(saved ?? missing(), agreements);
      const count =
        recipients.length === 0 ? 0 : await announce(trx, org, orgName, recipients, sp, before === undefined);
      await appendAudit(trx, clock, {
        actor: input.actor,
        action: before === undefined ? 'register.subprocessor.create' : 'register.subprocessor.update',
        target: { type: 'subprocessor', id },
        meta: { announced: count, publicChange, document: input.document !== undefined },
      });
      return count;
    });
    const subprocessor = (await listOf(org.id)).find((s) => s.id === id);
    if (subprocessor === undefined) throw new AppError('ERR_INTERNAL', { message: 'sub-processor vanished' });
    return { subprocessor, announced };
  }

  return {
    listOf,
    useCases: {
      async listSubprocessors(input: { actor: Actor }): Promise<Subprocessor[]> {
        assertCan(input.actor, viewers);
        return listOf(input.actor.orgId);
      },

      async getSubprocessor(input: { actor: Actor; id: string }): Promise<Subprocessor> {
        assertCan(input.actor, viewers);
        const found = (await listOf(input.actor.orgId)).find((s) => s.id === input.id);
        if (found === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'sub-processor not found' });
        return found;
      },

      /** Registers a sub-processor; the operator's tenants are told by email. */
      createSubprocessor(input: {
        actor: Actor;
        values: SubprocessorInput;
        document?: UploadedDocument | undefined;
      }): Promise<{ subprocessor: Subprocessor; announced: number }> {
        return save(input);
      },

      /** Changes a sub-processor; a change the public sees is announced to the operator's tenants. */
      updateSubprocessor(input: {
        actor: Actor;
        id: string;
        values: SubprocessorInput;
        document?: UploadedDocument | undefined;
      }): Promise<{ subprocessor: Subprocessor; announced: number }> {
        return save(input);
      },

      /** Active sub-processors of an org, for its public page and statement. */
      async listPublicSubprocessors(orgId: string): Promise<Subprocessor[]> {
        return (await listOf(orgId)).filter((s) => s.status === 'active');
      },
    },
  };
}

function missing(): never {
  throw new AppError('ERR_NOT_FOUND', { message: 'sub-processor not found' });
}
