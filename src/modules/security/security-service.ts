/**
 * The security overview for the security role (P11, P12): recent audit entries, the state of the
 * chain, the latest signed checkpoint and the public key to check it with.
 */
import { type Kysely, sql } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Actor, OrgScope } from '../../shared/actor.js';
import { assertCan } from '../../shared/permissions.js';
import type { KluisCore } from '../module.js';
import type { AuditService } from './audit-chain.js';
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
  'seq' | 'at' | 'actor' | 'action' | 'target_type' | 'target_id' | 'purpose' | 'fields'
>;

/** Ids per statement of `entriesAbout`: well under both dialects' bound-parameter limits. */
const ABOUT_CHUNK = 500;

/** `targets` (type → ids) as groups of at most ABOUT_CHUNK ids, each a list of (type, ids). */
function chunkTargets(targets: ReadonlyMap<string, readonly string[]>): [string, string[]][][] {
  const groups: [string, string[]][][] = [];
  let group: [string, string[]][] = [];
  let size = 0;
  for (const [type, ids] of targets) {
    for (let i = 0; i < ids.length; ) {
      if (size === ABOUT_CHUNK) {
        groups.push(group);
        group = [];
        size = 0;
      }
      const take = ids.slice(i, i + ABOUT_CHUNK - size);
      group.push([type, take]);
      size += take.length;
      i += take.length;
    }
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/** An entry as the incident register reads a window of the trail: ids and field names only. */
export type TrailEntry = Pick<
  AuditLogTable,
  'seq' | 'at' | 'org_id' | 'actor' | 'action' | 'target_type' | 'target_id' | 'fields'
>;

/** At most this many entries per window read (an incident's numbers are approximate beyond). */
export const TRAIL_WINDOW_LIMIT = 100_000;

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
  'auth.access.refused',
];

/** The audit action written when a verification finds the chain broken (an incident signal). */
export const AUDIT_VERIFY_FAILED = 'security.audit.verify_failed';

/**
 * Records in the trail itself that a verification found it broken (where: the security page,
 * `kluis audit verify`, the hourly checkpoint): the incident register hears it (issue 14).
 */
export async function reportBrokenChain(
  audit: AuditService,
  db: Kysely<DB>,
  broken: { seq: number; reason: string },
  where: 'page' | 'cli' | 'checkpoint',
): Promise<void> {
  await audit.append(db, {
    actor: { kind: 'anonymous', orgId: null, ref: 'system:audit.verify' },
    action: AUDIT_VERIFY_FAILED,
    meta: { seq: broken.seq, reason: broken.reason, where },
  });
}

/**
 * Windows of the trail as the incident register reads them (issue 14): by action, by actor, by
 * time. Queries on the handle given (a listener's transaction) or on the main database.
 */
function createTrailWindows(db: Kysely<DB>) {
  return {
    /**
     * Entries of `action` since `since` (inclusive), oldest first: what the incident register's
     * signals count (failed sign-ins across accounts). Ids only, as the trail holds them.
     */
    async actionsSince(db: Kysely<DB>, action: string, since: string): Promise<TrailEntry[]> {
      return db
        .selectFrom('audit_log')
        .select(['seq', 'at', 'org_id', 'actor', 'action', 'target_type', 'target_id', 'fields'])
        .where('action', '=', action)
        .where('at', '>=', since)
        .orderBy('seq')
        .limit(TRAIL_WINDOW_LIMIT)
        .execute();
    },

    /**
     * How many different targets entries of `action` since `since` name, how many name none, and
     * when the first was: cheap enough to ask on every such entry (index on action, at).
     */
    async targetsOf(
      db: Kysely<DB>,
      action: string,
      since: string,
    ): Promise<{ targets: number; untargeted: number; firstAt: string | null }> {
      const row = await db
        .selectFrom('audit_log')
        .select((eb) => [
          eb.fn.count<string>('target_id').distinct().as('targets'),
          eb.fn.countAll<string>().as('all'),
          eb.fn.count<string>('target_id').as('targeted'),
          eb.fn.min('at').as('first'),
        ])
        .where('action', '=', action)
        .where('at', '>=', since)
        .executeTakeFirst();
      return {
        targets: Number(row?.targets ?? 0),
        untargeted: Number(row?.all ?? 0) - Number(row?.targeted ?? 0),
        firstAt: row?.first ?? null,
      };
    },

    /**
     * How many different records one actor reference read (actions ending in `.read`) since
     * `since`, and when its first such read in that window was.
     */
    async recordsReadBy(
      db: Kysely<DB>,
      actor: string,
      since: string,
    ): Promise<{ records: number; firstAt: string | null }> {
      const row = await db
        .selectFrom('audit_log')
        .select((eb) => [
          eb.fn
            .count<string>(sql`distinct ${sql.ref('target_type')} || ':' || ${sql.ref('target_id')}`)
            .as('n'),
          eb.fn.min('at').as('first'),
        ])
        .where('actor', '=', actor)
        .where('at', '>=', since)
        .where('action', 'like', '%.read')
        .where('target_id', 'is not', null)
        .executeTakeFirst();
      return { records: Number(row?.n ?? 0), firstAt: row?.first ?? null };
    },

    /**
     * The entries in `[from, to]` that name a record, optionally of some organisations or one
     * actor: which records were read or changed in an incident's window (Art. 33(3)(a)).
     */
    async recordsTouched(window: {
      from: string;
      to: string;
      orgIds?: readonly string[] | undefined;
      actor?: string | undefined;
    }): Promise<TrailEntry[]> {
      let query = db
        .selectFrom('audit_log')
        .select(['seq', 'at', 'org_id', 'actor', 'action', 'target_type', 'target_id', 'fields'])
        .where('at', '>=', window.from)
        .where('at', '<=', window.to)
        .where('target_id', 'is not', null);
      if (window.orgIds !== undefined) {
        if (window.orgIds.length === 0) return [];
        query = query.where('org_id', 'in', [...window.orgIds]);
      }
      if (window.actor !== undefined) query = query.where('actor', '=', window.actor);
      return query.orderBy('seq').limit(TRAIL_WINDOW_LIMIT).execute();
    },
  };
}

export function createSecurityService(
  deps: Pick<KluisCore, 'db' | 'clock' | 'config' | 'ledgerStore'> & { readonly audit: AuditService },
) {
  const { db } = deps;
  return {
    /**
     * The entries of `orgId` whose target is one of the ids of its type in `targets` (type →
     * ids): who consulted or changed those records and when, for a data subject's access export
     * (C-579/21). One statement for up to 500 ids of any types (a UNION ALL of one index search
     * on audit_log_target per type), in no particular order. The caller checks who may ask; this
     * reads ids and field names only, as the trail holds them.
     */
    async entriesAbout(
      orgId: string,
      targets: ReadonlyMap<string, readonly string[]>,
    ): Promise<AuditEntryAbout[]> {
      const out: AuditEntryAbout[] = [];
      for (const group of chunkTargets(targets)) {
        const [first, ...rest] = group.map(([type, ids]) =>
          db
            .selectFrom('audit_log')
            .select(['seq', 'at', 'actor', 'action', 'target_type', 'target_id', 'purpose', 'fields'])
            .where('org_id', '=', orgId)
            .where('target_type', '=', type)
            .where('target_id', 'in', ids),
        );
        if (first === undefined) continue;
        out.push(...(await rest.reduce((union, part) => union.unionAll(part), first).execute()));
      }
      return out;
    },

    ...createTrailWindows(db),

    /**
     * Security events of the last 24 hours for the dashboard (issue 16): failed sign-ins, locked
     * accounts and refused role changes, by action: the actor's own org's (and, for the
     * operator, installation events without an org), never another org's (P9).
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
      query =
        actor.orgKind === 'operator'
          ? query.where((eb) => eb.or([eb('org_id', '=', actor.orgId), eb('org_id', 'is', null)]))
          : query.where('org_id', '=', actor.orgId);
      const rows = await query.execute();
      return rows.map((r) => ({ action: r.action, count: Number(r.count) }));
    },

    /**
     * Recent audit entries of the actor's own org and the chain's state. The operator's security
     * staff also see installation events (no org); a tenant's entries only under that tenant's
     * grant, when the actor acts in the tenant's org (P9).
     */
    async auditOverview(actor: Actor, limit = 50): Promise<AuditOverview> {
      assertCan(actor, 'security.audit_read');
      let query = db.selectFrom('audit_log').selectAll().orderBy('seq', 'desc').limit(limit);
      query =
        actor.orgKind === 'operator'
          ? query.where((eb) => eb.or([eb('org_id', '=', actor.orgId), eb('org_id', 'is', null)]))
          : query.where('org_id', '=', actor.orgId);
      const entries = await query.execute();
      const head = await db.selectFrom('audit_head').select('seq').where('id', '=', 1).executeTakeFirst();
      const full = Number(head?.seq ?? 0) <= FULL_VERIFY_LIMIT;
      const report = await verifyAuditChain(db, {
        ...auditVerifyOptionsOf(deps),
        from: full ? 'genesis' : 'latest-checkpoint',
      });
      if (report.broken !== undefined) await reportBrokenChain(deps.audit, db, report.broken, 'page');
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
