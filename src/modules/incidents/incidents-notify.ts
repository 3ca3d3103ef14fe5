/**
 * Notifying about an incident (Art. 33, 34 GDPR): the affected tenants' owners and privacy
 * officers when the operator is their processor (Art. 33(2), without undue delay); the record of
 * the notification to the Autoriteit Persoonsgegevens, refused after 72 hours without reasons
 * for the delay (Art. 33(1)), and its follow-up phases (Art. 33(4)); the data subjects when the
 * risk is high (Art. 34), one plain-language mail in Dutch and English each, through the job
 * queue, counted as sent or failed. Reminders at 24 and 48 hours go to the register's security
 * staff and privacy officers.
 */
import { type Actor, scopeOf } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { formatMoment } from '../../shared/i18n/dates.js';
import type { MessageKey } from '../../shared/i18n/messages.js';
import { type Locale, t } from '../../shared/i18n/messages.js';
import { newId } from '../../shared/ids.js';
import { assertCan } from '../../shared/permissions.js';
import { enqueue, type JobInfo } from '../jobs/index.js';
import type { Mailer } from '../mail/index.js';
import { renderMail } from '../mail/index.js';
import type { ContactAddress } from '../personal-data.js';
import { clockOf, isLate, remindersDue } from './incidents-clock.js';
import { computeImpact } from './incidents-impact.js';
import { type IncidentCore, type IncidentsDeps, parseCategories } from './incidents-register.js';
import { createIncidentsRepository, type IncidentRow } from './incidents-repository.js';

export const SUBJECT_MAIL_JOB = 'incidents.subject_mail';
export const CLOCK_JOB = 'incidents.clock';
const system = (orgId: string, reason: string) =>
  ({ kind: 'anonymous', orgId, ref: `system:${reason}` }) as const;

const localeOf = (value: string | null): Locale => (value === 'en' ? 'en' : 'nl');

function categoryList(locale: Locale, row: IncidentRow): string {
  const labels = parseCategories(row).map((c) => t(locale, `register.category.${c}` as MessageKey));
  return labels.length === 0 ? '—' : labels.join(', ');
}

export type NotifyDeps = IncidentsDeps & { readonly mailer: Mailer };

export function createIncidentNotifications(deps: NotifyDeps, core: IncidentCore) {
  const { db, clock, config } = deps;

  /** Owners and privacy officers of `orgId` (one mail per address). */
  async function ownersAndOfficers(orgId: string) {
    const people = [
      ...(await deps.auth.listUsersWithRole(orgId, 'owner')),
      ...(await deps.auth.listUsersWithRole(orgId, 'privacy_officer')),
    ];
    return [...new Map(people.map((p) => [p.email.toLowerCase(), p])).values()];
  }

  /** Where each of `subjectIds` of `orgId` can be reached (the providers audit the look-up). */
  async function addressesOf(
    orgId: string,
    subjectIds: readonly string[],
  ): Promise<Map<string, ContactAddress>> {
    const found = new Map<string, ContactAddress>();
    for (const provider of deps.personalData.all()) {
      const points = provider.contactPoints;
      if (points === undefined) continue;
      for (const [id, address] of await points.lookup(deps, { orgId }, subjectIds)) {
        if (!found.has(id)) found.set(id, address);
      }
    }
    return found;
  }

  async function contactOf(orgId: string): Promise<{ name: string; contact: string }> {
    const { settings } = await deps.register.snapshotOf(orgId);
    return { name: settings.name, contact: settings.privacyEmail || settings.contactEmail || settings.name };
  }

  return {
    /** Mails each affected tenant's owners and privacy officers (Art. 33(2)); marks them informed. */
    async notifyTenants(actor: Actor, id: string): Promise<{ orgs: number; mails: number }> {
      assertCan(actor, 'incidents.manage');
      const repo = createIncidentsRepository(db);
      const row = await repo.get(scopeOf(actor), id);
      const pending = (await repo.affected(scopeOf(actor), id)).filter(
        (a) => a.affected_org_id !== actor.orgId && a.notified_at === null,
      );
      if (row.role !== 'processor' || pending.length === 0) {
        throw new AppError('ERR_INCIDENT_NOT_ALLOWED', {
          message: 'no tenant to inform',
          fields: { incident: 'incidents.problem.notProcessor' },
        });
      }
      const operator = await contactOf(actor.orgId);
      let mails = 0;
      for (const a of pending) {
        const impact = await computeImpact(deps, {
          from: row.window_from_at,
          to: row.window_to_at,
          orgIds: [a.affected_org_id],
          actor: row.suspect ?? undefined,
        });
        const org = await deps.orgs.getById(a.affected_org_id);
        const recipients = await ownersAndOfficers(a.affected_org_id);
        await db.transaction().execute(async (trx) => {
          for (const r of recipients) {
            const locale = localeOf(r.locale);
            await deps.mail.enqueue(trx, {
              orgId: a.affected_org_id,
              to: r.email,
              template: 'notification',
              locale,
              vars: {
                subject: t(locale, 'incidents.mail.tenant.subject', { operator: operator.name }),
                recipientName: r.displayName.slice(0, 200),
                body: t(locale, 'incidents.mail.tenant.body', {
                  operator: operator.name,
                  org: org.name,
                  nature: row.nature,
                  aware: formatMoment(locale, row.aware_at, { date: 'medium', time: 'short' }),
                  categories: categoryList(locale, { ...row, categories: JSON.stringify(impact.categories) }),
                  subjects: impact.subjectCount,
                  records: impact.records,
                  consequences: row.consequences || '—',
                  measures: row.measures_taken || '—',
                }),
              },
            });
            mails += 1;
          }
          await createIncidentsRepository(trx).markNotified(
            scopeOf(actor),
            id,
            a.affected_org_id,
            clock.now().toISOString(),
          );
          await core.step(trx, actor, row, 'tenants_notified', {
            affected_org: a.affected_org_id,
            recipients: recipients.length,
          });
        });
      }
      return { orgs: pending.length, mails };
    },

    /**
     * Records that (and how) the notification was filed with the Autoriteit Persoonsgegevens. After
     * 72 hours from awareness it is refused unless the reasons for the delay are given.
     */
    async fileWithAuthority(
      actor: Actor,
      id: string,
      input: { channel: string; reference: string; delayReasons?: string | undefined },
    ): Promise<void> {
      assertCan(actor, 'incidents.manage');
      const now = clock.now();
      await db.transaction().execute(async (trx) => {
        const repo = createIncidentsRepository(trx);
        const row = await repo.get(scopeOf(actor), id);
        const reasons = input.delayReasons?.trim() ?? '';
        const late = isLate(row.aware_at, now);
        if (late && reasons.length < 10) {
          throw new AppError('ERR_INCIDENT_LATE_WITHOUT_REASONS', {
            message: 'late notification without reasons',
            fields: { delayReasons: 'incidents.problem.late' },
          });
        }
        await repo.update(scopeOf(actor), id, {
          authority_filed_at: now.toISOString(),
          authority_channel: input.channel,
          authority_reference: input.reference,
          delay_reasons: late ? reasons : null,
          updated_at: now.toISOString(),
        });
        await core.step(trx, actor, row, 'authority_filed', {
          late,
          hours: clockOf(row.aware_at, now).elapsedHours,
        });
      });
    },

    /** A follow-up phase of the notification (Art. 33(4)): what was sent, kept on the timeline. */
    async addFollowUp(actor: Actor, id: string, text: string): Promise<void> {
      assertCan(actor, 'incidents.manage');
      await db.transaction().execute(async (trx) => {
        const row = await createIncidentsRepository(trx).get(scopeOf(actor), id);
        if (row.authority_filed_at === null) {
          throw new AppError('ERR_INCIDENT_NOT_ALLOWED', {
            message: 'follow-up before filing',
            fields: { followUp: 'incidents.problem.notFiled' },
          });
        }
        await core.step(trx, actor, row, 'authority_follow_up', {}, { text: text.slice(0, 20_000) });
      });
    },

    /**
     * Art. 34: queues one mail (Dutch and English) to every affected subject Kluis can reach.
     * Only for a high risk. Subjects already mailed about this incident are not mailed again.
     */
    async notifySubjects(actor: Actor, id: string): Promise<{ queued: number; unreachable: number }> {
      assertCan(actor, 'incidents.manage');
      const repo = createIncidentsRepository(db);
      const row = await repo.get(scopeOf(actor), id);
      if (row.risk !== 'high') {
        throw new AppError('ERR_INCIDENT_NOT_ALLOWED', {
          message: 'subjects are mailed for a high risk only',
          fields: { incident: 'incidents.problem.notHigh' },
        });
      }
      const affected = (await repo.affected(scopeOf(actor), id)).map((a) => a.affected_org_id);
      const impact = await computeImpact(deps, {
        from: row.window_from_at,
        to: row.window_to_at,
        orgIds: affected.length === 0 ? [row.org_id] : affected,
        actor: row.suspect ?? undefined,
      });
      const already = await repo.noticedSubjects(scopeOf(actor), id);
      const now = clock.now().toISOString();
      const notices: { id: string; orgId: string; subjectId: string }[] = [];
      let unreachable = 0;
      for (const [orgId, subjects] of impact.subjects) {
        const fresh = [...subjects].filter((s) => !already.has(s));
        const reachable = await addressesOf(orgId, fresh);
        unreachable += fresh.length - reachable.size;
        for (const subjectId of reachable.keys()) notices.push({ id: newId(), orgId, subjectId });
      }
      await db.transaction().execute(async (trx) => {
        await createIncidentsRepository(trx).addNotices(
          notices.map((n) => ({
            id: n.id,
            incident_id: row.id,
            org_id: row.org_id,
            affected_org_id: n.orgId,
            subject_id: n.subjectId,
            status: 'queued' as const,
            updated_at: now,
          })),
        );
        for (const n of notices) {
          await enqueue(trx, clock, {
            type: SUBJECT_MAIL_JOB,
            orgId: row.org_id,
            payload: { orgId: row.org_id, noticeId: n.id },
            maxAttempts: 5,
          });
        }
        await core.step(trx, actor, row, 'subjects_queued', { queued: notices.length, unreachable });
      });
      return { queued: notices.length, unreachable };
    },

    /** The job: sends one subject's mail; the last failed attempt counts it as failed. */
    async sendSubjectMail(orgId: string, noticeId: string, job: JobInfo): Promise<void> {
      const scope = { orgId };
      const repo = createIncidentsRepository(db);
      const notice = await repo.findNotice(scope, noticeId);
      if (notice === undefined || notice.status !== 'queued') return;
      const row = await repo.get(scope, notice.incident_id);
      const finish = async (status: 'sent' | 'failed', reason?: string) => {
        await db.transaction().execute(async (trx) => {
          await createIncidentsRepository(trx).setNotice(scope, noticeId, status, clock.now().toISOString());
          await deps.audit.append(trx, {
            actor: system(orgId, 'incidents.subject_mail'),
            action: status === 'sent' ? 'incidents.subject_mail_sent' : 'incidents.subject_mail_failed',
            target: { type: 'incident', id: row.id },
            meta: { notice: noticeId, ...(reason === undefined ? {} : { reason }) },
          });
        });
      };
      const address = (await addressesOf(notice.affected_org_id, [notice.subject_id])).get(notice.subject_id);
      if (address === undefined) return finish('failed', 'unreachable');
      const who = await contactOf(notice.affected_org_id);
      const values = {
        org: who.name,
        nature: row.nature,
        consequences: row.consequences || '—',
        measures: row.measures_taken || '—',
        contact: who.contact,
      };
      const rendered = renderMail('notification', 'nl', {
        subject: t('nl', 'incidents.mail.subject.subject', { org: who.name }),
        recipientName: address.name.slice(0, 200) || undefined,
        body: `${t('nl', 'incidents.mail.subject.body', values)}\n\n${t('en', 'incidents.mail.subject.bodyEn', values)}`,
      });
      try {
        await deps.mailer.send({
          to: address.email,
          subject: rendered.subject,
          text: rendered.text,
          html: rendered.html,
          headers: { 'X-Kluis-Template': 'incident_subject', 'X-Kluis-Job': job.id },
        });
      } catch (error) {
        if (job.attempt >= job.maxAttempts) return finish('failed', 'smtp');
        throw error;
      }
      await finish('sent');
    },

    /** Reminders at 24 and 48 hours for open incidents not yet filed nor decided against. */
    async clockDuties(): Promise<{ reminders: number }> {
      const now = clock.now();
      let reminders = 0;
      for (const row of await createIncidentsRepository(db).listOpen()) {
        if (row.authority_filed_at !== null || row.notify_decision === 'not_notify') continue;
        for (const kind of remindersDue(row.aware_at, now)) {
          const scope = { orgId: row.org_id };
          if (await createIncidentsRepository(db).hasEvent(scope, row.id, kind)) continue;
          const staff = [
            ...(await deps.auth.listUsersWithRole(row.org_id, 'security')),
            ...(await deps.auth.listUsersWithRole(row.org_id, 'privacy_officer')),
          ];
          const recipients = [...new Map(staff.map((p) => [p.email.toLowerCase(), p])).values()];
          const state = clockOf(row.aware_at, now);
          await db.transaction().execute(async (trx) => {
            for (const r of recipients) {
              const locale = localeOf(r.locale);
              await deps.mail.enqueue(trx, {
                orgId: row.org_id,
                to: r.email,
                template: 'notification',
                locale,
                vars: {
                  subject: t(locale, 'incidents.mail.reminder.subject', {
                    hours: Math.max(0, state.hoursLeft),
                  }),
                  recipientName: r.displayName.slice(0, 200),
                  body: t(locale, 'incidents.mail.reminder.body', {
                    title: row.signal === null ? row.title : t(locale, `incidents.signal.${row.signal}`),
                    elapsed: state.elapsedHours,
                    deadline: formatMoment(locale, state.deadline, { date: 'medium', time: 'short' }),
                  }),
                  actionUrl: `${config.publicOrigin}/staff/incidents/${row.id}`,
                },
              });
            }
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
