/**
 * ASVS 16.3.2: a refused authorisation — a signed-in user or an API key calling a route or an
 * action its roles do not allow — is written to the audit trail as `auth.access.refused`, with
 * the route pattern and the method (never the raw URL, which may carry a token or a search).
 *
 * Only ERR_FORBIDDEN from a known actor is recorded: an anonymous caller is answered with 401
 * and is already in the access log (an audit entry per anonymous probe would let anyone grow the
 * chain), and another org's record is a 404 that by design cannot be told from a missing one.
 * The hook runs only for errors, so the cost on the hot path is nil; a refusal pays one append.
 * A failed append does not turn the 403 into a 500: the refusal already happened, and the
 * application log keeps it.
 */
import type { FastifyInstance } from 'fastify';
import { isAppError } from '../../shared/errors.js';
import type { KluisCore } from '../module.js';
import type { AuditService } from './audit-chain.js';

export function installRefusalAudit(
  app: FastifyInstance,
  deps: Pick<KluisCore, 'db'> & { audit: AuditService },
): void {
  app.addHook('onError', async (request, _reply, error) => {
    if (!isAppError(error) || error.code !== 'ERR_FORBIDDEN') return;
    const actor = request.actor;
    if (actor === undefined) return;
    try {
      await deps.audit.append(deps.db, {
        actor,
        action: 'auth.access.refused',
        meta: {
          method: request.method,
          route: request.routeOptions.url ?? '(unmatched)',
          requestId: String(request.id),
        },
      });
    } catch (cause) {
      request.log.error({ err: cause, code: 'ERR_AUDIT_WRITE_FAILED' }, 'refused access not audited');
    }
  });
}
