/** The incident register's tables, always scoped to the organisation whose register it is. */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { findInOrg } from '../../db/scoped.js';
import type { OrgScope } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import type {
  IncidentEventKind,
  IncidentEventsTable,
  IncidentOrgsTable,
  IncidentSignal,
  IncidentSubjectNoticesTable,
  IncidentsTable,
  NoticeStatus,
} from './incidents-schema.js';

export type IncidentRow = IncidentsTable;
export type IncidentEvent = IncidentEventsTable;
export type AffectedOrg = IncidentOrgsTable;

export function createIncidentsRepository(db: Kysely<DB>) {
  return {
    async list(scope: OrgScope): Promise<IncidentRow[]> {
      return db
        .selectFrom('incidents')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .orderBy('aware_at', 'desc')
        .orderBy('id')
        .execute();
    },

    /** The incident in this register, or ERR_NOT_FOUND (another register's is not found either). */
    async get(scope: OrgScope, id: string): Promise<IncidentRow> {
      const row = await findInOrg(db, 'incidents', scope, id);
      if (row === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'incident not found' });
      return row;
    },

    /** Every open incident of every register (the clock's reminders). */
    async listOpen(): Promise<IncidentRow[]> {
      return db
        .selectFrom('incidents')
        .selectAll()
        .where('status', '=', 'open')
        .orderBy('aware_at')
        .execute();
    },

    /** The open incident a repeated signal belongs to: same register, signal and suspect, window not yet lapsed. */
    async findOpenSignal(
      scope: OrgScope,
      signal: IncidentSignal,
      suspect: string | null,
      since: string,
    ): Promise<IncidentRow | undefined> {
      let query = db
        .selectFrom('incidents')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .where('signal', '=', signal)
        .where('status', '=', 'open')
        .where('window_to_at', '>=', since);
      query = suspect === null ? query.where('suspect', 'is', null) : query.where('suspect', '=', suspect);
      return query.orderBy('aware_at', 'desc').executeTakeFirst();
    },

    async insert(row: IncidentRow): Promise<void> {
      await db.insertInto('incidents').values(row).execute();
    },

    async update(scope: OrgScope, id: string, patch: Partial<Omit<IncidentRow, 'id' | 'org_id'>>) {
      await db
        .updateTable('incidents')
        .set(patch)
        .where('org_id', '=', scope.orgId)
        .where('id', '=', id)
        .execute();
    },

    async affected(scope: OrgScope, incidentId: string): Promise<AffectedOrg[]> {
      return db
        .selectFrom('incident_orgs')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .where('incident_id', '=', incidentId)
        .orderBy('affected_org_id')
        .execute();
    },

    /** Adds affected organisations (those already listed stay as they are). */
    async addAffected(scope: OrgScope, incidentId: string, orgIds: readonly string[]): Promise<void> {
      const known = new Set((await this.affected(scope, incidentId)).map((a) => a.affected_org_id));
      const fresh = [...new Set(orgIds)].filter((o) => !known.has(o));
      if (fresh.length === 0) return;
      await db
        .insertInto('incident_orgs')
        .values(
          fresh.map((o) => ({
            incident_id: incidentId,
            org_id: scope.orgId,
            affected_org_id: o,
            notified_at: null,
          })),
        )
        .execute();
    },

    async markNotified(
      scope: OrgScope,
      incidentId: string,
      affectedOrgId: string,
      at: string,
    ): Promise<void> {
      await db
        .updateTable('incident_orgs')
        .set({ notified_at: at })
        .where('org_id', '=', scope.orgId)
        .where('incident_id', '=', incidentId)
        .where('affected_org_id', '=', affectedOrgId)
        .execute();
    },

    async events(scope: OrgScope, incidentId: string): Promise<IncidentEvent[]> {
      return db
        .selectFrom('incident_events')
        .selectAll()
        .where('org_id', '=', scope.orgId)
        .where('incident_id', '=', incidentId)
        .orderBy('at')
        .orderBy('id')
        .execute();
    },

    async hasEvent(scope: OrgScope, incidentId: string, kind: IncidentEventKind): Promise<boolean> {
      const row = await db
        .selectFrom('incident_events')
        .select('id')
        .where('org_id', '=', scope.orgId)
        .where('incident_id', '=', incidentId)
        .where('kind', '=', kind)
        .executeTakeFirst();
      return row !== undefined;
    },

    async addEvent(
      scope: OrgScope,
      incidentId: string,
      e: { at: string; kind: IncidentEventKind; actorRef: string; meta?: Record<string, unknown> },
    ): Promise<void> {
      await db
        .insertInto('incident_events')
        .values({
          id: newId(),
          incident_id: incidentId,
          org_id: scope.orgId,
          at: e.at,
          kind: e.kind,
          actor_ref: e.actorRef,
          meta: JSON.stringify(e.meta ?? {}),
        })
        .execute();
    },
  };
}

export type IncidentsRepository = ReturnType<typeof createIncidentsRepository>;

/** The Art. 34 notices of an incident: one per subject, counted by status. */
export function createNoticesRepository(db: Kysely<DB>) {
  return {
    async addNotices(rows: readonly IncidentSubjectNoticesTable[]): Promise<void> {
      for (let i = 0; i < rows.length; i += 200) {
        await db
          .insertInto('incident_subject_notices')
          .values(rows.slice(i, i + 200))
          .execute();
      }
    },

    async noticedSubjects(scope: OrgScope, incidentId: string): Promise<Set<string>> {
      const rows = await db
        .selectFrom('incident_subject_notices')
        .select('subject_id')
        .where('org_id', '=', scope.orgId)
        .where('incident_id', '=', incidentId)
        .execute();
      return new Set(rows.map((r) => r.subject_id));
    },

    async findNotice(scope: OrgScope, id: string): Promise<IncidentSubjectNoticesTable | undefined> {
      return findInOrg(db, 'incident_subject_notices', scope, id);
    },

    async setNotice(scope: OrgScope, id: string, status: NoticeStatus, at: string): Promise<void> {
      await db
        .updateTable('incident_subject_notices')
        .set({ status, updated_at: at })
        .where('org_id', '=', scope.orgId)
        .where('id', '=', id)
        .execute();
    },

    async noticeCounts(scope: OrgScope, incidentId: string): Promise<Record<NoticeStatus, number>> {
      const rows = await db
        .selectFrom('incident_subject_notices')
        .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
        .where('org_id', '=', scope.orgId)
        .where('incident_id', '=', incidentId)
        .groupBy('status')
        .execute();
      const out: Record<NoticeStatus, number> = { queued: 0, sent: 0, failed: 0 };
      for (const r of rows) out[r.status] = Number(r.n);
      return out;
    },
  };
}
