/**
 * The privacy officer's workflow on a rights request (P15–P17, GDPR Art. 12): the queue, a
 * request with its contact details (read audited), recording the right, verification by the
 * emailed link or by staff (P16), linking the data subject, the legal clock with pauses and
 * extensions, and closing with a reply that names the complaint route (P17). Every use case needs
 * `rights.handle`; another organisation's request is a 404.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Actor } from '../../shared/actor.js';
import { DAY } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { assertCan } from '../../shared/permissions.js';
import type { MailVars } from '../mail/index.js';
import type { KluisCore } from '../module.js';
import type { SubjectsService } from '../subjects/index.js';
import { extensionProblem, localDay } from './rights-deadlines.js';
import { CONFIRM_DAYS } from './rights-records.js';
import { createRightsRepository, whoAsked } from './rights-repository.js';
import {
  type RequestCore,
  type RequestDetail,
  type RequestSummary,
  type Row,
  refuseUnless,
} from './rights-requests.js';
import {
  openStatuses,
  type PauseReason,
  type RequestOutcome,
  type RequestStatus,
  type RightKind,
} from './rights-schema.js';

export type WorkflowDeps = Pick<KluisCore, 'db' | 'clock'> & {
  readonly subjects: Pick<SubjectsService, 'findByContact'>;
};

export interface CloseOptions {
  withLink?: boolean;
  forgetRequester?: boolean;
  /** Another reply than the outcome's own, e.g. `ready` with the download link. */
  reply?: Omit<MailVars<'rights_reply'>, 'orgName' | 'right'>;
}

const running = (status: RequestStatus) => status === 'verified' || status === 'in_progress';

/** What every use case of the workflow shares. */
interface Parts {
  readonly deps: WorkflowDeps;
  readonly core: RequestCore;
  /** Loads the actor's request in a transaction and runs `work` on it (`rights.handle`). */
  withRequest<T>(actor: Actor, id: string, work: (trx: Kysely<DB>, row: Row) => Promise<T>): Promise<T>;
}

/** Which right, and who asks: recording the right, the confirmation link, identity, the subject. */
function identityUseCases({ deps, core, withRequest }: Parts) {
  const { clock } = deps;
  const { seal, open } = core.records;
  return {
    /** Staff record which right a mailed request is about. */
    async setRight(actor: Actor, id: string, right: RightKind): Promise<void> {
      await withRequest(actor, id, async (trx, row) => {
        refuseUnless(openStatuses.includes(row.status), 'rights.problem.notAllowed');
        await core.update(trx, row, { right_kind: right });
        await core.audit(trx, actor, 'rights.request.set_right', id, { right });
      });
    },

    /** Staff send the confirmation link to the sender of a mailed request. */
    async sendConfirmation(actor: Actor, id: string): Promise<void> {
      await withRequest(actor, id, async (trx, row) => {
        refuseUnless(row.status === 'received', 'rights.problem.notAllowed');
        const email = await open(row, 'requester_email');
        refuseUnless(email !== null, 'rights.problem.notAllowed');
        const token = await core.rotateToken(trx, row, new Date(clock.now().getTime() + CONFIRM_DAYS * DAY));
        await core.sendConfirmationMail(trx, row, token, email ?? '');
        await core.audit(trx, actor, 'rights.request.send_confirmation', id);
      });
    },

    /** A hard case: staff established identity another way and record how (P16). */
    async verifyByStaff(actor: Actor, id: string, note: string): Promise<void> {
      await withRequest(actor, id, async (trx, row) => {
        refuseUnless(openStatuses.includes(row.status), 'rights.problem.notAllowed');
        const next = await core.update(trx, row, {
          ...(row.status === 'received' ? { ...core.resumePatch(row), status: 'verified' as const } : {}),
          verified_at: clock.now().toISOString(),
          verification_method: 'staff_review',
          identity_note: await seal(row.org_id, id, 'identity_note', note),
        });
        await core.addEvent(trx, next, 'verified', actor, { method: 'staff_review' });
        await core.audit(trx, actor, 'rights.request.verify', id, { method: 'staff_review' });
      });
    },

    /** Links the request to the data subject known by this email address or phone number. */
    async linkSubject(actor: Actor, id: string, keys: { email?: string; phone?: string }): Promise<boolean> {
      return withRequest(actor, id, async (trx, row) => {
        refuseUnless(openStatuses.includes(row.status), 'rights.problem.notAllowed');
        refuseUnless(row.verified_at !== null, 'rights.problem.unverified');
        const subject = (await deps.subjects.findByContact(trx, actor, keys))[0];
        if (subject === undefined) return false;
        const next = await core.update(trx, row, { subject_id: subject.id });
        await core.addEvent(trx, next, 'subject_matched', actor, { by: keys.email ? 'email' : 'phone' });
        await core.audit(trx, actor, 'rights.request.link_subject', id);
        return true;
      });
    },
  };
}

/** The legal clock: pauses (identity, clarification), extensions (Art. 12(3)) and the start of work. */
function clockUseCases({ deps, core, withRequest }: Parts) {
  const { clock } = deps;
  const { seal } = core.records;
  return {
    /** Stops the clock and asks the requester for what is needed (identity or clarification). */
    async pause(actor: Actor, id: string, reason: PauseReason, message: string): Promise<void> {
      await withRequest(actor, id, async (trx, row) => {
        refuseUnless(running(row.status) && row.paused_at === null, 'rights.problem.notAllowed');
        const next = await core.update(trx, row, {
          paused_at: clock.now().toISOString(),
          pause_reason: reason,
        });
        await core.addEvent(trx, next, 'paused', actor, { reason });
        await core.mailRequester(trx, next, { kind: 'paused', reasons: message }, true);
        await core.audit(trx, actor, 'rights.request.pause', id, { reason });
      });
    },

    async resume(actor: Actor, id: string): Promise<void> {
      await withRequest(actor, id, async (trx, row) => {
        refuseUnless(running(row.status) && row.paused_at !== null, 'rights.problem.notAllowed');
        const next = await core.update(trx, row, core.resumePatch(row));
        await core.addEvent(trx, next, 'resumed', actor, { pausedDays: next.paused_days });
        await core.audit(trx, actor, 'rights.request.resume', id);
      });
    },

    /**
     * Extends the time limit (Art. 12(3)): only within the first month, two months at most in
     * all, with reasons sent to the requester at once.
     */
    async extend(actor: Actor, id: string, months: number, reason: string): Promise<void> {
      await withRequest(actor, id, async (trx, row) => {
        refuseUnless(running(row.status), 'rights.problem.notAllowed');
        const problem = extensionProblem({
          receivedOn: localDay(new Date(row.received_at)),
          extendedMonths: row.extended_months,
          pausedDays: row.paused_days,
          today: localDay(clock.now()),
          months,
          reason,
        });
        if (problem !== undefined) {
          throw new AppError('ERR_RIGHTS_EXTENSION_REFUSED', {
            message: `extension refused: ${problem}`,
            fields: { months: `rights.problem.${problem}` },
          });
        }
        const next = await core.update(trx, row, {
          extended_months: row.extended_months + months,
          extended_at: clock.now().toISOString(),
          extension_reason: await seal(row.org_id, id, 'extension_reason', reason),
        });
        await core.addEvent(trx, next, 'extended', actor, { months, totalMonths: next.extended_months });
        const reply = { kind: 'extended', months, due: next.due_on, reasons: reason } as const;
        await core.mailRequester(trx, next, reply, true);
        await core.audit(trx, actor, 'rights.request.extend', id, { months });
      });
    },

    async start(actor: Actor, id: string): Promise<void> {
      await withRequest(actor, id, async (trx, row) => {
        refuseUnless(
          row.status === 'verified',
          row.verified_at === null ? 'rights.problem.unverified' : 'rights.problem.notAllowed',
        );
        const next = await core.update(trx, row, { status: 'in_progress' });
        await core.addEvent(trx, next, 'in_progress', actor);
        await core.audit(trx, actor, 'rights.request.start', id);
      });
    },
  };
}

export function createRightsWorkflow(deps: WorkflowDeps, core: RequestCore) {
  const { db, clock } = deps;
  const { seal, open } = core.records;

  const parts: Parts = {
    deps,
    core,
    withRequest(actor, id, work) {
      assertCan(actor, 'rights.handle');
      return db.transaction().execute(async (trx) => work(trx, await core.load(trx, actor, id)));
    },
  };

  /**
   * Closes the request with a reply naming the right, the outcome, the reasons and the complaint
   * route (P17). For a refusal the reasons are required.
   */
  async function close(
    trx: Kysely<DB>,
    actor: Actor,
    id: string,
    outcome: RequestOutcome,
    reasons: string,
    options: CloseOptions = {},
  ): Promise<void> {
    assertCan(actor, 'rights.handle');
    const row = await core.load(trx, actor, id);
    refuseUnless(openStatuses.includes(row.status), 'rights.problem.notAllowed');
    if (outcome !== 'refused') refuseUnless(row.verified_at !== null, 'rights.problem.unverified');
    if (outcome === 'refused' && reasons.trim().length < 10) {
      throw new AppError('ERR_VALIDATION', {
        message: 'a refusal needs reasons',
        fields: { reasons: 'rights.problem.reason_required' },
      });
    }
    const status: RequestStatus = outcome === 'refused' ? 'refused' : 'completed';
    let next = await core.update(trx, row, {
      ...core.resumePatch(row),
      status,
      outcome,
      outcome_reason: await seal(row.org_id, id, 'outcome_reason', reasons),
      closed_at: clock.now().toISOString(),
    });
    await core.addEvent(trx, next, status, actor, { outcome });
    await core.mailRequester(
      trx,
      next,
      options.reply ?? { kind: outcome, reasons },
      options.withLink ?? true,
    );
    if (options.forgetRequester === true) {
      // After an erasure the request keeps ids, dates and the outcome; not who asked.
      next = await core.update(trx, next, { ...whoAsked, identity_note: null });
    }
    const action = `rights.request.${status === 'refused' ? 'refuse' : 'complete'}`;
    await core.audit(trx, actor, action, id, { outcome });
  }

  return {
    close,
    ...identityUseCases(parts),
    ...clockUseCases(parts),

    /** Open requests by due day, or closed ones newest first. */
    async list(actor: Actor, filter: { open: boolean }): Promise<RequestSummary[]> {
      assertCan(actor, 'rights.handle');
      return (await createRightsRepository(db).listRequests(actor, filter.open)).map(core.summaryOf);
    },

    /** A request with its contact details (privacy officer only; the read is audited). */
    async get(actor: Actor, id: string): Promise<RequestDetail> {
      assertCan(actor, 'rights.handle');
      const row = await core.load(db, actor, id);
      const events = await createRightsRepository(db).listEvents(actor, id);
      await core.audit(db, actor, 'rights.request.read', id, {});
      return {
        ...core.summaryOf(row),
        subjectId: row.subject_id,
        locale: row.locale,
        email: await open(row, 'requester_email'),
        phone: await open(row, 'requester_phone'),
        details: await open(row, 'details'),
        identityNote: await open(row, 'identity_note'),
        verificationMethod: row.verification_method,
        pauseReason: row.pause_reason,
        extensionReason: await open(row, 'extension_reason'),
        outcome: row.outcome,
        outcomeReason: await open(row, 'outcome_reason'),
        conversationId: row.conversation_id,
        events: events.map((e) => ({
          at: e.at,
          kind: e.kind,
          actorRef: e.actor_ref,
          meta: e.meta === null ? null : (JSON.parse(e.meta) as Record<string, unknown>),
        })),
      };
    },

    async complete(actor: Actor, id: string, outcome: RequestOutcome, reasons: string): Promise<void> {
      assertCan(actor, 'rights.handle');
      await db.transaction().execute((trx) => close(trx, actor, id, outcome, reasons));
    },
  };
}

export type RightsWorkflow = ReturnType<typeof createRightsWorkflow>;
