/**
 * Legally compelled disclosure (P9): the only operator path to a tenant's data outside the
 * tenant's grant. A case records the authority, legal basis, order reference, scope (data
 * subjects, optionally narrowed to records) and deadline; two different operator staff approve
 * it — the operator's privacy officer and the operator's owner — before a sealed export limited
 * to that scope can be made. The tenant's owners are told at once, unless a non-disclosure order
 * with an end date is recorded: then the job tells them when it ends. Every step goes to the
 * operator's audit trail at once and to the tenant's trail once the tenant may know (after the
 * gag): with each disclosed subject named, so the person's access export lists it.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type Actor, actorRef, hasRole } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import { newId } from '../../shared/ids.js';
import { zipOf } from '../../shared/zip.js';
import type { KluisCore, KluisServices } from '../module.js';
import { csvOf, type ExportTable } from '../rights/index.js';
import { assertCaseworker, createCasesService, exportLocation } from './disclosure-cases.js';
import type { LegalOrdersTable } from './disclosure-schema.js';
import { list, loadOrder, operatorStep, release, syncTenantTrail } from './disclosure-trail.js';

export type DisclosureDeps = Pick<KluisCore, 'db' | 'keyring' | 'clock' | 'config'> &
  Pick<KluisServices, 'audit' | 'orgs' | 'rights' | 'subjects' | 'auth'>;

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { message: 'field.invalid' });
const recordRef = z
  .string()
  .regex(/^[a-z_]{1,60}:[A-Za-z0-9-]{1,60}$/, { message: 'disclosure.form.recordsInvalid' });

const text = (min: number, max: number) =>
  z
    .string()
    .trim()
    .min(min, { message: 'field.required' })
    .max(max, { message: 'field.tooLong' })
    .regex(/^[^\r\n]*$/, { message: 'field.invalid' });

export const legalOrderInput = z.object({
  authority: text(2, 300),
  legalBasis: text(2, 300),
  orderReference: text(1, 200),
  subjects: z
    .array(z.uuid({ message: 'disclosure.form.subjectsInvalid' }))
    .min(1, { message: 'disclosure.form.subjectsRequired' })
    .max(1000, { message: 'field.tooLong' }),
  records: z.array(recordRef).max(10_000, { message: 'field.tooLong' }).default([]),
  deadline: isoDate,
  gagUntil: isoDate.optional(),
});
export type LegalOrderInput = z.input<typeof legalOrderInput>;

function outOfScope(message: string): AppError {
  return new AppError('ERR_FORBIDDEN', { message: `outside the order's scope: ${message}` });
}

/** Operator staff in person (see `assertCaseworker`: a 404 for anyone outside the operator org). */
function assertOperatorStaff(actor: Actor): asserts actor is Extract<Actor, { kind: 'user' }> {
  assertCaseworker(actor);
}

/** The scope's subjects' exports, narrowed to the scope's records when it names any. */
async function scopedTables(
  deps: DisclosureDeps,
  row: LegalOrdersTable,
  subjects: readonly string[],
  records: readonly string[],
) {
  const { clock } = deps;
  const out: { subjectId: string; tables: ExportTable[] }[] = [];
  const wanted = new Set(records);
  const found = new Set<string>();
  for (const subjectId of subjects) {
    const data = await deps.rights.compileExport({ orgId: row.org_id }, subjectId, { asOf: clock.now() });
    const tables = data.tables
      .map((table) =>
        wanted.size === 0
          ? table
          : {
              ...table,
              rows: table.rows.filter((r) => {
                const hit = wanted.has(`${table.table}:${r.id}`);
                if (hit) found.add(`${table.table}:${r.id}`);
                return hit;
              }),
            },
      )
      .filter((table) => table.rows.length > 0);
    out.push({ subjectId, tables });
  }
  const missing = [...wanted].filter((r) => !found.has(r));
  if (missing.length > 0) throw outOfScope(`records not among the subjects' records: ${missing.join(', ')}`);
  return out;
}

/** Records a case (operator privacy officer or owner); the tenant is told unless gagged. */
async function recordCase(
  deps: DisclosureDeps,
  input: {
    actor: Actor;
    tenantId: string;
    values: LegalOrderInput;
  },
): Promise<{ id: string }> {
  const { db, clock } = deps;
  const today = clock.now().toISOString().slice(0, 10);
  assertOperatorStaff(input.actor);
  const v = parseOrThrow(legalOrderInput, input.values);
  const tenant = await deps.orgs.findById(input.tenantId);
  if (tenant === undefined || tenant.kind !== 'tenant')
    throw new AppError('ERR_NOT_FOUND', { message: 'tenant not found' });
  for (const subjectId of v.subjects) {
    const subject = await deps.subjects.findById(db, { orgId: tenant.id }, subjectId);
    if (subject === undefined) {
      throw new AppError('ERR_VALIDATION', {
        message: `no subject ${subjectId} in this tenant`,
        fields: { subjects: 'disclosure.form.subjectUnknown' },
      });
    }
  }
  if (v.gagUntil !== undefined && v.gagUntil <= today)
    throw new AppError('ERR_VALIDATION', {
      message: 'a non-disclosure order ends in the future',
      fields: { gagUntil: 'disclosure.form.gagPast' },
    });
  const row: LegalOrdersTable = {
    id: newId(),
    org_id: tenant.id,
    status: 'recorded',
    authority: v.authority,
    legal_basis: v.legalBasis,
    order_reference: v.orderReference,
    scope_subjects: JSON.stringify([...new Set(v.subjects)]),
    scope_records: JSON.stringify([...new Set(v.records)]),
    deadline: v.deadline,
    gag_until: v.gagUntil ?? null,
    recorded_at: clock.now().toISOString(),
    recorded_by: actorRef(input.actor),
    privacy_officer_user_id: null,
    privacy_officer_approved_at: null,
    owner_user_id: null,
    owner_approved_at: null,
    disclosed_at: null,
    disclosed_by: null,
    export_zip: null,
    export_sha256: null,
    tenant_notified_at: null,
    tenant_audited: '[]',
  };
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('legal_orders').values(row).execute();
    await operatorStep(deps, trx, input.actor, row, 'disclosure.recorded');
  });
  await release(deps, row);
  return { id: row.id };
}

/**
 * One approval: the operator's privacy officer, or the operator's owner — two different people.
 * The same person cannot give both.
 */
async function approveCase(
  deps: DisclosureDeps,
  input: { actor: Actor; id: string; as: 'privacy_officer' | 'owner' },
): Promise<void> {
  const { db, clock } = deps;
  const { actor } = input;
  assertOperatorStaff(actor);
  if (!hasRole(actor, input.as))
    throw new AppError('ERR_FORBIDDEN', { message: `approving needs the ${input.as} role` });
  await db.transaction().execute(async (trx) => {
    const current = await loadOrder(trx, input.id);
    const other = input.as === 'owner' ? current.privacy_officer_user_id : current.owner_user_id;
    if (other === actor.userId)
      throw new AppError('ERR_FORBIDDEN', {
        message: 'the two approvals must come from two different people',
      });
    const mine = input.as === 'owner' ? current.owner_user_id : current.privacy_officer_user_id;
    if (mine !== null) throw new AppError('ERR_CONFLICT', { message: `already approved as ${input.as}` });
    const now = clock.now().toISOString();
    await trx
      .updateTable('legal_orders')
      .set(
        input.as === 'owner'
          ? { owner_user_id: actor.userId, owner_approved_at: now }
          : { privacy_officer_user_id: actor.userId, privacy_officer_approved_at: now },
      )
      .where('id', '=', current.id)
      .execute();
    await operatorStep(deps, trx, actor, current, `disclosure.approved_${input.as}`);
    await syncTenantTrail(deps, trx, await loadOrder(trx, current.id));
  });
}

/**
 * Makes the sealed export: refused without both approvals, and for any subject or record the
 * case's scope does not name. Returns the zip and its SHA-256 (recorded in both trails).
 */
async function discloseCase(
  deps: DisclosureDeps,
  input: {
    actor: Actor;
    id: string;
    subjects?: readonly string[];
    records?: readonly string[];
  },
): Promise<{ zip: Buffer; sha256: string }> {
  const { db, clock, keyring } = deps;
  const { actor } = input;
  assertOperatorStaff(actor);
  const row = await loadOrder(db, input.id);
  if (row.privacy_officer_user_id === null || row.owner_user_id === null)
    throw new AppError('ERR_FORBIDDEN', {
      message: 'a disclosure needs the privacy officer’s and the owner’s approval',
    });
  if (row.privacy_officer_user_id === row.owner_user_id)
    throw new AppError('ERR_FORBIDDEN', {
      message: 'the two approvals must come from two different people',
    });
  const scopeSubjects = list(row.scope_subjects);
  const scopeRecords = list(row.scope_records);
  const subjects = input.subjects ?? scopeSubjects;
  const records = input.records ?? scopeRecords;
  const outsideSubjects = subjects.filter((s) => !scopeSubjects.includes(s));
  if (outsideSubjects.length > 0) throw outOfScope(`subjects ${outsideSubjects.join(', ')}`);
  // A case narrowed to records allows only those; a subject-wide case may be narrowed further
  // (`scopedTables` refuses a record that is not one of its subjects').
  const outsideRecords = scopeRecords.length === 0 ? [] : records.filter((r) => !scopeRecords.includes(r));
  if (outsideRecords.length > 0) throw outOfScope(`records ${outsideRecords.join(', ')}`);
  const parts = await scopedTables(deps, row, subjects, records);
  const now = clock.now();
  const files = [
    {
      name: 'order.json',
      content: `${JSON.stringify(
        {
          legal_order: row.id,
          tenant: row.org_id,
          authority: row.authority,
          legal_basis: row.legal_basis,
          order_reference: row.order_reference,
          deadline: row.deadline,
          subjects,
          records,
          generated_at: now.toISOString(),
        },
        null,
        2,
      )}\n`,
    },
    ...parts.flatMap((p) =>
      p.tables.flatMap((table) => [
        {
          name: `subjects/${p.subjectId}/${table.table}.json`,
          content: `${JSON.stringify(table, null, 2)}\n`,
        },
        { name: `subjects/${p.subjectId}/${table.table}.csv`, content: csvOf(table) },
      ]),
    ),
  ];
  const zip = await zipOf(files, now);
  const sha256 = createHash('sha256').update(zip).digest('hex');
  const sealed = await keyring.encryptForOrg(row.org_id, exportLocation(row.id), zip.toString('base64'));
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('legal_orders')
      .set({
        status: 'disclosed',
        disclosed_at: now.toISOString(),
        disclosed_by: actorRef(actor),
        export_zip: sealed,
        export_sha256: sha256,
      })
      .where('id', '=', row.id)
      .execute();
    const updated = await loadOrder(trx, row.id);
    await operatorStep(deps, trx, actor, updated, 'disclosure.disclosed');
    await syncTenantTrail(deps, trx, updated);
  });
  return { zip, sha256 };
}

export function createDisclosureService(deps: DisclosureDeps) {
  const { db } = deps;
  return {
    ...createCasesService(deps),
    record: (input: Parameters<typeof recordCase>[1]) => recordCase(deps, input),
    approve: (input: Parameters<typeof approveCase>[1]) => approveCase(deps, input),
    disclose: (input: Parameters<typeof discloseCase>[1]) => discloseCase(deps, input),

    /** The daily job: tells the tenants whose non-disclosure order has ended. */
    async releaseDue(): Promise<{ released: number }> {
      const rows = await db
        .selectFrom('legal_orders')
        .selectAll()
        .where('tenant_notified_at', 'is', null)
        .execute();
      let released = 0;
      for (const row of rows) if (await release(deps, row)) released++;
      return { released };
    },
  };
}

export type DisclosureService = ReturnType<typeof createDisclosureService>;
