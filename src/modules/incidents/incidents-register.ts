/**
 * The breach register's use cases (Art. 33(5): every incident stays in the register, notified or
 * not): recording an incident, its facts, the assessment of the risk and the decision whether to
 * notify, with who decided. Each organisation keeps its own register; another register's
 * incident is not found. Every step is audited in its own transaction and on the timeline.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { type Actor, actorRef, scopeOf } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { assertCan } from '../../shared/permissions.js';
import type { AuthService } from '../auth/index.js';
import type { MailService } from '../mail/index.js';
import type { KluisCore } from '../module.js';
import type { OrgsService } from '../orgs/index.js';
import type { RegisterService } from '../register/index.js';
import type { AuditService, SecurityService } from '../security/index.js';
import { clockOf } from './incidents-clock.js';
import { computeImpact, type Impact } from './incidents-impact.js';
import {
  type AffectedOrg,
  createIncidentsRepository,
  createNoticesRepository,
  type IncidentEvent,
  type IncidentRow,
} from './incidents-repository.js';
import type {
  IncidentEventKind,
  IncidentRole,
  IncidentSignal,
  NoticeStatus,
  NotifyDecision,
  RiskLevel,
} from './incidents-schema.js';

export type IncidentsDeps = Pick<
  KluisCore,
  'db' | 'clock' | 'config' | 'keyring' | 'catalogue' | 'personalData' | 'logger'
> & {
  readonly audit: AuditService;
  readonly security: Pick<SecurityService, 'actionsSince' | 'targetsOf' | 'recordsReadBy' | 'recordsTouched'>;
  readonly auth: Pick<AuthService, 'listUsersWithRole' | 'listStaffNames'>;
  readonly orgs: Pick<OrgsService, 'getById' | 'findOperatorIn' | 'list'>;
  readonly register: Pick<RegisterService, 'snapshotOf'>;
  readonly mail: MailService;
};

export interface IncidentDetail {
  readonly incident: IncidentRow;
  readonly categories: readonly string[];
  readonly affected: readonly (AffectedOrg & { readonly name: string })[];
  readonly events: readonly IncidentEvent[];
  readonly notices: Record<NoticeStatus, number>;
  readonly clock: ReturnType<typeof clockOf>;
  /** The name of who decided on notification, when someone did. */
  readonly decidedByName: string | null;
}

export interface RecordInput {
  readonly title: string;
  readonly nature: string;
  readonly awareAt?: string | undefined;
  readonly windowFrom: string;
  readonly windowTo: string;
  /** The operator names the tenants affected; a tenant's incident is about its own data. */
  readonly affectedOrgIds?: readonly string[] | undefined;
  readonly consequences?: string | undefined;
  readonly measuresTaken?: string | undefined;
  readonly measuresProposed?: string | undefined;
}

/** The opening of an incident, by staff or by a signal, in the caller's transaction. */
export interface OpenInput {
  readonly orgId: string;
  readonly role: IncidentRole;
  readonly source: 'staff' | 'signal';
  readonly signal: IncidentSignal | null;
  readonly title: string;
  readonly nature: string;
  readonly awareAt: string;
  readonly windowFrom: string;
  readonly windowTo: string;
  readonly suspect: string | null;
  readonly affectedOrgIds: readonly string[];
  readonly impact: Impact;
  readonly actorRef: string;
  readonly consequences?: string | undefined;
  readonly measuresTaken?: string | undefined;
  readonly measuresProposed?: string | undefined;
}

export function parseCategories(row: Pick<IncidentRow, 'categories'>): string[] {
  try {
    const parsed: unknown = JSON.parse(row.categories);
    return Array.isArray(parsed) ? parsed.filter((c): c is string => typeof c === 'string') : [];
  } catch {
    return [];
  }
}

/** The shared core of the use cases: audit + timeline in one step. */
export function createIncidentCore(deps: IncidentsDeps) {
  const { clock, audit } = deps;

  /** Audits `action` on the incident and adds the step to its timeline, in `trx`. */
  async function step(
    trx: Kysely<DB>,
    actor: Actor | { kind: 'anonymous'; orgId: string; ref: string },
    row: Pick<IncidentRow, 'id' | 'org_id'>,
    kind: IncidentEventKind,
    meta: Record<string, string | number | boolean | null> = {},
    timelineMeta: Record<string, unknown> = meta,
  ): Promise<void> {
    await audit.append(trx, {
      actor,
      action: `incidents.${kind}`,
      target: { type: 'incident', id: row.id },
      meta,
    });
    const ref = actor.kind === 'anonymous' ? actor.ref : actorRef(actor);
    await createIncidentsRepository(trx).addEvent({ orgId: row.org_id }, row.id, {
      at: clock.now().toISOString(),
      kind,
      actorRef: ref,
      meta: timelineMeta,
    });
  }

  /** Inserts a new incident with its affected organisations and its first step, in `trx`. */
  async function open(trx: Kysely<DB>, input: OpenInput): Promise<IncidentRow> {
    const now = clock.now().toISOString();
    const row: IncidentRow = {
      id: newId(),
      org_id: input.orgId,
      role: input.role,
      source: input.source,
      signal: input.signal,
      title: input.title.slice(0, 200),
      nature: input.nature.slice(0, 4000),
      aware_at: input.awareAt,
      window_from_at: input.windowFrom,
      window_to_at: input.windowTo,
      suspect: input.suspect,
      categories: JSON.stringify(input.impact.categories),
      subjects_approx: input.impact.subjectCount,
      records_approx: input.impact.records,
      consequences: input.consequences ?? '',
      measures_taken: input.measuresTaken ?? '',
      measures_proposed: input.measuresProposed ?? '',
      risk: null,
      risk_reasons: null,
      notify_decision: null,
      decision_reasons: null,
      decided_by: null,
      decided_at: null,
      delay_reasons: null,
      authority_filed_at: null,
      authority_channel: null,
      authority_reference: null,
      status: 'open',
      created_by: input.actorRef,
      created_at: now,
      updated_at: now,
    };
    const repo = createIncidentsRepository(trx);
    await repo.insert(row);
    await repo.addAffected({ orgId: row.org_id }, row.id, input.affectedOrgIds);
    return row;
  }

  return { step, open };
}

export type IncidentCore = ReturnType<typeof createIncidentCore>;

function assertOpen(row: IncidentRow): void {
  if (row.status !== 'open') throw new AppError('ERR_INCIDENT_NOT_ALLOWED', { message: 'incident closed' });
}

export function createIncidentRegister(deps: IncidentsDeps, core: IncidentCore) {
  const { db, clock } = deps;

  async function orgNames(): Promise<Map<string, string>> {
    return new Map((await deps.orgs.list()).map((o) => [o.id, o.name]));
  }

  return {
    /** This organisation's register, newest first. */
    async list(actor: Actor): Promise<IncidentRow[]> {
      assertCan(actor, 'incidents.read');
      return createIncidentsRepository(db).list(scopeOf(actor));
    },

    /** One incident of this register with its affected organisations, timeline, counts and clock. */
    async get(actor: Actor, id: string): Promise<IncidentDetail> {
      assertCan(actor, 'incidents.read');
      const repo = createIncidentsRepository(db);
      const incident = await repo.get(scopeOf(actor), id);
      const names = await orgNames();
      const decidedById = incident.decided_by?.startsWith('user:') ? incident.decided_by.slice(5) : null;
      const staff = decidedById === null ? [] : await deps.auth.listStaffNames({ actor });
      return {
        incident,
        categories: parseCategories(incident),
        affected: (await repo.affected(scopeOf(actor), id)).map((a) => ({
          ...a,
          name: names.get(a.affected_org_id) ?? a.affected_org_id,
        })),
        events: await repo.events(scopeOf(actor), id),
        notices: await createNoticesRepository(db).noticeCounts(scopeOf(actor), id),
        clock: clockOf(incident.aware_at, clock.now()),
        decidedByName:
          decidedById === null
            ? null
            : (staff.find((s) => s.id === decidedById.split('@')[0])?.name ?? incident.decided_by),
      };
    },

    /** Records an incident by hand, its numbers computed from the audit trail of its window. */
    async record(actor: Actor, input: RecordInput): Promise<IncidentRow> {
      assertCan(actor, 'incidents.manage');
      if (input.windowTo < input.windowFrom) {
        throw new AppError('ERR_VALIDATION', {
          message: 'window ends before it starts',
          fields: { windowTo: 'incidents.problem.window' },
        });
      }
      const operator = actor.orgKind === 'operator';
      // A tenant's register is about its own data; the operator may name any organisation.
      const known = new Set((await deps.orgs.list()).map((o) => o.id));
      const affected = operator
        ? [...new Set(input.affectedOrgIds ?? [])].filter((o) => known.has(o))
        : [actor.orgId];
      const impact = await computeImpact(deps, {
        from: input.windowFrom,
        to: input.windowTo,
        orgIds: affected.length === 0 ? [actor.orgId] : affected,
      });
      const role: IncidentRole =
        operator && affected.some((o) => o !== actor.orgId) ? 'processor' : 'controller';
      return db.transaction().execute(async (trx) => {
        const row = await core.open(trx, {
          orgId: actor.orgId,
          role,
          source: 'staff',
          signal: null,
          title: input.title,
          nature: input.nature,
          awareAt: input.awareAt ?? clock.now().toISOString(),
          windowFrom: input.windowFrom,
          windowTo: input.windowTo,
          suspect: null,
          affectedOrgIds: affected,
          impact,
          actorRef: actorRef(actor),
          consequences: input.consequences,
          measuresTaken: input.measuresTaken,
          measuresProposed: input.measuresProposed,
        });
        await core.step(trx, actor, row, 'opened', {
          source: 'staff',
          records: impact.records,
          subjects: impact.subjectCount,
        });
        return row;
      });
    },
  };
}

/** What one step on an open incident changes: its columns, and the step on its timeline. */
interface OpenIncidentChange {
  readonly patch: Partial<Omit<IncidentRow, 'id' | 'org_id' | 'updated_at'>>;
  readonly kind: IncidentEventKind;
  readonly meta?: Record<string, string | number | boolean | null>;
}

/** The facts, the assessment, the decision and closing: each a step on the timeline. */
export function createIncidentAssessment(deps: IncidentsDeps, core: IncidentCore) {
  const { db, clock } = deps;

  /**
   * Every step below has the same frame: only a manager, only an open incident of the actor's own
   * register, the change and its timeline step in one transaction. `change` sees the incident as
   * it was (a decision needs its assessment) and the moment of the step.
   */
  async function changeOpen(
    actor: Actor,
    id: string,
    change: (row: IncidentRow, now: string) => OpenIncidentChange,
  ): Promise<void> {
    assertCan(actor, 'incidents.manage');
    await db.transaction().execute(async (trx) => {
      const repo = createIncidentsRepository(trx);
      const row = await repo.get(scopeOf(actor), id);
      assertOpen(row);
      const now = clock.now().toISOString();
      const { patch, kind, meta } = change(row, now);
      await repo.update(scopeOf(actor), id, { ...patch, updated_at: now });
      await core.step(trx, actor, row, kind, meta);
    });
  }

  return {
    /** Updates the facts: nature, consequences, measures taken and proposed. */
    updateDetails: (
      actor: Actor,
      id: string,
      input: { nature: string; consequences: string; measuresTaken: string; measuresProposed: string },
    ): Promise<void> =>
      changeOpen(actor, id, () => ({
        patch: {
          nature: input.nature,
          consequences: input.consequences,
          measures_taken: input.measuresTaken,
          measures_proposed: input.measuresProposed,
        },
        kind: 'details_updated',
      })),

    /** The assessment of the risk to data subjects, with reasons. */
    assess: (actor: Actor, id: string, input: { risk: RiskLevel; reasons: string }): Promise<void> =>
      changeOpen(actor, id, () => ({
        patch: { risk: input.risk, risk_reasons: input.reasons },
        kind: 'assessed',
        meta: { risk: input.risk },
      })),

    /** The decision whether to notify, recorded with who decided (the incident stays either way). */
    decide: (actor: Actor, id: string, input: { decision: NotifyDecision; reasons: string }): Promise<void> =>
      changeOpen(actor, id, (row, now) => {
        if (row.risk === null) {
          throw new AppError('ERR_INCIDENT_NOT_ALLOWED', {
            message: 'decision before assessment',
            fields: { decision: 'incidents.problem.unassessed' },
          });
        }
        return {
          patch: {
            notify_decision: input.decision,
            decision_reasons: input.reasons,
            decided_by: actorRef(actor),
            decided_at: now,
          },
          kind: 'decided',
          meta: { decision: input.decision },
        };
      }),

    /** Closes the incident; it stays in the register. */
    close: (actor: Actor, id: string): Promise<void> =>
      changeOpen(actor, id, () => ({ patch: { status: 'closed' }, kind: 'closed' })),
  };
}
