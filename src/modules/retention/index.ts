/**
 * Retention (P6): policies per category within their legal bounds, legal holds, restriction of
 * records kept only for a legal duty, dry runs and forecasts, resumable sweeps, and the erasure
 * ledger replayed after a backup restore. The engine runs the retention targets the modules'
 * personal-data providers declare. Public surface of the module: the manifest and what other
 * modules use (the helpers a module builds its targets with, the restriction conditions).
 */
import { defineModule } from '../module.js';
import { registerRetentionCommands } from './retention-commands.js';
import { retentionFields } from './retention-fields.js';
import { RETENTION_SWEEP_JOB, registerRetentionJobs } from './retention-jobs.js';
import { retentionEn, retentionNl } from './retention-messages.js';
import { retentionDashboardPanel } from './retention-panel.js';
import { retentionPersonalData } from './retention-personal-data.js';
import { retentionRoutes } from './retention-routes.js';
import { retentionMigrations } from './retention-schema.js';
import { createRetentionService, type RetentionService } from './retention-service.js';

declare module '../module.js' {
  interface KluisServices {
    retention: RetentionService;
  }
}

export {
  addDays,
  addMonths,
  dayOf,
  type EffectivePolicies,
  expiresOn,
  firstKeptDay,
  isManagedPolicy,
} from './retention-policies.js';
export { retentionRestoreStep } from './retention-replay.js';
export type { ActiveHolds } from './retention-repository.js';
export {
  isRestricted,
  notRestricted,
  type RestrictionMark,
  type RestrictionRow,
  restrict,
  restrictedAmong,
  unrestrict,
  visibleTo,
} from './retention-restriction.js';
export type { PeriodUnit, RetentionAction, RetentionTrigger } from './retention-schema.js';
export type { RetentionService } from './retention-service.js';
export {
  type ApplyMode,
  type ApplyResult,
  bucketByExpiry,
  type Candidate,
  chunks,
  countOf,
  expiringByMonth,
  inOrg,
  nextBatch,
  policyCutoff,
  type RetentionTarget,
  type SubjectReference,
  stillExpired,
  subjectBatch,
  subjectRecords,
  type TargetContext,
  walkAfter,
  walkKey,
  walkWithin,
} from './retention-target.js';

export const retentionModule = defineModule({
  name: 'retention',
  migrations: retentionMigrations,
  tables: [
    'retention_policies',
    'legal_holds',
    'retention_runs',
    'retention_run_steps',
    'retention_restrictions',
  ],
  catalogue: retentionFields,
  messages: { nl: retentionNl, en: retentionEn },
  personalData: retentionPersonalData,
  provides: ['retention'],
  needs: ['audit', 'accessLog'],
  services: (deps) => ({ retention: createRetentionService(deps) }),
  jobs: registerRetentionJobs,
  // Every night at 02:40 UTC (before the backups a runbook takes at 03:00).
  schedules: [{ name: RETENTION_SWEEP_JOB, type: RETENTION_SWEEP_JOB, dailyAt: '02:40' }],
  cli: registerRetentionCommands,
  navigation: [
    { href: '/staff/retention', label: 'retention.nav', order: 120, permission: 'retention.read' },
  ],
  panels: (deps) => [retentionDashboardPanel(deps)],
  routes: retentionRoutes,
});
