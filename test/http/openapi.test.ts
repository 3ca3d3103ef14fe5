/**
 * The OpenAPI document (`GET /api/v1/openapi.json`) is what API clients build against: it must be
 * a valid OpenAPI 3.1 document, and every `/api/v1` route the app serves must be in it with the
 * schemas of what it takes (path parameters, query, body) and of every answer it gives. The check
 * walks `app.routeTable`, so a new API route without schemas fails here.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { OPENAPI_PATH } from '../../src/shared/http/openapi.js';
import { createTestKluis, type TestKluis } from '../dialects.js';

interface Operation {
  readonly summary?: string;
  readonly tags?: readonly string[];
  readonly security?: readonly Record<string, readonly string[]>[];
  readonly parameters?: readonly { readonly in: string; readonly name: string; readonly schema?: unknown }[];
  readonly requestBody?: { readonly content?: Record<string, { readonly schema?: unknown }> };
  readonly responses?: Record<string, { readonly content?: Record<string, { readonly schema?: unknown }> }>;
}

interface Document {
  readonly openapi: string;
  readonly paths?: Record<string, Record<string, Operation>>;
}

const bodyMethods = new Set(['POST', 'PUT', 'PATCH']);

/** What is missing from the document (and the route's declaration) for one API route. */
function problemsOf(
  doc: Document,
  route: {
    method: string;
    url: string;
    schemas: { params: boolean; query: boolean; body: boolean; response: boolean };
  },
): string[] {
  const problems: string[] = [];
  const pathParams = [...route.url.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1] ?? '');
  if (pathParams.length > 0 && !route.schemas.params) problems.push('declares no params schema');
  if (bodyMethods.has(route.method) ? !route.schemas.body : !route.schemas.query) {
    problems.push(bodyMethods.has(route.method) ? 'declares no body schema' : 'declares no query schema');
  }
  if (!route.schemas.response) problems.push('declares no response schema');
  const op = doc.paths?.[route.url.replace(/:([A-Za-z_]+)/g, '{$1}')]?.[route.method.toLowerCase()];
  if (op === undefined) return [...problems, 'is not in the document'];
  if ((op.summary ?? '') === '') problems.push('has no summary');
  if ((op.tags ?? []).length === 0) problems.push('has no tags');
  for (const name of pathParams) {
    if (!op.parameters?.some((p) => p.in === 'path' && p.name === name && p.schema !== undefined)) {
      problems.push(`documents no path parameter ${name}`);
    }
  }
  if (bodyMethods.has(route.method) && op.requestBody?.content?.['application/json']?.schema === undefined) {
    problems.push('documents no JSON request body');
  }
  const responses = Object.entries(op.responses ?? {});
  if (!responses.some(([status]) => status.startsWith('2'))) problems.push('documents no success response');
  for (const [status, response] of responses) {
    if (response.content?.['application/json']?.schema === undefined) {
      problems.push(`documents no schema for its ${status} response`);
    }
  }
  return problems;
}

describe('the OpenAPI document', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;
  let doc: Document;

  beforeAll(async () => {
    kluis = await createTestKluis();
    app = await buildApp(kluis);
    await app.ready();
    const res = await app.inject({ method: 'GET', url: OPENAPI_PATH });
    expect(res.statusCode).toBe(200);
    doc = res.json();
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(doc.openapi).toMatch(/^3\.1\./);
  });

  it('documents every /api/v1 route with the schemas of its input and of every answer', () => {
    const apiRoutes = app.routeTable.filter((r) => r.url.startsWith('/api/v1/') && r.url !== OPENAPI_PATH);
    expect(apiRoutes.map((r) => `${r.method} ${r.url}`)).toContain('GET /api/v1/whoami');
    const missing = apiRoutes
      .map((route) => ({ route: `${route.method} ${route.url}`, problems: problemsOf(doc, route) }))
      .filter((r) => r.problems.length > 0);
    expect(missing).toEqual([]);
  });

  it('documents the OpenDSR endpoint of a tenant with the schemas of its input and of every answer', () => {
    const routes = app.routeTable.filter((r) => r.url.includes('/opendsr/') && !r.url.endsWith('/key.pem'));
    expect(routes.map((r) => `${r.method} ${r.url}`).sort()).toEqual([
      'DELETE /o/:slug/opendsr/v1/opengdpr_requests/:id',
      'DELETE /o/:slug/opendsr/v1/requests/:id',
      'GET /o/:slug/opendsr/v1/discovery',
      'GET /o/:slug/opendsr/v1/opengdpr_requests/:id',
      'GET /o/:slug/opendsr/v1/opengdpr_requests/:id/results',
      'GET /o/:slug/opendsr/v1/requests/:id',
      'GET /o/:slug/opendsr/v1/requests/:id/results',
      'POST /o/:slug/opendsr/v1/opengdpr_requests',
      'POST /o/:slug/opendsr/v1/requests',
    ]);
    const missing = routes
      .map((route) => ({ route: `${route.method} ${route.url}`, problems: problemsOf(doc, route) }))
      .filter((r) => r.problems.length > 0);
    expect(missing).toEqual([]);
    const submit = doc.paths?.['/o/{slug}/opendsr/v1/requests']?.post;
    expect(submit?.security).toEqual([{ apiKey: [] }]);
    const refused = submit?.responses?.['403']?.content?.['application/json']?.schema as {
      properties?: object;
    };
    expect(Object.keys(refused.properties ?? {})).toEqual(['error']);
  });

  it('notices an undocumented route (the check itself works)', () => {
    const bare = { params: false, query: false, body: false, response: false };
    expect(problemsOf(doc, { method: 'POST', url: '/api/v1/nowhere/:id', schemas: bare })).toEqual([
      'declares no params schema',
      'declares no body schema',
      'declares no response schema',
      'is not in the document',
    ]);
  });

  it('describes /api/v1/whoami: an API-key call answering the org, the actor and its roles', () => {
    const op = doc.paths?.['/api/v1/whoami']?.get;
    expect(op?.security).toEqual([{ apiKey: [] }]);
    expect(Object.keys(op?.responses ?? {}).sort()).toEqual(['200', '401', '403', '429']);
    const ok = op?.responses?.['200']?.content?.['application/json']?.schema as {
      properties?: Record<string, { properties?: Record<string, unknown> }>;
      required?: string[];
    };
    expect(ok.required?.sort()).toEqual(['actor', 'org', 'roles']);
    expect(Object.keys(ok.properties?.org?.properties ?? {}).sort()).toEqual(['id', 'kind']);
    expect(Object.keys(ok.properties?.actor?.properties ?? {}).sort()).toEqual(['id', 'kind']);
    const refused = op?.responses?.['401']?.content?.['application/json']?.schema as { properties?: object };
    expect(Object.keys(refused.properties ?? {})).toEqual(['error']);
  });

  it('leaves HTML pages out', () => {
    const paths = Object.keys(doc.paths ?? {});
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.filter((p) => !p.startsWith('/api/') && !p.includes('/opendsr/'))).toEqual([]);
  });
});
