/** The retention engine stores no personal values: ids, codes, dates and counts only (P5). */
import type { ModuleCatalogue } from '../../shared/catalogue.js';

export const retentionFields: ModuleCatalogue = {
  fields: [],
  notPersonal: {
    retention_policies: {
      trigger_event: 'the event a retention period starts from (fixed list)',
      period_value: 'length of the retention period',
      period_unit: 'months or days',
      action: 'delete, anonymise or restrict (fixed list)',
      legal_min_value: 'legal minimum of the period',
      legal_max_value: 'legal maximum of the period',
    },
    legal_holds: {
      record_table: 'which kind of record is held (a table name)',
      reason: 'reason code from a fixed list',
      reference: 'case or file number of the hold (the form asks for no names)',
    },
    retention_runs: {
      status: 'running or done',
      as_of: 'reference time of the sweep',
      policies: 'retention periods per organisation when the sweep started',
      started_by: 'who started the sweep (a system job or a staff user id)',
      report: 'counts per organisation and category, no values',
    },
    retention_run_steps: {
      position: 'order of the step in the run',
      cursor: 'the last record id the step handled',
      done: 'flag: the step is finished',
      applied: 'count of records handled',
      anonymised: 'count of records changed in place (IPs truncated)',
      held: 'count of records skipped because of a legal hold',
      batches: 'count of committed batches',
    },
    retention_restrictions: {
      table_name: 'which kind of record is restricted (a table name)',
    },
  },
};
