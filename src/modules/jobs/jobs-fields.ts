/** Personal data held by the jobs module: sealed mail payloads waiting to be sent. */
import type { ModuleCatalogue } from '../../shared/catalogue.js';

export const jobsFields: ModuleCatalogue = {
  fields: [
    {
      table: 'jobs',
      column: 'payload',
      category: 'contact_details',
      purposes: ['handle_requests', 'staff_access'],
      legalBasis: 'contract',
      subjects: 'contact',
      retention: 'job_queue',
      readRoles: [],
      protection: 'subject_key',
    },
  ],
  notPersonal: {
    jobs: {
      type: 'job type name',
      attempts: 'counter',
      max_attempts: 'counter',
      status: 'state name',
      locked_by: 'worker id',
      last_error: 'error code and non-personal message',
      dedupe_key: 'job key built from ids',
    },
    job_schedules: {
      name: 'schedule name',
      type: 'job type name',
      payload: 'schedule payload (ids only)',
      every_seconds: 'interval',
      daily_at: 'time of day',
    },
  },
};
