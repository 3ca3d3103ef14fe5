/**
 * Announcing the operator's sub-processor changes to its clients (P14): when the operator adds a
 * sub-processor or changes what the public sees of one, everyone in every tenant who may read
 * that tenant's register (`register.read`) gets an email, queued in the same transaction as the
 * change (no change without its announcement, no announcement of a change that did not happen).
 */
import type { Kysely } from 'kysely';
import type { Config } from '../../config/env.js';
import type { Keyring } from '../../crypto/keyring.js';
import type { DB } from '../../db/schema.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { t } from '../../shared/i18n/messages.js';
import { rolesCan } from '../../shared/permissions.js';
import { enqueueMail } from '../mail/index.js';
import type { KluisServices } from '../module.js';
import { placeName } from './register-derive.js';
import { joinList, label } from './register-labels.js';
import type { OrgDirectory, OrgInfo } from './register-orgs.js';
import type { Subprocessor } from './register-subprocessors.js';

/** Staff of an org, as the auth service lists them. */
export type UserDirectory = Pick<KluisServices['auth'], 'listUsers'>;

export interface Recipient {
  readonly orgId: string;
  readonly email: string;
  readonly name: string;
}

const PAGE = 500;

/** Everyone in every tenant who may read its register (read before the write transaction). */
export async function tenantRecipients(orgs: OrgDirectory, users: UserDirectory): Promise<Recipient[]> {
  const tenants = (await orgs.list()).filter((o) => o.kind === 'tenant');
  const out: Recipient[] = [];
  for (const tenant of tenants) {
    // Listing a tenant's staff needs `users.read`, which admins hold.
    const actor: Actor = {
      kind: 'system',
      orgId: tenant.id,
      orgKind: 'tenant',
      reason: 'register.subprocessor.announce',
      roles: ['admin'],
    };
    for (let offset = 0; ; offset += PAGE) {
      const page = await users.listUsers({ actor, limit: PAGE, offset });
      for (const u of page) {
        if (!u.disabled && rolesCan(u.roles, 'register.read')) {
          out.push({ orgId: tenant.id, email: u.email, name: u.displayName });
        }
      }
      if (page.length < PAGE) break;
    }
  }
  return out;
}

/** The announcement's text: Dutch, then English (the recipient's language is not known here). */
function announcementText(orgName: string, s: Subprocessor, isNew: boolean): string {
  return (['nl', 'en'] as const)
    .flatMap((locale) => {
      const tr = (key: Parameters<typeof t>[1], values?: Parameters<typeof t>[2]) => t(locale, key, values);
      const values = {
        org: orgName,
        name: s.name,
        service: s.service,
        location: placeName(s, locale),
        eea: tr(s.inEea ? 'register.sp.inEea' : 'register.sp.outsideEea'),
        status: tr(s.status === 'active' ? 'register.sp.status.active' : 'register.sp.status.ended'),
        categories:
          s.dataCategories.length === 0
            ? tr('register.activity.none')
            : joinList(
                locale,
                s.dataCategories.map((c) => label(tr, 'category', c)),
              ),
      };
      return [
        tr(isNew ? 'register.sp.notify.bodyNew' : 'register.sp.notify.bodyChanged', values),
        tr('register.sp.notify.why', { org: orgName }),
      ];
    })
    .join('\n\n');
}

/** Queues the announcement to every recipient inside the change's transaction; returns how many. */
export async function queueAnnouncements(
  trx: Kysely<DB>,
  deps: {
    clock: Clock;
    keyring: Pick<Keyring, 'encryptForOrg' | 'encryptForSubject'>;
    config: Pick<Config, 'publicOrigin'>;
  },
  o: {
    operator: OrgInfo;
    orgName: string;
    recipients: readonly Recipient[];
    subprocessor: Subprocessor;
    isNew: boolean;
  },
): Promise<number> {
  const s = o.subprocessor;
  const body = announcementText(o.orgName, s, o.isNew);
  const subjectName = s.name.length > 80 ? `${s.name.slice(0, 79)}…` : s.name;
  const subjectOrg = o.orgName.length > 60 ? `${o.orgName.slice(0, 59)}…` : o.orgName;
  for (const r of o.recipients) {
    await enqueueMail(trx, deps.clock, deps.keyring, {
      orgId: o.operator.id,
      to: r.email,
      template: 'notification',
      locale: 'nl',
      vars: {
        subject: t('nl', o.isNew ? 'register.sp.notify.subjectNew' : 'register.sp.notify.subjectChanged', {
          org: subjectOrg,
          name: subjectName,
        }),
        recipientName: r.name.slice(0, 200),
        body,
        actionUrl: `${deps.config.publicOrigin}/subprocessors`,
        actionLabel: t('nl', 'register.sp.notify.action'),
      },
    });
  }
  return o.recipients.length;
}
