/**
 * The security module in the app: records every request in the access log (P12) through the
 * batched writer, and serves the security role's pages (audit trail, access log).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { renderPage } from '../../shared/http/render.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import { emptyToUndefined, parseForm } from '../../shared/http/validation.js';
import type { KluisCore } from '../module.js';
import { normaliseIp } from './access-log-ip.js';
import { ACCESS_LOG_MAX_PAGE, type AccessLogService } from './access-log-service.js';
import { type AccessLogEntry, type AccessLogWriter, createAccessLogWriter } from './access-log-writer.js';
import { type AccessLogFormValues, accessLogPage } from './security-views.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The access-log writer (present when the security module is installed). */
    accessLogWriter?: AccessLogWriter;
  }
}

/** What the access log keeps of a request: the route pattern, never the raw URL or query string. */
export function accessLogEntryOf(request: FastifyRequest, reply: FastifyReply): AccessLogEntry {
  const ua = request.headers['user-agent'];
  return {
    orgId: request.actor?.orgId ?? null,
    ip: normaliseIp(request.ip),
    userAgent: typeof ua === 'string' && ua !== '' ? ua : null,
    method: request.method,
    route: request.routeOptions.url ?? '(unmatched)',
    status: reply.statusCode,
    requestId: String(request.id),
  };
}

export const accessLogQuerySchema = z.object({
  from: z.preprocess(emptyToUndefined, z.iso.date({ message: 'security.field.date' }).optional()),
  to: z.preprocess(emptyToUndefined, z.iso.date({ message: 'security.field.date' }).optional()),
  status: z.preprocess(
    emptyToUndefined,
    z.coerce
      .number({ message: 'security.field.status' })
      .int({ message: 'security.field.status' })
      .min(100, { message: 'security.field.status' })
      .max(599, { message: 'security.field.status' })
      .optional(),
  ),
  route: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .max(200, { message: 'security.field.route' })
      .regex(/^\/[A-Za-z0-9/:_.*()-]*$/, { message: 'security.field.route' })
      .optional(),
  ),
  page: z.preprocess(
    emptyToUndefined,
    z.coerce
      .number({ message: 'security.field.page' })
      .int({ message: 'security.field.page' })
      .min(1, { message: 'security.field.page' })
      .max(ACCESS_LOG_MAX_PAGE, { message: 'security.field.page' })
      .default(1),
  ),
});

function formValuesOf(query: unknown): AccessLogFormValues {
  const q = (query ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? v.slice(0, 200) : undefined);
  return { from: text(q.from), to: text(q.to), status: text(q.status), route: text(q.route) };
}

export interface SecurityModuleOptions {
  /** Access-log writer tuning (tests use a long interval so that only size and close flush). */
  readonly accessLog?: { readonly flushEveryMs?: number; readonly maxBatch?: number };
}

/** Records every response in the access log (P12) through the batched writer. */
export function installAccessLog(
  app: FastifyInstance,
  deps: Pick<KluisCore, 'db' | 'clock' | 'logger' | 'dbFile' | 'config'>,
  options: SecurityModuleOptions = {},
): void {
  const writer = createAccessLogWriter({
    db: deps.db,
    clock: deps.clock,
    logger: deps.logger,
    // SQLite: INSERTs run in a worker thread with its own connection to the same file.
    sqlite:
      deps.dbFile === undefined
        ? undefined
        : { file: deps.dbFile, encryptionKey: deps.config.databaseKey?.value },
    ...options.accessLog,
  });
  app.decorate('accessLogWriter', writer);
  // Every response, including 404s, refusals and rate-limited requests (P12).
  app.addHook('onResponse', (request, reply, done) => {
    writer.record(accessLogEntryOf(request, reply));
    done();
  });
  app.addHook('onClose', async () => {
    await writer.close();
  });
}

/** The security role's access-log page (the audit page is served by auth: it names staff). */
export function securityRoutes(
  kit: RouteKit,
  deps: Pick<KluisCore, 'config'> & { accessLog: AccessLogService },
): void {
  const { accessLog } = deps;

  kit.route({
    method: 'GET',
    url: '/staff/security/access-log',
    access: { kind: 'staff', permission: 'security.access_log_read' },
    handler: async ({ request, reply, actor, t }) => {
      const parsed = parseForm(accessLogQuerySchema, request.query ?? {});
      const common = {
        values: formValuesOf(request.query),
        truncateDays: deps.config.accessLog.truncateIpAfterDays,
        deleteDays: deps.config.accessLog.deleteAfterDays,
        locale: request.locale,
      };
      const title = t('security.accessLog.title');
      if (!parsed.ok) {
        return renderPage(request, reply, {
          title,
          status: 400,
          body: accessLogPage(t, { ...common, errors: parsed.errors, result: undefined }),
        });
      }
      const result = await accessLog.list(actor, parsed.data);
      return renderPage(request, reply, { title, body: accessLogPage(t, { ...common, result }) });
    },
  });
}
