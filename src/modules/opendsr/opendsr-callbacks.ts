/**
 * The controller's callbacks (OpenDSR section 8.6): one row and one queued job per callback URL
 * and status change; the job signs and POSTs the callback object, only to a URL the tenant still
 * registers as a recipient (P14), and records each attempt.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { assertCan } from '../../shared/permissions.js';
import { enqueue } from '../jobs/index.js';
import { createOpendsrRepository, type RequestRow } from './opendsr-repository.js';
import { resultsUrlOf } from './opendsr-results.js';
import type { OpendsrDeps } from './opendsr-service.js';
import type { OpendsrKeys } from './opendsr-signing.js';

export const CALLBACK_JOB = 'opendsr.callback';
/** Attempts per callback: with the queue's doubling backoff (30 s up to an hour) about 7 hours in all. */
const CALLBACK_ATTEMPTS = 10;
const CALLBACK_TIMEOUT_MS = 10_000;

export interface CallbackDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly orgs: OpendsrDeps['orgs'];
  readonly register: OpendsrDeps['register'];
  readonly keys: OpendsrKeys;
  /** The `X-OpenDSR-Processor-Domain`. */
  readonly domain: string;
  /** For `results_url` in the callback of a completed access or portability request. */
  readonly results: Parameters<typeof resultsUrlOf>[0];
}

export function createCallbacks(deps: CallbackDeps) {
  const { db, clock, orgs, register, keys, domain, results } = deps;

  /** Queues one callback per URL for the request's new status (in the changing transaction). */
  async function queue(trx: Kysely<DB>, row: RequestRow): Promise<void> {
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

  /**
   * The callback job (section 8.6): POSTs the callback object, signed, to its URL — if the URL
   * is still a registered recipient. A failure is recorded on the callback and thrown, so the
   * queue retries with backoff; the last attempt leaves it `failed` (and the job on the health page).
   */
  async function deliver(orgId: string, callbackId: string, lastAttempt: boolean): Promise<void> {
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
    const resultsUrl = await resultsUrlOf(results, org, request, callback.request_status);
    const body = JSON.stringify({
      controller_id: org.slug,
      expected_completion_time: callback.expected_completion_at,
      status_callback_url: callback.url,
      subject_request_id: request.subject_request_id,
      request_status: callback.request_status,
      ...(resultsUrl === undefined ? {} : { results_url: resultsUrl }),
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
  }

  /** The organisation's callbacks that failed for good, newest first (the dashboard panel; `rights.handle`). */
  async function failed(actor: Actor) {
    assertCan(actor, 'rights.handle');
    const rows = await createOpendsrRepository(db).listFailedCallbacks(actor, 50);
    return rows.map((r) => ({
      subjectRequestId: r.subject_request_id,
      status: r.request_status,
      lastError: r.last_error,
      at: r.created_at,
    }));
  }

  /** The callbacks of a request, oldest first (tests and the staff view of delivery). */
  async function of(orgId: string, subjectRequestId: string) {
    const repo = createOpendsrRepository(db);
    const row = await repo.findBySubjectRequestId({ orgId }, subjectRequestId);
    return row === undefined ? [] : repo.listCallbacks({ orgId }, row.id);
  }

  return { queue, deliver, failed, of };
}
