/**
 * The retention module's service (P6), built once per Kluis: the retention page's use cases
 * (read the policies, forecast, holds and runs with `retention.read`; tighten a policy and put or
 * release a legal hold with `retention.edit`, audited in the same transaction), the sweep, dry run
 * and ledger replay, and what other modules ask of retention (an organisation's periods, its
 * holds, the restriction marks of records, the erasure ledger).
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { inTransaction } from '../../db/transaction.js';
import { type Actor, actorRef, type OrgKind, type OrgScope, scopeOf } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import type { LineSource } from '../../shared/json-lines.js';
import { assertCan, can } from '../../shared/permissions.js';
import type { KluisCore } from '../module.js';
import { assertOwnTable } from '../personal-data.js';
import type { AccessLogService, AuditService } from '../security/index.js';
import { policiesOf, type RetentionEngineDeps, type RetentionRunResult } from './retention-engine.js';
import { type ExpiringSoon, expiringSoon, type Forecast, forecastRetention } from './retention-forecast.js';
import { erasureLedgerOf } from './retention-ledger.js';
import {
  assertPolicyChange,
  type EffectivePolicies,
  isManagedPolicy,
  policyDefinitions,
} from './retention-policies.js';
import { replayLedgerOnDatabase, replayLedgerOnKeystore } from './retention-replay.js';
import {
  type ActiveHolds,
  createRetentionRepository,
  type LegalHold,
  type RetentionRun,
} from './retention-repository.js';
import { type RestrictionMark, restrictionMarks } from './retention-restriction.js';
import type { HoldReason } from './retention-schema.js';
import { type RunRetentionOptions, runRetention } from './retention-sweep.js';

export interface HoldInput {
  /** A table a provider declares `holdable`. */
  readonly target: string;
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

export type RetentionDeps = Pick<
  KluisCore,
  | 'db'
  | 'dialect'
  | 'clock'
  | 'keyring'
  | 'keystore'
  | 'config'
  | 'checkpoint'
  | 'personalData'
  | 'ledgerStore'
> & { readonly audit: AuditService; readonly accessLog: AccessLogService };

/** The tables a legal hold can name, from the providers (a whole subject first). */
export function holdTargetsOf(deps: Pick<KluisCore, 'personalData'>): string[] {
  return deps.personalData.all().flatMap((p) => p.holdable ?? []);
}

/** Legal holds: put on a subject or one of its records, and released (`retention.edit`, audited). */
function holdUseCases(deps: RetentionDeps) {
  const { db, clock } = deps;

  /** Does the record exist in the actor's organisation? Read by the table's declared name. */
  async function recordExists(orgId: string, table: string, id: string): Promise<boolean> {
    const provider = deps.personalData.all().find((p) => p.holdable?.includes(table));
    if (provider === undefined) return false;
    assertOwnTable(deps.personalData, provider, table);
    // The table is named at run time (from the provider), so the row is read untyped.
    const loose = db as unknown as Kysely<Record<string, { id: string; org_id: string }>>;
    const row = await loose
      .selectFrom(table)
      .select('id')
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row !== undefined;
  }

  return {
    /** Puts a legal hold on a subject or record of the actor's organisation (404-like field error otherwise). */
    async createHold(actor: Actor, input: HoldInput): Promise<LegalHold> {
      assertCan(actor, 'retention.edit');
      const orgId = actor.orgId;
      if (
        !holdTargetsOf(deps).includes(input.target) ||
        !(await recordExists(orgId, input.target, input.id))
      ) {
        throw new AppError('ERR_NOT_FOUND', {
          message: 'hold target not found in this org',
          fields: { id: 'retention.holds.notFound' },
        });
      }
      // A hold on the subjects' own table names the subject; on a record, its table and id.
      const onSubject = deps.personalData
        .all()
        .some((p) => p.subjectLinks?.some((l) => l.via === 'self' && l.table === input.target));
      const hold: LegalHold = {
        id: newId(),
        org_id: orgId,
        subject_id: onSubject ? input.id : null,
        record_table: onSubject ? null : input.target,
        record_id: onSubject ? null : input.id,
        reason: input.reason,
        reference: input.reference === undefined || input.reference === '' ? null : input.reference,
        created_by_id: actorRef(actor),
        created_at: clock.now().toISOString(),
        held_until: input.until === undefined ? null : `${input.until}T23:59:59.999Z`,
        released_at: null,
        released_by_id: null,
      };
      await db.transaction().execute(async (trx) => {
        await createRetentionRepository(trx).insertHold(hold);
        await deps.audit.append(trx, {
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
      assertCan(actor, 'retention.edit');
      await db.transaction().execute(async (trx) => {
        const repo = createRetentionRepository(trx);
        const hold = await repo.findHold(scopeOf(actor), holdId);
        if (hold === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'hold not found' });
        if (!(await repo.releaseHold(scopeOf(actor), holdId, actorRef(actor), clock.now().toISOString())))
          return;
        await deps.audit.append(trx, {
          actor,
          action: 'retention.hold.released',
          target: { type: 'legal_hold', id: holdId },
        });
      });
    },
  };
}

export function createRetentionService(deps: RetentionDeps) {
  const { db, clock, config } = deps;
  const engine: RetentionEngineDeps = { ...deps, ledger: erasureLedgerOf(deps) };

  /** Sets a policy's period within `conn` (a caller's transaction, or `db` for a new one). */
  async function updatePolicyIn(
    conn: Kysely<DB>,
    actor: Actor,
    policyId: string,
    value: number,
  ): Promise<void> {
    // The privacy officer's, and the organisation's owners and admins in its settings.
    if (!can(actor, 'settings.manage')) assertCan(actor, 'retention.edit');
    if (!isManagedPolicy(policyId)) throw new AppError('ERR_NOT_FOUND', { message: 'unknown policy' });
    const def = policyDefinitions(config)[policyId];
    assertPolicyChange(def, value);
    const before = (await policiesOf(deps, conn, actor.orgId))[policyId].value;
    const now = clock.now().toISOString();
    await inTransaction(conn, async (trx) => {
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
      await deps.audit.append(trx, {
        actor,
        action: 'retention.policy.changed',
        target: { type: 'retention_policy', id: policyId },
        meta: { from: before, to: value, unit: def.unit },
      });
    });
  }

  return {
    /** The erasure ledger (ids only, outside the database backup); erasures on request write it too. */
    ledger: engine.ledger,

    /** An organisation's periods now. */
    policiesOf: (orgId: string): Promise<EffectivePolicies> => policiesOf(deps, db, orgId),

    /** Holds in force at `at` in the organisation (read in the caller's transaction `on`). */
    activeHolds: (on: Kysely<DB>, scope: OrgScope, at: string): Promise<ActiveHolds> =>
      createRetentionRepository(on).activeHolds(scope, at),

    /** Which of `ids` of `table` are restricted, since when and until when (read on `on`). */
    restrictionMarks: (
      on: Kysely<DB>,
      scope: OrgScope,
      table: string,
      ids: readonly string[],
    ): Promise<Map<string, RestrictionMark>> => restrictionMarks(on, scope, table, ids),

    /** The sweep (or, with `dryRun`, only its counts) over every organisation. */
    run: (options: RunRetentionOptions = {}): Promise<RetentionRunResult> => runRetention(engine, options),

    /** Re-applies the ledger's erasures since `since` to the live databases (after `pg_restore`). */
    async replay(file: LineSource, since: string) {
      const providers = deps.personalData.all();
      const database = await replayLedgerOnDatabase(db, config, providers, file, since);
      const keys = await replayLedgerOnKeystore(deps.keystore, providers, file, since);
      deps.keyring.clearCache();
      await deps.checkpoint();
      return { database, keys };
    },

    forecast: (org: { readonly id: string; readonly kind: OrgKind }): Promise<Forecast> =>
      forecastRetention(engine, org),

    /** What the sweep will erase within 7 and 30 days, counts per category (the dashboard panel). */
    async expiringSoon(actor: Actor): Promise<ExpiringSoon> {
      assertCan(actor, 'retention.read');
      return expiringSoon(engine, { id: actor.orgId, kind: actor.orgKind });
    },

    /** Everything the retention page shows for the actor's organisation. */
    async overview(actor: Actor): Promise<RetentionOverview> {
      assertCan(actor, 'retention.read');
      const repo = createRetentionRepository(db);
      return {
        policies: await policiesOf(deps, db, actor.orgId),
        forecast: await forecastRetention(engine, { id: actor.orgId, kind: actor.orgKind }),
        holds: await repo.listHolds(scopeOf(actor)),
        runs: await repo.listRecentRuns(5),
        canEdit: can(actor, 'retention.edit'),
      };
    },

    /** Sets a policy's period for the organisation; refused outside the legal bounds. */
    updatePolicy: (actor: Actor, policyId: string, value: number): Promise<void> =>
      updatePolicyIn(db, actor, policyId, value),

    /** The same, as a step of the caller's transaction (a tenant's settings). */
    updatePolicyIn,

    ...holdUseCases(deps),

    /** The dry run for the actor's organisation: counts only, nothing changes. */
    async dryRun(actor: Actor): Promise<RetentionRunResult> {
      assertCan(actor, 'retention.read');
      return runRetention(engine, {
        dryRun: true,
        orgIds: [actor.orgId],
        ...(actor.orgKind === 'operator' ? {} : { accessLogOrgId: actor.orgId }),
      });
    },
  };
}

export type RetentionService = ReturnType<typeof createRetentionService>;
