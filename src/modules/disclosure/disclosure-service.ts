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
import type { Kysely } from 'kysely';
import { ZipFile } from 'yazl';
import { z } from 'zod';
import type { DB } from '../../db/schema.js';
import { type Actor, actorRef, hasRole } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { t } from '../../shared/i18n/messages.js';
import { newId } from '../../shared/ids.js';
import { assertCan } from '../../shared/permissions.js';
import { enqueueMail } from '../mail/index.js';
import type { KluisCore, KluisServices } from '../module.js';
import { csvOf, type ExportTable } from '../rights/index.js';
import type { LegalOrdersTable } from './disclosure-schema.js';

export type DisclosureDeps = Pick<KluisCore, 'db' | 'keyring' | 'clock' | 'config'> &
  Pick<KluisServices, 'audit' | 'orgs' | 'rights' | 'subjects' | 'auth'>;

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { message: 'field.invalid' });
const recordRef = z.string().regex(/^[a-z_]{1,60}:[A-Za-z0-9-]{1,60}$/, { message: 'field.invalid' });

export const legalOrderInput = z.object({
  authority: z.string().trim().min(2).max(300),
  legalBasis: z.string().trim().min(2).max(300),
  orderReference: z.string().trim().min(1).max(200),
  subjects: z.array(z.uuid()).min(1).max(1000),
  records: z.array(recordRef).max(10_000).default([]),
  deadline: isoDate,
  gagUntil: isoDate.optional(),
});
export type LegalOrderInput = z.input<typeof legalOrderInput>;

/** What a case step writes to the tenant's trail once the tenant may know. */
type Step = 'recorded' | 'approved_privacy_officer' | 'approved_owner' | 'disclosed' | 'tenant_notified';

const exportLocation = (id: string) => ({ table: 'legal_orders', column: 'export_zip', rowId: id });

function list(json: string): string[] {
  const value: unknown = JSON.parse(json);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function outOfScope(message: string): AppError {
  return new AppError('ERR_FORBIDDEN', { message: `outside the order's scope: ${message}` });
}

/** Operator staff only, never under a grant, holding the named role. */
function assertOperatorStaff(actor: Actor): asserts actor is Extract<Actor, { kind: 'user' }> {
  assertCan(actor, 'legal_orders.manage');
  if (actor.kind !== 'user' || actor.orgKind !== 'operator' || actor.grantId !== undefined) {
    throw new AppError('ERR_FORBIDDEN', { message: 'legal orders are handled by operator staff in person' });
  }
}

function zipOf(files: readonly { name: string; content: string }[], mtime: Date): Promise<Buffer> {
  const zip = new ZipFile();
  for (const f of files) zip.addBuffer(Buffer.from(f.content, 'utf8'), f.name, { mtime, mode: 0o100644 });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('error', reject);
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.end();
  });
}

export function createDisclosureService(deps: DisclosureDeps) {
  const { db, keyring, clock, audit } = deps;
  const today = () => clock.now().toISOString().slice(0, 10);
  const gagged = (row: LegalOrdersTable) => row.gag_until !== null && today() < row.gag_until;

  async function load(trx: Kysely<DB>, id: string): Promise<LegalOrdersTable> {
    const row = await trx.selectFrom('legal_orders').selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'legal order not found' });
    return row;
  }

  /** The operator's own trail: every step, at once. */
  function operatorStep(trx: Kysely<DB>, actor: Actor, row: LegalOrdersTable, action: string) {
    return audit.append(trx, {
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
    return steps.flatMap((s) =>
      s.at === null || s.by === null ? [] : [{ step: s.step, at: s.at, by: s.by }],
    );
  }

  /**
   * Writes to the tenant's trail the steps it may know of and has not got yet; after the
   * disclosure, one entry per disclosed subject (their access export lists it).
   */
  async function syncTenantTrail(trx: Kysely<DB>, row: LegalOrdersTable): Promise<void> {
    if (gagged(row)) return;
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
  async function release(row: LegalOrdersTable): Promise<boolean> {
    if (gagged(row)) return false;
    const org = await deps.orgs.getById(row.org_id);
    const owners = row.tenant_notified_at === null ? await tenantOwners(row.org_id) : [];
    await db.transaction().execute(async (trx) => {
      let current = await load(trx, row.id);
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
        current = await load(trx, row.id);
      }
      await syncTenantTrail(trx, current);
    });
    return true;
  }

  async function tenantOwners(orgId: string) {
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

  /** The scope's subjects' exports, narrowed to the scope's records when it names any. */
  async function scopedTables(
    row: LegalOrdersTable,
    subjects: readonly string[],
    records: readonly string[],
  ) {
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
    if (missing.length > 0)
      throw outOfScope(`records not among the subjects' records: ${missing.join(', ')}`);
    return out;
  }

  return {
    /** Records a case (operator privacy officer or owner); the tenant is told unless gagged. */
    async record(input: {
      actor: Actor;
      tenantId: string;
      values: LegalOrderInput;
    }): Promise<{ id: string }> {
      assertOperatorStaff(input.actor);
      const v = legalOrderInput.parse(input.values);
      const tenant = await deps.orgs.findById(input.tenantId);
      if (tenant === undefined || tenant.kind !== 'tenant')
        throw new AppError('ERR_NOT_FOUND', { message: 'tenant not found' });
      for (const subjectId of v.subjects) {
        const subject = await deps.subjects.findById(db, { orgId: tenant.id }, subjectId);
        if (subject === undefined) throw outOfScope(`no subject ${subjectId} in this tenant`);
      }
      if (v.gagUntil !== undefined && v.gagUntil <= today())
        throw new AppError('ERR_VALIDATION', { message: 'a non-disclosure order ends in the future' });
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
        await operatorStep(trx, input.actor, row, 'disclosure.recorded');
      });
      await release(row);
      return { id: row.id };
    },

    /**
     * One approval: the operator's privacy officer, then (or first) the operator's owner — two
     * different people. The same person cannot give both.
     */
    async approve(input: { actor: Actor; id: string; as: 'privacy_officer' | 'owner' }): Promise<void> {
      const { actor } = input;
      assertOperatorStaff(actor);
      if (!hasRole(actor, input.as))
        throw new AppError('ERR_FORBIDDEN', { message: `approving needs the ${input.as} role` });
      await db.transaction().execute(async (trx) => {
        const current = await load(trx, input.id);
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
        await operatorStep(trx, actor, current, `disclosure.approved_${input.as}`);
        await syncTenantTrail(trx, await load(trx, current.id));
      });
    },

    /**
     * Makes the sealed export: refused without both approvals, and for any subject or record the
     * case's scope does not name. Returns the zip and its SHA-256 (recorded in both trails).
     */
    async disclose(input: {
      actor: Actor;
      id: string;
      subjects?: readonly string[];
      records?: readonly string[];
    }): Promise<{ zip: Buffer; sha256: string }> {
      const { actor } = input;
      assertOperatorStaff(actor);
      const row = await load(db, input.id);
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
      const outsideRecords =
        scopeRecords.length === 0 ? [] : records.filter((r) => !scopeRecords.includes(r));
      if (outsideRecords.length > 0) throw outOfScope(`records ${outsideRecords.join(', ')}`);
      const parts = await scopedTables(row, subjects, records);
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
        const updated = await load(trx, row.id);
        await operatorStep(trx, actor, updated, 'disclosure.disclosed');
        await syncTenantTrail(trx, updated);
      });
      return { zip, sha256 };
    },

    /** The daily job: tells the tenants whose non-disclosure order has ended. */
    async releaseDue(): Promise<{ released: number }> {
      const rows = await db
        .selectFrom('legal_orders')
        .selectAll()
        .where('tenant_notified_at', 'is', null)
        .execute();
      let released = 0;
      for (const row of rows) if (await release(row)) released++;
      return { released };
    },
  };
}

export type DisclosureService = ReturnType<typeof createDisclosureService>;
