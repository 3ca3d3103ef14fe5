/**
 * Tenant offboarding (Art. 28(3)(g) GDPR, P10): at the end of the processing the processor
 * returns all personal data to the controller and deletes it. The tenant's owner starts it — or
 * the operator's owner once the agreement has ended. Kluis compiles the full export at once; the
 * tenant's owner downloads it during the notice period; then (the daily job, or
 * `kluis offboarding finish`) the tenant's rows are deleted, its org key — and so every subject
 * key under it — destroyed, erasure-ledger lines written first so a restored backup stays erased,
 * and a deletion certificate signed with the installation's audit key. Every step is in the
 * tenant's audit trail.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { type Actor, actorRef } from '../../shared/actor.js';
import { DAY } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { assertCan } from '../../shared/permissions.js';
import type { KluisCore, KluisServices } from '../module.js';
import type { AuditEvent } from '../security/index.js';
import { auditSigningKeyOf } from '../security/index.js';
import { CERTIFICATE_FORMAT, type DeletionCertificate, signCertificate } from './offboarding-certificate.js';
import { compileTenantExport } from './offboarding-export.js';
import {
  countOrgRows,
  deleteOrgRows,
  keptTables,
  OFFBOARDING_KEYS_TARGET,
  OFFBOARDING_ROWS_TARGET,
} from './offboarding-rows.js';
import type { OffboardingsTable } from './offboarding-schema.js';

export type OffboardingDeps = Pick<
  KluisCore,
  'db' | 'keyring' | 'clock' | 'config' | 'checkpoint' | 'personalData'
> &
  Pick<KluisServices, 'audit' | 'orgs' | 'rights' | 'subjects' | 'register' | 'statement' | 'retention'>;

export interface OffboardingView {
  readonly orgId: string;
  readonly status: OffboardingsTable['status'];
  readonly startedAt: string;
  readonly noticeEndsAt: string;
  readonly exportBytes: number | null;
  readonly exportAvailable: boolean;
  readonly exportDownloadedAt: string | null;
  readonly finishedAt: string | null;
  readonly hasCertificate: boolean;
}

const exportLocation = (id: string) => ({ table: 'offboardings', column: 'export_zip', rowId: id });

function viewOf(row: OffboardingsTable): OffboardingView {
  return {
    orgId: row.org_id,
    status: row.status,
    startedAt: row.started_at,
    noticeEndsAt: row.notice_ends_at,
    exportBytes: row.export_bytes === null ? null : Number(row.export_bytes),
    exportAvailable: row.export_zip !== null,
    exportDownloadedAt: row.export_downloaded_at,
    finishedAt: row.finished_at,
    hasCertificate: row.certificate !== null,
  };
}

/** The tenant's own owner acts on its org; the operator's owner names the tenant. */
function tenantOf(actor: Actor, tenantId: string | undefined): string {
  assertCan(actor, 'offboarding.manage');
  if (actor.kind === 'user' && actor.grantId !== undefined) {
    throw new AppError('ERR_FORBIDDEN', { message: 'offboarding is not done under a grant' });
  }
  if (actor.orgKind === 'tenant') {
    if (tenantId !== undefined && tenantId !== actor.orgId)
      throw new AppError('ERR_NOT_FOUND', { message: 'organisation not found' });
    return actor.orgId;
  }
  if (tenantId === undefined) throw new AppError('ERR_VALIDATION', { message: 'name the tenant' });
  return tenantId;
}

/** An audit entry in the tenant's own trail; an operator's step names its actor in meta. */
function inTenant(
  deps: Pick<OffboardingDeps, 'audit'>,
  trx: Kysely<DB>,
  actor: Actor,
  orgId: string,
  event: Omit<AuditEvent, 'actor'>,
): Promise<number> {
  const own = actor.orgId === orgId;
  return deps.audit.append(trx, {
    ...event,
    actor: own ? actor : { kind: 'system', orgId, orgKind: 'tenant', reason: 'offboarding', roles: [] },
    meta: { ...(event.meta ?? {}), ...(own ? {} : { by: actorRef(actor) }) },
  });
}

async function getTenant(deps: Pick<OffboardingDeps, 'orgs'>, orgId: string) {
  const org = await deps.orgs.findById(orgId);
  if (org === undefined || org.kind !== 'tenant')
    throw new AppError('ERR_NOT_FOUND', { message: 'tenant not found' });
  return org;
}

/** Destroys the tenant's data: ledger first, rows, keys, then the signed certificate. */
async function destroyTenant(deps: OffboardingDeps, actor: Actor, row: OffboardingsTable): Promise<string> {
  const { db, keyring, clock, config } = deps;
  const org = await getTenant(deps, row.org_id);
  const now = clock.now();
  const at = now.toISOString();
  const run = `offboarding:${row.id}`;
  const ledger: DeletionCertificate['ledger'] = [];
  // Write-ahead: durable before the commit, so a backup restored later is erased again.
  for (const target of [OFFBOARDING_ROWS_TARGET, OFFBOARDING_KEYS_TARGET]) {
    const line = await deps.retention.ledger.append(
      {
        kind: 'erasure',
        run,
        org: org.id,
        target,
        table: 'orgs',
        action: 'delete',
        as_of: at,
        ids: [org.id],
      },
      now,
    );
    ledger.push({ seq: line.seq, target });
  }
  const deleted = await db.transaction().execute(async (trx) => {
    const counts = await deleteOrgRows(trx, org.id, deps.personalData);
    await trx
      .updateTable('offboardings')
      .set({ status: 'finished', export_zip: null, finished_at: at })
      .where('id', '=', row.id)
      .execute();
    await inTenant(deps, trx, actor, org.id, {
      action: 'offboarding.data_deleted',
      target: { type: 'offboarding', id: row.id },
      meta: { tables: Object.keys(counts).length, rows: Object.values(counts).reduce((a, b) => a + b, 0) },
    });
    return counts;
  });
  await deps.orgs.setStatus(org.id, 'offboarded');
  const keys = await keyring.destroyOrgKey(org.id);
  const certificate: DeletionCertificate = {
    format: CERTIFICATE_FORMAT,
    tenant: { id: org.id, slug: org.slug, name: org.name },
    started_at: row.started_at,
    finished_at: at,
    deleted,
    kept: keptTables,
    destroyed_keys: { org: org.id, subjects: [...keys.subjectIds].sort() },
    ledger,
  };
  const signed = signCertificate(auditSigningKeyOf(config), certificate);
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('offboardings').set({ certificate: signed }).where('id', '=', row.id).execute();
    await inTenant(deps, trx, actor, org.id, {
      action: 'offboarding.keys_destroyed',
      target: { type: 'offboarding', id: row.id },
      meta: { subject_keys: keys.subjectIds.length, certificate: true },
    });
  });
  await deps.checkpoint();
  return signed;
}

/** Starts an offboarding (see the service's `start`). */
async function startOffboarding(deps: OffboardingDeps, input: StartInput): Promise<OffboardingView> {
  const { db, keyring, clock, config } = deps;
  const find = (orgId: string) =>
    db.selectFrom('offboardings').selectAll().where('org_id', '=', orgId).executeTakeFirst();
  const orgId = tenantOf(input.actor, input.tenantId);
  await getTenant(deps, orgId);
  const now = clock.now();
  if (input.actor.orgKind === 'operator') {
    const ended = input.agreementEndedOn;
    if (ended === undefined || !/^\d{4}-\d{2}-\d{2}$/.test(ended) || ended > now.toISOString().slice(0, 10)) {
      throw new AppError('ERR_VALIDATION', {
        message: 'the operator starts an offboarding only once the agreement has ended (give its end date)',
      });
    }
  }
  if ((await find(orgId)) !== undefined)
    throw new AppError('ERR_CONFLICT', { message: 'this tenant is already being offboarded' });
  const exported = await compileTenantExport(deps, { orgId }, now);
  const id = newId();
  const sealed = await keyring.encryptForOrg(orgId, exportLocation(id), exported.zip.toString('base64'));
  const row: OffboardingsTable = {
    id,
    org_id: orgId,
    status: 'notice',
    started_at: now.toISOString(),
    started_by: actorRef(input.actor),
    notice_ends_at: new Date(now.getTime() + config.offboardingNoticeDays * DAY).toISOString(),
    export_zip: sealed,
    export_bytes: exported.zip.length,
    export_downloaded_at: null,
    finished_at: null,
    certificate: null,
  };
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('offboardings').values(row).execute();
    await inTenant(deps, trx, input.actor, orgId, {
      action: 'offboarding.started',
      target: { type: 'offboarding', id },
      purpose: 'contract_administration',
      meta: {
        notice_ends_at: row.notice_ends_at,
        subjects: exported.subjects,
        bytes: exported.zip.length,
        ...(input.agreementEndedOn === undefined ? {} : { agreement_ended_on: input.agreementEndedOn }),
      },
    });
  });
  // The tenant's pages, inbound mail and new sign-ups stop; its owner can still sign in to
  // download the export during the notice period.
  await deps.orgs.setStatus(orgId, 'offboarding');
  return viewOf(row);
}

export interface StartInput {
  readonly actor: Actor;
  readonly tenantId?: string;
  readonly agreementEndedOn?: string;
}

export function createOffboardingService(deps: OffboardingDeps) {
  const { db, keyring, clock } = deps;

  const find = (orgId: string) =>
    db.selectFrom('offboardings').selectAll().where('org_id', '=', orgId).executeTakeFirst();

  return {
    /**
     * Starts the offboarding: compiles the full export (sealed with the org key) and sets the end
     * of the notice period. The operator may start it only once the agreement has ended.
     */
    start: (input: StartInput) => startOffboarding(deps, input),

    /** The state of the tenant's offboarding, if any (with what would be deleted). */
    async status(actor: Actor, tenantId?: string) {
      const orgId = tenantOf(actor, tenantId);
      const row = await find(orgId);
      return {
        offboarding: row === undefined ? undefined : viewOf(row),
        rows: row?.status === 'finished' ? {} : await countOrgRows(db, orgId, deps.personalData),
      };
    },

    /** The export zip, for the tenant's own owner during the notice period (audited). */
    async downloadExport(actor: Actor): Promise<{ fileName: string; content: Buffer }> {
      const orgId = tenantOf(actor, undefined);
      const row = await find(orgId);
      if (row === undefined || row.export_zip === null)
        throw new AppError('ERR_NOT_FOUND', { message: 'no export to download' });
      const zip = Buffer.from(
        await keyring.decryptForOrg(orgId, exportLocation(row.id), row.export_zip),
        'base64',
      );
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('offboardings')
          .set({ export_downloaded_at: clock.now().toISOString() })
          .where('id', '=', row.id)
          .execute();
        await inTenant(deps, trx, actor, orgId, {
          action: 'offboarding.export.downloaded',
          target: { type: 'offboarding', id: row.id },
          purpose: 'contract_administration',
          meta: { bytes: zip.length },
        });
      });
      const org = await getTenant(deps, orgId);
      return { fileName: `kluis-export-${org.slug}.zip`, content: zip };
    },

    /**
     * Ends the offboarding: refused before the notice period ends, unless `early` and the export
     * was downloaded. Returns the signed certificate.
     */
    async finish(input: { actor: Actor; tenantId?: string; early?: boolean }): Promise<string> {
      const orgId = tenantOf(input.actor, input.tenantId);
      const row = await find(orgId);
      if (row === undefined)
        throw new AppError('ERR_NOT_FOUND', { message: 'no offboarding for this tenant' });
      if (row.status === 'finished' && row.certificate !== null) return row.certificate;
      const due = clock.now().toISOString() >= row.notice_ends_at;
      if (!due && !(input.early === true && row.export_downloaded_at !== null)) {
        throw new AppError('ERR_CONFLICT', {
          message: `the notice period runs until ${row.notice_ends_at}; finishing early needs the export downloaded`,
        });
      }
      return destroyTenant(deps, input.actor, row);
    },

    /** The signed deletion certificate (canonical JSON), once finished. */
    async certificate(actor: Actor, tenantId?: string): Promise<string> {
      const orgId = tenantOf(actor, tenantId);
      const row = await find(orgId);
      if (row?.certificate === null || row?.certificate === undefined)
        throw new AppError('ERR_NOT_FOUND', { message: 'no deletion certificate yet' });
      return row.certificate;
    },

    /** The daily job: finishes every offboarding whose notice period has ended. */
    async finishDue(): Promise<{ finished: number }> {
      const due = await db
        .selectFrom('offboardings')
        .selectAll()
        .where('status', '=', 'notice')
        .where('notice_ends_at', '<=', clock.now().toISOString())
        .execute();
      for (const row of due) {
        const actor: Actor = {
          kind: 'system',
          orgId: row.org_id,
          orgKind: 'tenant',
          reason: 'offboarding.finish_due',
          roles: ['owner'],
        };
        await destroyTenant(deps, actor, row);
      }
      return { finished: due.length };
    },
  };
}

export type OffboardingService = ReturnType<typeof createOffboardingService>;
