/**
 * The security role's audit page (P11), registered here rather than in the security module: it
 * names the staff members behind the entries, and staff accounts are this module's (security comes
 * before auth in the module order, since auth writes to the audit trail). Only the reader's own
 * organisation's staff are named; anyone else keeps a kind and a short id.
 */
import { renderPage } from '../../shared/http/render.js';
import type { RouteKit } from '../../shared/http/route-kit.js';
import { auditPage, type SecurityService } from '../security/index.js';
import type { AuthService } from './auth-service.js';

export function registerAuditPageRoutes(
  kit: RouteKit,
  deps: { readonly auth: AuthService; readonly security: SecurityService },
): void {
  kit.route({
    method: 'GET',
    url: '/staff/security/audit',
    access: { kind: 'staff', permission: 'security.audit_read' },
    handler: async ({ request, reply, actor, t }) => {
      const overview = await deps.security.auditOverview(actor);
      const staff = await deps.auth.listStaffNames({ actor });
      const names = new Map(staff.map((u) => [u.id, u.name]));
      return renderPage(request, reply, {
        title: t('security.audit.title'),
        body: auditPage(t, request.locale, overview, names),
      });
    },
  });
}
