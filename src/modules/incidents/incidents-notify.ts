/**
 * Notifying about an incident (Art. 33): the affected tenants' owners and privacy officers when
 * the operator is their processor (Art. 33(2), without undue delay); the record of the
 * notification to the Autoriteit Persoonsgegevens, refused after 72 hours without reasons for
 * the delay (Art. 33(1)), and its follow-up phases (Art. 33(4)). The data subjects (Art. 34) are
 * `incidents-subjects.ts`; the reminders `incidents-duties.ts`.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { type Actor, scopeOf } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { formatTime } from '../../shared/i18n/dates.js';
import { type Locale, type MessageKey, t } from '../../shared/i18n/messages.js';
import { assertCan } from '../../shared/permissions.js';
import type { Mailer } from '../mail/index.js';
import type { ContactAddress } from '../personal-data.js';
import { clockOf, isLate } from './incidents-clock.js';
import { computeImpact } from './incidents-impact.js';
import { type IncidentCore, type IncidentsDeps, parseCategories } from './incidents-register.js';
import { createIncidentsRepository, type IncidentRow } from './incidents-repository.js';

const localeOf = (value: string | null): Locale => (value === 'en' ? 'en' : 'nl');

function categoryList(locale: Locale, row: Pick<IncidentRow, 'categories'>): string {
  const labels = parseCategories(row).map((c) => t(locale, `register.category.${c}` as MessageKey));
  return labels.length === 0 ? '—' : labels.join(', ');
}

export type NotifyDeps = IncidentsDeps & { readonly mailer: Mailer };

/** People of `orgId` holding any of `roles`, one per address. */
export async function staffWithRoles(
  deps: Pick<IncidentsDeps, 'auth'>,
  orgId: string,
  roles: readonly ('owner' | 'privacy_officer' | 'security')[],
) {
  const people = [];
  for (const role of roles) people.push(...(await deps.auth.listUsersWithRole(orgId, role)));
  return [...new Map(people.map((p) => [p.email.toLowerCase(), p])).values()];
}

/**
 * Mails each of `recipients` (staff of `orgId`) a notification in their own language, in `trx`
 * with the step it belongs to; `text` gives the subject and body (and any link) in that language.
 */
export async function mailStaff(
  deps: Pick<IncidentsDeps, 'mail'>,
  trx: Kysely<DB>,
  orgId: string,
  recipients: Awaited<ReturnType<typeof staffWithRoles>>,
  text: (locale: Locale) => { subject: string; body: string; actionUrl?: string },
): Promise<void> {
  for (const r of recipients) {
    const locale = localeOf(r.locale);
    await deps.mail.enqueue(trx, {
      orgId,
      to: r.email,
      template: 'notification',
      locale,
      vars: { ...text(locale), recipientName: r.displayName.slice(0, 200) },
    });
  }
}

/** Where each of `subjectIds` of `orgId` can be reached (the providers audit the look-up). */
export async function addressesOf(
  deps: IncidentsDeps,
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

/** The organisation's name and the address its people are told to write to. */
export async function contactOf(
  deps: Pick<IncidentsDeps, 'register'>,
  orgId: string,
): Promise<{ name: string; contact: string }> {
  const { settings } = await deps.register.snapshotOf(orgId);
  return { name: settings.name, contact: settings.privacyEmail || settings.contactEmail || settings.name };
}

export function createTenantNotice(deps: NotifyDeps, core: IncidentCore) {
  const { db, clock } = deps;
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
      const operator = await contactOf(deps, actor.orgId);
      let mails = 0;
      for (const a of pending) {
        const impact = await computeImpact(deps, {
          from: row.window_from_at,
          to: row.window_to_at,
          orgIds: [a.affected_org_id],
          actor: row.suspect ?? undefined,
        });
        const org = await deps.orgs.getById(a.affected_org_id);
        const recipients = await staffWithRoles(deps, a.affected_org_id, ['owner', 'privacy_officer']);
        await db.transaction().execute(async (trx) => {
          await mailStaff(deps, trx, a.affected_org_id, recipients, (locale) => ({
            subject: t(locale, 'incidents.mail.tenant.subject', { operator: operator.name }),
            body: t(locale, 'incidents.mail.tenant.body', {
              operator: operator.name,
              org: org.name,
              nature: row.nature,
              aware: formatTime(locale, row.aware_at),
              categories: categoryList(locale, { ...row, categories: JSON.stringify(impact.categories) }),
              subjects: impact.subjectCount,
              records: impact.records,
              consequences: row.consequences || '—',
              measures: row.measures_taken || '—',
            }),
          }));
          mails += recipients.length;
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
  };
}

export function createAuthorityFiling(deps: NotifyDeps, core: IncidentCore) {
  const { db, clock } = deps;
  return {
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
  };
}
