/**
 * The incident register's services (Art. 33, 34 GDPR; issue 14), built once per Kluis: the
 * register's use cases (`incidents-register.ts`), the notifications and the 72-hour clock
 * (`incidents-notify.ts`), the prepared notification to the authority and the register's export
 * (`incidents-documents.ts`). Building it subscribes the signals to the audit trail
 * (`incidents-signals.ts`).
 */
import { type Actor, actorRef } from '../../shared/actor.js';
import { assertCan } from '../../shared/permissions.js';
import { createIncidentDocuments, createRegisterExport } from './incidents-documents.js';
import { createIncidentDuties } from './incidents-duties.js';
import { createAuthorityFiling, createTenantNotice, type NotifyDeps } from './incidents-notify.js';
import {
  createIncidentAssessment,
  createIncidentCore,
  createIncidentRegister,
} from './incidents-register.js';
import { installSignals, KEY_REPORTED_LOST } from './incidents-signals.js';
import { createSubjectNotices } from './incidents-subjects.js';

export function createIncidentsService(deps: NotifyDeps) {
  const core = createIncidentCore(deps);
  installSignals(deps, core);
  const register = createIncidentRegister(deps, core);
  return {
    ...register,
    ...createIncidentAssessment(deps, core),
    ...createRegisterExport(deps),
    ...createTenantNotice(deps, core),
    ...createAuthorityFiling(deps, core),
    ...createSubjectNotices(deps, core),
    ...createIncidentDuties(deps, core),
    ...createIncidentDocuments(deps, register),
    /**
     * Staff report a key lost (a staff device, an API key, a backup key): written to the audit
     * trail, where the signal opens an incident in the register.
     */
    async reportKeyLost(
      actor: Actor,
      what: 'totp_device' | 'api_key' | 'backup_key' | 'other',
    ): Promise<void> {
      assertCan(actor, 'incidents.manage');
      await deps.audit.append(deps.db, {
        actor,
        action: KEY_REPORTED_LOST,
        meta: { what, reported_by: actorRef(actor) },
      });
    },
  };
}

export type IncidentsService = ReturnType<typeof createIncidentsService>;
