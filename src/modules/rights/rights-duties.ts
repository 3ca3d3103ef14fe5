/**
 * The rights module's daily duties (P15, P16): requests never confirmed lapse when their link
 * expires (their contact details are removed), and the privacy officers of the organisation are
 * reminded a week and two days before a due day and when it has passed — once per threshold.
 */
import type { Locale } from '../../shared/i18n/messages.js';
import { t } from '../../shared/i18n/messages.js';
import type { AuthService } from '../auth/index.js';
import { enqueueMail } from '../mail/index.js';
import type { KluisCore } from '../module.js';
import { createRightsRepository, whoAsked } from './rights-repository.js';
import type { RequestCore, Row } from './rights-requests.js';

export type DutiesDeps = Pick<KluisCore, 'db' | 'keyring' | 'clock' | 'config'> & {
  readonly auth: Pick<AuthService, 'listUsersWithRole'>;
};

type Threshold = 'overdue' | 'two_days' | 'week';

function thresholdOf(daysLeft: number): Threshold | null {
  return daysLeft < 0 ? 'overdue' : daysLeft <= 2 ? 'two_days' : daysLeft <= 7 ? 'week' : null;
}

export function createRightsDuties(deps: DutiesDeps, core: RequestCore) {
  const { db, keyring, clock, config } = deps;

  /** Unconfirmed requests whose link expired: closed as lapsed, without who asked. */
  async function lapse(): Promise<number> {
    const now = clock.now().toISOString();
    const expired = await createRightsRepository(db).listLapsing(now);
    for (const row of expired) {
      await db.transaction().execute(async (trx) => {
        await core.update(trx, row, { status: 'lapsed', closed_at: now, ...whoAsked });
        await core.addEvent(trx, row, 'lapsed', 'system');
        const actor = { kind: 'anonymous', orgId: row.org_id, ref: 'system:rights.lapse' } as const;
        await core.audit(trx, actor, 'rights.request.lapse', row.id);
      });
    }
    return expired.length;
  }

  /** Mails every privacy officer of the request's organisation about its due day. */
  async function remind(row: Row, threshold: Threshold, due: string, daysLeft: number): Promise<void> {
    const officers = await deps.auth.listUsersWithRole(row.org_id, 'privacy_officer');
    await db.transaction().execute(async (trx) => {
      for (const o of officers) {
        const locale: Locale = o.locale === 'en' ? 'en' : 'nl';
        const right = t(locale, `rights.right.${row.right_kind ?? 'unspecified'}`);
        await enqueueMail(trx, clock, keyring, {
          orgId: row.org_id,
          to: o.email,
          template: 'notification',
          locale,
          vars: {
            subject: t(locale, 'rights.mail.reminder.subject', { due }),
            recipientName: o.displayName.slice(0, 200),
            body:
              threshold === 'overdue'
                ? t(locale, 'rights.mail.reminder.overdue', { right, due })
                : t(locale, 'rights.mail.reminder.body', { right, due, days: daysLeft }),
            actionUrl: `${config.publicOrigin}/staff/rights/${row.id}`,
          },
        });
      }
      await core.addEvent(trx, row, 'reminder_sent', 'system', { threshold });
    });
  }

  return {
    /** The daily duties: lapse what was never confirmed, remind of due days. */
    async dailyDuties(): Promise<{ lapsed: number; reminders: number }> {
      const lapsed = await lapse();
      let reminders = 0;
      const repo = createRightsRepository(db);
      for (const row of await repo.listRunning()) {
        const s = core.summaryOf(row);
        const threshold = thresholdOf(s.daysLeft);
        if (threshold === null) continue;
        const meta = JSON.stringify({ threshold });
        if (await repo.hasEvent({ orgId: row.org_id }, row.id, 'reminder_sent', meta)) continue;
        await remind(row, threshold, s.dueOn, s.daysLeft);
        reminders += 1;
      }
      return { lapsed, reminders };
    },
  };
}
