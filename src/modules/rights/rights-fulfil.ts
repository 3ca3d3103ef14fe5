/**
 * Fulfilling a verified rights request: the access/portability export (compiled from the
 * providers' links and the field catalogue, zipped, sealed with the subject's key, downloadable
 * once through the status link), erasure (rights-erasure.ts, with a reply that says what the law
 * keeps and why), and the consent registry for withdrawal and objection (rights-consent.ts).
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Actor, OrgScope } from '../../shared/actor.js';
import { DAY } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { type Locale, t } from '../../shared/i18n/messages.js';
import { newId } from '../../shared/ids.js';
import { assertCan } from '../../shared/permissions.js';
import { enqueue } from '../jobs/index.js';
import type { KluisCore } from '../module.js';
import { createOrgsRepository } from '../orgs/index.js';
import { type ConsentService, isConsentPurpose, isObjectionPurpose } from './rights-consent.js';
import type { RightsErasure } from './rights-erasure.js';
import type { RetainedEntry } from './rights-erasure-outcome.js';
import type { SubjectExport } from './rights-export-compile.js';
import { buildExportZip } from './rights-export-zip.js';
import { exportLocation } from './rights-portal.js';
import { createRightsRepository } from './rights-repository.js';
import { type RequestCore, refuseUnless } from './rights-requests.js';
import type { RightsWorkflow } from './rights-workflow.js';

export const RIGHTS_EXPORT_JOB = 'rights.export';
export const RIGHTS_DAILY_JOB = 'rights.daily';
/** The export stays downloadable this long (once). */
export const EXPORT_DAYS = 14;

export type FulfilDeps = Pick<KluisCore, 'db' | 'keyring' | 'clock'>;

export interface FulfilParts {
  readonly core: RequestCore;
  readonly workflow: Pick<RightsWorkflow, 'close'>;
  readonly erasure: RightsErasure;
  readonly consent: Pick<ConsentService, 'record'>;
  compileExport(scope: OrgScope, subjectId: string, options: { asOf: Date }): Promise<SubjectExport>;
}

/** A verified, linked, open request for one of `rights`; throws a clear problem otherwise. */
async function workable(
  deps: FulfilDeps,
  core: RequestCore,
  actor: Actor,
  id: string,
  allowed: readonly string[],
) {
  assertCan(actor, 'rights.handle');
  const row = await core.load(deps.db, actor, id);
  refuseUnless(row.status === 'verified' || row.status === 'in_progress', 'rights.problem.notAllowed');
  refuseUnless(row.verified_at !== null, 'rights.problem.unverified');
  refuseUnless(row.subject_id !== null, 'rights.problem.noSubject');
  refuseUnless(row.right_kind !== null && allowed.includes(row.right_kind), 'rights.problem.notAllowed');
  return { ...row, subject_id: row.subject_id ?? '' };
}

/** Access and portability: the export, compiled by a job, stored sealed for one download. */
function exportUseCases(deps: FulfilDeps, parts: FulfilParts) {
  const { db, keyring, clock } = deps;
  const { core, workflow } = parts;

  async function systemActor(orgId: string, reason: string): Promise<Actor> {
    const org = await createOrgsRepository(db).findById(orgId);
    return { kind: 'system', orgId, orgKind: org?.kind ?? 'tenant', reason, roles: ['privacy_officer'] };
  }

  /** A verified request is being worked on from its first fulfilment step. */
  async function markInProgress(trx: Kysely<DB>, actor: Actor, id: string, status: string): Promise<void> {
    if (status !== 'verified') return;
    // Through the core, so whoever listens to status changes (OpenDSR callbacks) hears of it.
    await core.update(trx, await core.load(trx, actor, id), { status: 'in_progress' });
    await core.addEvent(trx, { id, org_id: actor.orgId }, 'in_progress', actor);
  }

  /** The export's data, zipped and sealed with the subject's key, stored for one download. */
  async function storeExport(
    trx: Kysely<DB>,
    orgId: string,
    requestId: string,
    subjectId: string,
    zip: Buffer,
  ) {
    const exportId = newId();
    const sealed = await keyring.encryptForSubject(
      orgId,
      subjectId,
      exportLocation(exportId),
      zip.toString('base64'),
    );
    const expiresAt = new Date(clock.now().getTime() + EXPORT_DAYS * DAY).toISOString();
    await createRightsRepository(trx).insertExport({
      id: exportId,
      org_id: orgId,
      request_id: requestId,
      subject_id: subjectId,
      content: sealed,
      size_bytes: zip.length,
      created_at: clock.now().toISOString(),
      expires_at: expiresAt,
      downloaded_at: null,
    });
    return expiresAt;
  }

  return {
    /** Queues the compilation; the job does the work and mails the requester when it is ready. */
    async requestExport(actor: Actor, id: string): Promise<void> {
      await workable(deps, core, actor, id, ['access', 'portability']);
      await db.transaction().execute(async (trx) => {
        const row = await core.load(trx, actor, id);
        await markInProgress(trx, actor, id, row.status);
        const payload = { orgId: actor.orgId, requestId: id };
        await enqueue(trx, clock, { type: RIGHTS_EXPORT_JOB, orgId: actor.orgId, payload });
        await core.audit(trx, actor, 'rights.export.request', id);
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
      const row = await core.load(db, { orgId }, requestId);
      if (row.status !== 'in_progress' || row.subject_id === null) return undefined;
      const subjectId = row.subject_id;
      const started = performance.now();
      const data = await parts.compileExport({ orgId }, subjectId, { asOf: clock.now() });
      const compileMs = performance.now() - started;
      const zip = await buildExportZip(data, row.locale);
      const actor = await systemActor(orgId, RIGHTS_EXPORT_JOB);
      await db.transaction().execute(async (trx) => {
        const expiresAt = await storeExport(trx, orgId, requestId, subjectId, zip);
        const tables = data.tables.filter((x) => x.rows.length > 0);
        await core.addEvent(trx, row, 'export_ready', 'system', {
          tables: tables.length,
          rows: tables.reduce((n, x) => n + x.rows.length, 0),
          bytes: zip.length,
        });
        await workflow.close(trx, actor, requestId, 'fulfilled', '', {
          reply: { kind: 'ready', expires: expiresAt },
        });
        const fields = new Set(data.tables.flatMap((x) => x.columns.map((c) => `${x.table}.${c.name}`)));
        await core.audit(
          trx,
          actor,
          'rights.export.ready',
          requestId,
          { bytes: zip.length },
          [...fields].slice(0, 200),
        );
      });
      return { bytes: zip.length, compileMs };
    },
  };
}

/**
 * The reply's sentences on what a duty keeps: one per category and legal ground (an agreement and
 * its signed document are one agreement to the requester, not two sentences), the day it goes and
 * who can still see it. The requester's own requests are kept as proof they were handled, visible
 * to whoever handles privacy requests, not to finance (issue 16).
 */
export function keptLines(locale: Locale, retained: readonly RetainedEntry[]): string[] {
  const groups = new Map<string, RetainedEntry>();
  for (const r of retained) {
    const key = r.reason === 'rights_request' ? r.reason : `${r.reason}|${r.category}|${r.until}`;
    const seen = groups.get(key);
    if (seen === undefined || r.count > seen.count) groups.set(key, r);
  }
  return [...groups.values()].map((r) => {
    if (r.reason === 'rights_request') {
      return r.until === null
        ? t(locale, 'rights.erasure.keptRequest')
        : t(locale, 'rights.erasure.keptRequestUntil', { until: r.until });
    }
    const values = {
      count: r.count,
      category: t(locale, `register.category.${r.category}`),
      reason:
        r.reason === 'fiscal_7y'
          ? t(locale, 'rights.erasure.reason.fiscal_7y')
          : t(locale, 'rights.erasure.reason.other'),
    };
    const sentence =
      r.until === null
        ? t(locale, 'rights.erasure.keptNoDate', values)
        : t(locale, 'rights.erasure.kept', { ...values, until: r.until });
    const who = t(locale, r.restricted ? 'rights.erasure.keptFinance' : 'rights.erasure.keptStaff');
    return `${sentence} ${who}`;
  });
}

/** Erasure, withdrawal of consent and objection: done at once, the request closed or kept open. */
function answerUseCases(deps: FulfilDeps, parts: FulfilParts) {
  const { db } = deps;
  const { core, workflow } = parts;
  return {
    /**
     * Erasure (Art. 17): everything not under a legal duty goes and the subject's key is
     * destroyed; the reply lists what the law keeps, until when and why. The request then keeps
     * ids, dates and the outcome, not who asked.
     */
    async erase(actor: Actor, id: string): Promise<void> {
      const row = await workable(deps, core, actor, id, ['erasure']);
      const outcome = await parts.erasure.eraseSubject(actor, {
        subjectId: row.subject_id,
        actor,
        requestId: id,
      });
      const lines = keptLines(row.locale, outcome.retained);
      const reasons = [...lines, t(row.locale, 'rights.erasure.done')].join('\n\n');
      const result = outcome.retained.length > 0 ? 'partly_fulfilled' : 'fulfilled';
      await db.transaction().execute(async (trx) => {
        await core.addEvent(trx, row, 'erased', actor, {
          erased: outcome.erased.reduce((n, e) => n + e.count, 0),
          retained: outcome.retained.reduce((n, e) => n + e.count, 0),
        });
        await workflow.close(trx, actor, id, result, reasons, { forgetRequester: true });
      });
    },

    /**
     * Withdrawal of consent or an objection (Art. 7(3), Art. 21): recorded in the consent
     * registry at once, so every feature that asks `mayUse` stops for that purpose; the request
     * stays open for the reply.
     */
    async recordConsentRight(actor: Actor, id: string, purpose: string): Promise<void> {
      const row = await workable(deps, core, actor, id, ['withdraw_consent', 'objection']);
      const withdraw = row.right_kind === 'withdraw_consent';
      const fits = withdraw ? isConsentPurpose(purpose) : isObjectionPurpose(purpose);
      if (!fits) {
        throw new AppError('ERR_VALIDATION', {
          message: 'purpose does not fit the right',
          fields: { purpose: 'field.invalid' },
        });
      }
      await parts.consent.record({
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
        await core.addEvent(trx, row, withdraw ? 'consent_withdrawn' : 'objection_recorded', actor, {
          purpose,
        });
        if (row.status === 'verified') {
          await core.update(trx, await core.load(trx, actor, id), { status: 'in_progress' });
        }
      });
    },
  };
}

export function createRightsFulfilment(deps: FulfilDeps, parts: FulfilParts) {
  return { ...exportUseCases(deps, parts), ...answerUseCases(deps, parts) };
}
