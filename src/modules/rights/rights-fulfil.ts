/**
 * Fulfilling a verified rights request: the access/portability export (compiled from the field
 * catalogue, zipped, sealed with the subject's key, downloadable once through the status link),
 * erasure (rights-erasure.ts, with a reply that says what the law keeps and why), and the
 * consent registry for withdrawal and objection (rights-consent.ts).
 */
import { z } from 'zod';
import type { Kluis } from '../../kluis.js';
import type { Actor, OrgScope } from '../../shared/actor.js';
import { DAY } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { t } from '../../shared/i18n/messages.js';
import { newId } from '../../shared/ids.js';
import { enqueue } from '../jobs/jobs-queue.js';
import type { JobRegistry } from '../jobs/jobs-registry.js';
import { createOrgsRepository } from '../orgs/orgs-repository.js';
import { appendAudit } from '../security/audit-chain.js';
import { createConsentService, isConsentPurpose, isObjectionPurpose } from './rights-consent.js';
import { eraseSubject } from './rights-erasure.js';
import { compileSubjectExport } from './rights-export-compile.js';
import { buildExportZip } from './rights-export-zip.js';
import { createRightsService } from './rights-service.js';

export const RIGHTS_EXPORT_JOB = 'rights.export';
export const RIGHTS_DAILY_JOB = 'rights.daily';
/** The export stays downloadable this long (once). */
export const EXPORT_DAYS = 14;

export type FulfilKluis = Pick<Kluis, 'db' | 'dialect' | 'keyring' | 'clock' | 'config' | 'checkpoint'>;

const exportLoc = (id: string) => ({ table: 'rights_exports', column: 'content', rowId: id });

export function createRightsFulfilment(kluis: FulfilKluis) {
  const { db, keyring, clock } = kluis;
  const rights = createRightsService(kluis);

  async function systemActor(orgId: string, reason: string): Promise<Actor> {
    const org = await createOrgsRepository(db).findById(orgId);
    return { kind: 'system', orgId, orgKind: org?.kind ?? 'tenant', reason, roles: ['privacy_officer'] };
  }

  /** A verified, linked, open request for one of `rights`; throws a clear problem otherwise. */
  async function workable(scope: OrgScope, id: string, allowed: readonly string[]) {
    const row = await rights.load(scope, id);
    rights.refuseUnless(
      row.status === 'verified' || row.status === 'in_progress',
      'rights.problem.notAllowed',
    );
    rights.refuseUnless(row.verified_at !== null, 'rights.problem.unverified');
    rights.refuseUnless(row.subject_id !== null, 'rights.problem.noSubject');
    rights.refuseUnless(
      row.right_kind !== null && allowed.includes(row.right_kind),
      'rights.problem.notAllowed',
    );
    return { ...row, subject_id: row.subject_id as string };
  }

  return {
    /** Queues the compilation; the job does the work and mails the requester when it is ready. */
    async requestExport(actor: Actor, id: string): Promise<void> {
      await workable(actor, id, ['access', 'portability']);
      await db.transaction().execute(async (trx) => {
        const row = await rights.load(actor, id, trx);
        if (row.status === 'verified') {
          await trx
            .updateTable('rights_requests')
            .set({ status: 'in_progress' })
            .where('id', '=', id)
            .where('org_id', '=', actor.orgId)
            .execute();
          await rights.addEvent(trx, actor, id, 'in_progress', actor);
        }
        await enqueue(trx, clock, {
          type: RIGHTS_EXPORT_JOB,
          orgId: actor.orgId,
          payload: { orgId: actor.orgId, requestId: id },
        });
        await appendAudit(trx, clock, {
          actor,
          action: 'rights.export.request',
          target: { type: 'rights_request', id },
          purpose: 'rights_handling',
        });
      });
    },

    /**
     * The export job: compile everything about the subject, zip it, seal it with the subject's
     * key, and close the request with a reply that carries the (single-use) download link.
     */
    async runExport(
      orgId: string,
      requestId: string,
    ): Promise<{ bytes: number; compileMs: number } | undefined> {
      const scope = { orgId };
      const row = await rights.load(scope, requestId);
      if (row.status !== 'in_progress' || row.subject_id === null) return undefined;
      const subjectId = row.subject_id;
      const started = performance.now();
      const data = await compileSubjectExport({ db, keyring, config: kluis.config }, scope, subjectId, {
        asOf: clock.now(),
      });
      const compileMs = performance.now() - started;
      const zip = await buildExportZip(data, row.locale);
      const exportId = newId();
      const sealed = await keyring.encryptForSubject(
        orgId,
        subjectId,
        exportLoc(exportId),
        zip.toString('base64'),
      );
      const expiresAt = new Date(clock.now().getTime() + EXPORT_DAYS * DAY).toISOString();
      const actor = await systemActor(orgId, RIGHTS_EXPORT_JOB);
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('rights_exports')
          .values({
            id: exportId,
            org_id: orgId,
            request_id: requestId,
            subject_id: subjectId,
            content: sealed,
            size_bytes: zip.length,
            created_at: clock.now().toISOString(),
            expires_at: expiresAt,
            downloaded_at: null,
          })
          .execute();
        const tables = data.tables.filter((x) => x.rows.length > 0);
        await rights.addEvent(trx, scope, requestId, 'export_ready', 'system', {
          tables: tables.length,
          rows: tables.reduce((n, x) => n + x.rows.length, 0),
          bytes: zip.length,
        });
        await rights.close(trx, actor, requestId, 'fulfilled', '', {
          reply: { kind: 'ready', expires: expiresAt.slice(0, 10) },
        });
        await appendAudit(trx, clock, {
          actor,
          action: 'rights.export.ready',
          target: { type: 'rights_request', id: requestId },
          purpose: 'rights_handling',
          fields: [
            ...new Set(data.tables.flatMap((x) => x.columns.map((c) => `${x.table}.${c.name}`))),
          ].slice(0, 200),
          meta: { bytes: zip.length },
        });
      });
      return { bytes: zip.length, compileMs };
    },

    /** The export behind a status link, once: the sealed zip is removed as it is handed out. */
    async downloadExport(token: string): Promise<{ filename: string; content: Buffer } | undefined> {
      const request = await rights.byToken(token);
      if (request === undefined || request.subject_id === null) return undefined;
      return db.transaction().execute(async (trx) => {
        const exp = await trx
          .selectFrom('rights_exports')
          .selectAll()
          .where('org_id', '=', request.org_id)
          .where('request_id', '=', request.id)
          .where('downloaded_at', 'is', null)
          .where('content', 'is not', null)
          .where('expires_at', '>', clock.now().toISOString())
          .orderBy('created_at', 'desc')
          .executeTakeFirst();
        if (exp?.content === undefined || exp.content === null) return undefined;
        const zip = Buffer.from(
          await keyring.decryptForSubject(exp.org_id, exp.subject_id, exportLoc(exp.id), exp.content),
          'base64',
        );
        const taken = await trx
          .updateTable('rights_exports')
          .set({ downloaded_at: clock.now().toISOString(), content: null })
          .where('id', '=', exp.id)
          .where('downloaded_at', 'is', null)
          .executeTakeFirst();
        if (Number(taken.numUpdatedRows) !== 1) return undefined;
        await rights.addEvent(trx, { orgId: exp.org_id }, request.id, 'export_downloaded', 'requester', {
          bytes: exp.size_bytes,
        });
        await appendAudit(trx, clock, {
          actor: { kind: 'anonymous', orgId: exp.org_id, ref: 'public:rights-status' },
          action: 'rights.export.download',
          target: { type: 'rights_request', id: request.id },
          purpose: 'rights_handling',
        });
        return { filename: `kluis-export-${exp.created_at.slice(0, 10)}.zip`, content: zip };
      });
    },

    /**
     * Erasure (Art. 17): everything not under a legal duty goes and the subject's key is
     * destroyed; the reply lists what the law keeps, until when and why. The request then keeps
     * ids, dates and the outcome, not who asked.
     */
    async erase(actor: Actor, id: string): Promise<void> {
      const row = await workable(actor, id, ['erasure']);
      const outcome = await eraseSubject(kluis, actor, { subjectId: row.subject_id, actor, requestId: id });
      const lines = outcome.retained.map((r) =>
        t(row.locale, 'rights.erasure.kept', {
          count: r.count,
          category: t(row.locale, `register.category.${r.category}`),
          until: r.until ?? '—',
          reason: r.reason === 'fiscal_7y' ? t(row.locale, 'rights.erasure.reason.fiscal_7y') : r.reason,
        }),
      );
      const reasons = [...lines, t(row.locale, 'rights.erasure.done')].join('\n\n');
      await db.transaction().execute(async (trx) => {
        await rights.addEvent(trx, actor, id, 'erased', actor, {
          erased: outcome.erased.reduce((n, e) => n + e.count, 0),
          retained: outcome.retained.reduce((n, e) => n + e.count, 0),
        });
        await rights.close(
          trx,
          actor,
          id,
          outcome.retained.length > 0 ? 'partly_fulfilled' : 'fulfilled',
          reasons,
          {
            forgetRequester: true,
          },
        );
      });
    },

    /**
     * Withdrawal of consent or an objection (Art. 7(3), Art. 21): recorded in the consent
     * registry at once, so every feature that asks `mayUse` stops for that purpose; the request
     * stays open for the reply.
     */
    async recordConsentRight(actor: Actor, id: string, purpose: string): Promise<void> {
      const row = await workable(actor, id, ['withdraw_consent', 'objection']);
      const withdraw = row.right_kind === 'withdraw_consent';
      const fits = withdraw ? isConsentPurpose(purpose) : isObjectionPurpose(purpose);
      if (!fits) {
        throw new AppError('ERR_VALIDATION', {
          message: 'purpose does not fit the right',
          fields: { purpose: 'field.invalid' },
        });
      }
      await createConsentService(kluis).record({
        actor,
        values: {
          subjectId: row.subject_id,
          purpose,
          event: withdraw ? 'withdrawn' : 'objected',
          method: row.channel === 'portal' ? 'portal' : 'email',
          requestId: id,
        },
      });
      await db.transaction().execute(async (trx) => {
        await rights.addEvent(trx, actor, id, withdraw ? 'consent_withdrawn' : 'objection_recorded', actor, {
          purpose,
        });
        if (row.status === 'verified') {
          await trx
            .updateTable('rights_requests')
            .set({ status: 'in_progress' })
            .where('id', '=', id)
            .where('org_id', '=', actor.orgId)
            .execute();
        }
      });
    },
  };
}

export type RightsFulfilment = ReturnType<typeof createRightsFulfilment>;

const exportPayload = z.object({ orgId: z.string().min(1).max(100), requestId: z.uuid() });

export function registerRightsJobs(registry: JobRegistry, kluis: FulfilKluis): void {
  registry.register(RIGHTS_EXPORT_JOB, exportPayload, async (payload, ctx) => {
    const result = await createRightsFulfilment(kluis).runExport(payload.orgId, payload.requestId);
    ctx.logger.info({ requestId: payload.requestId, ...(result ?? { skipped: true }) }, 'rights export done');
  });
  registry.register(RIGHTS_DAILY_JOB, z.object({}), async (_payload, ctx) => {
    const result = await createRightsService(kluis).dailyDuties();
    ctx.logger.info(result, 'rights requests: lapsed and reminded');
  });
}
