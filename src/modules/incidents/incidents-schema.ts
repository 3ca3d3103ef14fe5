/**
 * The breach register (Art. 33, 34 GDPR; issue 14). Each organisation keeps its own register:
 * the operator's incidents (as processor for its tenants, as controller for its own data) and
 * each tenant's (as controller for its data). An incident lists the organisations it affects;
 * its timeline holds every step (opening, assessment, decision, reminders, notifications, the
 * filing with the Autoriteit Persoonsgegevens and its follow-up phases). Subject notices count
 * the Art. 34 mails sent and failed. No row holds a personal value: ids, codes, counts and the
 * staff's description of the incident.
 */
import type { Migration } from 'kysely';
import { checkOneOf } from '../../db/dialect.js';

export const incidentRoles = ['processor', 'controller'] as const;
export type IncidentRole = (typeof incidentRoles)[number];

export const incidentSources = ['staff', 'signal'] as const;

/** The signals that open an incident by themselves. */
export const incidentSignals = [
  'login_burst',
  'audit_chain',
  'read_burst',
  'egress_refused',
  'key_lost',
] as const;
export type IncidentSignal = (typeof incidentSignals)[number];

export const riskLevels = ['none', 'risk', 'high'] as const;
export type RiskLevel = (typeof riskLevels)[number];

export const notifyDecisions = ['notify', 'not_notify'] as const;
export type NotifyDecision = (typeof notifyDecisions)[number];

export const incidentStatuses = ['open', 'closed'] as const;
export type IncidentStatus = (typeof incidentStatuses)[number];

export const incidentEventKinds = [
  'opened',
  'signal_repeated',
  'details_updated',
  'assessed',
  'decided',
  'reminder_24h',
  'reminder_48h',
  'tenants_notified',
  'authority_filed',
  'authority_follow_up',
  'subjects_queued',
  'subject_mail_sent',
  'subject_mail_failed',
  'closed',
] as const;
export type IncidentEventKind = (typeof incidentEventKinds)[number];

export const noticeStatuses = ['queued', 'sent', 'failed'] as const;
export type NoticeStatus = (typeof noticeStatuses)[number];

export interface IncidentsTable {
  id: string;
  /** Whose register this incident is in. */
  org_id: string;
  role: IncidentRole;
  source: (typeof incidentSources)[number];
  signal: IncidentSignal | null;
  title: string;
  nature: string;
  /** When Kluis or staff became aware: the 72-hour clock runs from here (Art. 33(1)). */
  aware_at: string;
  /** The window the audit trail is read for what was touched. */
  window_from_at: string;
  window_to_at: string;
  /** The actor whose activity is the incident (`user:<id>`, …), when one is known. */
  suspect: string | null;
  /** JSON array of data categories. */
  categories: string;
  subjects_approx: number;
  records_approx: number;
  consequences: string;
  measures_taken: string;
  measures_proposed: string;
  risk: RiskLevel | null;
  risk_reasons: string | null;
  notify_decision: NotifyDecision | null;
  decision_reasons: string | null;
  decided_by: string | null;
  decided_at: string | null;
  delay_reasons: string | null;
  authority_filed_at: string | null;
  authority_channel: string | null;
  authority_reference: string | null;
  status: IncidentStatus;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface IncidentOrgsTable {
  incident_id: string;
  org_id: string;
  affected_org_id: string;
  notified_at: string | null;
}

export interface IncidentEventsTable {
  id: string;
  incident_id: string;
  org_id: string;
  at: string;
  kind: IncidentEventKind;
  actor_ref: string;
  /** JSON object: counts, codes and, for a follow-up phase, the text sent to the authority. */
  meta: string;
}

export interface IncidentSubjectNoticesTable {
  id: string;
  incident_id: string;
  org_id: string;
  affected_org_id: string;
  subject_id: string;
  status: NoticeStatus;
  updated_at: string;
}

export interface IncidentsTables {
  incidents: IncidentsTable;
  incident_orgs: IncidentOrgsTable;
  incident_events: IncidentEventsTable;
  incident_subject_notices: IncidentSubjectNoticesTable;
}

export const incidentsMigrations: Record<string, Migration> = {
  '1400_incidents': {
    async up(db) {
      await db.schema
        .createTable('incidents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('role', 'text', (c) => c.notNull().check(checkOneOf('role', incidentRoles)))
        .addColumn('source', 'text', (c) => c.notNull().check(checkOneOf('source', incidentSources)))
        .addColumn('signal', 'text', (c) => c.check(checkOneOf('signal', incidentSignals)))
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('nature', 'text', (c) => c.notNull())
        .addColumn('aware_at', 'text', (c) => c.notNull())
        .addColumn('window_from_at', 'text', (c) => c.notNull())
        .addColumn('window_to_at', 'text', (c) => c.notNull())
        .addColumn('suspect', 'text')
        .addColumn('categories', 'text', (c) => c.notNull())
        .addColumn('subjects_approx', 'integer', (c) => c.notNull())
        .addColumn('records_approx', 'integer', (c) => c.notNull())
        .addColumn('consequences', 'text', (c) => c.notNull())
        .addColumn('measures_taken', 'text', (c) => c.notNull())
        .addColumn('measures_proposed', 'text', (c) => c.notNull())
        .addColumn('risk', 'text', (c) => c.check(checkOneOf('risk', riskLevels)))
        .addColumn('risk_reasons', 'text')
        .addColumn('notify_decision', 'text', (c) => c.check(checkOneOf('notify_decision', notifyDecisions)))
        .addColumn('decision_reasons', 'text')
        .addColumn('decided_by', 'text')
        .addColumn('decided_at', 'text')
        .addColumn('delay_reasons', 'text')
        .addColumn('authority_filed_at', 'text')
        .addColumn('authority_channel', 'text')
        .addColumn('authority_reference', 'text')
        .addColumn('status', 'text', (c) => c.notNull().check(checkOneOf('status', incidentStatuses)))
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('incidents_org').on('incidents').columns(['org_id', 'aware_at']).execute();
      await db.schema
        .createIndex('incidents_signal')
        .on('incidents')
        .columns(['org_id', 'signal', 'status'])
        .execute();
      await db.schema
        .createTable('incident_orgs')
        .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('affected_org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('notified_at', 'text')
        .addPrimaryKeyConstraint('incident_orgs_pk', ['incident_id', 'affected_org_id'])
        .execute();
      await db.schema
        .createTable('incident_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull().check(checkOneOf('kind', incidentEventKinds)))
        .addColumn('actor_ref', 'text', (c) => c.notNull())
        .addColumn('meta', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('incident_events_incident')
        .on('incident_events')
        .columns(['incident_id', 'at'])
        .execute();
      await db.schema
        .createTable('incident_subject_notices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('affected_org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('subject_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().check(checkOneOf('status', noticeStatuses)))
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('incident_subject_notices_incident')
        .on('incident_subject_notices')
        .columns(['incident_id', 'subject_id'])
        .unique()
        .execute();
    },
  },
};
