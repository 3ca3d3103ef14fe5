/**
 * The rights module's services (P15–P17), built once per Kluis: `rights` groups the use cases of
 * the portal (`rights-portal.ts`), the privacy officer's workflow (`rights-workflow.ts`), the daily
 * duties (`rights-duties.ts`), the fulfilment of each right (`rights-fulfil.ts`), erasure
 * (`rights-erasure.ts`) and the access export (`rights-export-compile.ts`), all on one request core
 * (`rights-requests.ts`); `consent` is the consent registry (`rights-consent.ts`). Other modules'
 * data is reached through their services and personal-data providers only.
 */
import type { Actor, OrgScope } from '../../shared/actor.js';
import type { Locale } from '../../shared/i18n/messages.js';
import type { AuthService } from '../auth/index.js';
import type { KluisCore } from '../module.js';
import type { RegisterService } from '../register/index.js';
import type { RetentionService } from '../retention/index.js';
import type { AuditService, SecurityService } from '../security/index.js';
import type { StatementService } from '../statement/index.js';
import type { SubjectsService } from '../subjects/index.js';
import { createConsentService } from './rights-consent.js';
import { exportConsentRecords, exportNewsletterRecipients } from './rights-consent-export.js';
import { createControllerRequests } from './rights-controller.js';
import { createRightsDuties } from './rights-duties.js';
import { createRightsErasure } from './rights-erasure.js';
import { compileSubjectExport, type SubjectExport } from './rights-export-compile.js';
import { createRightsFulfilment } from './rights-fulfil.js';
import { createRightsPortal } from './rights-portal.js';
import { createRequestCore } from './rights-requests.js';
import { createRightsWorkflow } from './rights-workflow.js';

export type RightsDeps = Pick<
  KluisCore,
  'db' | 'dialect' | 'keyring' | 'clock' | 'config' | 'checkpoint' | 'personalData'
> & {
  readonly audit: AuditService;
  readonly auth: Pick<AuthService, 'listUsersWithRole'>;
  readonly register: Pick<RegisterService, 'factsOf'>;
  readonly retention: RetentionService;
  readonly security: Pick<SecurityService, 'entriesAbout'>;
  readonly statement: Pick<StatementService, 'findLatestVersion'>;
  readonly subjects: SubjectsService;
};

/** The consent registry with what it gives out (the records, the newsletter list). */
export function createConsentServices(deps: RightsDeps) {
  const consent = createConsentService(deps);
  const exportDeps = { ...deps, consent };
  return {
    ...consent,
    /** The subject's consent records as ISO/IEC TS 27560 documents (`consent.read`). */
    exportRecords: (actor: Actor, subjectId: string, locale: Locale) =>
      exportConsentRecords(exportDeps, actor, subjectId, locale),
    /** Who consents to the newsletter now, with their address (`consent.export_newsletter`). */
    exportNewsletter: (actor: Actor, locale: Locale) => exportNewsletterRecipients(exportDeps, actor, locale),
  };
}

export type ConsentServices = ReturnType<typeof createConsentServices>;

export function createRightsService(deps: RightsDeps, consent: ConsentServices) {
  const core = createRequestCore(deps);
  const workflow = createRightsWorkflow(deps, core);
  const erasure = createRightsErasure(deps);
  /** Everything the organisation holds about a subject (no audit: the workflow around it audits). */
  const compileExport = (
    scope: OrgScope,
    subjectId: string,
    options: { asOf: Date },
  ): Promise<SubjectExport> => compileSubjectExport(deps, scope, subjectId, options);
  return {
    summaryOf: core.summaryOf,
    /** Every status change, in its transaction (OpenDSR sends callbacks from it). */
    onStatusChange: core.onStatusChange,
    ...createControllerRequests(deps, core),
    /**
     * A mail to the privacy address (P16) lands in the workflow unverified, in the caller's (the
     * intake's) transaction; one request per conversation.
     */
    receiveEmail: core.records.receiveEmail,
    ...createRightsPortal(deps, core),
    ...workflow,
    ...createRightsDuties(deps, core),
    ...createRightsFulfilment(deps, { core, workflow, erasure, consent, compileExport }),
    ...erasure,
    compileExport,
  };
}

export type RightsService = ReturnType<typeof createRightsService>;
