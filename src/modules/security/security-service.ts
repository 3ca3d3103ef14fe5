/**
 * The security overview for the security role (P11, P12): recent audit entries, the state of the
 * chain, the latest signed checkpoint and the public key to check it with.
 */
import type { Actor, OrgScope } from '../../shared/actor.js';
import { assertCan } from '../../shared/permissions.js';
import type { KluisCore } from '../module.js';
import { auditSigningKeyOf, auditVerifyOptionsOf } from './audit-checkpoint.js';
import type { AuditLogTable } from './audit-schema.js';
import { type AuditVerifyReport, verifyAuditChain } from './audit-verify.js';

/** Up to this many entries the page verifies the whole chain; beyond, what came after the last checkpoint. */
export const FULL_VERIFY_LIMIT = 20_000;

export interface AuditOverview {
  readonly entries: readonly AuditLogTable[];
  readonly report: AuditVerifyReport;
  /** True when the whole chain was walked, false when only what follows the latest checkpoint. */
  readonly full: boolean;
  readonly publicKey: string;
  readonly keyId: string;
}

/** What the access export tells of an audit entry (no actor identity beyond its reference). */
export type AuditEntryAbout = Pick<
  AuditLogTable,
  'seq' | 'at' | 'actor' | 'action' | 'target_id' | 'purpose' | 'fields'
>;

/** One entry of an org's audit trail as another module lists it: no hashes, no meta. */
export interface AuditAction {
  readonly at: string;
  readonly action: string;
  readonly target: string | null;
}

/** The audit actions the security role's dashboard counts as security events. */
export const SECURITY_EVENT_ACTIONS = [
  'auth.login.failure',
  'auth.account.locked',
  'auth.user.roles_refused',
];

export function createSecurityService(deps: Pick<KluisCore, 'db' | 'clock' | 'config'>) {
  const { db } = deps;
  return {
    /**
     * The entries of `orgId` whose target is one of `ids` of `targetType`: who consulted or changed
     * those records and when, for a data subject's access export (C-579/21). The caller checks
     * who may ask; this reads ids and field names only, as the trail holds them.
     */
    async entriesAbout(
      orgId: string,
      targetType: string,
      ids: readonly string[],
    ): Promise<AuditEntryAbout[]> {
      const out: AuditEntryAbout[] = [];
      for (let i = 0; i < ids.length; i += 500) {
        const rows = await db
          .selectFrom('audit_log')
          .select(['seq', 'at', 'actor', 'action', 'target_id', 'purpose', 'fields'])
          .where('org_id', '=', orgId)
          .where('target_type', '=', targetType)
          .where('target_id', 'in', ids.slice(i, i + 500))
          .execute();
        out.push(...rows);
      }
      return out;
    },

    /**
     * Security events of the last 24 hours for the dashboard (issue 16): failed sign-ins, locked
     * accounts and refused role changes, by action (own org's, or all for the operator).
     */
    async recentSecurityEvents(actor: Actor): Promise<{ action: string; count: number }[]> {
      assertCan(actor, 'security.audit_read');
      const since = new Date(deps.clock.now().getTime() - 24 * 3600_000).toISOString();
      let query = db
        .selectFrom('audit_log')
        .select((eb) => ['action', eb.fn.countAll<number>().as('count')])
        .where('action', 'in', SECURITY_EVENT_ACTIONS)
        .where('at', '>=', since)
        .groupBy('action');
      if (actor.orgKind !== 'operator') query = query.where('org_id', '=', actor.orgId);
      const rows = await query.execute();
      return rows.map((r) => ({ action: r.action, count: Number(r.count) }));
    },

    /** Recent audit entries (own org's, or all for the operator) and the chain's state. */
    async auditOverview(actor: Actor, limit = 50): Promise<AuditOverview> {
      assertCan(actor, 'security.audit_read');
      let query = db.selectFrom('audit_log').selectAll().orderBy('seq', 'desc').limit(limit);
      if (actor.orgKind !== 'operator') query = query.where('org_id', '=', actor.orgId);
      const entries = await query.execute();
      const head = await db.selectFrom('audit_head').select('seq').where('id', '=', 1).executeTakeFirst();
      const full = Number(head?.seq ?? 0) <= FULL_VERIFY_LIMIT;
      const report = await verifyAuditChain(db, {
        ...auditVerifyOptionsOf(deps),
        from: full ? 'genesis' : 'latest-checkpoint',
      });
      const key = auditSigningKeyOf(deps.config);
      return { entries, report, full, publicKey: key.publicKeyBase64, keyId: key.keyId };
    },

    /**
     * What one actor reference (`user:<id>@grant:<id>`, …) did in one org, oldest first: the
     * tenant's view of what operator staff did under its grant (P8). The caller has authorised
     * the reader for this (auth's grants service: the tenant's own owner or admin); the scope keeps
     * the answer inside that org.
     */
    async actionsOf(scope: OrgScope, actorRef: string): Promise<AuditAction[]> {
      const rows = await db
        .selectFrom('audit_log')
        .select(['at', 'action', 'target_type', 'target_id'])
        .where('org_id', '=', scope.orgId)
        .where('actor', '=', actorRef)
        .orderBy('seq')
        .execute();
      return rows.map((r) => ({
        at: r.at,
        action: r.action,
        target: r.target_type === null ? null : `${r.target_type}:${r.target_id ?? ''}`,
      }));
    },
  };
}

export type SecurityService = ReturnType<typeof createSecurityService>;
