/**
 * The baselines of bench/http: a bare Fastify JSON echo at `/echo`, and the same sending the
 * headers every Kluis response carries (security headers, request id, cache-control).
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { computeSecurityHeaders } from '../../src/shared/http/security-headers.js';

export function bareEcho(options: { headers: boolean }): FastifyInstance {
  const app = Fastify({ logger: false, ...(options.headers ? { genReqId: () => randomUUID() } : {}) });
  if (options.headers) {
    const securityHeaders = computeSecurityHeaders({ https: false });
    app.addHook('onRequest', (request, reply, done) => {
      reply.headers(securityHeaders);
      reply.header('x-request-id', request.id);
      reply.header('cache-control', 'no-store');
      done();
    });
  }
  app.get('/echo', async () => ({ ok: true }));
  return app as unknown as FastifyInstance;
}
