/**
 * A tenant's OpenDSR 2.0 endpoint under `/o/<slug>/opendsr/v1` (issue 13): discovery (public),
 * requests, status and cancellation (API keys of that tenant with scope `opendsr` and
 * `rights.submit`). Everything in this scope answers as the specification does: errors as its
 * error object (never a stack trace), bodies signed in `X-OpenDSR-Signature` with the tenant's key
 * named in `X-OpenDSR-Processor-Domain`, and request bodies parsed as tolerantly as the
 * specification's own example needs (opendsr-wire.ts).
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../shared/errors.js';
import { toAppError } from '../../shared/http/error-handler.js';
import { noQuery, sendDownload } from '../../shared/http/responses.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import type { ModuleDeps } from '../module.js';
import type { Org } from '../orgs/index.js';
import {
  cancelSchema,
  discoverySchema,
  errorObject,
  errorResponses,
  opendsrStatusOf,
  parseTolerantJson,
  receiptSchema,
  requestBody,
  requestIdParams,
  slugParams,
  statusSchema,
} from './opendsr-wire.js';

const base = '/o/:slug/opendsr/v1';
const controllerAccess = { kind: 'api', permission: 'rights.submit', scope: 'opendsr' } as const;
const tags = ['opendsr'];

export function opendsrRoutes(kit: RouteKit, deps: ModuleDeps<'opendsr'>): void {
  const { opendsr } = deps;
  const { app } = kit;
  const rawBodies = new WeakMap<FastifyRequest, string>();
  const unparsable = new WeakMap<FastifyRequest, unknown>();
  const orgs = new WeakMap<FastifyRequest, Org>();

  // The specification's example request is not strict JSON (a trailing comma): parse it anyway,
  // and keep the text as received for `encoded_request`. A body that does not parse is refused
  // only after the credentials are checked (below), so a refused key learns nothing from it.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    rawBodies.set(request, text);
    try {
      done(null, parseTolerantJson(text));
    } catch (error) {
      unparsable.set(request, error);
      done(null, undefined);
    }
  });

  app.setErrorHandler((error, request, reply) => {
    const appError = toAppError(error, request);
    if (appError.status >= 500)
      request.log.error({ err: error, code: appError.code }, 'OpenDSR request failed');
    else request.log.info({ code: appError.code, internal: appError.message }, 'OpenDSR request refused');
    return reply
      .status(opendsrStatusOf(appError))
      .header('cache-control', 'no-store')
      .type('application/json; charset=utf-8')
      .send(JSON.stringify(errorObject(appError)));
  });

  // After the root hooks (credentials, scope, permission), before the body is validated: the slug
  // names an active tenant, and a key acts only on its own organisation's endpoint.
  app.addHook('preValidation', async (request) => {
    const slug = (request.params as { slug?: unknown }).slug;
    const org = await opendsr.organisation(typeof slug === 'string' ? slug : '');
    orgs.set(request, org);
    const actor = request.actor;
    if (request.routeOptions.config.access?.kind === 'api' && actor?.orgId !== org.id) {
      // Another controller's results are a resource it has no business knowing of: 404.
      if (request.routeOptions.url?.endsWith('/results') === true) {
        throw new AppError('ERR_NOT_FOUND', { message: 'results of another organisation' });
      }
      throw new AppError('ERR_FORBIDDEN', { message: 'API key of another organisation' });
    }
    if (unparsable.has(request)) throw unparsable.get(request);
  });

  // Both header names: 10.1 asks every party to honour OpenGDPR's names too.
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-opendsr-processor-domain', opendsr.domain);
    reply.header('x-opengdpr-processor-domain', opendsr.domain);
    const org = orgs.get(request);
    if (org !== undefined && typeof payload === 'string') {
      const signature = opendsr.sign(org.id, payload);
      reply.header('x-opendsr-signature', signature);
      reply.header('x-opengdpr-signature', signature);
    }
    return payload;
  });

  /** The tenant the path names (set by the hook above for every route of this scope). */
  function orgOf(request: FastifyRequest): Org {
    const org = orgs.get(request);
    if (org === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'no organisation resolved' });
    return org;
  }

  kit.route({
    method: 'GET',
    url: `${base}/discovery`,
    access: { kind: 'public' },
    params: slugParams,
    query: noQuery,
    response: { 200: discoverySchema, ...errorResponses(404, 429) },
    summary: 'OpenDSR discovery',
    description:
      'What this controller’s OpenDSR endpoint supports (section 6): identity types and formats, request types, and the public key (Ed25519, PEM) that verifies `X-OpenDSR-Signature` on callbacks and answers.',
    tags,
    handler: ({ request }) => opendsr.discovery(orgOf(request)),
  });

  kit.route({
    method: 'GET',
    url: `${base}/key.pem`,
    access: { kind: 'public' },
    params: slugParams,
    query: noQuery,
    response: { 200: z.string().describe('SPKI PEM'), ...errorResponses(404, 429) },
    summary: 'OpenDSR signing key',
    description:
      'The public key discovery names as `processor_certificate`: an Ed25519 SPKI PEM (no X.509 certificate, see decision 0021).',
    tags,
    handler: ({ request, reply }) =>
      reply.type('application/x-pem-file').send(opendsr.publicKeyPem(orgOf(request).id)),
  });

  for (const collection of ['requests', 'opengdpr_requests'] as const) {
    collectionRoutes(
      kit,
      { opendsr, orgOf, rawBodyOf: (request) => rawBodies.get(request) ?? '' },
      collection,
    );
  }
}

/** `requests`, and the same under OpenGDPR's name (`opengdpr_requests`, section 10.1). */
function collectionRoutes(
  kit: RouteKit,
  scope: {
    readonly opendsr: ModuleDeps<'opendsr'>['opendsr'];
    /** The tenant the path names (resolved by the scope's hook). */
    readonly orgOf: (request: FastifyRequest) => Org;
    /** The body as received (for `encoded_request`). */
    readonly rawBodyOf: (request: FastifyRequest) => string;
  },
  collection: 'requests' | 'opengdpr_requests',
) {
  const { opendsr, orgOf, rawBodyOf } = scope;
  const legacy = collection === 'requests' ? '' : ' (OpenGDPR name)';
  kit.route({
    method: 'POST',
    url: `${base}/${collection}`,
    access: controllerAccess,
    params: slugParams,
    body: requestBody,
    response: { 201: receiptSchema, ...errorResponses(400, 401, 403, 404, 409, 429) },
    summary: `Submit an OpenDSR request${legacy}`,
    description:
      'A data-subject request the controller verified (section 7): it becomes a rights request in the controller’s queue with the legal clock running from `submitted_time`. Identity types `email` and `controller_customer_id`, formats `raw` and `sha256`. Every `status_callback_urls` entry must be registered by the organisation as a recipient. A trailing comma before `}` or `]` is tolerated.',
    tags,
    handler: async ({ request, reply, actor, body }) => {
      const receipt = await opendsr.submit(actor, orgOf(request), body, rawBodyOf(request));
      return reply.status(201).send(receipt);
    },
  });

  kit.route({
    method: 'GET',
    url: `${base}/${collection}/:id`,
    access: controllerAccess,
    params: requestIdParams,
    query: noQuery,
    response: { 200: statusSchema, ...errorResponses(401, 403, 404, 429) },
    summary: `Status of an OpenDSR request${legacy}`,
    description: 'Section 8: pending, in_progress, completed or cancelled, and when the answer is due.',
    tags,
    handler: ({ request, actor, params }) => opendsr.status(actor, orgOf(request), params.id),
  });

  kit.route({
    method: 'GET',
    url: `${base}/${collection}/:id/results`,
    access: controllerAccess,
    params: requestIdParams,
    query: noQuery,
    response: {
      200: z.string().describe('The access export: a zip (application/zip)'),
      ...errorResponses(401, 403, 404, 410, 429),
    },
    summary: `Results of an OpenDSR request${legacy}`,
    description:
      'The `results_url` of a completed access or portability request: its export as a zip (JSON, CSV, a readable summary), for the controller that submitted it. Handed out once and for 14 days after it was made, like the data subject’s own download; after that 410. Another controller’s request, an erasure, or a request without an export: 404.',
    tags,
    handler: async ({ request, reply, actor, params }) => {
      const file = await opendsr.results(actor, orgOf(request), params.id);
      return sendDownload(reply, { contentType: 'application/zip', ...file, noStore: true });
    },
  });

  kit.route({
    method: 'DELETE',
    url: `${base}/${collection}/:id`,
    access: controllerAccess,
    params: requestIdParams,
    query: noQuery,
    response: { 202: cancelSchema, ...errorResponses(400, 401, 403, 404, 429) },
    summary: `Cancel an OpenDSR request${legacy}`,
    description:
      'Section 9: a pending request is cancelled — closed in the queue, its clock stopped, callbacks sent. One already being worked on cannot be cancelled (400).',
    tags,
    handler: async ({ request, reply, actor, params }) =>
      reply.status(202).send(await opendsr.cancel(actor, orgOf(request), params.id)),
  });
}
