/**
 * The tenant's side of a legal order (P9): the steps of a case as the tenant's audit trail gets
 * them — at once, or all together when a non-disclosure order ends — with each disclosed subject
 * named (their access export lists it), and the mail that tells the tenant's owners.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Actor } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { t } from '../../shared/i18n/messages.js';
import { enqueueMail } from '../mail/index.js';
import type { KluisCore, KluisServices } from '../module.js';
import type { LegalOrdersTable } from './disclosure-schema.js';

export type TrailDeps = Pick<KluisCore, 'db' | 'keyring' | 'clock'> &
  Pick<KluisServices, 'audit' | 'orgs' | 'auth'>;

/** What a case step writes to the tenant's trail once the tenant may know. */
type Step = 'recorded' | 'approved_privacy_officer' | 'approved_owner' | 'disclosed' | 'tenant_notified';

export function list(json: string): string[] {
  const value: unknown = JSON.parse(json);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export async function loadOrder(trx: Kysely<DB>, id: string): Promise<LegalOrdersTable> {
  const row = await trx.selectFrom('legal_orders').selectAll().where('id', '=', id).executeTakeFirst();
  if (row === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'legal order not found' });
  return row;
}

/** Is the tenant still kept from knowing (a non-disclosure order that has not ended)? */
export function gagged(deps: Pick<TrailDeps, 'clock'>, row: LegalOrdersTable): boolean {
  return row.gag_until !== null && deps.clock.now().toISOString().slice(0, 10) < row.gag_until;
}

/** The operator's own trail: every step, at once. */
export function operatorStep(
  deps: Pick<TrailDeps, 'audit'>,
  trx: Kysely<DB>,
  actor: Actor,
  row: LegalOrdersTable,
  action: string,
): Promise<number> {
  return deps.audit.append(trx, {
    actor,
    action,
    target: { type: 'legal_order', id: row.id },
    purpose: 'legal_obligation',
    meta: { tenant: row.org_id, order_reference: row.order_reference },
  });
}

function stepsOf(row: LegalOrdersTable): { step: Step; at: string; by: string }[] {
  const steps: { step: Step; at: string | null; by: string | null }[] = [
    { step: 'recorded', at: row.recorded_at, by: row.recorded_by },
    {
      step: 'approved_privacy_officer',
      at: row.privacy_officer_approved_at,
      by: row.privacy_officer_user_id === null ? null : `user:${row.privacy_officer_user_id}`,
    },
    {
      step: 'approved_owner',
      at: row.owner_approved_at,
      by: row.owner_user_id === null ? null : `user:${row.owner_user_id}`,
    },
    { step: 'disclosed', at: row.disclosed_at, by: row.disclosed_by },
    { step: 'tenant_notified', at: row.tenant_notified_at, by: 'system:disclosure' },
  ];
  return steps.flatMap((s) => (s.at === null || s.by === null ? [] : [{ step: s.step, at: s.at, by: s.by }]));
}

/**
 * Writes to the tenant's trail the steps it may know of and has not got yet; after the
 * disclosure, one entry per disclosed subject (their access export lists it).
 */
export async function syncTenantTrail(
  deps: TrailDeps,
  trx: Kysely<DB>,
  row: LegalOrdersTable,
): Promise<void> {
  if (gagged(deps, row)) return;
  const { audit } = deps;
  const done = new Set(list(row.tenant_audited));
  const system = {
    kind: 'system',
    orgId: row.org_id,
    orgKind: 'tenant',
    reason: 'legal_order',
    roles: [],
  } as const;
  for (const s of stepsOf(row)) {
    if (done.has(s.step)) continue;
    await audit.append(trx, {
      actor: system,
      action: `disclosure.${s.step}`,
      target: { type: 'legal_order', id: row.id },
      purpose: 'legal_obligation',
      meta: {
        at: s.at,
        by: s.by,
        authority: row.authority,
        legal_basis: row.legal_basis,
        order_reference: row.order_reference,
      },
    });
    if (s.step === 'disclosed') {
      for (const subjectId of list(row.scope_subjects)) {
        await audit.append(trx, {
          actor: system,
          action: 'disclosure.subject.disclosed',
          target: { type: 'data_subject', id: subjectId },
          purpose: 'legal_obligation',
          meta: { legal_order: row.id, at: s.at, authority: row.authority },
        });
      }
    }
    done.add(s.step);
  }
  await trx
    .updateTable('legal_orders')
    .set({ tenant_audited: JSON.stringify([...done]) })
    .where('id', '=', row.id)
    .execute();
}

/** Tells the tenant's owners (mail), once the tenant may know; then its trail catches up. */
export async function release(deps: TrailDeps, row: LegalOrdersTable): Promise<boolean> {
  if (gagged(deps, row)) return false;
  const { db, clock, keyring } = deps;
  const org = await deps.orgs.getById(row.org_id);
  const owners = row.tenant_notified_at === null ? await tenantOwners(deps, row.org_id) : [];
  await db.transaction().execute(async (trx) => {
    let current = await loadOrder(trx, row.id);
    if (current.tenant_notified_at === null) {
      for (const owner of owners) {
        await enqueueMail(trx, clock, keyring, {
          orgId: row.org_id,
          to: owner.email,
          template: 'notification',
          locale: 'nl',
          vars: {
            subject: t('nl', 'disclosure.mail.subject', { org: org.name.slice(0, 80) }),
            recipientName: owner.name.slice(0, 200),
            body: ['nl', 'en']
              .map((l) =>
                t(l === 'nl' ? 'nl' : 'en', 'disclosure.mail.body', {
                  authority: current.authority,
                  basis: current.legal_basis,
                  reference: current.order_reference,
                  subjects: list(current.scope_subjects).length,
                  deadline: current.deadline,
                }),
              )
              .join('\n\n'),
          },
        });
      }
      await trx
        .updateTable('legal_orders')
        .set({ tenant_notified_at: clock.now().toISOString() })
        .where('id', '=', row.id)
        .execute();
      current = await loadOrder(trx, row.id);
    }
    await syncTenantTrail(deps, trx, current);
  });
  return true;
}

async function tenantOwners(deps: Pick<TrailDeps, 'auth'>, orgId: string) {
  const actor: Actor = {
    kind: 'system',
    orgId,
    orgKind: 'tenant',
    reason: 'legal_order.notify',
    roles: ['admin'],
  };
  const users = await deps.auth.listUsers({ actor, limit: 500, offset: 0 });
  return users
    .filter((u) => !u.disabled && u.roles.includes('owner'))
    .map((u) => ({ email: u.email, name: u.displayName }));
}
