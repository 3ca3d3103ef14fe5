/**
 * Erasure on request (P15, Art. 17 GDPR; P6 for what a legal duty keeps). Deletes everything
 * about a data subject that no legal duty needs, destroys the subject's key (crypto-shredding:
 * copies in backups and the WAL become unreadable), and keeps — restricted to finance — what the
 * Dutch 7-year fiscal duty needs, until that duty ends. The outcome says per category what went
 * and what stays, why and until when, so the reply to the requester can say so.
 *
 * How the retained values survive the key's destruction (docs/decisions/0010): before the key
 * goes, each kept relation is handed to a fresh "remnant" subject without blind indexes, and
 * exactly its retained values (mandate account holder, IBAN, BIC, signature; the signed
 * agreement PDF and its name) are re-sealed under the remnant's key. The retention engine then
 * treats the remnant like any subject: when the fiscal sweep deletes the relation's records, the
 * remnant has nothing left and the subjects target destroys its key. Nothing in the crypto layer
 * needs a special case.
 *
 * Order (all database work in one transaction; the key store is a separate database):
 * 1. claim the subject (`erased_at`), refuse when a legal hold covers it;
 * 2. erase its rows with the retention targets (`rights-erasure-target.ts`) and re-seal what stays;
 * 3. write the erasure ledger (write-ahead, outside the database backup) and the audit entry
 *    (counts and field names, never values); commit;
 * 4. destroy the subject's key and checkpoint the WAL (SQLite) so no erased page lingers.
 * If step 4 fails the database is already erased and the key is still there: calling
 * `eraseSubject` again finishes it (and a restore's ledger replay destroys the key too).
 */

import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { z } from 'zod';
import type { Keyring } from '../../crypto/keyring.js';
import type { DB } from '../../db/schema.js';
import type { Kluis } from '../../kluis.js';
import { type Actor, hasRole, type OrgScope, type Role } from '../../shared/actor.js';
import {
  type DataCategory,
  fieldCatalogue,
  findField,
  type RetentionPolicyId,
} from '../../shared/catalogue.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { rowSealer } from '../relations/relations-sealing.js';
import { createErasureLedger, ledgerPathOf } from '../retention/retention-ledger.js';
import { effectivePolicies, policyDefinitions } from '../retention/retention-policies.js';
import { createRetentionRepository } from '../retention/retention-repository.js';
import type { TargetContext } from '../retention/retention-target.js';
import { subjectsTarget } from '../retention/retention-targets-subjects.js';
import { appendAudit } from '../security/audit-chain.js';
import {
  clearedColumns,
  type ErasedRows,
  type ErasureTable,
  eraseSubjectRows,
  erasureTables,
  RIGHTS_ERASURE_TARGET,
} from './rights-erasure-target.js';

export type ErasureKluis = Pick<Kluis, 'db' | 'dialect' | 'keyring' | 'clock' | 'config' | 'checkpoint'>;

/** Who may erase a data subject: the privacy officer (and system actors acting for the workflow). */
export const erasers: readonly Role[] = ['privacy_officer'];

/** The values erasure re-seals under the remnant's key: the fiscal record's sealed fields. */
export const resealedColumns = {
  relation_mandates: ['account_holder', 'iban', 'bic', 'signature_name'],
  relation_agreement_documents: ['file_name', 'content'],
} as const;

export interface ErasedEntry {
  readonly category: DataCategory;
  readonly table: ErasureTable;
  /** `deleted`: the rows are gone; `anonymised`: the rows stay without their personal values. */
  readonly action: 'deleted' | 'anonymised';
  readonly count: number;
}

export interface RetainedEntry {
  readonly category: DataCategory;
  readonly table: ErasureTable;
  readonly count: number;
  /** The legal ground, as a retention policy id (`fiscal_7y`: AWR art. 52). */
  readonly reason: RetentionPolicyId;
  /** The day the records are deleted (ISO date), when known. */
  readonly until: string | null;
  /** Visible to finance only from now on. */
  readonly restricted: boolean;
}

export interface ErasureOutcome {
  readonly subjectId: string;
  /** `already_erased`: nothing was left to do (erasing twice is a no-op). */
  readonly status: 'erased' | 'already_erased';
  readonly erasedAt: string;
  readonly erased: readonly ErasedEntry[];
  readonly retained: readonly RetainedEntry[];
  /** Client relations this erasure ended, and active mandates it revoked. */
  readonly endedRelations: number;
  readonly revokedMandates: number;
  /** The subject's key is destroyed (always true on return). */
  readonly keyDestroyed: true;
}

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

/** Catalogue categories of `table` (of `columns` when given), in catalogue order. */
function categoriesOf(table: string, columns?: readonly string[]): DataCategory[] {
  const fields =
    columns === undefined
      ? fieldCatalogue().fields.filter((f) => f.table === table)
      : columns.map((c) => findField(table, c)).filter((f) => f !== undefined);
  return [...new Set(fields.map((f) => f.category))];
}

/** Personal fields (`table.column`) erasure removed, for the audit trail: names only. */
function fieldsOf(rows: ErasedRows): string[] {
  const out: string[] = [];
  for (const table of erasureTables) {
    if ((rows.deleted[table] ?? 0) > 0) {
      for (const f of fieldCatalogue().fields.filter((c) => c.table === table))
        out.push(`${table}.${f.column}`);
    }
    const cleared = (clearedColumns as Partial<Record<ErasureTable, readonly string[]>>)[table];
    if ((rows.cleared[table] ?? 0) > 0 && cleared !== undefined) {
      for (const c of cleared) if (!out.includes(`${table}.${c}`)) out.push(`${table}.${c}`);
    }
  }
  return out;
}

/** The kept agreement row is the agreement itself (title, version, dates): the category is the agreement. */
const retainedCategories: Partial<Record<ErasureTable, readonly DataCategory[]>> = {
  relation_agreements: ['agreement'],
};

function outcomeOf(subjectId: string, erasedAt: string, rows: ErasedRows): ErasureOutcome {
  const erased: ErasedEntry[] = [];
  const retained: RetainedEntry[] = [];
  const fiscalUntil = rows.fiscal.reduce<string | null>(
    (max, f) => (max === null || f.until > max ? f.until : max),
    null,
  );
  for (const table of erasureTables) {
    const deleted = rows.deleted[table] ?? 0;
    if (deleted > 0) {
      for (const category of categoriesOf(table))
        erased.push({ category, table, action: 'deleted', count: deleted });
    }
    const cleared = rows.cleared[table] ?? 0;
    const columns = (clearedColumns as Partial<Record<ErasureTable, readonly string[]>>)[table];
    if (cleared > 0 && columns !== undefined) {
      for (const category of categoriesOf(table, columns)) {
        erased.push({ category, table, action: 'anonymised', count: cleared });
      }
    }
    const kept = rows.retained[table] ?? 0;
    if (kept > 0) {
      const fiscal = table !== 'rights_requests';
      for (const category of retainedCategories[table] ?? categoriesOf(table)) {
        retained.push({
          category,
          table,
          count: kept,
          reason: fiscal ? 'fiscal_7y' : 'rights_request',
          until: fiscal ? fiscalUntil : null,
          restricted: fiscal,
        });
      }
    }
  }
  return {
    subjectId,
    status: 'erased',
    erasedAt,
    erased,
    retained,
    endedRelations: rows.endedRelations,
    revokedMandates: rows.revokedMandates,
    keyDestroyed: true,
  };
}

/**
 * Hands a kept relation to a new remnant subject and re-seals its retained values under the
 * remnant's key (they are read with the erased subject's key, which still exists here).
 */
async function rehome(
  trx: Kysely<DB>,
  keyring: Keyring,
  ctx: TargetContext,
  subjectId: string,
  relationId: string,
): Promise<string> {
  const org = ctx.orgId;
  const remnant = newId();
  await trx
    .insertInto('data_subjects')
    .values({
      id: remnant,
      org_id: org,
      email_bidx: null,
      phone_bidx: null,
      created_at: ctx.asOf.toISOString(),
      erased_at: null,
    })
    .execute();
  const sealers = (table: string, rowId: string) => ({
    from: rowSealer(keyring, { orgId: org, subjectId, table, rowId }),
    to: rowSealer(keyring, { orgId: org, subjectId: remnant, table, rowId }),
  });
  const mandates = await trx
    .selectFrom('relation_mandates')
    .select(['id', 'account_holder', 'iban', 'bic', 'signature_name'])
    .where('org_id', '=', org)
    .where('relation_id', '=', relationId)
    .execute();
  for (const m of mandates) {
    const s = sealers('relation_mandates', m.id);
    await trx
      .updateTable('relation_mandates')
      .set({
        account_holder: await s.to.seal(
          'account_holder',
          await s.from.open('account_holder', m.account_holder),
        ),
        iban: await s.to.seal('iban', await s.from.open('iban', m.iban)),
        bic: await s.to.sealOptional('bic', await s.from.openOptional('bic', m.bic)),
        signature_name: await s.to.sealOptional(
          'signature_name',
          await s.from.openOptional('signature_name', m.signature_name),
        ),
      })
      .where('org_id', '=', org)
      .where('id', '=', m.id)
      .execute();
  }
  const documents = await trx
    .selectFrom('relation_agreement_documents as d')
    .innerJoin('relation_agreements as a', 'a.id', 'd.agreement_id')
    .select(['d.id as id', 'd.file_name as file_name', 'd.content as content'])
    .where('d.org_id', '=', org)
    .where('a.relation_id', '=', relationId)
    .execute();
  for (const d of documents) {
    const s = sealers('relation_agreement_documents', d.id);
    await trx
      .updateTable('relation_agreement_documents')
      .set({
        file_name: await s.to.seal('file_name', await s.from.open('file_name', d.file_name)),
        content: await s.to.seal('content', await s.from.open('content', d.content)),
      })
      .where('org_id', '=', org)
      .where('id', '=', d.id)
      .execute();
  }
  await trx
    .updateTable('relations')
    .set({ subject_id: remnant })
    .where('org_id', '=', org)
    .where('id', '=', relationId)
    .execute();
  return remnant;
}

/** Refuses (409) when an active legal hold covers the subject or any of its records. */
async function assertNotHeld(trx: Kysely<DB>, ctx: TargetContext, subjectId: string): Promise<void> {
  const holds = await createRetentionRepository(trx).activeHolds(
    { orgId: ctx.orgId },
    ctx.asOf.toISOString(),
  );
  if (holds.subjects.size === 0 && holds.records.size === 0) return;
  const org = ctx.orgId;
  const relations = await trx
    .selectFrom('relations')
    .select('id')
    .where('org_id', '=', org)
    .where((eb) =>
      eb.or([
        eb('subject_id', '=', subjectId),
        eb(
          'id',
          'in',
          eb
            .selectFrom('relation_contacts')
            .select('relation_id')
            .where('org_id', '=', org)
            .where('subject_id', '=', subjectId),
        ),
      ]),
    )
    .execute();
  const relationIds = relations.map((r) => r.id);
  const records = [
    ...relationIds.map((id) => `relations:${id}`),
    ...(
      await trx
        .selectFrom('conversations')
        .select('id')
        .where('org_id', '=', org)
        .where('subject_id', '=', subjectId)
        .execute()
    ).map((r) => `conversations:${r.id}`),
  ];
  if (relationIds.length > 0) {
    const mandates = await trx
      .selectFrom('relation_mandates')
      .select('id')
      .where('org_id', '=', org)
      .where('relation_id', 'in', relationIds)
      .execute();
    records.push(...mandates.map((m) => `relation_mandates:${m.id}`));
    const collections = await trx
      .selectFrom('relation_collections as c')
      .innerJoin('relation_mandates as m', 'm.id', 'c.mandate_id')
      .select('c.id as id')
      .where('c.org_id', '=', org)
      .where('m.relation_id', 'in', relationIds)
      .execute();
    records.push(...collections.map((c) => `relation_collections:${c.id}`));
  }
  if (holds.subjects.has(subjectId) || records.some((r) => holds.records.has(r))) {
    throw new AppError('ERR_RIGHTS_ERASURE_HELD', { message: 'a legal hold covers this data subject' });
  }
}

function assertMayErase(actor: Actor, scope: OrgScope): void {
  // Another organisation's subject does not exist for this actor (404, not 403).
  if (actor.orgId !== scope.orgId) throw new AppError('ERR_NOT_FOUND', { message: 'data subject not found' });
  if (actor.kind !== 'system' && !hasRole(actor, ...erasers)) {
    throw new AppError('ERR_FORBIDDEN', { message: `erasure requires one of ${erasers.join(',')}` });
  }
}

/**
 * Erases a data subject on request: deletes what no legal duty keeps, restricts what the fiscal
 * duty keeps (finance only, deleted when it ends), destroys the subject's key. Idempotent.
 */
export async function eraseSubject(
  kluis: ErasureKluis,
  scope: OrgScope,
  input: EraseSubjectInput,
): Promise<ErasureOutcome> {
  const { db, keyring, clock } = kluis;
  assertMayErase(input.actor, scope);
  const parsed = inputSchema.safeParse({ subjectId: input.subjectId, requestId: input.requestId });
  if (!parsed.success) throw new AppError('ERR_NOT_FOUND', { message: 'data subject not found' });
  const { subjectId, requestId } = parsed.data;
  const asOf = clock.now();
  const ctx: TargetContext = {
    orgId: scope.orgId,
    dialect: kluis.dialect,
    asOf,
    policies: effectivePolicies(
      policyDefinitions(kluis.config),
      await createRetentionRepository(db).listPolicyRows(scope),
    ),
  };
  if (kluis.dialect === 'sqlite') await sql`pragma secure_delete = on`.execute(db);
  const ledger = createErasureLedger(ledgerPathOf(kluis.config));
  const remnants: string[] = [];
  let done: { kind: 'already'; erasedAt: string } | { kind: 'erased'; rows: ErasedRows };
  try {
    done = await db.transaction().execute(async (trx) => {
      const subject = await trx
        .selectFrom('data_subjects')
        .select(['id', 'erased_at'])
        .where('org_id', '=', scope.orgId)
        .where('id', '=', subjectId)
        .executeTakeFirst();
      if (subject === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'data subject not found' });
      if (subject.erased_at !== null) return { kind: 'already' as const, erasedAt: subject.erased_at };
      await assertNotHeld(trx, ctx, subjectId);
      // The claim: a concurrent erasure of the same subject waits here and then finds it erased.
      const claimed = await trx
        .updateTable('data_subjects')
        .set({ erased_at: asOf.toISOString(), email_bidx: null, phone_bidx: null })
        .where('org_id', '=', scope.orgId)
        .where('id', '=', subjectId)
        .where('erased_at', 'is', null)
        .returning('erased_at')
        .execute();
      if (claimed.length === 0) {
        const again = await trx
          .selectFrom('data_subjects')
          .select('erased_at')
          .where('org_id', '=', scope.orgId)
          .where('id', '=', subjectId)
          .executeTakeFirstOrThrow();
        return { kind: 'already' as const, erasedAt: again.erased_at ?? asOf.toISOString() };
      }
      const rows = await eraseSubjectRows(trx, ctx, subjectId, { keepRequestId: requestId });
      for (const f of rows.fiscal) remnants.push(await rehome(trx, keyring, ctx, subjectId, f.relationId));
      const erasedRows: ErasedRows = {
        ...rows,
        cleared: { ...rows.cleared, data_subjects: 1 },
      };
      // Write-ahead: the ledger line is durable before the commit (a restore replays it).
      const run = `rights:${requestId ?? newId()}`;
      for (const target of [RIGHTS_ERASURE_TARGET, subjectsTarget.id]) {
        await ledger.append(
          {
            kind: 'erasure',
            run,
            org: scope.orgId,
            target,
            table: 'data_subjects',
            action: 'delete',
            as_of: asOf.toISOString(),
            ids: [subjectId],
          },
          asOf,
        );
      }
      const meta: Record<string, string | number | boolean | null> = {
        request_id: requestId ?? null,
        ended_relations: rows.endedRelations,
        revoked_mandates: rows.revokedMandates,
        fiscal_until: rows.fiscal.reduce<string | null>(
          (m, f) => (m === null || f.until > m ? f.until : m),
          null,
        ),
      };
      for (const [table, n] of Object.entries(erasedRows.deleted)) meta[`deleted.${table}`] = n;
      for (const [table, n] of Object.entries(erasedRows.cleared)) meta[`anonymised.${table}`] = n;
      for (const [table, n] of Object.entries(erasedRows.retained)) meta[`retained.${table}`] = n;
      await appendAudit(trx, clock, {
        actor: input.actor,
        action: 'rights.subject.erased',
        target: { type: 'data_subject', id: subjectId },
        purpose: 'rights_handling',
        fields: fieldsOf(erasedRows),
        meta,
      });
      return { kind: 'erased' as const, rows: erasedRows };
    });
  } catch (error) {
    // Nothing committed: the remnants' fresh keys seal nothing; destroy them (best effort).
    for (const r of remnants) await keyring.destroySubjectKey(scope.orgId, r).catch(() => undefined);
    throw error;
  }
  // Crypto-shredding after the commit (see the file comment for a failure here).
  await keyring.destroySubjectKey(scope.orgId, subjectId);
  await kluis.checkpoint();
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
  return outcomeOf(subjectId, asOf.toISOString(), done.rows);
}
