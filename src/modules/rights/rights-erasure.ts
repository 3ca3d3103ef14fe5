/**
 * Erasure on request (P15, Art. 17 GDPR; P6 for what a legal duty keeps). Deletes everything
 * about a data subject that no legal duty needs, destroys the subject's key (crypto-shredding:
 * copies in backups and the WAL become unreadable), and keeps — restricted to finance — what the
 * Dutch 7-year fiscal duty needs, until that duty ends. The outcome says per category what went
 * and what stays, why and until when, so the reply to the requester can say so.
 *
 * The rights module orchestrates; each module erases its own tables through its personal-data
 * provider (`rights-erasure-rows.ts`). A module that keeps values for a legal duty re-seals them
 * under a key of their own before the subject's key goes (the relations' fiscal remnant, decision
 * 0010), using the keyring the erasure hands it.
 *
 * Order (all database work in one transaction; the key store is a separate database):
 * 1. claim the subject (`erased_at`, through the subjects module), refuse when a legal hold
 *    covers it or any of its records;
 * 2. every provider erases its rows and re-seals what stays;
 * 3. write the erasure ledger (write-ahead, outside the database backup) and the audit entry
 *    (counts and field names, never values); commit;
 * 4. destroy the subject's key and checkpoint the WAL (SQLite) so no erased page lingers.
 * If step 4 fails the database is already erased and the key is still there: calling
 * `eraseSubject` again finishes it (and a restore's ledger replay destroys the key too).
 */
import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import type { DB } from '../../db/schema.js';
import type { Actor, OrgScope } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { assertCan } from '../../shared/permissions.js';
import type { KluisCore } from '../module.js';
import type { ErasureContext } from '../personal-data.js';
import type { RetentionService } from '../retention/index.js';
import type { AuditService } from '../security/index.js';
import { SUBJECTS_ERASE_TARGET, SUBJECTS_TABLE, type SubjectsService } from '../subjects/index.js';
import { auditMetaOf, type ErasureOutcome, fieldsOf, outcomeOf } from './rights-erasure-outcome.js';
import { carryOf, type ErasedPart, eraseEverywhere, RIGHTS_ERASURE_TARGET } from './rights-erasure-rows.js';

export type { ErasedEntry, ErasureOutcome, RetainedEntry } from './rights-erasure-outcome.js';

export type ErasureDeps = Pick<
  KluisCore,
  'db' | 'dialect' | 'keyring' | 'clock' | 'checkpoint' | 'personalData'
> & {
  readonly audit: AuditService;
  readonly retention: Pick<RetentionService, 'policiesOf' | 'activeHolds' | 'ledger'>;
  readonly subjects: Pick<SubjectsService, 'findById' | 'claimErasure'>;
};

export interface EraseSubjectInput {
  readonly subjectId: string;
  readonly actor: Actor;
  /** The rights request this erasure fulfils (its contact details are left for the reply). */
  readonly requestId?: string | undefined;
}

const inputSchema = z.object({
  subjectId: z.uuid(),
  requestId: z.uuid().optional(),
});

type Done = { kind: 'already'; erasedAt: string } | { kind: 'erased'; parts: ErasedPart[] };

export function createRightsErasure(deps: ErasureDeps) {
  const { db, keyring, clock } = deps;

  /** Refuses (409) when an active legal hold covers the subject or any of its records. */
  async function assertNotHeld(trx: Kysely<DB>, ctx: ErasureContext, subjectId: string): Promise<void> {
    const holds = await deps.retention.activeHolds(trx, ctx, ctx.asOf.toISOString());
    if (holds.subjects.size === 0 && holds.records.size === 0) return;
    const records: string[] = [];
    for (const p of ctx.providers)
      records.push(...((await p.erasure?.heldRecords(trx, ctx, subjectId)) ?? []));
    if (holds.subjects.has(subjectId) || records.some((r) => holds.records.has(r))) {
      throw new AppError('ERR_RIGHTS_ERASURE_HELD', { message: 'a legal hold covers this data subject' });
    }
  }

  /** Write-ahead: the ledger lines are durable before the commit (a restore replays them). */
  async function recordInLedger(
    scope: OrgScope,
    subjectId: string,
    requestId: string | undefined,
    asOf: Date,
    parts: readonly ErasedPart[],
  ) {
    const run = `rights:${requestId ?? newId()}`;
    // The rights line carries what a replay needs to rebuild the kept records (decision 0010).
    const created = parts.flatMap((p) => p.rows.createdSubjects ?? []);
    const carry = carryOf(parts);
    for (const target of [RIGHTS_ERASURE_TARGET, SUBJECTS_ERASE_TARGET]) {
      const rebuild = target === RIGHTS_ERASURE_TARGET;
      await deps.retention.ledger.append(
        {
          kind: 'erasure',
          run,
          org: scope.orgId,
          target,
          table: SUBJECTS_TABLE,
          action: 'delete',
          as_of: asOf.toISOString(),
          ids: [subjectId],
          ...(rebuild && created.length > 0 ? { created } : {}),
          ...(rebuild && carry !== undefined ? { carry } : {}),
        },
        asOf,
      );
    }
  }

  /** Steps 1–3 in one transaction; the subjects it created to hold kept values go in `created`. */
  function eraseRows(
    scope: OrgScope,
    input: EraseSubjectInput & { subjectId: string },
    ctx: ErasureContext,
    created: string[],
  ) {
    const { subjectId } = input;
    return db.transaction().execute(async (trx): Promise<Done> => {
      const subject = await deps.subjects.findById(trx, scope, subjectId);
      if (subject === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'data subject not found' });
      if (subject.erased_at !== null) return { kind: 'already', erasedAt: subject.erased_at };
      await assertNotHeld(trx, ctx, subjectId);
      const claim = await deps.subjects.claimErasure(trx, scope, subjectId, ctx.asOf.toISOString());
      if (!claim.claimed) return { kind: 'already', erasedAt: claim.erasedAt };
      const parts = await eraseEverywhere(trx, ctx, subjectId);
      for (const part of parts) created.push(...(part.rows.createdSubjects ?? []));
      await recordInLedger(scope, subjectId, input.requestId, ctx.asOf, parts);
      await deps.audit.append(trx, {
        actor: input.actor,
        action: 'rights.subject.erased',
        target: { type: 'data_subject', id: subjectId },
        purpose: 'rights_handling',
        fields: fieldsOf(parts),
        meta: auditMetaOf(parts, input.requestId),
      });
      return { kind: 'erased', parts };
    });
  }

  return {
    /**
     * Erases a data subject on request: deletes what no legal duty keeps, restricts what the fiscal
     * duty keeps (finance only, deleted when it ends), destroys the subject's key. Idempotent.
     */
    async eraseSubject(scope: OrgScope, input: EraseSubjectInput): Promise<ErasureOutcome> {
      // Another organisation's subject does not exist for this actor (404, not 403).
      if (input.actor.orgId !== scope.orgId)
        throw new AppError('ERR_NOT_FOUND', { message: 'data subject not found' });
      assertCan(input.actor, 'rights.erase');
      const parsed = inputSchema.safeParse({ subjectId: input.subjectId, requestId: input.requestId });
      if (!parsed.success) throw new AppError('ERR_NOT_FOUND', { message: 'data subject not found' });
      const { subjectId, requestId } = parsed.data;
      const asOf = clock.now();
      const ctx: ErasureContext = {
        orgId: scope.orgId,
        dialect: deps.dialect,
        asOf,
        policies: await deps.retention.policiesOf(scope.orgId),
        providers: deps.personalData.all(),
        keepRequestId: requestId,
        keyring,
      };
      if (deps.dialect === 'sqlite') await sql`pragma secure_delete = on`.execute(db);
      const created: string[] = [];
      let done: Done;
      try {
        done = await eraseRows(scope, { ...input, subjectId, requestId }, ctx, created);
      } catch (error) {
        // Nothing committed: the fresh keys of the subjects it created seal nothing; destroy them.
        for (const s of created) await keyring.destroySubjectKey(scope.orgId, s).catch(() => undefined);
        throw error;
      }
      // Crypto-shredding after the commit (see the file comment for a failure here).
      await keyring.destroySubjectKey(scope.orgId, subjectId);
      await deps.checkpoint();
      if (done.kind === 'already') {
        return {
          subjectId,
          status: 'already_erased',
          erasedAt: done.erasedAt,
          erased: [],
          retained: [],
          endedRelations: 0,
          revokedMandates: 0,
          keyDestroyed: true,
        };
      }
      return outcomeOf(subjectId, asOf.toISOString(), done.parts);
    },
  };
}

export type RightsErasure = ReturnType<typeof createRightsErasure>;
