/**
 * A tenant's OpenDSR 2.0 endpoint over real HTTP (app.inject) and real callbacks to a listener on
 * 127.0.0.1, on SQLite and PostgreSQL: every answer is validated with ajv against the JSON Schemas
 * written from the specification (schemas/), the specification's own example request is accepted,
 * a callback's signature is checked with plain node:crypto and only what discovery publishes, a
 * cancellation stops the clock, and keys of another tenant, of another scope or without the role
 * are refused with the specification's error object — writing nothing.
 */
import { verify } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formatsModule, { type FormatsPlugin } from 'ajv-formats';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { createOrg, createStaffUser, loginAs } from '../../../test/factories.js';
import { seedSubject } from '../../../test/retention-fixtures.js';
import { buildApp } from '../../app.js';
import type { Actor, ApiScope, Role } from '../../shared/actor.js';
import { createFixedClock, DAY, HOUR } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { createWorker } from '../jobs/jobs-worker.js';
import type { Org } from '../orgs/index.js';
import { createOpendsrRepository } from './opendsr-repository.js';

// ajv-formats is CommonJS: its plugin is the module's `default` export.
const addFormats = (formatsModule as unknown as { default: FormatsPlugin }).default;
const schemaDir = join(import.meta.dirname, 'schemas');
const schemaBase = 'https://kluis.invalid/opendsr/v1/';

function validator() {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
  addFormats(ajv);
  for (const file of readdirSync(schemaDir).filter((f) => f.endsWith('.json'))) {
    ajv.addSchema(JSON.parse(readFileSync(join(schemaDir, file), 'utf8')));
  }
  return (name: string, value: unknown): string[] => {
    const validate = ajv.getSchema(`${schemaBase}${name}`);
    if (validate === undefined) throw new Error(`no schema ${name}`);
    return validate(value) === true
      ? []
      : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  };
}

const exampleText = readFileSync(
  join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'opendsr', 'spec-7.2-example-request.txt'),
  'utf8',
);

interface Received {
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A controller's callback endpoint on 127.0.0.1 that records what it gets. */
async function callbackListener() {
  const received: Received[] = [];
  let answer = 200;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = answer;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/opendsr/callbacks`,
    received,
    answerWith(status: number) {
      answer = status;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('the OpenDSR endpoint of a tenant', () => {
  const valid = validator();
  const clock = createFixedClock('2030-03-04T10:00:00Z');
  let kluis: TestKluis;
  let app: FastifyInstance;
  let listener: Awaited<ReturnType<typeof callbackListener>>;
  let tenantA: Org;
  let tenantB: Org;
  let officerA: Actor;
  let officerLogin: Parameters<typeof loginAs>[1];
  const keys = { a: '', b: '', aRestOnly: '', aSupport: '' };
  let seq = 0;

  const userActor = (org: Org, userId: string, roles: readonly Role[]): Actor => ({
    kind: 'user',
    orgId: org.id,
    orgKind: org.kind,
    userId,
    roles,
  });

  async function makeKey(org: Org, roles: readonly Role[], scopes: readonly ApiScope[]): Promise<string> {
    const maker = await createStaffUser(kluis, {
      orgId: org.id,
      roles: ['admin', 'privacy_officer', 'support'],
    });
    const { token } = await kluis.services.auth.createApiKey({
      actor: userActor(org, maker.user.id, ['admin', 'privacy_officer', 'support']),
      name: `key ${++seq}`,
      roles,
      scopes,
    });
    return token;
  }

  function uuid(n: number): string {
    return `6f1c2b7e-0d3a-4c5b-9e8f-${n.toString(16).padStart(12, '0')}`;
  }

  function request(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      regulation: 'gdpr',
      subject_request_id: uuid(++seq),
      subject_request_type: 'access',
      submitted_time: '2030-03-01T09:00:00Z',
      subject_identities: [
        { identity_type: 'email', identity_value: 'jan@example.nl', identity_format: 'raw' },
      ],
      api_version: '2.0',
      ...overrides,
    };
  }

  function post(slug: string, key: string | undefined, payload: string | Record<string, unknown>) {
    return app.inject({
      method: 'POST',
      url: `/o/${slug}/opendsr/v1/requests`,
      headers: {
        'content-type': 'application/json',
        ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
  }

  function call(method: 'GET' | 'DELETE', slug: string, key: string, id: string) {
    return app.inject({
      method,
      url: `/o/${slug}/opendsr/v1/requests/${id}`,
      headers: { authorization: `Bearer ${key}` },
    });
  }

  async function counts(): Promise<{ opendsr: number; rights: number }> {
    const one = async (table: 'opendsr_requests' | 'rights_requests') =>
      Number(
        (
          await kluis.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .where('org_id', 'in', [tenantA.id, tenantB.id])
            .executeTakeFirstOrThrow()
        ).n,
      );
    return { opendsr: await one('opendsr_requests'), rights: await one('rights_requests') };
  }

  /** The answer is the specification's error object with this status, and nothing internal. */
  function expectSpecError(res: LightMyRequestResponse, status: number): void {
    expect(res.statusCode).toBe(status);
    const body: unknown = res.json();
    expect(valid('error.json', body)).toEqual([]);
    expect((body as { error: { code: number } }).error.code).toBe(status);
    expect(res.body).not.toMatch(/\bat \S+:\d+|Error:|node_modules|ERR_INTERNAL/);
  }

  async function discoveryKey(slug: string): Promise<string> {
    const discovery = await app.inject({ method: 'GET', url: `/o/${slug}/opendsr/v1/discovery` });
    const url = new URL((discovery.json() as { processor_certificate: string }).processor_certificate);
    const pem = await app.inject({ method: 'GET', url: url.pathname });
    expect(pem.statusCode).toBe(200);
    return pem.body;
  }

  function signatureOf(res: LightMyRequestResponse): string {
    const signature = res.headers['x-opendsr-signature'];
    if (typeof signature !== 'string') throw new Error('no X-OpenDSR-Signature');
    return signature;
  }

  /** Runs every due job; returns how the OpenDSR callback jobs among them stand. */
  async function runJobs(): Promise<Record<string, number>> {
    const worker = createWorker({ kluis, registry: kluis.jobRegistry, scheduler: false, random: () => 0 });
    while ((await worker.runOnce()).claimed > 0);
    const rows = await kluis.db
      .selectFrom('jobs')
      .select('status')
      .where('type', '=', 'opendsr.callback')
      .execute();
    const byStatus: Record<string, number> = {};
    for (const r of rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    return byStatus;
  }

  async function rightsRequestOf(subjectRequestId: string): Promise<string> {
    const row = await kluis.db
      .selectFrom('opendsr_requests')
      .select('rights_request_id')
      .where('subject_request_id', '=', subjectRequestId)
      .executeTakeFirstOrThrow();
    return row.rights_request_id;
  }

  beforeAll(async () => {
    kluis = await createTestKluis({ clock });
    app = await buildApp(kluis);
    await app.ready();
    listener = await callbackListener();
    tenantA = await createOrg(kluis, 'tenant');
    tenantB = await createOrg(kluis, 'tenant');
    const officer = await createStaffUser(kluis, { orgId: tenantA.id, roles: ['privacy_officer'] });
    officerA = userActor(tenantA, officer.user.id, ['privacy_officer']);
    officerLogin = officer;
    // The controller registers its callback endpoints as recipients (P14).
    for (const url of [listener.url, 'https://examplecontroller.com/opendsr/callbacks']) {
      await kluis.services.register.egress.registerWebhook({ actor: officerA, values: { url } });
    }
    keys.a = await makeKey(tenantA, ['privacy_officer'], ['opendsr']);
    keys.b = await makeKey(tenantB, ['admin'], ['opendsr']);
    keys.aRestOnly = await makeKey(tenantA, ['admin'], ['api']);
    keys.aSupport = await makeKey(tenantA, ['support'], ['opendsr']);
  });
  beforeEach(() => {
    listener.received.length = 0;
    listener.answerWith(200);
  });
  afterAll(async () => {
    await app.close();
    await listener.close();
    await kluis.destroy();
  });

  it('publishes discovery without credentials: identities, request types and the signing key', async () => {
    const res = await app.inject({ method: 'GET', url: `/o/${tenantA.slug}/opendsr/v1/discovery` });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { supported_identities: unknown[]; processor_public_key: string };
    expect(valid('discovery.json', body)).toEqual([]);
    expect(body.supported_identities).toEqual([
      { identity_type: 'email', identity_format: 'raw' },
      { identity_type: 'email', identity_format: 'sha256' },
      { identity_type: 'controller_customer_id', identity_format: 'raw' },
      { identity_type: 'controller_customer_id', identity_format: 'sha256' },
    ]);
    expect(await discoveryKey(tenantA.slug)).toBe(body.processor_public_key);
    // Each tenant signs with its own key.
    expect(await discoveryKey(tenantB.slug)).not.toBe(body.processor_public_key);
    // The discovery document itself is signed with that key.
    expect(
      verify(null, Buffer.from(res.body), body.processor_public_key, Buffer.from(signatureOf(res), 'base64')),
    ).toBe(true);
  });

  it('has no endpoint for an unknown slug or the operator', async () => {
    const operator = await createOrg(kluis, 'operator');
    for (const slug of ['no-such-tenant', operator.slug]) {
      expectSpecError(await app.inject({ method: 'GET', url: `/o/${slug}/opendsr/v1/discovery` }), 404);
    }
  });

  it('accepts the specification’s own example request (7.2), trailing comma and all, signed receipt', async () => {
    const before = await counts();
    const res = await post(tenantA.slug, keys.a, exampleText);
    expect(res.statusCode).toBe(201);
    const receipt = res.json() as { encoded_request: string; expected_completion_time: string };
    expect(valid('request-response.json', receipt)).toEqual([]);
    expect(Buffer.from(receipt.encoded_request, 'base64').toString('utf8')).toBe(exampleText);
    // Received 2 October 2018 by the controller: the month runs from then (due 2 November, end of day in Amsterdam).
    expect(receipt.expected_completion_time).toBe('2018-11-02T22:59:59Z');
    expect(res.headers['x-opendsr-processor-domain']).toBe(new URL(kluis.config.publicOrigin).host);
    const pem = await discoveryKey(tenantA.slug);
    expect(verify(null, Buffer.from(res.body), pem, Buffer.from(signatureOf(res), 'base64'))).toBe(true);
    expect(await counts()).toEqual({ opendsr: before.opendsr + 1, rights: before.rights + 1 });

    // In the tenant's queue: verified by the controller, the clock running, no address to reply to.
    const id = await rightsRequestOf('a7551968-d5d6-44b2-9831-815ac9017798');
    const detail = await kluis.services.rights.get(officerA, id);
    expect(detail).toMatchObject({
      channel: 'opendsr',
      status: 'verified',
      right: 'erasure',
      verificationMethod: 'controller',
      paused: false,
      email: null,
    });
    expect(detail.details).toContain('email (raw): johndoe@example.com');
    expect(detail.events.map((e) => e.kind)).toEqual(['received', 'verified']);
    // The privacy officer's page says where it came from and who verified the requester.
    const session = await loginAs(app, officerLogin);
    const page = await app.inject({
      method: 'GET',
      url: `/staff/rights/${id}?lang=en`,
      headers: { cookie: session.cookie },
    });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Established by the controller (OpenDSR)');
    expect(page.body).toContain('OpenDSR (the controller’s system)');

    // The same request id again is a conflict, nothing written.
    expectSpecError(await post(tenantA.slug, keys.a, exampleText), 409);
    expect(await counts()).toEqual({ opendsr: before.opendsr + 1, rights: before.rights + 1 });
  });

  it('answers 409 to the loser of two concurrent submits of one subject_request_id, writing one request', async () => {
    // Both submits pass the look-up before either commits; the unique constraint decides, and its
    // violation is the same conflict as the look-up's (not a 500). Several pairs, so the race is run.
    for (let i = 0; i < 5; i++) {
      const before = await counts();
      const body = request();
      const answers = await Promise.all([post(tenantA.slug, keys.a, body), post(tenantA.slug, keys.a, body)]);
      expect(answers.map((r) => r.statusCode).sort()).toEqual([201, 409]);
      const loser = answers.find((r) => r.statusCode === 409);
      if (loser === undefined) throw new Error('no 409');
      expectSpecError(loser, 409);
      expect((loser.json() as { error: { errors: { reason: string }[] } }).error.errors[0]?.reason).toBe(
        'ERR_CONFLICT',
      );
      expect(await counts()).toEqual({ opendsr: before.opendsr + 1, rights: before.rights + 1 });
      // Another controller may use the same id: uniqueness is per controller.
      expect((await post(tenantB.slug, keys.b, body)).statusCode).toBe(201);
    }
  });

  it('turns a unique violation of the controller’s request id into a conflict, on this dialect', async () => {
    const body = request();
    expect((await post(tenantA.slug, keys.a, body)).statusCode).toBe(201);
    const row = await kluis.db
      .selectFrom('opendsr_requests')
      .selectAll()
      .where('org_id', '=', tenantA.id)
      .where('subject_request_id', '=', String(body.subject_request_id))
      .executeTakeFirstOrThrow();
    const again = await createOpendsrRepository(kluis.db)
      .insertRequest({ ...row, id: newId() })
      .catch((e: unknown) => e);
    expect(again).toBeInstanceOf(AppError);
    expect((again as AppError).code).toBe('ERR_CONFLICT');
  });

  it('answers under OpenGDPR’s names too (section 10.1): the same requests, both signature headers', async () => {
    const body = request();
    const res = await app.inject({
      method: 'POST',
      url: `/o/${tenantA.slug}/opendsr/v1/opengdpr_requests`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.a}` },
      payload: JSON.stringify(body),
    });
    expect(res.statusCode).toBe(201);
    expect(res.headers['x-opengdpr-signature']).toBe(signatureOf(res));
    expect(res.headers['x-opengdpr-processor-domain']).toBe(res.headers['x-opendsr-processor-domain']);
    const id = String(body.subject_request_id);
    expect((await call('GET', tenantA.slug, keys.a, id)).json()).toMatchObject({ request_status: 'pending' });
    const legacy = await app.inject({
      method: 'GET',
      url: `/o/${tenantA.slug}/opendsr/v1/opengdpr_requests/${id}`,
      headers: { authorization: `Bearer ${keys.a}` },
    });
    expect(valid('status-response.json', legacy.json())).toEqual([]);
    expectSpecError(
      await app.inject({
        method: 'GET',
        url: `/o/${tenantA.slug}/opendsr/v1/opengdpr_requests/${id}`,
        headers: { authorization: `Bearer ${keys.b}` },
      }),
      403,
    );
  });

  it('refuses another tenant’s key, a key of another scope and a key without the role, writing nothing', async () => {
    const before = await counts();
    expectSpecError(await post(tenantA.slug, keys.b, request()), 403);
    expectSpecError(await post(tenantB.slug, keys.a, request()), 403);
    expectSpecError(await post(tenantA.slug, keys.aRestOnly, request()), 403);
    expectSpecError(await post(tenantA.slug, keys.aSupport, request()), 403);
    expectSpecError(await post(tenantA.slug, undefined, request()), 401);
    expectSpecError(await post(tenantA.slug, 'kluis_not-a-key', request()), 401);
    // A refused key is refused before its body is looked at: a malformed body is still a 403.
    expectSpecError(await post(tenantA.slug, keys.b, '{"subject_request_id":'), 403);
    expect(await counts()).toEqual(before);
    // An OpenDSR key reaches nothing else.
    const rest = await app.inject({
      method: 'GET',
      url: '/api/v1/whoami',
      headers: { authorization: `Bearer ${keys.a}` },
    });
    expect(rest.statusCode).toBe(403);
    // A request of tenant A is not visible with tenant B's key, not even on B's own endpoint.
    const mine = request();
    expect((await post(tenantA.slug, keys.a, mine)).statusCode).toBe(201);
    const id = String(mine.subject_request_id);
    expectSpecError(await call('GET', tenantA.slug, keys.b, id), 403);
    expectSpecError(await call('GET', tenantB.slug, keys.b, id), 404);
    expectSpecError(await call('DELETE', tenantB.slug, keys.b, id), 404);
    expect((await call('GET', tenantA.slug, keys.a, id)).json()).toMatchObject({ request_status: 'pending' });
  });

  it('answers malformed input with the specification’s error object and writes nothing', async () => {
    const before = await counts();
    const auditBefore = await refusals();
    const cases: (string | Record<string, unknown>)[] = [
      '{"subject_request_id": ',
      '',
      '[1, 2]',
      request({ subject_request_id: undefined }),
      request({ subject_request_id: 'not-a-uuid' }),
      request({ subject_request_type: 'rectification' }),
      request({ submitted_time: 'yesterday' }),
      request({ regulation: 'lgpd' }),
      request({ subject_identities: [] }),
      request({
        subject_identities: [{ identity_type: 'android_id', identity_value: 'x', identity_format: 'raw' }],
      }),
      request({
        subject_identities: [{ identity_type: 'email', identity_value: 'abc', identity_format: 'sha256' }],
      }),
      request({
        subject_identities: [
          { identity_type: 'email', identity_value: 'not an address', identity_format: 'raw' },
        ],
      }),
      request({ status_callback_urls: ['not a url'] }),
    ];
    for (const payload of cases) expectSpecError(await post(tenantA.slug, keys.a, payload), 400);
    const first = (await post(tenantA.slug, keys.a, request({ subject_request_id: undefined }))).json() as {
      error: { errors: { message: string }[] };
    };
    expect(first.error.errors.map((e) => e.message)).toEqual(['subject_request_id: Fill in this field.']);

    // A callback URL the tenant did not register is refused, and recorded as a security event (P14).
    const unregistered = await post(
      tenantA.slug,
      keys.a,
      request({ status_callback_urls: ['https://elsewhere.example/hook'] }),
    );
    expectSpecError(unregistered, 400);
    expect(await counts()).toEqual(before);
    expect(await refusals()).toBe(auditBefore + 1);
  });

  async function refusals(): Promise<number> {
    const row = await kluis.db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('action', '=', 'egress.refused')
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  it('tells the controller of each status change by a callback it can verify with discovery’s key alone', async () => {
    const body = request({ status_callback_urls: [listener.url] });
    const id = String(body.subject_request_id);
    expect((await post(tenantA.slug, keys.a, body)).statusCode).toBe(201);
    const status = await call('GET', tenantA.slug, keys.a, id);
    expect(status.statusCode).toBe(200);
    expect(valid('status-response.json', status.json())).toEqual([]);
    expect(status.json()).toMatchObject({ request_status: 'pending', controller_id: tenantA.slug });

    // The privacy officer starts work: in_progress, one callback.
    await kluis.services.rights.start(officerA, await rightsRequestOf(id));
    await runJobs();
    expect(listener.received).toHaveLength(1);
    const [callback] = listener.received;
    if (callback === undefined) throw new Error('no callback');
    const pem = await discoveryKey(tenantA.slug);
    const signature = callback.headers['x-opendsr-signature'];
    expect(typeof signature).toBe('string');
    expect(callback.headers['x-opengdpr-signature']).toBe(signature);
    // The raw bytes are verified before anything is parsed (section 8.8, step 4).
    expect(verify(null, Buffer.from(callback.body), pem, Buffer.from(String(signature), 'base64'))).toBe(
      true,
    );
    expect(
      verify(null, Buffer.from(`${callback.body} `), pem, Buffer.from(String(signature), 'base64')),
    ).toBe(false);
    const sent: unknown = JSON.parse(callback.body);
    expect(valid('callback.json', sent)).toEqual([]);
    expect(sent).toMatchObject({
      status_callback_url: listener.url,
      subject_request_id: id,
      request_status: 'in_progress',
    });
    expect((await call('GET', tenantA.slug, keys.a, id)).json()).toMatchObject({
      request_status: 'in_progress',
    });

    // Being worked on, it can no longer be cancelled.
    expectSpecError(await call('DELETE', tenantA.slug, keys.a, id), 400);
  });

  it('points the controller at a completed access request’s export: its own key once, another’s 404, expired 410', async () => {
    const email = 'resultaten@example.nl';
    await seedSubject(kluis, tenantA.id, { email });
    const body = request({
      subject_identities: [{ identity_type: 'email', identity_value: email, identity_format: 'raw' }],
      status_callback_urls: [listener.url],
    });
    const id = String(body.subject_request_id);
    const path = `/o/${tenantA.slug}/opendsr/v1/requests/${id}/results`;
    const fetchResults = (key: string, url = path) =>
      app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
    expect((await post(tenantA.slug, keys.a, body)).statusCode).toBe(201);
    const rightsId = await rightsRequestOf(id);

    // Nothing to fetch before the export is made.
    expect((await call('GET', tenantA.slug, keys.a, id)).json()).not.toHaveProperty('results_url');
    expectSpecError(await fetchResults(keys.a), 404);

    // The privacy officer links the subject and has the export made: the request is completed.
    expect(await kluis.services.rights.linkSubject(officerA, rightsId, { email })).toBe(true);
    await kluis.services.rights.requestExport(officerA, rightsId);
    await runJobs();
    const status = (await call('GET', tenantA.slug, keys.a, id)).json() as { results_url?: string };
    expect(valid('status-response.json', status)).toEqual([]);
    expect(status).toMatchObject({
      request_status: 'completed',
      results_url: `${kluis.config.publicOrigin}${path}`,
    });
    // The callback that tells of the completion carries it too (section 8.6).
    const told = listener.received.map((r) => JSON.parse(r.body) as Record<string, unknown>);
    const completed = told.find((b) => b.request_status === 'completed');
    expect(completed?.results_url).toBe(status.results_url);
    expect(valid('callback.json', completed)).toEqual([]);
    expect(told.find((b) => b.request_status === 'in_progress')).not.toHaveProperty('results_url');

    // Another controller's key learns nothing of it, at its URL or under its own slug.
    expectSpecError(await fetchResults(keys.b), 404);
    expectSpecError(await fetchResults(keys.b, `/o/${tenantB.slug}/opendsr/v1/requests/${id}/results`), 404);
    // A key of the controller without the role or the scope gets nothing either.
    expect((await fetchResults(keys.aSupport)).statusCode).toBe(403);
    expect((await fetchResults(keys.aRestOnly)).statusCode).toBe(403);

    // Past its 14 days it is gone (410), as the requester's own download would be.
    const now = clock.now();
    clock.advance(14 * DAY + HOUR);
    expectSpecError(await fetchResults(keys.a), 410);
    clock.set(now);

    // The controller's own key: the zip, once; then 410.
    const first = await fetchResults(keys.a);
    expect(first.statusCode).toBe(200);
    expect(first.headers['content-type']).toBe('application/zip');
    expect(first.headers['cache-control']).toBe('no-store');
    expect(first.rawPayload.subarray(0, 2).toString('latin1')).toBe('PK');
    expectSpecError(await fetchResults(keys.a), 410);
    const downloads = await kluis.db
      .selectFrom('audit_log')
      .select(['actor', 'meta'])
      .where('action', '=', 'rights.export.download')
      .where('target_id', '=', rightsId)
      .execute();
    expect(downloads).toHaveLength(1);
    expect(downloads[0]?.actor).toMatch(/^api_key:/);
  });

  it('cancels a pending request: closed in the queue, the clock stopped, the controller told', async () => {
    const body = request({ status_callback_urls: [listener.url] });
    const id = String(body.subject_request_id);
    expect((await post(tenantA.slug, keys.a, body)).statusCode).toBe(201);
    const rightsId = await rightsRequestOf(id);
    const open = async () => (await kluis.services.rights.list(officerA, { open: true })).map((r) => r.id);
    expect(await open()).toContain(rightsId);

    const res = await call('DELETE', tenantA.slug, keys.a, id);
    expect(res.statusCode).toBe(202);
    expect(valid('cancel-response.json', res.json())).toEqual([]);
    expect((await call('GET', tenantA.slug, keys.a, id)).json()).toMatchObject({
      request_status: 'cancelled',
    });
    // Cancelling again changes nothing.
    expect((await call('DELETE', tenantA.slug, keys.a, id)).statusCode).toBe(202);

    const detail = await kluis.services.rights.get(officerA, rightsId);
    expect(detail.status).toBe('cancelled');
    expect(detail.events.map((e) => e.kind)).toEqual(['received', 'verified', 'cancelled']);
    expect(await open()).not.toContain(rightsId);
    const closed = await kluis.db
      .selectFrom('rights_requests')
      .select(['closed_at', 'due_on'])
      .where('id', '=', rightsId)
      .executeTakeFirstOrThrow();
    expect(closed.closed_at).toBe(clock.now().toISOString());
    // Months later no reminder and no deadline: the clock stopped with the cancellation.
    clock.advance(40 * DAY);
    expect(await open()).not.toContain(rightsId);
    const reminded = await kluis.db
      .selectFrom('rights_request_events')
      .select('kind')
      .where('request_id', '=', rightsId)
      .execute();
    await kluis.services.rights.dailyDuties();
    expect(
      await kluis.db
        .selectFrom('rights_request_events')
        .select('kind')
        .where('request_id', '=', rightsId)
        .execute(),
    ).toEqual(reminded);

    await runJobs();
    expect(listener.received.map((r) => JSON.parse(r.body) as { request_status: string })).toMatchObject([
      { request_status: 'cancelled' },
    ]);
  });

  it('retries a refused callback with backoff and leaves it failed, visible on the health page', async () => {
    const body = request({ status_callback_urls: [listener.url] });
    const id = String(body.subject_request_id);
    expect((await post(tenantA.slug, keys.a, body)).statusCode).toBe(201);
    listener.answerWith(500);
    expect((await call('DELETE', tenantA.slug, keys.a, id)).statusCode).toBe(202);
    await runJobs();
    expect(listener.received).toHaveLength(1);
    const [first] = await kluis.services.opendsr.callbacksOf(tenantA.id, id);
    expect(first).toMatchObject({ state: 'queued', attempts: 1, last_error: 'HTTP 500' });
    // Not again before the backoff has passed.
    await runJobs();
    expect(listener.received).toHaveLength(1);
    for (let i = 0; i < 12 && (await runJobs()).failed === undefined; i++) clock.advance(2 * HOUR);
    expect(listener.received).toHaveLength(10);
    const [callback] = await kluis.services.opendsr.callbacksOf(tenantA.id, id);
    expect(callback).toMatchObject({ state: 'failed', attempts: 10, last_error: 'HTTP 500' });

    const operator = await createOrg(kluis, 'operator');
    const admin = await createStaffUser(kluis, { orgId: operator.id, roles: ['admin'] });
    const health = await kluis.services.jobs.health(userActor(operator, admin.user.id, ['admin']));
    const failed = health.failed.filter((j) => j.type === 'opendsr.callback');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.last_error).toMatch(/^ERR_OPENDSR_CALLBACK_FAILED: callback answered HTTP 500/);
    // The tenant's privacy officer sees it on the dashboard (8.5: notify the controller).
    const officerSession = await loginAs(app, officerLogin);
    const dashboard = await app.inject({
      method: 'GET',
      url: '/staff?lang=en',
      headers: { cookie: officerSession.cookie },
    });
    expect(dashboard.body).toContain('data-opendsr-failed="1"');
    expect(dashboard.body).toContain(`Request ${id}: cancelled, HTTP 500`);
    // Another tenant's privacy officer sees no such panel.
    const otherOfficer = await createStaffUser(kluis, { orgId: tenantB.id, roles: ['privacy_officer'] });
    const other = await app.inject({
      method: 'GET',
      url: '/staff',
      headers: { cookie: (await loginAs(app, otherOfficer)).cookie },
    });
    expect(other.statusCode).toBe(200);
    expect(other.body).not.toContain('panel-opendsr');
    // The operator's health page shows it, with the code and the status (no body, no identity).
    const session = await loginAs(app, admin);
    const page = await app.inject({
      method: 'GET',
      url: '/staff/health',
      headers: { cookie: session.cookie },
    });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('opendsr.callback');
    expect(page.body).toContain('ERR_OPENDSR_CALLBACK_FAILED: callback answered HTTP 500');
  });

  it('refuses a callback to a URL no longer registered, records it, and does not retry', async () => {
    const body = request({ status_callback_urls: [listener.url] });
    const id = String(body.subject_request_id);
    expect((await post(tenantA.slug, keys.a, body)).statusCode).toBe(201);
    const [hook] = (await kluis.services.register.egress.listWebhooks({ actor: officerA })).filter(
      (w) => w.url === listener.url,
    );
    if (hook === undefined) throw new Error('webhook not registered');
    await kluis.services.register.egress.removeWebhook({ actor: officerA, id: hook.id });
    const before = await refusals();
    expect((await call('DELETE', tenantA.slug, keys.a, id)).statusCode).toBe(202);
    // Failed at the first attempt (the retry test's job is the other failed one).
    expect((await runJobs()).failed).toBe(2);
    expect(listener.received).toHaveLength(0);
    expect(await refusals()).toBe(before + 1);
    const [callback] = await kluis.services.opendsr.callbacksOf(tenantA.id, id);
    expect(callback).toMatchObject({ state: 'failed', attempts: 1, last_error: 'ERR_EGRESS_REFUSED' });
    await kluis.services.register.egress.registerWebhook({ actor: officerA, values: { url: listener.url } });
  });
});
