/**
 * A tenant's OpenDSR 2.0 endpoint (issue 13; P14, P15, P16, Art. 28(3)(e)): the controller's own
 * systems hand data-subject requests to Kluis, its processor. A request becomes a rights request
 * in the tenant's queue, verified by the controller and with the legal clock; its status is told
 * in the specification's vocabulary; every change is reported to the controller's callback URLs,
 * signed, through the job queue with retries — and only to URLs the tenant registered as
 * recipients (P14: anything else is refused and recorded as `egress.refused`).
 */
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { DB } from '../../db/schema.js';
import type { Actor } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { assertCan } from '../../shared/permissions.js';
import { enqueue } from '../jobs/index.js';
import type { KluisCore } from '../module.js';
import type { Org, OrgsService } from '../orgs/index.js';
import type { RegisterService } from '../register/index.js';
import type { RequestStatus, RightsService, StatusChange } from '../rights/index.js';
import { createOpendsrRepository, type RequestRow } from './opendsr-repository.js';
import type { OpendsrStatus } from './opendsr-schema.js';
import { createOpendsrKeys } from './opendsr-signing.js';
import {
  API_VERSION,
  identityFormats,
  identityTypes,
  type RequestBody,
  receiptSchema,
  type statusSchema,
} from './opendsr-wire.js';

export const CALLBACK_JOB = 'opendsr.callback';
/** Attempts per callback: with the queue's doubling backoff (30 s up to an hour) about 7 hours in all. */
const CALLBACK_ATTEMPTS = 10;
const CALLBACK_TIMEOUT_MS = 10_000;

export type OpendsrDeps = Pick<KluisCore, 'db' | 'clock' | 'config'> & {
  readonly rights: Pick<RightsService, 'receiveFromController' | 'cancelByController' | 'onStatusChange'>;
  readonly register: { readonly egress: Pick<RegisterService['egress'], 'checkWebhook'> };
  readonly orgs: Pick<OrgsService, 'findBySlug' | 'findById'>;
};

/** The specification's status of a rights request (a refusal or lapse ends it as `cancelled`: 8 has no other end). */
export function opendsrStatusOf(status: RequestStatus): OpendsrStatus {
  switch (status) {
    case 'received':
    case 'verified':
      return 'pending';
    case 'in_progress':
      return 'in_progress';
    case 'completed':
      return 'completed';
    case 'refused':
    case 'lapsed':
    case 'cancelled':
      return 'cancelled';
  }
}

/** The end of a due day (YYYY-MM-DD, Europe/Amsterdam) as an RFC 3339 UTC time. */
export function endOfDueDay(day: string): string {
  const utc = new Date(`${day}T23:59:59Z`);
  const name =
    new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Amsterdam', timeZoneName: 'longOffset' })
      .formatToParts(utc)
      .find((p) => p.type === 'timeZoneName')?.value ?? '';
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  const offsetMinutes = m === null ? 0 : (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  return new Date(utc.getTime() - offsetMinutes * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const seconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** What the privacy officer reads about who the request is for (sealed in the rights request). */
function identitiesText(body: RequestBody): string {
  const lines = body.subject_identities.map(
    (i) => `${i.identity_type} (${i.identity_format}): ${i.identity_value}`,
  );
  return [
    `OpenDSR ${body.subject_request_type} request ${body.subject_request_id} (${body.regulation ?? 'gdpr'}), identity verified by the controller:`,
    ...lines,
  ].join('\n');
}

/** A key acts on its own organisation's endpoint only (the routes check it first; defence in depth). */
function assertOwnEndpoint(actor: Actor, org: Org): void {
  if (actor.orgId !== org.id)
    throw new AppError('ERR_FORBIDDEN', { message: 'API key of another organisation' });
}

export function createOpendsrService(deps: OpendsrDeps) {
  const { db, clock, config, rights, register, orgs } = deps;
  const keys = createOpendsrKeys(config);
  const domain = new URL(config.publicOrigin).host;

  function statusOf(org: Org, row: RequestRow): StatusBody {
    return {
      controller_id: org.slug,
      expected_completion_time: row.expected_completion_at,
      subject_request_id: row.subject_request_id,
      request_status: row.request_status,
      api_version: API_VERSION,
    };
  }

  /** Queues one callback per URL for the request's new status (in the changing transaction). */
  async function queueCallbacks(trx: Kysely<DB>, row: RequestRow): Promise<void> {
    const urls = JSON.parse(row.callback_urls) as string[];
    for (const url of urls) {
      const id = newId();
      await createOpendsrRepository(trx).insertCallback({
        id,
        org_id: row.org_id,
        opendsr_request_id: row.id,
        url,
        request_status: row.request_status,
        expected_completion_at: row.expected_completion_at,
        state: 'queued',
        attempts: 0,
        last_error: null,
        created_at: clock.now().toISOString(),
        delivered_at: null,
      });
      await enqueue(trx, clock, {
        type: CALLBACK_JOB,
        payload: { callbackId: id },
        orgId: row.org_id,
        maxAttempts: CALLBACK_ATTEMPTS,
      });
    }
  }

  /** A rights request changed status: follow it, and tell the controller when its status changed. */
  async function onRightsChange(trx: Kysely<DB>, change: StatusChange): Promise<void> {
    if (change.channel !== 'opendsr') return;
    const repo = createOpendsrRepository(trx);
    const scope = { orgId: change.orgId };
    const row = await repo.findByRightsRequest(scope, change.requestId);
    if (row === undefined) return;
    const status = opendsrStatusOf(change.status);
    const expected = endOfDueDay(change.dueOn);
    if (status === row.request_status && expected === row.expected_completion_at) return;
    const next: RequestRow = {
      ...row,
      request_status: status,
      expected_completion_at: expected,
      updated_at: clock.now().toISOString(),
    };
    await repo.updateRequest(scope, row.id, {
      request_status: next.request_status,
      expected_completion_at: next.expected_completion_at,
      updated_at: next.updated_at,
    });
    if (status !== row.request_status) await queueCallbacks(trx, next);
  }
  rights.onStatusChange(onRightsChange);

  return {
    /** The `X-OpenDSR-Processor-Domain`: the host requests are received on. */
    domain,
    sign: keys.sign,
    publicKeyPem: (orgId: string) => keys.keyOf(orgId).publicKeyPem,

    /** The tenant a slug names, if it is active (the endpoint exists for active tenants only). */
    async organisation(slug: string): Promise<Org> {
      const org = await orgs.findBySlug(slug);
      if (org === undefined || org.kind !== 'tenant' || org.status !== 'active') {
        throw new AppError('ERR_NOT_FOUND', { message: 'no OpenDSR endpoint for this slug' });
      }
      return org;
    },

    /** Section 6.3. */
    discovery(org: Org) {
      const base = `${config.publicOrigin}/o/${org.slug}/opendsr/v1`;
      return {
        api_version: API_VERSION,
        supported_identities: identityTypes.flatMap((identity_type) =>
          identityFormats.map((identity_format) => ({ identity_type, identity_format })),
        ),
        supported_subject_request_types: ['access', 'portability', 'erasure'] as const,
        processor_certificate: `${base}/key.pem`,
        processor_public_key: keys.keyOf(org.id).publicKeyPem,
        signature_algorithm: 'ed25519' as const,
      };
    },

    /**
     * Takes a controller's request (section 7): callback URLs must be registered recipients (an
     * unregistered one refuses the request, recorded as `egress.refused`); the same
     * `subject_request_id` twice is a conflict. Returns the receipt (7.3).
     */
    async submit(actor: Actor, org: Org, body: RequestBody, rawBody: string) {
      assertOwnEndpoint(actor, org);
      const urls = [...new Set(body.status_callback_urls ?? [])];
      for (const url of urls) await register.egress.checkWebhook(org.id, url);
      const now = clock.now();
      const email = body.subject_identities.find(
        (i) => i.identity_type === 'email' && i.identity_format === 'raw',
      )?.identity_value;
      return db.transaction().execute(async (trx) => {
        const repo = createOpendsrRepository(trx);
        if ((await repo.findBySubjectRequestId(actor, body.subject_request_id)) !== undefined) {
          throw new AppError('ERR_CONFLICT', { message: 'subject_request_id submitted before' });
        }
        const created = await rights.receiveFromController(trx, actor, {
          right: body.subject_request_type,
          receivedAt: new Date(body.submitted_time),
          identities: identitiesText(body),
          email,
          locale: 'en',
        });
        const row: RequestRow = {
          id: newId(),
          org_id: org.id,
          subject_request_id: body.subject_request_id,
          rights_request_id: created.id,
          request_type: body.subject_request_type,
          regulation: body.regulation ?? 'gdpr',
          api_version: body.api_version ?? null,
          request_status: opendsrStatusOf(created.status),
          expected_completion_at: endOfDueDay(created.dueOn),
          submitted_at: new Date(body.submitted_time).toISOString(),
          received_at: now.toISOString(),
          cancelled_at: null,
          callback_urls: JSON.stringify(urls),
          created_at: now.toISOString(),
          updated_at: now.toISOString(),
        };
        await repo.insertRequest(row);
        return receiptSchema.parse({
          controller_id: org.slug,
          expected_completion_time: row.expected_completion_at,
          received_time: seconds(now),
          encoded_request: Buffer.from(rawBody, 'utf8').toString('base64'),
          subject_request_id: row.subject_request_id,
        });
      });
    },

    /** Section 8.1: the status of one of the actor's organisation's requests (another's: 404). */
    async status(actor: Actor, org: Org, subjectRequestId: string): Promise<StatusBody> {
      assertOwnEndpoint(actor, org);
      const row = await createOpendsrRepository(db).findBySubjectRequestId(actor, subjectRequestId);
      if (row === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'OpenDSR request not found' });
      return statusOf(org, row);
    },

    /**
     * Section 9: cancels a pending request — the rights request is closed and its clock stops;
     * the callbacks tell the controller. Cancelling a cancelled request again changes nothing.
     */
    async cancel(actor: Actor, org: Org, subjectRequestId: string) {
      assertOwnEndpoint(actor, org);
      const now = clock.now();
      await db.transaction().execute(async (trx) => {
        const repo = createOpendsrRepository(trx);
        const row = await repo.findBySubjectRequestId(actor, subjectRequestId);
        if (row === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'OpenDSR request not found' });
        if (row.cancelled_at !== null) return;
        await rights.cancelByController(trx, actor, row.rights_request_id);
        await repo.updateRequest(actor, row.id, { cancelled_at: now.toISOString() });
      });
      return {
        controller_id: org.slug,
        subject_request_id: subjectRequestId,
        received_time: seconds(now),
        api_version: API_VERSION,
      };
    },

    /**
     * The callback job (section 8.6): POSTs the callback object, signed, to its URL — if the URL
     * is still a registered recipient. A failure is recorded on the callback and thrown, so the
     * queue retries with backoff; the last attempt leaves it `failed` (and the job on the health page).
     */
    async deliverCallback(orgId: string, callbackId: string, lastAttempt: boolean): Promise<void> {
      const scope = { orgId };
      const repo = createOpendsrRepository(db);
      const callback = await repo.findCallback(scope, callbackId);
      if (callback === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'callback not found' });
      if (callback.state === 'delivered') return;
      const request = await repo.findById(scope, callback.opendsr_request_id);
      const org = await orgs.findById(orgId);
      if (request === undefined || org === undefined) {
        throw new AppError('ERR_NOT_FOUND', { message: 'callback of an unknown request' });
      }
      const failed = async (lastError: string, error: AppError): Promise<never> => {
        await repo.updateCallback(scope, callbackId, {
          attempts: callback.attempts + 1,
          last_error: lastError,
          state: lastAttempt || error.code === 'ERR_EGRESS_REFUSED' ? 'failed' : 'queued',
        });
        throw error;
      };
      try {
        await register.egress.checkWebhook(orgId, callback.url);
      } catch (error) {
        if (error instanceof AppError) return failed(error.code, error);
        throw error;
      }
      const body = JSON.stringify({
        controller_id: org.slug,
        expected_completion_time: callback.expected_completion_at,
        status_callback_url: callback.url,
        subject_request_id: request.subject_request_id,
        request_status: callback.request_status,
      });
      const signature = keys.sign(orgId, body);
      let answer: number | undefined;
      let cause: unknown;
      try {
        const res = await fetch(callback.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-opendsr-processor-domain': domain,
            'x-opendsr-signature': signature,
            // OpenGDPR's names as well (section 10.1).
            'x-opengdpr-processor-domain': domain,
            'x-opengdpr-signature': signature,
          },
          body,
          // A redirect would send the next call somewhere nobody registered (P14).
          redirect: 'manual',
          signal: AbortSignal.timeout(CALLBACK_TIMEOUT_MS),
        });
        answer = res.status;
        await res.body?.cancel();
      } catch (error) {
        cause = error;
      }
      if (answer !== undefined && answer >= 200 && answer < 300) {
        await repo.updateCallback(scope, callbackId, {
          attempts: callback.attempts + 1,
          last_error: null,
          state: 'delivered',
          delivered_at: clock.now().toISOString(),
        });
        return;
      }
      const code = (cause as { cause?: { code?: unknown } } | undefined)?.cause?.code;
      const what = answer !== undefined ? `HTTP ${answer}` : typeof code === 'string' ? code : 'no answer';
      return failed(
        what,
        new AppError('ERR_OPENDSR_CALLBACK_FAILED', { message: `callback answered ${what}`, cause }),
      );
    },

    /** The organisation's callbacks that failed for good, newest first (the dashboard panel; `rights.handle`). */
    async failedCallbacks(actor: Actor) {
      assertCan(actor, 'rights.handle');
      const rows = await createOpendsrRepository(db).listFailedCallbacks(actor, 50);
      return rows.map((r) => ({
        subjectRequestId: r.subject_request_id,
        status: r.request_status,
        lastError: r.last_error,
        at: r.created_at,
      }));
    },

    /** The callbacks of a request, oldest first (tests and the staff view of delivery). */
    async callbacksOf(orgId: string, subjectRequestId: string) {
      const repo = createOpendsrRepository(db);
      const row = await repo.findBySubjectRequestId({ orgId }, subjectRequestId);
      return row === undefined ? [] : repo.listCallbacks({ orgId }, row.id);
    },
  };
}

type StatusBody = z.output<typeof statusSchema>;

export type OpendsrService = ReturnType<typeof createOpendsrService>;
