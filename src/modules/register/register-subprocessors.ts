/**
 * Sub-processors (P14): who, which service, where (EEA or not), which data categories, the
 * processor agreement on file, active or ended. The operator's additions and changes the public
 * sees are announced to its tenants (register-announce.ts) in the same transaction as the change.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Config } from '../../config/env.js';
import type { Keyring } from '../../crypto/keyring.js';
import type { DB } from '../../db/schema.js';
import { type Actor, scopeOf } from '../../shared/actor.js';
import { type DataCategory, dataCategories } from '../../shared/catalogue.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import { assertCan } from '../../shared/permissions.js';
import type { KluisServices } from '../module.js';
import { queueAnnouncements, tenantRecipients, type UserDirectory } from './register-announce.js';
import { countryCodes, isInEea } from './register-derive.js';
import { storeDocument, type UploadedDocument, validateDocument } from './register-documents.js';
import { assertMayBeActive, dateOf, isPublished, transitionProblem } from './register-lifecycle.js';
import type { OrgDirectory, OrgInfo } from './register-orgs.js';
import { type AgreementRow, createRegisterRepository, type SubprocessorRow } from './register-repository.js';
import {
  type SubprocessorLifecycle,
  subprocessorLifecycles,
  type TransferMechanism,
  transferMechanisms,
} from './register-schema.js';
import type { RegisterSettings } from './register-settings.js';

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
  /** Proposed → announced (notice, objections) → active → ended (Art. 28(2)). */
  readonly status: SubprocessorLifecycle;
  readonly announcedAt: string | null;
  /** YYYY-MM-DD: the end of the notice period of an announced sub-processor. */
  readonly effectiveOn: string | null;
  readonly transferMechanism: TransferMechanism | null;
  readonly sccDate: string | null;
  readonly transferAssessment: string;
  /** Where it receives data (`host` or `host:port`): the egress registry's match (P14). */
  readonly egressHosts: readonly string[];
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The newest agreement on file (by signing date), if any. */
  readonly agreement: AgreementSummary | undefined;
}

/** A date as a date input sends it (YYYY-MM-DD). */
export const isoDate = z.iso.date({ message: 'register.field.invalidDate' });

/** `host` or `host:port` (a DNS name or an IPv4 address), lower case. */
const egressHostPattern =
  /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::\d{1,5})?$/;

/** The hosts a sub-processor receives data at, typed separated by spaces, commas or lines. */
const egressHostList = z
  .union([z.string(), z.array(z.string())])
  .default('')
  .transform((v) =>
    [...new Set((typeof v === 'string' ? v.split(/[\s,]+/) : v).map((h) => h.trim().toLowerCase()))].filter(
      (h) => h !== '',
    ),
  )
  .refine((hosts) => hosts.length <= 20 && hosts.every((h) => h.length <= 260 && egressHostPattern.test(h)), {
    message: 'register.sp.egressHostsInvalid',
  });

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
    status: z.enum(subprocessorLifecycles).default('active'),
    agreementVersion: z.string().trim().max(50, { message: 'field.tooLong' }).default(''),
    agreementSignedOn: z.union([z.literal(''), isoDate]).default(''),
    transferMechanism: z.union([z.literal(''), z.enum(transferMechanisms)]).default(''),
    sccDate: z.union([z.literal(''), isoDate]).default(''),
    transferAssessment: z.string().trim().max(5000, { message: 'field.tooLong' }).default(''),
    egressHosts: egressHostList,
  })
  .superRefine((v, ctx) => {
    if (v.transferMechanism === 'scc' && v.sccDate === '') {
      ctx.addIssue({ code: 'custom', path: ['sccDate'], message: 'register.sp.sccNeedsDate' });
    }
    if (v.agreementVersion !== '' && v.agreementSignedOn === '') {
      ctx.addIssue({ code: 'custom', path: ['agreementSignedOn'], message: 'field.required' });
    }
    if (v.agreementVersion === '' && v.agreementSignedOn !== '') {
      ctx.addIssue({ code: 'custom', path: ['agreementVersion'], message: 'field.required' });
    }
  });
/** Form input: strings as they arrive (validated by `subprocessorInput`). */
export type SubprocessorInput = Omit<
  z.input<typeof subprocessorInput>,
  'dataCategories' | 'status' | 'transferMechanism' | 'egressHosts'
> & {
  dataCategories?: readonly string[];
  status?: string;
  transferMechanism?: string;
  egressHosts?: string | readonly string[];
};

const categoryList = z.array(z.string()).catch([]);

/** Whether a sub-processor in this state receives data now (`status` column). */
export function isActive(lifecycle: SubprocessorLifecycle): boolean {
  return lifecycle === 'active';
}

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
    status: row.lifecycle,
    announcedAt: row.announced_at,
    effectiveOn: row.effective_on,
    transferMechanism: row.transfer_mechanism,
    sccDate: row.scc_date,
    transferAssessment: row.transfer_assessment,
    egressHosts: categoryList.parse(JSON.parse(row.egress_hosts)),
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

export interface SubprocessorsDeps {
  db: Kysely<DB>;
  clock: Clock;
  keyring: Pick<Keyring, 'encryptForOrg' | 'encryptForSubject'>;
  config: Pick<Config, 'publicOrigin'>;
  users: UserDirectory;
  audit: Pick<KluisServices['audit'], 'append'>;
  orgs: OrgDirectory;
  settingsOf(org: OrgInfo): Promise<RegisterSettings>;
}

type Validated = z.output<typeof subprocessorInput>;

interface SaveInput {
  actor: Actor;
  id?: string;
  values: SubprocessorInput;
  document?: UploadedDocument | undefined;
}

export interface SavedSubprocessor {
  readonly subprocessor: Subprocessor;
  /** How many announcements were queued (0 for a tenant's own or an unseen change). */
  readonly announced: number;
}

/** The form's fields, checked; a document needs the agreement version it belongs to. */
function validated(input: SaveInput): Validated {
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
  return v;
}

function missing(): never {
  throw new AppError('ERR_NOT_FOUND', { message: 'sub-processor not found' });
}

/** Creates or updates the agreement on file for a sub-processor from the form's fields. */
async function recordAgreement(
  deps: Pick<SubprocessorsDeps, 'clock' | 'keyring'>,
  trx: Kysely<DB>,
  o: { org: OrgInfo; orgName: string; id: string; v: Validated; document: UploadedDocument | undefined },
): Promise<void> {
  const repo = createRegisterRepository(trx);
  const scope = { orgId: o.org.id };
  const latest = toSubprocessor(
    (await repo.findSubprocessor(scope, o.id)) ?? missing(),
    (await repo.listAgreements(scope)).filter((a) => a.subprocessor_id === o.id),
  ).agreement;
  const documentId =
    o.document === undefined
      ? undefined
      : await storeDocument(trx, deps.clock, deps.keyring, o.org.id, o.document);
  const now = deps.clock.now().toISOString();
  if (latest !== undefined && latest.version === o.v.agreementVersion) {
    await repo.updateAgreement(scope, latest.id, {
      signed_on: o.v.agreementSignedOn,
      updated_at: now,
      ...(documentId === undefined ? {} : { document_id: documentId }),
    });
    return;
  }
  await repo.insertAgreement({
    id: randomUUID(),
    org_id: o.org.id,
    counterparty_kind: 'subprocessor',
    client_org_id: null,
    subprocessor_id: o.id,
    version: o.v.agreementVersion,
    signed_on: o.v.agreementSignedOn,
    parties: `${o.orgName}; ${o.v.name}`,
    document_id: documentId ?? null,
    created_at: now,
    updated_at: now,
  });
}

/** The lifecycle and Art. 28/46 rules for the form's target state (throws a field error). */
async function checkTarget(
  deps: Pick<SubprocessorsDeps, 'db' | 'clock' | 'orgs'>,
  o: { org: OrgInfo; before: SubprocessorRow | undefined; v: Validated },
): Promise<void> {
  const { db, clock } = deps;
  const { before, v } = o;
  const needsNotice =
    o.org.kind === 'operator' && (await deps.orgs.list()).some((org) => org.kind === 'tenant');
  const problem = transitionProblem({
    from: before?.lifecycle,
    to: v.status,
    needsNotice,
    effectiveOn: before?.effective_on ?? null,
    today: dateOf(clock.now()),
  });
  if (problem !== undefined) {
    throw new AppError('ERR_VALIDATION', {
      message: `sub-processor cannot go from ${before?.lifecycle ?? 'nothing'} to ${v.status}`,
      fields: { status: problem },
    });
  }
  if (v.status !== 'active') return;
  const onFile =
    before !== undefined &&
    (await createRegisterRepository(db).listAgreements({ orgId: o.org.id })).some(
      (a) => a.subprocessor_id === before.id,
    );
  assertMayBeActive({
    inEea: isInEea(v.country),
    hasAgreement: onFile || v.agreementVersion !== '',
    transferMechanism: v.transferMechanism,
    sccDate: v.sccDate,
    transferAssessment: v.transferAssessment,
  });
}

export function createSubprocessorsService(deps: SubprocessorsDeps) {
  const { db, clock, audit } = deps;

  async function listOf(orgId: string): Promise<Subprocessor[]> {
    const repo = createRegisterRepository(db);
    const rows = await repo.listSubprocessors({ orgId });
    const agreements = (await repo.listAgreements({ orgId })).filter(
      (a) => a.counterparty_kind === 'subprocessor',
    );
    return rows.map((r) => toSubprocessor(r, agreements));
  }

  async function save(input: SaveInput): Promise<SavedSubprocessor> {
    assertCan(input.actor, 'register.edit');
    const v = validated(input);
    const scope = scopeOf(input.actor);
    const org = await deps.orgs.get(input.actor.orgId);
    const before =
      input.id === undefined
        ? undefined
        : ((await createRegisterRepository(db).findSubprocessor(scope, input.id)) ?? missing());
    await checkTarget(deps, { org, before, v });
    const publicChange =
      before === undefined ||
      publicShape({
        ...before,
        status: before.lifecycle,
        dataCategories: categoryList.parse(JSON.parse(before.data_categories)),
      }) !== publicShape(v);
    // Only a change to what the clients already see is mailed at once; a new sub-processor is
    // announced ahead (announceSubprocessor), with its notice period.
    const mailNow =
      org.kind === 'operator' && publicChange && isPublished(before?.lifecycle) && isPublished(v.status);
    // Read everything else before the write transaction (SQLite has one connection, which the
    // transaction holds: a read through `db` inside it would wait forever).
    const orgName = (await deps.settingsOf(org)).name;
    const recipients = mailNow ? await tenantRecipients(deps.orgs, deps.users) : [];
    const id = before?.id ?? randomUUID();
    const announced = await db.transaction().execute(async (trx) => {
      const repo = createRegisterRepository(trx);
      const now = clock.now().toISOString();
      const outsideEea = !isInEea(v.country);
      const row = {
        name: v.name,
        service: v.service,
        location: v.location,
        country: v.country,
        data_categories: JSON.stringify(dataCategories.filter((c) => v.dataCategories.includes(c))),
        status: isActive(v.status) ? ('active' as const) : ('ended' as const),
        lifecycle: v.status,
        transfer_mechanism: outsideEea && v.transferMechanism !== '' ? v.transferMechanism : null,
        scc_date: outsideEea && v.transferMechanism === 'scc' ? v.sccDate : null,
        transfer_assessment: outsideEea ? v.transferAssessment : '',
        egress_hosts: JSON.stringify(v.egressHosts),
        updated_at: now,
      };
      if (before === undefined)
        await repo.insertSubprocessor({
          ...row,
          id,
          org_id: org.id,
          announced_at: null,
          effective_on: null,
          created_at: now,
        });
      else await repo.updateSubprocessor(scope, id, row);
      if (v.agreementVersion !== '') {
        await recordAgreement(deps, trx, { org, orgName, id, v, document: input.document });
      }
      const subprocessor = toSubprocessor(
        (await repo.findSubprocessor(scope, id)) ?? missing(),
        await repo.listAgreements(scope),
      );
      const isNew = before === undefined;
      const count =
        recipients.length === 0
          ? 0
          : await queueAnnouncements(trx, deps, { operator: org, orgName, recipients, subprocessor, isNew });
      await audit.append(trx, {
        actor: input.actor,
        action: isNew ? 'register.subprocessor.create' : 'register.subprocessor.update',
        target: { type: 'subprocessor', id },
        meta: {
          announced: count,
          publicChange,
          document: input.document !== undefined,
          lifecycle: v.status,
        },
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
        assertCan(input.actor, 'register.read');
        return listOf(input.actor.orgId);
      },

      async getSubprocessor(input: { actor: Actor; id: string }): Promise<Subprocessor> {
        assertCan(input.actor, 'register.read');
        return (await listOf(input.actor.orgId)).find((s) => s.id === input.id) ?? missing();
      },

      /** Registers a sub-processor; the operator's tenants are told by email. */
      createSubprocessor(input: Omit<SaveInput, 'id'>): Promise<SavedSubprocessor> {
        return save(input);
      },

      /** Changes a sub-processor; a change the public sees is announced to the operator's tenants. */
      updateSubprocessor(input: SaveInput & { id: string }): Promise<SavedSubprocessor> {
        return save(input);
      },

      /** Active sub-processors of an org, for its public page and statement. */
      async listPublicSubprocessors(orgId: string): Promise<Subprocessor[]> {
        return (await listOf(orgId)).filter((s) => s.status === 'active');
      },

      /** Announced sub-processors of an org, with the date each may start (upcoming changes). */
      async listUpcomingSubprocessors(orgId: string): Promise<Subprocessor[]> {
        return (await listOf(orgId)).filter((s) => s.status === 'announced');
      },
    },
  };
}
