/**
 * The register's duties in the background: reminders at 24 and 48 hours of the 72-hour clock
 * (Art. 33(1)) to the register's security staff and privacy officers, and the computation of what
 * a signal's incident touched, from the audit trail of its window.
 */
import { formatTime } from '../../shared/i18n/dates.js';
import { t } from '../../shared/i18n/messages.js';
import { clockOf, remindersDue } from './incidents-clock.js';
import { computeImpact } from './incidents-impact.js';
import { mailStaff, type NotifyDeps, staffWithRoles } from './incidents-notify.js';
import type { IncidentCore } from './incidents-register.js';
import { createIncidentsRepository } from './incidents-repository.js';

export const CLOCK_JOB = 'incidents.clock';
const system = (orgId: string, reason: string) =>
  ({ kind: 'anonymous', orgId, ref: `system:${reason}` }) as const;

export function createIncidentDuties(deps: NotifyDeps, core: IncidentCore) {
  const { db, clock, config } = deps;
  return {
    /** Reminders at 24 and 48 hours for open incidents not yet filed nor decided against. */
    async clockDuties(): Promise<{ reminders: number }> {
      const now = clock.now();
      let reminders = 0;
      for (const row of await createIncidentsRepository(db).listOpen()) {
        if (row.authority_filed_at !== null || row.notify_decision === 'not_notify') continue;
        for (const kind of remindersDue(row.aware_at, now)) {
          const scope = { orgId: row.org_id };
          if (await createIncidentsRepository(db).hasEvent(scope, row.id, kind)) continue;
          const recipients = await staffWithRoles(deps, row.org_id, ['security', 'privacy_officer']);
          const state = clockOf(row.aware_at, now);
          await db.transaction().execute(async (trx) => {
            await mailStaff(deps, trx, row.org_id, recipients, (locale) => ({
              subject: t(locale, 'incidents.mail.reminder.subject', { hours: Math.max(0, state.hoursLeft) }),
              body: t(locale, 'incidents.mail.reminder.body', {
                title: row.signal === null ? row.title : t(locale, `incidents.signal.${row.signal}`),
                elapsed: state.elapsedHours,
                deadline: formatTime(locale, state.deadline),
              }),
              actionUrl: `${config.publicOrigin}/staff/incidents/${row.id}`,
            }));
            await core.step(trx, system(row.org_id, 'incidents.clock'), row, kind, {
              recipients: recipients.length,
            });
          });
          reminders += 1;
        }
      }
      return { reminders };
    },

    /** The job: (re)computes what a signal's incident touched, from the audit trail of its window. */
    async refreshImpact(orgId: string, incidentId: string): Promise<void> {
      const scope = { orgId };
      const repo = createIncidentsRepository(db);
      const row = await repo.get(scope, incidentId);
      const affected = (await repo.affected(scope, incidentId)).map((a) => a.affected_org_id);
      const impact = await computeImpact(deps, {
        from: row.window_from_at,
        to: row.window_to_at,
        orgIds: row.suspect === null ? affected : undefined,
        actor: row.suspect ?? undefined,
      });
      await db.transaction().execute(async (trx) => {
        const r = createIncidentsRepository(trx);
        await r.update(scope, incidentId, {
          categories: JSON.stringify(impact.categories),
          subjects_approx: impact.subjectCount,
          records_approx: impact.records,
        });
        await r.addAffected(scope, incidentId, impact.orgIds);
      });
    },
  };
}
