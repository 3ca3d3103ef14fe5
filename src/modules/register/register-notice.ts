/**
 * Advance notice of a new sub-processor (Art. 28(2) and (4)): the operator announces a proposed
 * sub-processor; every tenant's owners and privacy officers are mailed (job queue, in the same
 * transaction) with the date it may start and a link where they can object, with reasons, until
 * that date. Objections are kept and shown to the operator. The operator activates it only when
 * the notice period has run (register-lifecycle.ts).
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Actor } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { parseOrThrow } from '../../shared/http/validation.js';
import { assertCan } from '../../shared/permissions.js';
import { queueNotices, tenantRecipients } from './register-announce.js';
import { activationProblems, addDays, dateOf } from './register-lifecycle.js';
import type { OrgInfo } from './register-orgs.js';
import { createRegisterRepository } from './register-repository.js';
import type { Subprocessor, SubprocessorsDeps } from './register-subprocessors.js';

export interface Objection {
  readonly id: string;
  readonly subprocessorId: string;
  readonly clientOrgId: string;
  readonly clientName: string;
  readonly objectedBy: string;
  readonly reasons: string;
  readonly createdAt: string;
}

export const objectionInput = z.object({
  reasons: z.string().trim().min(1, { message: 'field.required' }).max(5000, { message: 'field.tooLong' }),
});

export const announceInput = z.object({
  /** A later start than the notice period gives (YYYY-MM-DD); empty: the end of the notice. */
  effectiveOn: z.union([z.literal(''), z.iso.date({ message: 'register.field.invalidDate' })]).default(''),
});

function missing(): never {
  throw new AppError('ERR_NOT_FOUND', { message: 'sub-processor not found' });
}

export function createNoticeService(
  deps: SubprocessorsDeps & { noticeDays: number },
  listOf: (orgId: string) => Promise<Subprocessor[]>,
) {
  const { db, clock, audit } = deps;

  /** The operator and its announced sub-processor `id` (a tenant may see nothing else of it). */
  async function announcedOf(id: string): Promise<{ operator: OrgInfo; subprocessor: Subprocessor }> {
    const operator = (await deps.orgs.list()).find((o) => o.kind === 'operator') ?? missing();
    const subprocessor = (await listOf(operator.id)).find((s) => s.id === id && s.status === 'announced');
    return { operator, subprocessor: subprocessor ?? missing() };
  }

  return {
    /**
     * Announces a proposed sub-processor of the operator to every tenant: it may start on the
     * end of the notice period (or the later date given). Returns how many mails were queued.
     */
    async announceSubprocessor(input: {
      actor: Actor;
      id: string;
      values: z.input<typeof announceInput>;
    }): Promise<{ subprocessor: Subprocessor; announced: number }> {
      assertCan(input.actor, 'register.edit');
      const v = parseOrThrow(announceInput, input.values);
      const org = await deps.orgs.get(input.actor.orgId);
      if (org.kind !== 'operator') {
        throw new AppError('ERR_VALIDATION', {
          message: 'only the operator announces sub-processors to clients',
          fields: { status: 'register.sp.announceOperatorOnly' },
        });
      }
      const current = (await listOf(org.id)).find((s) => s.id === input.id) ?? missing();
      if (current.status !== 'proposed') {
        throw new AppError('ERR_CONFLICT', {
          message: `cannot announce a sub-processor that is ${current.status}`,
        });
      }
      const now = clock.now();
      const earliest = addDays(dateOf(now), deps.noticeDays);
      if (v.effectiveOn !== '' && v.effectiveOn < earliest) {
        throw new AppError('ERR_VALIDATION', {
          message: 'start date inside the notice period',
          fields: { effectiveOn: 'register.sp.effectiveTooSoon' },
        });
      }
      const effectiveOn = v.effectiveOn === '' ? earliest : v.effectiveOn;
      const orgName = (await deps.settingsOf(org)).name;
      const recipients = await tenantRecipients(deps.orgs, deps.users);
      const announced = await db.transaction().execute(async (trx) => {
        const repo = createRegisterRepository(trx);
        const changed = await repo.announceSubprocessor({ orgId: org.id }, input.id, {
          announced_at: now.toISOString(),
          effective_on: effectiveOn,
          updated_at: now.toISOString(),
        });
        if (!changed) throw new AppError('ERR_CONFLICT', { message: 'sub-processor changed meanwhile' });
        const count = await queueNotices(trx, deps, {
          operator: org,
          orgName,
          recipients,
          subprocessor: { ...current, status: 'announced', effectiveOn },
        });
        await audit.append(trx, {
          actor: input.actor,
          action: 'register.subprocessor.announce',
          target: { type: 'subprocessor', id: input.id },
          meta: { announced: count, effective_on: effectiveOn },
        });
        return count;
      });
      const subprocessor = (await listOf(org.id)).find((s) => s.id === input.id) ?? missing();
      return { subprocessor, announced };
    },

    /** See `activateDue` below: the daily step that ends notice periods. */
    activateDue: () => activateDue(deps, listOf),

    /** The operator's announced sub-processor `id`, as a client sees it before objecting. */
    async getAnnouncedSubprocessor(input: { actor: Actor; id: string }): Promise<Subprocessor> {
      assertCan(input.actor, 'register.object');
      if (input.actor.orgKind !== 'tenant') missing();
      return (await announcedOf(input.id)).subprocessor;
    },

    /** A client objects, with reasons, to an announced sub-processor before its start date. */
    async objectToSubprocessor(input: {
      actor: Actor;
      id: string;
      values: { reasons?: string };
    }): Promise<void> {
      assertCan(input.actor, 'register.object');
      const { actor } = input;
      if (actor.orgKind !== 'tenant' || actor.kind !== 'user') missing();
      const v = parseOrThrow(objectionInput, input.values);
      const { operator, subprocessor } = await announcedOf(input.id);
      const now = clock.now();
      if (subprocessor.effectiveOn !== null && dateOf(now) >= subprocessor.effectiveOn) {
        throw new AppError('ERR_VALIDATION', {
          message: 'the notice period has ended',
          fields: { reasons: 'register.sp.objectionClosed' },
        });
      }
      const id = randomUUID();
      await db.transaction().execute(async (trx) => {
        await createRegisterRepository(trx).insertObjection({
          id,
          org_id: operator.id,
          subprocessor_id: subprocessor.id,
          client_org_id: actor.orgId,
          objected_by: actor.userId,
          reasons: v.reasons,
          created_at: now.toISOString(),
        });
        await audit.append(trx, {
          actor,
          action: 'register.subprocessor.objection',
          target: { type: 'subprocessor', id: subprocessor.id },
          meta: { objection: id },
        });
      });
    },

    /** The objections to the actor's (the operator's) sub-processors, newest first. */
    async listObjections(input: { actor: Actor; subprocessorId?: string }): Promise<Objection[]> {
      assertCan(input.actor, 'register.read');
      const rows = await createRegisterRepository(db).listObjections({ orgId: input.actor.orgId });
      const names = new Map((await deps.orgs.list()).map((o) => [o.id, o.name]));
      return rows
        .filter((r) => input.subprocessorId === undefined || r.subprocessor_id === input.subprocessorId)
        .map((r) => ({
          id: r.id,
          subprocessorId: r.subprocessor_id,
          clientOrgId: r.client_org_id,
          clientName: names.get(r.client_org_id) ?? r.client_org_id,
          objectedBy: r.objected_by,
          reasons: r.reasons,
          createdAt: r.created_at,
        }));
    },
  };
}

/**
 * The daily step that ends a notice period (Art. 28(2)): an announced sub-processor of the
 * operator whose start date has come becomes active by itself — unless a client objected
 * (then the operator decides, on the register page that lists the objections) or it still
 * lacks what Art. 28 and 46 require (agreement on file; outside the EEA the transfer mechanism
 * and assessment). Those stay announced and are counted, so the job's log shows them.
 */
async function activateDue(
  deps: SubprocessorsDeps,
  listOf: (orgId: string) => Promise<Subprocessor[]>,
): Promise<{ activated: number; heldByObjection: number; heldIncomplete: number }> {
  const { db, clock, audit } = deps;
  const counts = { activated: 0, heldByObjection: 0, heldIncomplete: 0 };
  const operator = (await deps.orgs.list()).find((o) => o.kind === 'operator');
  if (operator === undefined) return counts;
  const today = dateOf(clock.now());
  const due = (await listOf(operator.id)).filter(
    (s) => s.status === 'announced' && s.effectiveOn !== null && s.effectiveOn <= today,
  );
  if (due.length === 0) return counts;
  const objected = new Set(
    (await createRegisterRepository(db).listObjections({ orgId: operator.id })).map((o) => o.subprocessor_id),
  );
  for (const s of due) {
    if (objected.has(s.id)) {
      counts.heldByObjection++;
      continue;
    }
    const problems = activationProblems({
      inEea: s.inEea,
      hasAgreement: s.agreement !== undefined,
      transferMechanism: s.transferMechanism,
      sccDate: s.sccDate,
      transferAssessment: s.transferAssessment,
    });
    if (Object.keys(problems).length > 0) {
      counts.heldIncomplete++;
      continue;
    }
    const activated = await db.transaction().execute(async (trx) => {
      const changed = await createRegisterRepository(trx).activateAnnounced(
        { orgId: operator.id },
        s.id,
        clock.now().toISOString(),
      );
      if (!changed) return false;
      await audit.append(trx, {
        actor: { kind: 'anonymous', orgId: operator.id, ref: 'system:subprocessor-notice' },
        action: 'register.subprocessor.activate',
        target: { type: 'subprocessor', id: s.id },
        meta: { effective_on: s.effectiveOn },
      });
      return true;
    });
    if (activated) counts.activated++;
  }
  return counts;
}
