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
import type { KluisCore } from '../module.js';
import type { Org, OrgsService } from '../orgs/index.js';
import type { RegisterService } from '../register/index.js';
import type { RequestStatus, RightsService, StatusChange } from '../rights/index.js';
import { createCallbacks } from './opendsr-callbacks.js';
import { createOpendsrRepository, type RequestRow } from './opendsr-repository.js';
import { resultsUrlOf } from './opendsr-results.js';
import type { OpendsrStatus } from './opendsr-schema.js';
import { createOpendsrKeys, type OpendsrKeys } from './opendsr-signing.js';
import {
  API_VERSION,
  identityFormats,
  identityTypes,
  type RequestBody,
  receiptSchema,
  type statusSchema,
} from './opendsr-wire.js';

export { CALLBACK_JOB } from './opendsr-callbacks.js';

export type OpendsrDeps = Pick<KluisCore, 'db' | 'clock' | 'config'> & {
  readonly rights: Pick<
    RightsService,
    | 'receiveFromController'
    | 'cancelByController'
    | 'onStatusChange'
    | 'exportStateOf'
    | 'downloadForController'
  >;
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

/** The endpoint's discovery document (section 6.3) with the key its callbacks are signed with. */
function discoveryOf(publicOrigin: string, keys: OpendsrKeys, org: Org) {
  const base = `${publicOrigin}/o/${org.slug}/opendsr/v1`;
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
}

/**
 * Takes a controller's request (section 7): callback URLs must be registered recipients (an
 * unregistered one refuses the request, recorded as `egress.refused`); the same
 * `subject_request_id` twice is a conflict. Returns the receipt (7.3).
 */
async function submitRequest(
  deps: Pick<OpendsrDeps, 'db' | 'clock' | 'rights' | 'register'>,
  actor: Actor,
  org: Org,
  body: RequestBody,
  rawBody: string,
) {
  const { db, clock, rights, register } = deps;
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
}

export function createOpendsrService(deps: OpendsrDeps) {
  const { db, clock, config, rights, register, orgs } = deps;
  const keys = createOpendsrKeys(config);
  const domain = new URL(config.publicOrigin).host;
  const results = { rights, publicOrigin: config.publicOrigin };
  const callbacks = createCallbacks({ db, clock, orgs, register, keys, domain, results });

  async function statusOf(org: Org, row: RequestRow): Promise<StatusBody> {
    const resultsUrl = await resultsUrlOf(results, org, row);
    return {
      controller_id: org.slug,
      expected_completion_time: row.expected_completion_at,
      subject_request_id: row.subject_request_id,
      request_status: row.request_status,
      api_version: API_VERSION,
      ...(resultsUrl === undefined ? {} : { results_url: resultsUrl }),
    };
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
    if (status !== row.request_status) await callbacks.queue(trx, next);
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
    discovery: (org: Org) => discoveryOf(config.publicOrigin, keys, org),

    /** Section 7: takes a controller's request and returns the receipt (see `submitRequest`). */
    submit: (actor: Actor, org: Org, body: RequestBody, rawBody: string) =>
      submitRequest(deps, actor, org, body, rawBody),

    /** Section 8.1: the status of one of the actor's organisation's requests (another's: 404). */
    async status(actor: Actor, org: Org, subjectRequestId: string): Promise<StatusBody> {
      assertOwnEndpoint(actor, org);
      const row = await createOpendsrRepository(db).findBySubjectRequestId(actor, subjectRequestId);
      if (row === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'OpenDSR request not found' });
      return await statusOf(org, row);
    },

    /**
     * The `results_url` (section 8.3): the access export of the actor's organisation's completed
     * access or portability request, once, within its 14 days. Another organisation's request, an
     * erasure or a request without an export: 404; downloaded or expired: 410.
     */
    async results(actor: Actor, org: Org, subjectRequestId: string) {
      assertOwnEndpoint(actor, org);
      const row = await createOpendsrRepository(db).findBySubjectRequestId(actor, subjectRequestId);
      if (row === undefined || row.request_type === 'erasure') {
        throw new AppError('ERR_NOT_FOUND', { message: 'no results for this OpenDSR request' });
      }
      return rights.downloadForController(actor, row.rights_request_id);
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

    deliverCallback: callbacks.deliver,
    failedCallbacks: callbacks.failed,
    callbacksOf: callbacks.of,
  };
}

type StatusBody = z.output<typeof statusSchema>;

export type OpendsrService = ReturnType<typeof createOpendsrService>;
