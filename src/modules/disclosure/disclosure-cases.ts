/**
 * Legal orders as the operator's caseworkers see them (P9): the list of cases, one case, and the
 * sealed export downloaded again. A case holds ids and the order's details, never a tenant's
 * personal values; the export is opened only for operator staff in person, and each download is
 * in the operator's audit trail. Anyone outside the operator org (a tenant's owner holds
 * `legal_orders.manage` in its own org) learns nothing: a 404, like any foreign record.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Actor } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { assertCan } from '../../shared/permissions.js';
import type { KluisCore, KluisServices } from '../module.js';
import type { LegalOrderStatus, LegalOrdersTable } from './disclosure-schema.js';
import { gagged, list, loadOrder, operatorStep } from './disclosure-trail.js';

export type CasesDeps = Pick<KluisCore, 'db' | 'keyring' | 'clock'> & Pick<KluisServices, 'audit' | 'orgs'>;

export interface LegalOrderView {
  readonly id: string;
  readonly tenant: { readonly id: string; readonly slug: string; readonly name: string };
  readonly status: LegalOrderStatus;
  readonly authority: string;
  readonly legalBasis: string;
  readonly orderReference: string;
  readonly subjects: readonly string[];
  readonly records: readonly string[];
  readonly deadline: string;
  readonly gagUntil: string | null;
  /** The tenant may not know yet (a non-disclosure order that has not ended). */
  readonly gagged: boolean;
  readonly recordedAt: string;
  readonly recordedBy: string;
  readonly privacyOfficer: { readonly userId: string; readonly at: string } | undefined;
  readonly owner: { readonly userId: string; readonly at: string } | undefined;
  readonly disclosedAt: string | null;
  readonly exportSha256: string | null;
  readonly tenantNotifiedAt: string | null;
}

/** The location the export is sealed under (bound to the case's row). */
export const exportLocation = (id: string) => ({ table: 'legal_orders', column: 'export_zip', rowId: id });

/**
 * Operator staff in person holding `legal_orders.manage`. Outside the operator org, or under a
 * grant, the cases do not exist (404); an operator user without the permission gets a 403.
 */
export function assertCaseworker(actor: Actor): asserts actor is Extract<Actor, { kind: 'user' }> {
  const underGrant = actor.kind === 'user' && actor.grantId !== undefined;
  if (actor.orgKind !== 'operator' || underGrant) {
    throw new AppError('ERR_NOT_FOUND', { message: 'legal orders are the operator’s' });
  }
  assertCan(actor, 'legal_orders.manage');
  if (actor.kind !== 'user') {
    throw new AppError('ERR_FORBIDDEN', { message: 'legal orders are handled by operator staff in person' });
  }
}

function approval(userId: string | null, at: string | null) {
  return userId === null || at === null ? undefined : { userId, at };
}

async function viewsOf(deps: CasesDeps, rows: readonly LegalOrdersTable[]): Promise<LegalOrderView[]> {
  const tenants = new Map((await deps.orgs.list()).map((o) => [o.id, o]));
  return rows.map((r) => {
    const tenant = tenants.get(r.org_id);
    return {
      id: r.id,
      tenant: { id: r.org_id, slug: tenant?.slug ?? '', name: tenant?.name ?? '' },
      status: r.status,
      authority: r.authority,
      legalBasis: r.legal_basis,
      orderReference: r.order_reference,
      subjects: list(r.scope_subjects),
      records: list(r.scope_records),
      deadline: r.deadline,
      gagUntil: r.gag_until,
      gagged: gagged(deps, r),
      recordedAt: r.recorded_at,
      recordedBy: r.recorded_by,
      privacyOfficer: approval(r.privacy_officer_user_id, r.privacy_officer_approved_at),
      owner: approval(r.owner_user_id, r.owner_approved_at),
      disclosedAt: r.disclosed_at,
      exportSha256: r.export_sha256,
      tenantNotifiedAt: r.tenant_notified_at,
    };
  });
}

async function rowsOf(db: Kysely<DB>): Promise<LegalOrdersTable[]> {
  return db.selectFrom('legal_orders').selectAll().orderBy('recorded_at', 'desc').orderBy('id').execute();
}

export function createCasesService(deps: CasesDeps) {
  const { db, keyring } = deps;
  return {
    assertCaseworker,

    /** Every case, newest first (operator caseworkers only). */
    async list(actor: Actor): Promise<LegalOrderView[]> {
      assertCaseworker(actor);
      return viewsOf(deps, await rowsOf(db));
    },

    /** One case (operator caseworkers only; a 404 otherwise). */
    async get(actor: Actor, id: string): Promise<LegalOrderView> {
      assertCaseworker(actor);
      const [view] = await viewsOf(deps, [await loadOrder(db, id)]);
      if (view === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'legal order not found' });
      return view;
    },

    /**
     * The sealed export of a disclosed case, opened again (it holds only the case's scope). The
     * download is a step in the operator's audit trail.
     */
    async downloadExport(
      actor: Actor,
      id: string,
    ): Promise<{ zip: Buffer; sha256: string; fileName: string }> {
      assertCaseworker(actor);
      const row = await loadOrder(db, id);
      if (row.export_zip === null || row.export_sha256 === null) {
        throw new AppError('ERR_CONFLICT', {
          message: 'no export yet: both approvals, then make the export',
        });
      }
      const zip = Buffer.from(
        await keyring.decryptForOrg(row.org_id, exportLocation(row.id), row.export_zip),
        'base64',
      );
      await db
        .transaction()
        .execute((trx) => operatorStep(deps, trx, actor, row, 'disclosure.export_downloaded'));
      return { zip, sha256: row.export_sha256, fileName: `legal-order-${row.id}.zip` };
    },
  };
}

export type CasesService = ReturnType<typeof createCasesService>;
