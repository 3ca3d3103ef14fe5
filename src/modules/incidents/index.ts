/**
 * Incidents and breach notification (Art. 33, 34 GDPR; issue 14): each organisation's breach
 * register, incidents opened by staff or by signals from the audit trail, the 72-hour clock with
 * reminders, notifying affected tenants, the authority and data subjects, a timeline chart and
 * the register's export. Public surface of the module: the manifest and what other modules use.
 */
import { defineModule } from '../module.js';
import { CLOCK_JOB } from './incidents-duties.js';
import { incidentsFields } from './incidents-fields.js';
import { registerIncidentJobs } from './incidents-jobs.js';
import { incidentsEn, incidentsNl } from './incidents-messages.js';
import { incidentsDashboardPanel } from './incidents-panel.js';
import { incidentsRoutes } from './incidents-routes.js';
import { incidentsMigrations } from './incidents-schema.js';
import { createIncidentsService, type IncidentsService } from './incidents-service.js';

export type { IncidentsService } from './incidents-service.js';
export { EGRESS_REFUSED, KEY_REPORTED_LOST, LOGIN_FAILURE } from './incidents-signals.js';

declare module '../module.js' {
  interface KluisServices {
    incidents: IncidentsService;
  }
}

export const incidentsModule = defineModule({
  name: 'incidents',
  migrations: incidentsMigrations,
  tables: ['incidents', 'incident_orgs', 'incident_events', 'incident_subject_notices'],
  catalogue: incidentsFields,
  messages: { nl: incidentsNl, en: incidentsEn },
  personalData: {
    module: 'incidents',
    notLinked: {
      incidents: 'the register of breaches: ids, codes, counts and the staff’s description',
      incident_orgs: 'which organisations an incident affects',
      incident_events: 'the timeline of an incident',
      // Known gap: the row names the subject id, so the access export should list the breach
      // mails a person was sent; until it does, the mail itself is their record of it.
      incident_subject_notices:
        'which subject ids were mailed about a breach and whether it went out (no contact details); not yet in the access export',
    },
    notReferencing: {
      incident_subject_notices: 'whether a breach mail reached a subject: a count, it keeps no subject',
    },
  },
  provides: ['incidents'],
  needs: ['audit', 'security', 'auth', 'orgs', 'register', 'mail'],
  services: (deps) => ({ incidents: createIncidentsService(deps) }),
  jobs: registerIncidentJobs,
  // Every ten minutes: reminders at 24 and 48 hours of the 72-hour clock.
  schedules: [{ name: CLOCK_JOB, type: CLOCK_JOB, everySeconds: 600 }],
  navigation: [{ href: '/staff/incidents', label: 'incidents.nav', order: 45, permission: 'incidents.read' }],
  panels: (deps) => [incidentsDashboardPanel(deps)],
  routes: incidentsRoutes,
});
