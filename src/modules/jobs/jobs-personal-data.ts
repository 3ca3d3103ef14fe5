/** The job queue holds no data about people beyond a mail's sealed envelope, scrubbed once sent. */
import type { PersonalDataProvider } from '../personal-data.js';

export const jobsPersonalData: PersonalDataProvider = {
  module: 'jobs',
  notLinked: {
    jobs: 'queued work: a pending mail’s sealed envelope is scrubbed once sent (minutes), and what it says is in the conversation it answers',
    job_schedules: 'recurring system jobs',
  },
};
