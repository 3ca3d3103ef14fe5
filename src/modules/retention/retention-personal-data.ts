/**
 * The retention module's own tables hold no data about people: settings, bookkeeping of sweeps,
 * and marks on other modules' records. Their effect (a record restricted, or kept longer under a
 * legal hold) is shown on each record of a subject's access export.
 */
import type { PersonalDataProvider } from '../personal-data.js';

export const retentionPersonalData: PersonalDataProvider = {
  module: 'retention',
  notLinked: {
    retention_policies: 'the organisation’s retention settings (used for the retention section)',
    retention_runs: 'bookkeeping of retention sweeps (counts only)',
    retention_run_steps: 'bookkeeping of retention sweeps (counts only)',
    retention_restrictions: 'marks on records kept only for a legal duty: shown on each record as restricted',
    legal_holds:
      'the organisation’s own legal file (reason code, case reference); its effect, that a record is kept longer, is shown on each record',
  },
  notReferencing: {
    legal_holds:
      'a hold in force protects its subject by itself; a released one names an id and nothing more',
  },
};
