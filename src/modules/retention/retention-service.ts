/**
 * The retention page's use cases (P6): read the policies, forecast, holds and runs (privacy
 * officer, owner, admin); tighten a policy and put or release a legal hold (privacy officer
 * only). The sweep itself is `retention-sweep.ts`; this file only decides who may do what and
 * audits it in the same transaction.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { type Actor, actorRef, hasRole, type Role, scopeOf } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { appendAudit } from '../security/audit-chain.js';
import { type Forecast, forecastRetention } from './retention-forecast.js';
import {
  assertPolicyChange,
  type EffectivePolicies,
  effectivePolicies,
  isManagedPolicy,
  policyDefinitions,
} from './retention-policies.js';
import { createRetentionRepository, type LegalHold, type RetentionRun } from './retention-repository.js';
import type { HoldReason } from './retention-schema.js';
import { dryRunRetention, type RetentionKluis, type RetentionRunResult } from './retention-sweep.js';

export const retentionReaders: readonly Role[] = ['privacy_officer', 'owner', 'admin'];
export const retentionEditors: readonly Role[] = ['privacy_officer'];

/** What can be held: a whole subject, or one record of a table a sweep handles. */
export const holdTargets = [
  'data_subjects',
  'conversations',
  'inbound_quarantine',
  'relations',
  'relation_mandates',
  'relation_collections',
] as const;
export type HoldTarget = (typeof holdTargets)[number];

export interface HoldInput {
  readonly target: HoldTarget;
  readonly id: string;
  readonly reason: HoldReason;
  readonly reference?: string | undefined;
  /** ISO date (inclusive): the hold ends at the end of that day (UTC). */
  readonly until?: string | undefined;
}

export interface RetentionOverview {
  readonly policies: EffectivePolicies;
  readonly forecast: Forecast;
  readonly holds: readonly LegalHold[];
  readonly runs: readonly RetentionRun[];
  readonly canEdit: boolean;
}

function assertReader(actor: Actor): void {
  if (!hasRole(actor, ...retentionReaders)) {
    throw new AppError('ERR_FORBIDDEN', {
      message: 'retention is for the privacy officer, owners and admins',
    });
  }
}

function assertEditor(actor: Actor): void {
  if (!hasRole(actor, ...retentionEditors)) {
    throw new AppError('ERR_FORBIDDEN', { message: 'only the privacy officer changes retention' });
  }
}

async function recordExists(db: Kysely<DB>, orgId: string, target: HoldTarget, id: string): Promise<boolean> {
  const row = await db
    .selectFrom(target)
    .select('id')
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row !== undefined;
}

/** The periods the statement and the register show for an organisation (P6, P12). */
export interface RetentionStatementValues {
  readonly contactRequestMonths: number;
  readonly clientGraceMonths: number;
  readonly fiscalMonths: number;
  readonly truncateDays: number;
  readonly deleteDays: number;
}

/** The organisation's effective periods, for the statement's retention section. */
export async function retentionStatementValues(
  kluis: Pick<RetentionKluis, 'db' | 'config'>,
  orgId: string,
): Promise<RetentionStatementValues> {
  const p = effectivePolicies(
    policyDefinitions(kluis.config),
    await createRetentionRepository(kluis.db).listPolicyRows({ orgId }),
  );
  return {
    contactRequestMonths: p.contact_request.value,
    clientGraceMonths: p.client_relation.value,
    fiscalMonths: p.fiscal_7y.value,
    truncateDays: kluis.config.accessLog.truncateIpAfterDays,
    deleteDays: p.access_log.value,
  };
}

export function createRetentionService(kluis: RetentionKluis) {
  const { db, clock, config } = kluis;

  async function policiesOf(orgId: string): Promise<EffectivePolicies> {
    return effectivePolicies(
      policyDefinitions(config),
      await createRetentionRepository(db).listPolicyRows({ orgId }),
    );
  }

  return {
    policiesOf,

    /** Everything the retention page shows for the actor's organisation. */
    async overview(actor: Actor): Promise<RetentionOverview> {
      assertReader(actor);
      const repo = createRetentionRepository(db);
      return {
        policies: await policiesOf(actor.orgId),
        forecast: await forecastRetention(kluis, { id: actor.orgId, kind: actor.orgKind }),
        holds: await repo.listHolds(scopeOf(actor)),
        runs: await repo.listRecentRuns(5),
        canEdit: hasRole(actor, ...retentionEditors),
      };
    },

    /** Sets a policy's period for the organisation; refused outside the legal bounds. */
    async updatePolicy(actor: Actor, policyId: string, value: number): Promise<void> {
      assertEditor(actor);
      if (!isManagedPolicy(policyId)) throw new AppError('ERR_NOT_FOUND', { message: 'unknown policy' });
      const def = policyDefinitions(config)[policyId];
      assertPolicyChange(def, value);
      const before = (await policiesOf(actor.orgId))[policyId].value;
      const now = clock.now().toISOString();
      await db.transaction().execute(async (trx) => {
        await createRetentionRepository(trx).upsertPolicy({
          org_id: actor.orgId,
          policy_id: policyId,
          trigger_event: def.trigger,
          period_value: value,
          period_unit: def.unit,
          action: def.action,
          legal_min_value: def.legalMin,
          legal_max_value: def.legalMax,
          updated_by_id: actor.kind === 'user' ? actor.userId : null,
          updated_at: now,
        });
        await appendAudit(trx, clock, {
          actor,
          action: 'retention.policy.changed',
          target: { type: 'retention_policy', id: policyId },
          meta: { from: before, to: value, unit: def.unit },
        });
      });
    },

    /** Puts a legal hold on a subject or record of the actor's organisation (404-like field error otherwise). */
    async createHold(actor: Actor, input: HoldInput): Promise<LegalHold> {
      assertEditor(actor);
      const orgId = actor.orgId;
      if (!(await recordExists(db, orgId, input.target, input.id))) {
        throw new AppError('ERR_NOT_FOUND', {
          message: 'hold target not found in this org',
          fields: { id: 'retention.holds.notFound' },
        });
      }
      const now = clock.now();
      const hold: LegalHold = {
        id: newId(),
        org_id: orgId,
        subject_id: input.target === 'data_subjects' ? input.id : null,
        record_table: input.target === 'data_subjects' ? null : input.target,
        record_id: input.target === 'data_subjects' ? null : input.id,
        reason: input.reason,
        reference: input.reference === undefined || input.reference === '' ? null : input.reference,
        created_by_id: actorRef(actor),
        created_at: now.toISOString(),
        held_until: input.until === undefined ? null : `${input.until}T23:59:59.999Z`,
        released_at: null,
        released_by_id: null,
      };
      await db.transaction().execute(async (trx) => {
        await createRetentionRepository(trx).insertHold(hold);
        await appendAudit(trx, clock, {
          actor,
          action: 'retention.hold.created',
          target: { type: 'legal_hold', id: hold.id },
          meta: { on: input.target, record: input.id, reason: input.reason, until: hold.held_until },
        });
      });
      return hold;
    },

    /** Releases a hold of the actor's organisation; another org's hold is a 404. */
    async releaseHold(actor: Actor, holdId: string): Promise<void> {
      assertEditor(actor);
      await db.transaction().execute(async (trx) => {
        const repo = createRetentionRepository(trx);
        const hold = await repo.findHold(scopeOf(actor), holdId);
        if (hold === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'hold not found' });
        if (!(await repo.releaseHold(scopeOf(actor), holdId, actorRef(actor), clock.now().toISOString())))
          return;
        await appendAudit(trx, clock, {
          actor,
          action: 'retention.hold.released',
          target: { type: 'legal_hold', id: holdId },
        });
      });
    },

    /** The dry run for the actor's organisation: counts only, nothing changes. */
    async dryRun(actor: Actor): Promise<RetentionRunResult> {
      assertReader(actor);
      return dryRunRetention(kluis, {
        orgIds: [actor.orgId],
        ...(actor.orgKind === 'operator' ? {} : { accessLogOrgId: actor.orgId }),
      });
    },
  };
}

export type RetentionService = ReturnType<typeof createRetentionService>;
