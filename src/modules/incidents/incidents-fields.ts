/**
 * The breach register holds no personal values (P5): ids, codes, counts, and the staff's
 * description of the incident, for which the form asks no personal data.
 */
import type { ModuleCatalogue } from '../../shared/catalogue.js';

const description =
  'description of the incident written by security staff (the form asks for no personal data)';

export const incidentsFields: ModuleCatalogue = {
  fields: [],
  notPersonal: {
    incidents: {
      role: 'processor or controller',
      source: 'staff or signal',
      signal: 'which signal opened it (a code)',
      title: description,
      nature: description,
      suspect: 'an actor reference (staff user or API key id), as the audit trail holds it',
      categories: 'data category codes',
      subjects_approx: 'a count',
      records_approx: 'a count',
      consequences: description,
      measures_taken: description,
      measures_proposed: description,
      risk: 'risk level (a code)',
      risk_reasons: description,
      notify_decision: 'a code',
      decision_reasons: description,
      decided_by: 'a staff user id',
      delay_reasons: description,
      authority_channel: 'how the notification was filed',
      authority_reference: 'the authority’s reference number',
      status: 'state name',
      created_by: 'a staff user id or system',
    },
    incident_events: {
      kind: 'what happened (a code)',
      actor_ref: 'a staff user id or system',
      meta: 'counts, codes and follow-up texts written by security staff',
    },
    incident_subject_notices: { status: 'whether the breach mail was sent (a code)' },
  },
};
