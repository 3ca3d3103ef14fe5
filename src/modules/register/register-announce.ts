/**
 * Telling the operator's clients about its sub-processors (P14, Art. 28(2)): the owners and
 * privacy officers of every tenant (`register.object`) get an email, queued in the same
 * transaction as the change (no change without its announcement, no announcement of a change
 * that did not happen): the advance notice of a new sub-processor, with the date it may start
 * and the link to object, and a notice when what the public sees of an active one changes.
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

/** The owners and privacy officers of every tenant (read before the write transaction). */
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
        if (!u.disabled && rolesCan(u.roles, 'register.object')) {
          out.push({ orgId: tenant.id, email: u.email, name: u.displayName });
        }
      }
      if (page.length < PAGE) break;
    }
  }
  return out;
}

type Tr = (key: Parameters<typeof t>[1], values?: Parameters<typeof t>[2]) => string;

/** A text in Dutch, then in English (the recipient's language is not known here). */
function bilingual(paragraphs: (tr: Tr, locale: 'nl' | 'en') => string[]): string {
  return (['nl', 'en'] as const)
    .flatMap((locale) => paragraphs((key, values) => t(locale, key, values), locale))
    .join('\n\n');
}

/** What the clients are told of a sub-processor, in one language: the change, and why they hear of it. */
function describeChange(tr: Tr, locale: 'nl' | 'en', orgName: string, s: Subprocessor, isNew: boolean) {
  const values = {
    org: orgName,
    name: s.name,
    service: s.service,
    location: placeName(s, locale),
    eea: tr(s.inEea ? 'register.sp.inEea' : 'register.sp.outsideEea'),
    status: tr(`register.sp.status.${s.status}`),
    categories:
      s.dataCategories.length === 0
        ? tr('register.activity.none')
        : joinList(
            locale,
            s.dataCategories.map((c) => label(tr, 'category', c)),
          ),
  };
  return {
    change: tr(isNew ? 'register.sp.notify.bodyNew' : 'register.sp.notify.bodyChanged', values),
    why: tr('register.sp.notify.why', { org: orgName }),
  };
}

interface QueueDeps {
  clock: Clock;
  keyring: Pick<Keyring, 'encryptForOrg' | 'encryptForSubject'>;
  config: Pick<Config, 'publicOrigin'>;
}

const short = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** Queues one notification to every recipient inside the caller's transaction; returns how many. */
async function queueToAll(
  trx: Kysely<DB>,
  deps: QueueDeps,
  o: {
    operator: OrgInfo;
    recipients: readonly Recipient[];
    subject: string;
    body: string;
    actionUrl: string;
    actionLabel: string;
  },
): Promise<number> {
  for (const r of o.recipients) {
    await enqueueMail(trx, deps.clock, deps.keyring, {
      orgId: o.operator.id,
      to: r.email,
      template: 'notification',
      locale: 'nl',
      vars: {
        subject: o.subject,
        recipientName: r.name.slice(0, 200),
        body: o.body,
        actionUrl: o.actionUrl,
        actionLabel: o.actionLabel,
      },
    });
  }
  return o.recipients.length;
}

/** Queues the change notice to every recipient inside the change's transaction; returns how many. */
export function queueAnnouncements(
  trx: Kysely<DB>,
  deps: QueueDeps,
  o: {
    operator: OrgInfo;
    orgName: string;
    recipients: readonly Recipient[];
    subprocessor: Subprocessor;
    isNew: boolean;
  },
): Promise<number> {
  const s = o.subprocessor;
  return queueToAll(trx, deps, {
    operator: o.operator,
    recipients: o.recipients,
    subject: t('nl', o.isNew ? 'register.sp.notify.subjectNew' : 'register.sp.notify.subjectChanged', {
      org: short(o.orgName, 60),
      name: short(s.name, 80),
    }),
    body: bilingual((tr, locale) => {
      const d = describeChange(tr, locale, o.orgName, s, o.isNew);
      return [d.change, d.why];
    }),
    actionUrl: `${deps.config.publicOrigin}/subprocessors`,
    actionLabel: t('nl', 'register.sp.notify.action'),
  });
}

/**
 * Queues the advance notice of a new sub-processor (Art. 28(2)): what it does, where, which
 * data, the date it may start, and the link where the client may object until then.
 */
export function queueNotices(
  trx: Kysely<DB>,
  deps: QueueDeps,
  o: { operator: OrgInfo; orgName: string; recipients: readonly Recipient[]; subprocessor: Subprocessor },
): Promise<number> {
  const s = o.subprocessor;
  const objectUrl = `${deps.config.publicOrigin}/staff/subprocessor-notices/${s.id}`;
  const body = bilingual((tr, locale) => [
    describeChange(tr, locale, o.orgName, s, true).change,
    tr('register.sp.notice.when', { date: s.effectiveOn ?? '' }),
    tr('register.sp.notice.object', { url: objectUrl, date: s.effectiveOn ?? '' }),
  ]);
  return queueToAll(trx, deps, {
    operator: o.operator,
    recipients: o.recipients,
    subject: t('nl', 'register.sp.notice.subject', {
      org: short(o.orgName, 60),
      name: short(s.name, 80),
      date: s.effectiveOn ?? '',
    }),
    body,
    actionUrl: objectUrl,
    actionLabel: t('nl', 'register.sp.notice.action'),
  });
}
