/**
 * Security (P11, P12): the hash-chained audit trail with signed checkpoints and a witness, the
 * access log of every request (security role only, truncated and deleted on schedule), and the
 * security role's pages and commands. Public surface of the module: the manifest and what other
 * modules use.
 */
import { z } from 'zod';
import { AppError } from '../../shared/errors.js';
import { defineModule } from '../module.js';
import { type AccessLogService, createAccessLogService, sweepAccessLog } from './access-log-service.js';
import { type AuditService, createAuditService } from './audit-chain.js';
import { createCheckpoint } from './audit-checkpoint.js';
import { auditMigrations } from './audit-schema.js';
import { registerSecurityCommands } from './security-commands.js';
import { securityFields } from './security-fields.js';
import { securityEn, securityNl } from './security-messages.js';
import { securityDashboardPanel } from './security-panel.js';
import { securityPersonalData } from './security-personal-data.js';
import { installRefusalAudit } from './security-refusals.js';
import { installAccessLog, type SecurityModuleOptions, securityRoutes } from './security-routes.js';
import { securityMigrations } from './security-schema.js';
import { createSecurityService, reportBrokenChain, type SecurityService } from './security-service.js';

/**
 * For the few writers that run without a built Kluis (the CLI's key rotation, a restore into a
 * fresh file): everything else appends through the `audit` service.
 */
export {
  type AppendedAuditEntry,
  type AuditActionMatch,
  type AuditEvent,
  type AuditListener,
  type AuditService,
  appendAudit,
  createAuditService,
} from './audit-chain.js';
export { auditSigningKeyOf, trustedAuditKeysOf } from './audit-checkpoint.js';
export {
  type AuditPublicKey,
  type AuditSigningKey,
  deriveAuditSigningKey,
  trustedKeyMap,
} from './audit-signing.js';
export type { AuditAction, AuditEntryAbout, SecurityService, TrailEntry } from './security-service.js';
export { AUDIT_VERIFY_FAILED, reportBrokenChain } from './security-service.js';

declare module '../module.js' {
  interface KluisServices {
    audit: AuditService;
    security: SecurityService;
    accessLog: AccessLogService;
  }
}

export type { AccessLogPeriods, AccessLogService } from './access-log-service.js';
export { type AuditedKind, auditedKindList, auditedKinds } from './audit-coverage.js';
export { auditPage } from './security-views.js';

export const ACCESS_LOG_SWEEP_JOB = 'security.access_log_sweep';
export const AUDIT_CHECKPOINT_JOB = 'security.audit_checkpoint';
export const AUDIT_CHECKPOINT_SECONDS = 300;
export { createCheckpoint } from './audit-checkpoint.js';

/** The manifest; tests tune the access-log writer through `options`. */
export function createSecurityModule(options: SecurityModuleOptions = {}) {
  return defineModule({
    name: 'security',
    migrations: { ...auditMigrations, ...securityMigrations },
    tables: ['audit_log', 'audit_head', 'audit_checkpoints', 'access_log'],
    catalogue: securityFields,
    personalData: securityPersonalData,
    messages: { nl: securityNl, en: securityEn },
    provides: ['audit', 'security', 'accessLog'],
    services: (deps) => {
      const audit = createAuditService(deps);
      return {
        audit,
        security: createSecurityService({ ...deps, audit }),
        accessLog: createAccessLogService(deps),
      };
    },
    jobs(registry, deps) {
      registry.register(ACCESS_LOG_SWEEP_JOB, z.object({}), async (_payload, { logger }) => {
        logger.info(await sweepAccessLog(deps.db, deps.clock, deps.config.accessLog), 'access log swept');
      });
      registry.register(AUDIT_CHECKPOINT_JOB, z.object({}), async (_payload, { logger }) => {
        try {
          const cp = await createCheckpoint(deps);
          logger.info({ seq: cp.seq, created: cp.created }, 'audit checkpoint');
        } catch (error) {
          if (error instanceof AppError && error.code === 'ERR_AUDIT_CHAIN_BROKEN') {
            await reportBrokenChain(
              deps.audit,
              deps.db,
              { seq: -1, reason: 'checkpoint_refused' },
              'checkpoint',
            );
          }
          throw error;
        }
      });
    },
    // Sweep the access log every night. Sign a checkpoint every five minutes (a no-op when the
    // head is already signed): entries after the latest checkpoint can be rewritten unnoticed by
    // someone with write access to the database, so that window is kept short; `audit verify`
    // and a clean server shutdown sign the head as well.
    schedules: [
      { name: ACCESS_LOG_SWEEP_JOB, type: ACCESS_LOG_SWEEP_JOB, dailyAt: '03:17' },
      { name: AUDIT_CHECKPOINT_JOB, type: AUDIT_CHECKPOINT_JOB, everySeconds: AUDIT_CHECKPOINT_SECONDS },
    ],
    cli: registerSecurityCommands,
    navigation: [
      { href: '/staff/security/audit', label: 'nav.security', order: 40, permission: 'security.audit_read' },
    ],
    panels: (deps) => [securityDashboardPanel(deps)],
    setup: (app, deps) => {
      installAccessLog(app, deps, options);
      installRefusalAudit(app, deps);
    },
    routes: securityRoutes,
  });
}

export const securityModule = createSecurityModule();
