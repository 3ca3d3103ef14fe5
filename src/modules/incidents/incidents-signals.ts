/**
 * Signals that open an incident by themselves (issue 14), heard from the audit trail as entries
 * are appended (`audit.subscribe`), with thresholds from the configuration:
 * - failed sign-ins on many different accounts within a window (`auth.login.failure`);
 * - a verification that found the audit chain broken (`security.audit.verify_failed`);
 * - one account reading many different records within a window (actions ending in `.read`);
 * - a refused send to an unregistered destination (`egress.refused`);
 * - a key reported lost (`security.key.reported_lost`).
 * A listener runs in the appending transaction (the chain head is locked, so signals are judged
 * one at a time): it reads only through that transaction, opens the incident with the moment the
 * threshold was crossed as the awareness time, and queues the computation of what was touched.
 * A repeated signal while its incident is open extends that incident's window instead.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { OrgScope } from '../../shared/actor.js';
import { MINUTE } from '../../shared/clock.js';
import { t } from '../../shared/i18n/messages.js';
import { enqueue } from '../jobs/index.js';
import { type AppendedAuditEntry, AUDIT_VERIFY_FAILED } from '../security/index.js';
import type { IncidentCore, IncidentsDeps } from './incidents-register.js';
import { createIncidentsRepository } from './incidents-repository.js';
import type { IncidentSignal } from './incidents-schema.js';

export const INCIDENT_IMPACT_JOB = 'incidents.impact';
export const LOGIN_FAILURE = 'auth.login.failure';
export const EGRESS_REFUSED = 'egress.refused';
export const KEY_REPORTED_LOST = 'security.key.reported_lost';
/** A repeated one-off signal (broken chain, refused send, lost key) joins its open incident within this time. */
const REPEAT_WINDOW_MS = 24 * 60 * MINUTE;

const signalActor = (orgId: string) =>
  ({ kind: 'anonymous', orgId, ref: 'system:incidents.signal' }) as const;

const emptyImpact = { categories: [], records: 0, subjects: new Map(), subjectCount: 0, orgIds: [] };

interface SignalOpening {
  readonly scope: OrgScope;
  readonly signal: IncidentSignal;
  readonly entry: AppendedAuditEntry;
  readonly since: string;
  readonly windowFrom: string;
  readonly suspect: string | null;
  readonly affected: readonly string[];
  readonly operatorId: string;
  readonly meta?: Record<string, string | number | boolean | null>;
}

export function installSignals(deps: IncidentsDeps, core: IncidentCore): void {
  const { audit, security, clock, config } = deps;
  const thresholds = config.incidents;

  /** A repeated signal: the open incident's window reaches this entry, its orgs are added. */
  async function extend(
    trx: Kysely<DB>,
    scope: OrgScope,
    id: string,
    entry: AppendedAuditEntry,
    affected: readonly string[],
  ): Promise<void> {
    const repo = createIncidentsRepository(trx);
    await repo.update(scope, id, { window_to_at: entry.at });
    await repo.addAffected(scope, id, affected);
  }

  /** Opens the signal's incident, or extends the open one; queues the impact computation. */
  async function raise(trx: Kysely<DB>, o: SignalOpening): Promise<void> {
    const existing = await createIncidentsRepository(trx).findOpenSignal(
      o.scope,
      o.signal,
      o.suspect,
      o.since,
    );
    if (existing !== undefined) {
      await extend(trx, o.scope, existing.id, o.entry, o.affected);
      return;
    }
    // The operator's register, with tenants affected: the operator acts as their processor.
    const processor = o.scope.orgId === o.operatorId && o.affected.some((a) => a !== o.operatorId);
    const row = await core.open(trx, {
      orgId: o.scope.orgId,
      role: processor ? 'processor' : 'controller',
      source: 'signal',
      signal: o.signal,
      title: t('nl', `incidents.signal.${o.signal}`),
      nature: t('nl', `incidents.signal.${o.signal}`),
      awareAt: o.entry.at,
      windowFrom: o.windowFrom,
      windowTo: o.entry.at,
      suspect: o.suspect,
      affectedOrgIds: o.affected,
      impact: emptyImpact,
      actorRef: 'system:incidents.signal',
    });
    await core.step(trx, signalActor(o.scope.orgId), row, 'opened', {
      source: 'signal',
      signal: o.signal,
      trigger_seq: o.entry.seq,
      ...(o.meta ?? {}),
    });
    await enqueue(trx, clock, {
      type: INCIDENT_IMPACT_JOB,
      orgId: row.org_id,
      payload: { orgId: row.org_id, incidentId: row.id },
    });
  }

  const since = (entry: AppendedAuditEntry, ms: number) => new Date(Date.parse(entry.at) - ms).toISOString();

  /** The operator's id, read once (an organisation's kind never changes, ids are never reused). */
  let knownOperator: string | undefined;
  async function operatorOf(trx: Kysely<DB>): Promise<string | undefined> {
    knownOperator ??= (await deps.orgs.findOperatorIn(trx))?.id;
    return knownOperator;
  }

  audit.subscribe([LOGIN_FAILURE], async (trx, entry) => {
    const from = since(entry, thresholds.loginWindowMinutes * MINUTE);
    const operatorId = await operatorOf(trx);
    if (operatorId === undefined) return;
    const scope = { orgId: operatorId };
    const open = await createIncidentsRepository(trx).findOpenSignal(scope, 'login_burst', null, from);
    if (open !== undefined) {
      await extend(trx, scope, open.id, entry, entry.orgId === null ? [] : [entry.orgId]);
      return;
    }
    // An unknown address leaves no account id: each such failure counts as another account.
    const counted = await security.targetsOf(trx, LOGIN_FAILURE, from);
    const accounts = counted.targets + counted.untargeted;
    if (accounts < thresholds.loginFailureAccounts) return;
    const failures = await security.actionsSince(trx, LOGIN_FAILURE, from);
    await raise(trx, {
      scope,
      signal: 'login_burst',
      entry,
      since: from,
      windowFrom: counted.firstAt ?? entry.at,
      suspect: null,
      affected: [...new Set(failures.flatMap((f) => (f.org_id === null ? [] : [f.org_id])))],
      operatorId,
      meta: { accounts, failures: failures.length },
    });
  });

  audit.subscribe(
    (action) => action.endsWith('.read'),
    async (trx, entry) => {
      if (entry.orgId === null || !/^(user|api_key):/.test(entry.actor)) return;
      const from = since(entry, thresholds.readWindowMinutes * MINUTE);
      // Operator staff reading under a tenant's grant: the operator's register, as processor.
      const operatorId = await operatorOf(trx);
      if (operatorId === undefined) return;
      const underGrant = entry.actor.includes('@grant:');
      const scope = { orgId: underGrant ? operatorId : entry.orgId };
      const open = await createIncidentsRepository(trx).findOpenSignal(
        scope,
        'read_burst',
        entry.actor,
        from,
      );
      if (open === undefined) {
        const read = await security.recordsReadBy(trx, entry.actor, from);
        if (read.records < thresholds.readRecords) return;
      }
      await raise(trx, {
        scope,
        signal: 'read_burst',
        entry,
        since: from,
        windowFrom: from,
        suspect: entry.actor,
        affected: [entry.orgId],
        operatorId,
      });
    },
  );

  /** A signal that is an incident at once: in the operator's register, the entry's org affected. */
  async function oneOff(trx: Kysely<DB>, entry: AppendedAuditEntry, signal: IncidentSignal): Promise<void> {
    const operatorId = await operatorOf(trx);
    if (operatorId === undefined) return;
    const tenantOwn = signal === 'key_lost' && entry.orgId !== null && entry.orgId !== operatorId;
    await raise(trx, {
      scope: { orgId: tenantOwn && entry.orgId !== null ? entry.orgId : operatorId },
      signal,
      entry,
      since: since(entry, REPEAT_WINDOW_MS),
      windowFrom: entry.at,
      suspect: null,
      affected: entry.orgId === null ? [] : [entry.orgId],
      operatorId,
      meta: { trigger_action: entry.action },
    });
  }

  audit.subscribe([AUDIT_VERIFY_FAILED], (trx, entry) => oneOff(trx, entry, 'audit_chain'));
  audit.subscribe([EGRESS_REFUSED], (trx, entry) => oneOff(trx, entry, 'egress_refused'));
  audit.subscribe([KEY_REPORTED_LOST], (trx, entry) => oneOff(trx, entry, 'key_lost'));
}
