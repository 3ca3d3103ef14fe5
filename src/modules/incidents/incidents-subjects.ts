/**
 * Informing data subjects when the risk is high (Art. 34): one plain-language mail, Dutch and
 * English, to every affected subject Kluis can reach, each through the job queue and counted as
 * sent or failed. No address is stored: the job looks it up when it sends.
 */
import { type Actor, scopeOf } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { t } from '../../shared/i18n/messages.js';
import { newId } from '../../shared/ids.js';
import { assertCan } from '../../shared/permissions.js';
import { enqueue, type JobInfo } from '../jobs/index.js';
import { renderMail } from '../mail/index.js';
import { computeImpact } from './incidents-impact.js';
import { addressesOf, contactOf, type NotifyDeps } from './incidents-notify.js';
import type { IncidentCore } from './incidents-register.js';
import { createIncidentsRepository, createNoticesRepository } from './incidents-repository.js';

export const SUBJECT_MAIL_JOB = 'incidents.subject_mail';
const system = (orgId: string, reason: string) =>
  ({ kind: 'anonymous', orgId, ref: `system:${reason}` }) as const;

export function createSubjectNotices(deps: NotifyDeps, core: IncidentCore) {
  const { db, clock } = deps;
  return {
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
      const already = await createNoticesRepository(db).noticedSubjects(scopeOf(actor), id);
      const now = clock.now().toISOString();
      const notices: { id: string; orgId: string; subjectId: string }[] = [];
      let unreachable = 0;
      for (const [orgId, subjects] of impact.subjects) {
        const fresh = [...subjects].filter((s) => !already.has(s));
        const reachable = await addressesOf(deps, orgId, fresh);
        unreachable += fresh.length - reachable.size;
        for (const subjectId of reachable.keys()) notices.push({ id: newId(), orgId, subjectId });
      }
      await db.transaction().execute(async (trx) => {
        await createNoticesRepository(trx).addNotices(
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
      const notice = await createNoticesRepository(db).findNotice(scope, noticeId);
      if (notice === undefined || notice.status !== 'queued') return;
      const row = await repo.get(scope, notice.incident_id);
      const finish = async (status: 'sent' | 'failed', reason?: string) => {
        await db.transaction().execute(async (trx) => {
          await createNoticesRepository(trx).setNotice(scope, noticeId, status, clock.now().toISOString());
          await deps.audit.append(trx, {
            actor: system(orgId, 'incidents.subject_mail'),
            action: status === 'sent' ? 'incidents.subject_mail_sent' : 'incidents.subject_mail_failed',
            target: { type: 'incident', id: row.id },
            meta: { notice: noticeId, ...(reason === undefined ? {} : { reason }) },
          });
        });
      };
      const address = (await addressesOf(deps, notice.affected_org_id, [notice.subject_id])).get(
        notice.subject_id,
      );
      if (address === undefined) return finish('failed', 'unreachable');
      const who = await contactOf(deps, notice.affected_org_id);
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
  };
}
